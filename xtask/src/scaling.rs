//! The scaling axis of `cargo xtask bench` (Exo-OS only): the benchmark program in
//! `BENCH_MODE=scaling` (`user/bench/scaling.h`) runs the same parallel load (4 workers doing
//! fork+exit+wait, pipe pairs, page faults or futex pairs) on machines with 1, 2 and 4 CPUs,
//! and reports operations per virtual second and the speed-up over one CPU.
//!
//! Virtual time with several CPUs: icount is incompatible with multi-threaded TCG, so QEMU
//! runs the vCPUs round-robin in one thread, and its virtual clock (the guest's TSC and
//! CLOCK_MONOTONIC) counts the instructions retired by all vCPUs together; a halted vCPU
//! retires none (with `sleep=off`, time jumps to the next timer only when every vCPU halts).
//! The guest-measured span `ns` of the parallel region is therefore the total work of all
//! CPUs, not the elapsed time of a parallel machine. With `b` = the average number of busy
//! (non-idle) CPUs over the region, from the busy/idle ticks of `/proc/stat`, the elapsed time
//! of a machine whose CPUs each retire one instruction per ns is `ns / b` (exact when the
//! number of busy CPUs is constant over the region; `b` is clamped to [1, CPUs]). Operations
//! per virtual second = ops / (ns / b); speed-up = that over the 1-CPU figure of the same case.
//! A load that stays on one CPU gets b = 1 and no speed-up; spinning or extra SMP work shows
//! up as a larger `ns`.

use anyhow::Result;
use std::fmt::Write as _;
use std::path::Path;

use crate::benchreport;
use crate::kbuild::{self, BuildOpts};
use crate::qemu::{self, Boot, Machine};
use crate::{sidebyside, util};

/// The CPU counts of the axis.
pub const CPU_COUNTS: &[u32] = &[1, 2, 4];
/// The case names of the axis (the program's `scale_<case>`).
pub const CASES: &[&str] = &["fork_exit", "pipe_pairs", "page_faults", "futex_pairs"];

/// One `SCALE` line: a parallel region on a machine with `cpus` CPUs.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub case: String,
    pub cpus: u32,
    pub workers: u32,
    pub ops: u64,
    /// Guest CLOCK_MONOTONIC span of the region (instructions of all CPUs under icount).
    pub ns: u64,
    /// Busy and idle ticks of all CPUs over the region, when `/proc/stat` gave them.
    pub busy: Option<u64>,
    pub idle: Option<u64>,
}

impl Sample {
    /// The average number of busy CPUs over the region, in [1, cpus].
    pub fn busy_cpus(&self) -> f64 {
        let cpus = f64::from(self.cpus.max(1));
        match (self.busy, self.idle) {
            (Some(b), Some(i)) if b + i > 0 => (cpus * b as f64 / (b + i) as f64).clamp(1.0, cpus),
            _ => cpus,
        }
    }

    /// Operations per second of virtual time of a parallel machine (see the module comment).
    pub fn ops_per_virtual_s(&self) -> f64 {
        if self.ns == 0 {
            return 0.0;
        }
        self.ops as f64 * 1e9 * self.busy_cpus() / self.ns as f64
    }
}

/// Parses `SCALE <case> cpus=<n> workers=<w> ops=<n> ns=<n> cycles=<n> busy=<t|-1> idle=<t|-1>`.
pub fn parse_line(line: &str) -> Option<Sample> {
    let at = line.find("SCALE ")?;
    let words: Vec<&str> = line[at + 6..].split_whitespace().collect();
    let field = |key: &str| words.iter().find_map(|w| w.strip_prefix(key)?.strip_prefix('='));
    let ticks = |key: &str| field(key).and_then(|v| v.parse::<u64>().ok());
    Some(Sample {
        case: words.first()?.to_string(),
        cpus: field("cpus")?.parse().ok()?,
        workers: field("workers")?.parse().ok()?,
        ops: field("ops")?.parse().ok()?,
        ns: field("ns")?.parse().ok()?,
        busy: ticks("busy"),
        idle: ticks("idle"),
    })
}

/// The axis: measured samples and the (case, CPUs, reason) of cases that could not run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scaling {
    pub samples: Vec<Sample>,
    pub unsupported: Vec<(String, u32, String)>,
}

impl Scaling {
    /// Speed-up of a sample over the 1-CPU sample of the same case.
    pub fn speedup(&self, s: &Sample) -> Option<f64> {
        let one = self.samples.iter().find(|o| o.case == s.case && o.cpus == 1)?.ops_per_virtual_s();
        (one > 0.0).then(|| s.ops_per_virtual_s() / one)
    }
}

/// Whether `filter` selects any case of the axis (no filter: all).
pub fn selected(filter: Option<&str>) -> bool {
    filter.is_none_or(|f| CASES.iter().any(|c| format!("scale_{c}").contains(f)))
}

