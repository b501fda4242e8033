//! The "Storage vs Linux" part of the benchmark report (issue 16): the disk cases of
//! `user/bench/disk.h` with the goals, Exo-OS guest instructions per operation over
//! Linux's, met or not. Both kernels mount copies of the same blank ext2 image on the same
//! virtio-blk settings (`sidebyside.rs`); a kernel without the disk reports the cases
//! unsupported. The disk cases' "cycles" are the CPU time of the benchmark process (see
//! disk.h: the elapsed virtual time of an I/O wait is not instructions under `sleep=off`).

use crate::benchgoals::{self, Row};
use crate::benchreport::BenchRun;
#[cfg(test)]
use crate::benchgoals::met;

pub const ROWS: &[Row] = &[
    Row { case: "disk_seq_write_64m", what: "sequential write of 64 MiB in 64 KiB chunks to a new file + fsync; per MiB", goal: Some(0.50) },
    Row { case: "disk_seq_read_cold_64m", what: "sequential read of 64 MiB in 64 KiB chunks, cold caches (umount, BLKFLSBUF, mount); per MiB", goal: Some(0.50) },
    Row { case: "disk_seq_read_cached_64m", what: "the same read with the file cached; per MiB", goal: Some(0.50) },
    Row { case: "disk_create_10k", what: "create + write 4 KiB + close, 10,000 files in one directory; per file", goal: Some(0.50) },
    Row { case: "disk_unlink_10k", what: "unlink of those 10,000 files; per file", goal: Some(0.50) },
    Row { case: "disk_stat_10k", what: "stat of 10,000 cached files; per file", goal: Some(0.40) },
];

/// The markdown section (empty when no disk case ran on either kernel).
pub fn markdown(exo: &BenchRun, linux: &BenchRun) -> String {
    benchgoals::markdown(
        "\n## Storage vs Linux (issue 16)\n\nGuest instructions per operation run by the benchmark process (its \
         CPU time, `CLOCK_THREAD_CPUTIME_ID`: waits for the disk are not in it, nor write-back by kernel threads; \
         the elapsed virtual time is the `ns=` of the serial log). Both kernels mount a copy of the same blank \
         ext2 image (`mke2fs -t ext2 -b 4096`, 256 MiB, no partition table) from a virtio-blk disk.\n\n",
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

    fn run(cases: &[(&str, CaseResult)]) -> BenchRun {
        let cases: BTreeMap<String, CaseResult> = cases.iter().map(|(n, r)| (n.to_string(), r.clone())).collect();
        BenchRun { kernel: "k".into(), cpus: 1, cases }
    }

    fn m(cycles: u64) -> CaseResult {
        CaseResult::Measured { cycles, ns: 0.0, iters: 1 }
    }

    #[test]
    fn goals_are_ratios_to_linux() {
        let exo = run(&[("disk_seq_write_64m", m(400)), ("disk_stat_10k", m(500)), ("disk_create_10k", m(100))]);
        let linux = run(&[("disk_seq_write_64m", m(1000)), ("disk_stat_10k", m(1000)), ("disk_create_10k", m(100))]);
        let by = |name: &str| ROWS.iter().find(|r| r.case == name).unwrap();
        assert_eq!(met(by("disk_seq_write_64m"), &exo, &linux), Some(true));
        assert_eq!(met(by("disk_stat_10k"), &exo, &linux), Some(false), "0.50 > 0.40");
        assert_eq!(met(by("disk_create_10k"), &exo, &linux), Some(false));
        assert_eq!(met(by("disk_unlink_10k"), &exo, &linux), None);
        let md = markdown(&exo, &linux);
        assert!(md.contains("## Storage vs Linux"), "{md}");
        assert!(md.contains("| disk_seq_write_64m | sequential write of 64 MiB in 64 KiB chunks to a new file + fsync; per MiB | 1000 | 400 | 0.40 | ≤ 0.50 | yes |"), "{md}");
        assert!(md.contains("| disk_stat_10k | stat of 10,000 cached files; per file | 1000 | 500 | 0.50 | ≤ 0.40 | no |"), "{md}");
        assert!(md.contains("| disk_unlink_10k | unlink of those 10,000 files; per file | not run | not run | - | ≤ 0.50 | - |"), "{md}");
        let js = json(&exo, &linux);
        assert!(js.contains("{\"name\": \"disk_stat_10k\", \"goal_ratio\": 0.40, \"met\": false}"), "{js}");
        assert!(js.contains("{\"name\": \"disk_unlink_10k\", \"goal_ratio\": 0.50, \"met\": null}"), "{js}");
    }

    #[test]
    fn unsupported_on_exo_shows_why_and_no_section_without_cases() {
        let exo = run(&[("disk_seq_read_cold_64m", CaseResult::Unsupported("mount /dev/vda on /mnt (ext2): ENODEV/19".into()))]);
        let linux = run(&[("disk_seq_read_cold_64m", m(90000))]);
        let md = markdown(&exo, &linux);
        assert!(md.contains("| 90000 | unsupported: mount /dev/vda on /mnt (ext2): ENODEV/19 | - | ≤ 0.50 | - |"), "{md}");
        assert_eq!(markdown(&run(&[("null_syscall", m(1))]), &run(&[])), "");
    }

    #[test]
    fn every_case_is_named_once_and_is_in_the_program() {
        let root = crate::util::workspace_root();
        let bench_c = std::fs::read_to_string(root.join("user/bench/bench.c")).unwrap();
        let disk_h = std::fs::read_to_string(root.join("user/bench/disk.h")).unwrap();
        for (i, row) in ROWS.iter().enumerate() {
            assert!(!ROWS[i + 1..].iter().any(|r| r.case == row.case), "{}", row.case);
            assert!(bench_c.contains(&format!("{{ \"{}\", case_{}, ", row.case, row.case)), "{} not in bench.c", row.case);
            assert!(disk_h.contains(&format!("static const char *case_{}(long n)", row.case)), "{} not in disk.h", row.case);
            assert!(row.goal.is_some(), "every storage row has the issue's goal");
        }
    }
}
