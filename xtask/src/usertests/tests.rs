//! Tests of the user-test protocol parser and of the verdicts drawn from it.

use super::*;

const END: &str = "QEMU exited with status 33";

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn fails(ev: &[Event]) -> Vec<(String, String)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Failed { what, why } => Some((what.clone(), why.clone())),
            _ => None,
        })
        .collect()
}

fn passes(ev: &[Event]) -> usize {
    ev.iter()
        .map(|e| match e {
            Event::Passed { cases, .. } | Event::PartlyPassed { cases, .. } => *cases,
            Event::Failed { .. } => 0,
        })
        .sum()
}

#[test]
fn parses_the_protocol() {
    let log = "\
boot: cmdline \"utest panic=exit\"
UTEST t_a fork ok
[   1.000] INFO exo: something UTEST t_a wait ok
UTEST t_a pipe FAIL read returned 3, expected 4\r
UTEST t_a case with spaces ok
UTEST-EXIT t_a exit=1
UTEST t_b.glibc x FAIL
UTEST-EXIT t_b.glibc signal=11
UTEST-SUMMARY passed=3 failed=2
";
    let r = parse(log.lines());
    assert_eq!(r.summary, Some((3, 2)));
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    assert_eq!(
        r.programs,
        [
            ProgramReport {
                name: "t_a".into(),
                passed: names(&["fork", "wait", "case with spaces"]),
                failed: vec![("pipe".into(), "read returned 3, expected 4".into())],
                exit: Some("exit=1".into()),
            },
            ProgramReport {
                name: "t_b.glibc".into(),
                passed: vec![],
                failed: vec![("x".into(), String::new())],
                exit: Some("signal=11".into()),
            },
        ]
    );
}

#[test]
fn malformed_lines_are_kept() {
    let r = parse(
        [
            "UTEST t_a",
            "UTEST t_a case maybe",
            "UTEST-EXIT t_a done",
            "UTEST-SUMMARY all good",
            "UTEST t_a  ok",
            "UTESTING is not the protocol",
        ]
        .iter()
        .copied(),
    );
    assert_eq!(r.malformed.len(), 5, "{:?}", r.malformed);
    assert!(r.programs.is_empty() && r.summary.is_none());
    let ev = evaluate(&r, &names(&["t_a"]), Some(33), END);
    assert!(fails(&ev)
        .iter()
        .any(|(_, why)| why.contains("UTEST t_a case maybe")));
}

#[test]
fn a_clean_run_passes_every_case() {
    let r = parse(
        "UTEST t_a x ok\nUTEST t_a y ok\nUTEST-EXIT t_a exit=0\nUTEST t_b z ok\n\
         UTEST-EXIT t_b exit=0\nUTEST-SUMMARY passed=3 failed=0"
            .lines(),
    );
    let ev = evaluate(&r, &names(&["t_a", "t_b"]), Some(33), END);
    assert!(fails(&ev).is_empty(), "{ev:?}");
    assert_eq!(passes(&ev), 3);
    assert_eq!(
        ev[0],
        Event::Passed {
            program: "t_a".into(),
            cases: 2
        }
    );
    // Status 0 is a clean power-off too; anything else is not.
    assert!(fails(&evaluate(&r, &names(&["t_a", "t_b"]), Some(0), END)).is_empty());
    let f = fails(&evaluate(
        &r,
        &names(&["t_a", "t_b"]),
        Some(37),
        "QEMU exited with status 37",
    ));
    assert_eq!(f.len(), 1);
    assert!(
        f[0].0.contains("power-off") && f[0].1.contains("37"),
        "{f:?}"
    );
    let f = fails(&evaluate(
        &r,
        &names(&["t_a", "t_b"]),
        None,
        "killed after the 240 s timeout",
    ));
    assert_eq!(f.len(), 1, "{f:?}");
}

#[test]
fn failures_count_once_each() {
    let log = "\
UTEST t_a x ok
UTEST t_a y FAIL got 1
UTEST t_a z FAIL got 2
UTEST-EXIT t_a exit=1
UTEST t_b x ok
UTEST-EXIT t_b signal=6
UTEST-EXIT t_c exit=0
UTEST-EXIT t_d exit=2
UTEST-SUMMARY passed=2 failed=4";
    let r = parse(log.lines());
    let expected = names(&["t_a", "t_b", "t_c", "t_d", "t_e"]);
    let ev = evaluate(&r, &expected, Some(33), END);
    assert_eq!(passes(&ev), 2);
    let f = fails(&ev);
    let what: Vec<&str> = f.iter().map(|(w, _)| w.as_str()).collect();
    assert_eq!(
        what,
        [
            "user t_a y",
            "user t_a z",
            "user t_b",
            "user t_c",
            "user t_d",
            "user t_e"
        ]
    );
    assert_eq!(f[0].1, "got 1");
    assert_eq!(f[2].1, "signal=6");
    assert!(f[3].1.contains("no UTEST case line"), "{}", f[3].1);
    assert!(f[4].1.contains("no UTEST case line") && f[4].1.contains("exit=2"));
    assert!(f[5].1.contains("never ran"));
    assert!(ev.contains(&Event::PartlyPassed {
        program: "t_a".into(),
        cases: 1
    }));
}