/// Boots Exo-OS once per CPU count in `cpus`, with iteration counts divided by `scale`.
pub fn run(root: &Path, scale: u32, filter: Option<&str>, cpus: &[u32]) -> Result<Scaling> {
    let initrd = sidebyside::initramfs(root)?;
    let kernel = kbuild::build_kernel(root, BuildOpts { release: true, ktest: false, checked: false })?;
    let out_dir = root.join("target").join("bench");
    util::mkdirs(&out_dir)?;
    let vars = format!(
        "BENCH_MODE=scaling BENCH_SCALE={scale}{}",
        filter.map(|f| format!(" BENCH_FILTER={f}")).unwrap_or_default()
    );
    let mut axis = Scaling::default();
    for &n in cpus {
        let append = format!("panic=exit log=warn {vars}");
        let mut m = Machine::new(Boot::Pvh { kernel: kernel.clone(), initrd: Some(initrd.clone()), append });
        m.icount = true;
        m.smp = Some(n);
        let log = out_dir.join(format!("exo-scaling-{n}cpu-serial.log"));
        let (run, lines) = sidebyside::boot(&m, log.clone(), &format!("Exo-OS scaling, {n} CPUs"), &[qemu::STATUS_SUCCESS, 0])?;
        let samples: Vec<Sample> = lines.iter().filter_map(|l| parse_line(l)).collect();
        for (name, result) in &run.cases {
            let case = name.strip_prefix("scale_").unwrap_or(name);
            if let benchreport::CaseResult::Unsupported(why) = result {
                axis.unsupported.push((case.to_string(), n, why.clone()));
            } else if !samples.iter().any(|s| s.case == case) {
                axis.unsupported.push((case.to_string(), n, "no SCALE line".into()));
            }
        }
        if let Some(s) = samples.iter().find(|s| s.cpus != n) {
            eprintln!("xtask bench: warning: {n}-CPU machine reported {} online CPUs", s.cpus);
        }
        axis.samples.extend(samples);
    }
    axis.samples.sort_by(|a, b| (CASES.iter().position(|c| *c == a.case), a.cpus).cmp(&(CASES.iter().position(|c| *c == b.case), b.cpus)));
    Ok(axis)
}

/// The report.md section.
pub fn markdown(axis: &Scaling) -> String {
    let mut md = String::from(
        "\n## Scaling (Exo-OS only)\n\n4 independent workers (or worker pairs), the same load at every CPU count. \
         Virtual time of a parallel machine = guest-measured span / average busy CPUs (QEMU's icount runs the vCPUs \
         round-robin and its clock counts the instructions of all of them; see xtask/src/scaling.rs). Goal: ≥ 3.5× at \
         4 CPUs for independent processes.\n\n\
         | case | CPUs | ops | span (M instr) | busy CPUs | ops/virtual s | speed-up |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for s in &axis.samples {
        let speedup = axis.speedup(s).map_or("-".to_string(), |x| format!("{x:.2}×"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.1} | {:.2}{} | {:.0} | {speedup} |",
            s.case,
            s.cpus,
            s.ops,
            s.ns as f64 / 1e6,
            s.busy_cpus(),
            if s.busy.is_some() && s.idle.is_some() { "" } else { " (no /proc/stat: all assumed busy)" },
            s.ops_per_virtual_s()
        );
    }
    for (case, cpus, why) in &axis.unsupported {
        let _ = writeln!(md, "| {case} | {cpus} | unsupported: {} | - | - | - | - |", why.replace('|', "\\|"));
    }
    md
}

/// The report.json `"scaling"` array (rows of case, CPUs, ops/virtual s, speed-up).
pub fn json(axis: &Scaling) -> String {
    let rows: Vec<String> = axis
        .samples
        .iter()
        .map(|s| {
            format!(
                "    {{\"case\": \"{}\", \"cpus\": {}, \"ops\": {}, \"virtual_ns\": {}, \"busy_cpus\": {:.3}, \
                 \"ops_per_virtual_s\": {:.1}, \"speedup\": {}}}",
                s.case,
                s.cpus,
                s.ops,
                s.ns,
                s.busy_cpus(),
                s.ops_per_virtual_s(),
                axis.speedup(s).map_or("null".to_string(), |x| format!("{x:.4}"))
            )
        })
        .collect();
    format!("[\n{}\n  ]", rows.join(",\n"))
}

const SVG_ROW_H: f64 = 20.0;

/// Height of the svg panel of the axis (0 when there is nothing to show).
pub fn svg_height(axis: &Scaling) -> f64 {
    let rows = axis.samples.len() + axis.unsupported.len();
    if rows == 0 {
        0.0
    } else {
        40.0 + SVG_ROW_H * rows as f64 + 30.0
    }
}

