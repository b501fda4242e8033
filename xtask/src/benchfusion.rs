//! The "Fusion Rings vs Linux IPC" part of the benchmark report (issue 14): each Fusion Ring
//! case next to the case it is compared with — a Linux IPC case, or another Exo-OS case (the
//! 2-CPU ones run on Exo-OS alone: Linux 6.1 brings up one CPU under QEMU's icount) — with its
//! goal, met or not. The Fusion cases themselves answer ENOSYS on Linux.

use std::fmt::Write as _;

use crate::benchreport::{BenchRun, CaseResult};

/// Whose figure a Fusion case is compared with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Against {
    Linux(&'static str),
    Exo(&'static str),
}

/// A goal: at most this ratio to the first comparison, or at most this many instructions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    Ratio(f64),
    Instructions(u64),
}

/// One row: the Fusion case, what it is compared with (the first one carries the goal), the
/// goal, and the seed's figure.
pub struct Row {
    pub case: &'static str,
    pub what: &'static str,
    pub against: &'static [Against],
    pub goal: Goal,
    pub seed: &'static str,
}

pub const ROWS: &[Row] = &[
    Row {
        case: "fusion_roundtrip",
        what: "64 B round trip, two processes, one CPU, blocking (direct hand-off)",
        against: &[Against::Linux("pipe_roundtrip"), Against::Linux("unix_roundtrip"), Against::Linux("futex_pingpong")],
        goal: Goal::Ratio(0.10),
        seed: "80-100 cycles inline (seed 003); Linux ~1,200",
    },
    Row {
        case: "fusion_poll_rt_2cpu",
        what: "64 B round trip, two processes on two CPUs, polling",
        against: &[Against::Exo("futex_pingpong_2cpu")],
        goal: Goal::Instructions(300),
        seed: "80-100 cycles inline (seed 003)",
    },
    Row {
        case: "fusion_batch_64b",
        what: "64 B messages in batches of 1,000, per message (send + receive)",
        against: &[Against::Linux("pipe_msgs_64b")],
        goal: Goal::Instructions(35),
        seed: "25-35 cycles per message (seed 003)",
    },
    Row {
        case: "fusion_grant_1m",
        what: "1 MiB handed over by a page grant (moved), per transfer",
        against: &[Against::Linux("pipe_copy_1m")],
        goal: Goal::Ratio(0.05),
        seed: "zero-copy 200-300 cycles (seed 003)",
    },
    Row {
        case: "fusion_rpc",
        what: "RequestReplyChannel call (correlation id + payload)",
        against: &[Against::Linux("unix_roundtrip")],
        goal: Goal::Ratio(0.15),
        seed: "-",
    },
];

fn cycles(run: &BenchRun, case: &str) -> Option<u64> {
    match run.cases.get(case) {
        Some(CaseResult::Measured { cycles, .. }) if *cycles > 0 => Some(*cycles),
        _ => None,
    }
}

/// The figure of one comparison.
fn against_cycles(exo: &BenchRun, linux: &BenchRun, against: Against) -> Option<u64> {
    match against {
        Against::Linux(case) => cycles(linux, case),
        Against::Exo(case) => cycles(exo, case),
    }
}

fn label(against: Against) -> String {
    match against {
        Against::Linux(case) => format!("Linux {case}"),
        Against::Exo(case) => format!("Exo-OS {case}"),
    }
}

/// Whether a row's goal is met: None when a figure is missing.
pub fn met(row: &Row, exo: &BenchRun, linux: &BenchRun) -> Option<bool> {
    let mine = cycles(exo, row.case)?;
    match row.goal {
        Goal::Instructions(limit) => Some(mine <= limit),
        Goal::Ratio(limit) => {
            let base = against_cycles(exo, linux, *row.against.first()?)?;
            Some(mine as f64 / base as f64 <= limit)
        }
    }
}

/// The markdown section.
pub fn markdown(exo: &BenchRun, linux: &BenchRun) -> String {
    let mut md = String::from(
        "\n## Fusion Rings vs Linux IPC\n\nGuest instructions per operation. The Fusion cases answer ENOSYS on Linux; each is \
         compared with the cases named (ratio = Fusion / that case).\n\n\
         | case | what | Exo-OS | compared with | goal | met | seed |\n|---|---|---:|---|---|---|---|\n",
    );
    for row in ROWS {
        let mine = cycles(exo, row.case);
        let versus: Vec<String> = row
            .against
            .iter()
            .map(|&a| match (against_cycles(exo, linux, a), mine) {
                (Some(base), Some(m)) => format!("{} {base} ({:.3}×)", label(a), m as f64 / base as f64),
                (Some(base), None) => format!("{} {base}", label(a)),
                (None, _) => format!("{} not measured", label(a)),
            })
            .collect();
        let goal = match row.goal {
            Goal::Ratio(r) => format!("≤ {r:.2}× {}", row.against.first().map_or(String::new(), |&a| label(a))),
            Goal::Instructions(n) => format!("≤ {n} instructions"),
        };
        let met = match met(row, exo, linux) {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {goal} | {met} | {} |",
            row.case,
            row.what,
            mine.map_or("not measured".to_string(), |m| m.to_string()),
            versus.join("; "),
            row.seed
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn run(cases: &[(&str, u64)]) -> BenchRun {
        let mut map = BTreeMap::new();
        for (name, c) in cases {
            map.insert(name.to_string(), CaseResult::Measured { cycles: *c, ns: 0.0, iters: 1 });
        }
        BenchRun { kernel: "k".into(), cpus: 1, cases: map }
    }

    #[test]
    fn goals_compare_with_the_right_figures() {
        let exo = run(&[("fusion_roundtrip", 1000), ("fusion_poll_rt_2cpu", 400), ("futex_pingpong_2cpu", 5000), ("fusion_batch_64b", 30)]);
        let linux = run(&[("pipe_roundtrip", 11000), ("unix_roundtrip", 19000), ("futex_pingpong", 10000), ("pipe_msgs_64b", 900)]);
        let by = |name: &str| ROWS.iter().find(|r| r.case == name).unwrap();
        assert_eq!(met(by("fusion_roundtrip"), &exo, &linux), Some(true));
        assert_eq!(met(by("fusion_poll_rt_2cpu"), &exo, &linux), Some(false));
        assert_eq!(met(by("fusion_batch_64b"), &exo, &linux), Some(true));
        assert_eq!(met(by("fusion_rpc"), &exo, &linux), None);
        let md = markdown(&exo, &linux);
        assert!(md.contains("| fusion_roundtrip |"));
        assert!(md.contains("Linux pipe_roundtrip 11000 (0.091×)"));
        assert!(md.contains("Exo-OS futex_pingpong_2cpu 5000"));
    }
}
