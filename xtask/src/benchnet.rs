//! The "Sockets vs Linux" part of the benchmark report (issue 15): the socket cases of
//! `user/bench/net.h` (and `unix_roundtrip` of bench.c) with the goals, Exo-OS
//! instructions per operation over Linux's, met or not. Loopback needs no NIC, so both kernels
//! run every case; the rows without a goal are informational (a second shape of the same path).

use crate::benchgoals::{self, Row};
use crate::benchreport::BenchRun;
#[cfg(test)]
use crate::benchgoals::met;

pub const ROWS: &[Row] = &[
    Row { case: "unix_roundtrip", what: "AF_UNIX stream (socketpair), 1 B round trip", goal: Some(0.30) },
    Row { case: "unix_stream_64k", what: "AF_UNIX stream (socketpair), 64 KiB writes; per 64 KiB", goal: Some(0.50) },
    Row { case: "unix_stream_4k", what: "AF_UNIX stream (socketpair), 4 KiB writes; per 4 KiB", goal: None },
    Row { case: "tcp_loopback_roundtrip", what: "TCP over 127.0.0.1, TCP_NODELAY, 1 B round trip", goal: Some(0.50) },
    Row { case: "tcp_loopback_stream", what: "TCP over 127.0.0.1, 64 KiB writes; per 64 KiB", goal: Some(0.50) },
    Row { case: "tcp_loopback_stream_4k", what: "TCP over 127.0.0.1, 4 KiB writes; per 4 KiB", goal: None },
    Row { case: "udp_loopback_roundtrip", what: "UDP over 127.0.0.1, 1 B datagram and answer", goal: Some(0.50) },
    Row { case: "udp_loopback_1k", what: "UDP over 127.0.0.1, 1 KiB datagram and answer", goal: None },
];

/// The markdown section (empty when no socket case ran on either kernel).
pub fn markdown(exo: &BenchRun, linux: &BenchRun) -> String {
    benchgoals::markdown(
        "\n## Sockets vs Linux (issue 15)\n\nGuest instructions per operation; both kernels run every case \
         (loopback needs no NIC). Rows without a goal are a second shape of the same path.\n\n",
        ROWS,
        exo,
        linux,
    )
}

/// The JSON array of the goals.
pub fn json(exo: &BenchRun, linux: &BenchRun) -> String {
    benchgoals::json(ROWS, exo, linux)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::benchreport::CaseResult;
    use std::collections::BTreeMap;

    fn run(cases: &[(&str, u64)]) -> BenchRun {
        let mut map = BTreeMap::new();
        for (name, c) in cases {
            map.insert(name.to_string(), CaseResult::Measured { cycles: *c, ns: 0.0, iters: 1 });
        }
        BenchRun { kernel: "k".into(), cpus: 1, cases: map }
    }

    #[test]
    fn goals_are_ratios_to_linux() {
        let exo = run(&[("unix_roundtrip", 3000), ("tcp_loopback_roundtrip", 20000), ("udp_loopback_1k", 5)]);
        let linux = run(&[("unix_roundtrip", 19000), ("tcp_loopback_roundtrip", 32000), ("udp_loopback_1k", 50)]);
        let by = |name: &str| ROWS.iter().find(|r| r.case == name).unwrap();
        assert_eq!(met(by("unix_roundtrip"), &exo, &linux), Some(true));
        assert_eq!(met(by("tcp_loopback_roundtrip"), &exo, &linux), Some(false));
        assert_eq!(met(by("udp_loopback_1k"), &exo, &linux), None, "informational rows have no verdict");
        assert_eq!(met(by("tcp_loopback_stream"), &exo, &linux), None);
        let md = markdown(&exo, &linux);
        assert!(md.contains("| unix_roundtrip | AF_UNIX stream (socketpair), 1 B round trip | 19000 | 3000 | 0.16 | ≤ 0.30 | yes |"), "{md}");
        assert!(md.contains("| tcp_loopback_stream | TCP over 127.0.0.1, 64 KiB writes; per 64 KiB | not run | not run | - | ≤ 0.50 | - |"), "{md}");
        assert!(md.contains("| udp_loopback_1k |") && md.contains("| informational | - |"), "{md}");
        let js = json(&exo, &linux);
        assert!(js.contains("{\"name\": \"unix_roundtrip\", \"goal_ratio\": 0.30, \"met\": true}"), "{js}");
        assert!(js.contains("{\"name\": \"udp_loopback_1k\", \"goal_ratio\": null, \"met\": null}"), "{js}");
    }

    #[test]
    fn unsupported_cases_show_why_and_no_section_without_cases() {
        let mut exo = run(&[]);
        exo.cases.insert("unix_stream_64k".into(), CaseResult::Unsupported("socketpair: ENOSYS/38".into()));
        let linux = run(&[("unix_stream_64k", 40000)]);
        let md = markdown(&exo, &linux);
        assert!(md.contains("| 40000 | unsupported: socketpair: ENOSYS/38 | - | ≤ 0.50 | - |"), "{md}");
        assert_eq!(markdown(&run(&[("null_syscall", 1)]), &run(&[])), "");
    }

    #[test]
    fn every_case_is_named_once_and_is_in_the_program() {
        let bench_c = std::fs::read_to_string(crate::util::workspace_root().join("user/bench/bench.c")).unwrap();
        for (i, row) in ROWS.iter().enumerate() {
            assert!(!ROWS[i + 1..].iter().any(|r| r.case == row.case), "{}", row.case);
            assert!(bench_c.contains(&format!("{{ \"{}\", case_{}, ", row.case, row.case)), "{} not in bench.c", row.case);
        }
    }
}