#[test]
fn a_crash_is_one_failure_naming_the_running_program() {
    let log = "UTEST t_a x ok\nUTEST-EXIT t_a exit=0\nUTEST t_b x ok\nKERNEL PANIC at ...";
    let r = parse(log.lines());
    let ev = evaluate(
        &r,
        &names(&["t_a", "t_b", "t_c", "t_d"]),
        Some(37),
        "QEMU exited with status 37",
    );
    assert_eq!(passes(&ev), 2);
    let f = fails(&ev);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "user tests run");
    for part in [
        "no UTEST-SUMMARY",
        "while t_b was running",
        "kernel panic",
        "2 programs did not run",
    ] {
        assert!(f[0].1.contains(part), "{part:?} in {}", f[0].1);
    }
    // Between two programs, the next one expected is named.
    let r = parse("UTEST t_a x ok\nUTEST-EXIT t_a exit=0".lines());
    let f = fails(&evaluate(
        &r,
        &names(&["t_a", "t_b"]),
        None,
        "killed after the 240 s timeout",
    ));
    assert_eq!(f.len(), 1);
    assert!(
        f[0].1.contains("probably while t_b") && f[0].1.contains("timeout"),
        "{}",
        f[0].1
    );
    // Nothing at all.
    let f = fails(&evaluate(
        &parse([].iter().copied()),
        &names(&["t_a"]),
        Some(0),
        END,
    ));
    assert_eq!(f.len(), 1);
    assert!(f[0].1.contains("t_a"), "{}", f[0].1);
    let f = fails(&evaluate(&parse([].iter().copied()), &[], Some(0), END));
    assert!(f
        .iter()
        .any(|(w, why)| w == "user tests" && why.contains("no test program")));
    assert!(f
        .iter()
        .any(|(_, why)| why.contains("before any test program")));
}

#[test]
fn summary_failures_must_be_accounted_for() {
    let r = parse("UTEST t_a x ok\nUTEST-EXIT t_a exit=0\nUTEST-SUMMARY passed=1 failed=1".lines());
    let f = fails(&evaluate(&r, &names(&["t_a"]), Some(33), END));
    assert_eq!(f.len(), 1);
    assert!(f[0].1.contains("failed=1"), "{}", f[0].1);
}

#[test]
fn a_lockdep_report_fails_the_run() {
    let log = "UTEST t_a x ok\nLOCKDEP: lock order inversion: [a.rs:1:1] taken at b.rs:2:2\nlockdep:   while holding …\nUTEST-EXIT t_a exit=0\nUTEST-SUMMARY passed=1 failed=0\n";
    let r = parse(log.lines());
    assert_eq!(r.lockdep.len(), 1);
    let f = fails(&evaluate(&r, &names(&["t_a"]), Some(33), END));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].1.starts_with("LOCKDEP: lock order inversion"), "{f:?}");
}

#[test]
fn a_program_killed_by_inits_timeout_is_one_failure() {
    let log = "UTEST t_a x ok\nUTEST-EXIT t_a timeout\nUTEST-SUMMARY passed=0 failed=1";
    let r = parse(log.lines());
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    let ev = evaluate(&r, &names(&["t_a"]), Some(33), END);
    let f = fails(&ev);
    assert_eq!(f, [("user t_a".to_string(), "timeout".to_string())]);
}

#[test]
fn enosys_log_checked() {
    let good = [
        "[ 1.0] WARN syscall: rseq (334) is not implemented (ENOSYS), first called by t_x (pid 6)",
        "[ 2.0] WARN syscall: membarrier (324) is not implemented (ENOSYS), first called by t_y (pid 7)",
        "[ 3.0] INFO syscall: ENOSYS report: 2 unimplemented calls made since boot: membarrier×1 rseq×4",
    ];
    assert_eq!(enosys_summary(good).unwrap(), "2 unimplemented calls made since boot: membarrier×1 rseq×4");
    let twice = [good[0], good[0], good[2]];
    assert!(enosys_summary(twice).unwrap_err().contains("more than once"));
    let unnamed = [
        "WARN syscall: ? (400) is not implemented (ENOSYS), first called by f (pid 3)",
        "WARN syscall: ? (401) is not implemented (ENOSYS), first called by f (pid 3)",
        good[2],
    ];
    assert!(enosys_summary(unnamed).is_ok());
    assert!(enosys_summary([good[0]]).unwrap_err().contains("no `syscall: ENOSYS report`"));
    let anonymous = ["WARN syscall: rseq (334) is not implemented (ENOSYS)", good[2]];
    assert!(enosys_summary(anonymous).unwrap_err().contains("does not name the program"));
}