/// The svg panel: one bar per (case, CPUs), speed-up over one CPU on a linear scale 0..4,
/// starting at `top`; the labels end at `label_w`, the plot is `plot_w` wide.
pub fn svg_panel(axis: &Scaling, top: f64, label_w: f64, plot_w: f64) -> String {
    let mut s = String::new();
    if svg_height(axis) == 0.0 {
        return s;
    }
    let max = axis.samples.iter().filter_map(|x| axis.speedup(x)).fold(4.0f64, f64::max).ceil();
    let x = |v: f64| label_w + v / max * plot_w;
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"15\" text-anchor=\"middle\">Exo-OS scaling: speed-up over 1 CPU (goal 3.5× at 4 CPUs)</text>",
        label_w + plot_w / 2.0,
        top + 16.0
    );
    let y0 = top + 30.0;
    let rows = axis.samples.len() + axis.unsupported.len();
    let bottom = y0 + SVG_ROW_H * rows as f64;
    for k in 0..=max as u32 {
        let tx = x(f64::from(k));
        let _ = writeln!(
            s,
            "<line x1=\"{tx:.1}\" y1=\"{y0:.1}\" x2=\"{tx:.1}\" y2=\"{bottom:.1}\" stroke=\"#dddddd\"/>\
             <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{k}×</text>",
            bottom + 16.0
        );
    }
    let label = |i: usize, text: &str, s: &mut String| {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{text}</text>",
            label_w - 8.0,
            y0 + SVG_ROW_H * i as f64 + SVG_ROW_H * 0.7
        );
    };
    for (i, sample) in axis.samples.iter().enumerate() {
        label(i, &format!("{}, {} CPUs", sample.case, sample.cpus), &mut s);
        let y = y0 + SVG_ROW_H * i as f64;
        if let Some(v) = axis.speedup(sample) {
            let _ = writeln!(
                s,
                "<rect class=\"speedup\" x=\"{label_w:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#4a78b0\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\">{v:.2}×</text>",
                y + 3.0,
                (x(v) - label_w).max(1.0),
                SVG_ROW_H - 6.0,
                x(v) + 4.0,
                y + SVG_ROW_H * 0.7
            );
        }
    }
    for (j, (case, cpus, _)) in axis.unsupported.iter().enumerate() {
        let i = axis.samples.len() + j;
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#777777\">{case}, {cpus} CPUs: unsupported</text>",
            label_w + 6.0,
            y0 + SVG_ROW_H * i as f64 + SVG_ROW_H * 0.7
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(case: &str, cpus: u32, ns: u64, busy: Option<u64>, idle: Option<u64>) -> Sample {
        Sample { case: case.into(), cpus, workers: 4, ops: 1000, ns, busy, idle }
    }

    #[test]
    fn parses_scale_lines() {
        let s = parse_line("noise SCALE fork_exit cpus=4 workers=4 ops=2000 ns=5000 cycles=5000 busy=30 idle=10").unwrap();
        assert_eq!(s, Sample { case: "fork_exit".into(), cpus: 4, workers: 4, ops: 2000, ns: 5000, busy: Some(30), idle: Some(10) });
        let s = parse_line("SCALE x cpus=1 workers=4 ops=1 ns=1 cycles=1 busy=-1 idle=-1").unwrap();
        assert_eq!((s.busy, s.idle), (None, None));
        assert_eq!(parse_line("SCALE x cpus=a workers=4 ops=1 ns=1"), None);
        assert_eq!(parse_line("BENCH x cycles=1"), None);
    }

    #[test]
    fn busy_cpus_and_speedup() {
        // All 4 CPUs busy, the same total work: 4× the throughput of one CPU.
        let axis = Scaling {
            samples: vec![
                sample("a", 1, 1_000_000, Some(10), Some(0)),
                sample("a", 4, 1_000_000, Some(40), Some(0)),
                sample("a", 2, 1_000_000, Some(10), Some(10)), // one CPU idle: no gain
            ],
            unsupported: vec![],
        };
        assert_eq!(axis.samples[0].ops_per_virtual_s(), 1e6);
        assert_eq!(axis.speedup(&axis.samples[1]), Some(4.0));
        assert_eq!(axis.speedup(&axis.samples[2]), Some(1.0));
        // Unknown ticks: every CPU counted busy; fewer than one busy CPU is clamped to one.
        assert_eq!(sample("b", 2, 10, None, None).busy_cpus(), 2.0);
        assert_eq!(sample("b", 1, 10, Some(1), Some(9)).busy_cpus(), 1.0);
        let md = markdown(&axis);
        assert!(md.contains("| a | 4 | 1000 | 1.0 | 4.00 | 4000000 | 4.00× |"), "{md}");
        let js = json(&axis);
        assert!(js.contains("\"speedup\": 4.0000") && js.contains("\"cpus\": 2"), "{js}");
    }

    #[test]
    fn filter_selection() {
        assert!(selected(None));
        assert!(selected(Some("scale")));
        assert!(selected(Some("fork_exit")));
        assert!(!selected(Some("null_syscall")));
    }
}
