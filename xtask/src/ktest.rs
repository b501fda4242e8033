//! The KTEST serial protocol of the in-kernel tests, parsed purely from lines.
//!
//! ```text
//! KTEST BEGIN <count>
//! KTEST RUN <name>
//! KTEST PASS <name>          | KTEST FAIL <name>: <reason>
//! KTEST END passed=<n> failed=<m>
//! ```
//! Other log lines may be interleaved. A test with `RUN` but no result before the run
//! ends (exit, crash or timeout) is counted as hung or crashed. A `LOCKDEP: …` line (the
//! kernel's lock-order checker found a problem) fails the run.

use crate::qemu::{STATUS_SUCCESS, STATUS_TEST_FAILED};

/// The result of one in-kernel test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Passed,
    Failed(String),
    /// `RUN` without `PASS`/`FAIL`: the test hung, or the kernel crashed in it.
    Hung,
}

/// Everything the protocol said during one boot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The count announced by `KTEST BEGIN`.
    pub begin: Option<usize>,
    /// Tests in the order they ran.
    pub tests: Vec<(String, Status)>,
    /// `(passed, failed)` from `KTEST END`.
    pub end: Option<(usize, usize)>,
    /// Malformed or unexpected protocol lines.
    pub problems: Vec<String>,
}

impl Report {
    pub fn status_of(&self, name: &str) -> Option<&Status> {
        self.tests.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

/// Incremental parser: `feed` every serial line, then `finish`.
#[derive(Debug, Default)]
pub struct Parser {
    report: Report,
    running: Option<String>,
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn feed(&mut self, line: &str) {
        let line = line.trim_end_matches('\r');
        if let Some(at) = line.find("LOCKDEP: ") {
            self.report
                .problems
                .push(format!("lockdep report: {}", &line[at..]));
        }
        let Some(at) = line.find("KTEST ") else {
            return;
        };
        let rest = line[at + "KTEST ".len()..].trim();
        let (word, arg) = rest.split_once(' ').unwrap_or((rest, ""));
        let arg = arg.trim();
        match word {
            "BEGIN" => match arg.parse() {
                Ok(n) => self.report.begin = Some(n),
                Err(_) => self.problem(line),
            },
            "RUN" if !arg.is_empty() => {
                if let Some(prev) = self.running.take() {
                    self.report.tests.push((
                        prev,
                        Status::Failed("no PASS/FAIL before the next test started".into()),
                    ));
                }
                self.running = Some(arg.to_string());
            }
            "PASS" if !arg.is_empty() => self.result(arg, Status::Passed),
            "FAIL" if !arg.is_empty() => {
                let (name, reason) = match arg.split_once(": ") {
                    Some((n, r)) => (n.trim(), r.trim()),
                    None => (arg.trim_end_matches(':'), ""),
                };
                self.result(name, Status::Failed(reason.to_string()));
            }
            "END" => match parse_end(arg) {
                Some(e) => self.report.end = Some(e),
                None => self.problem(line),
            },
            _ => self.problem(line),
        }
    }

    fn problem(&mut self, line: &str) {
        self.report
            .problems
            .push(format!("malformed protocol line: {line:?}"));
    }

    fn result(&mut self, name: &str, status: Status) {
        match self.running.take() {
            Some(r) if r == name => {}
            Some(r) => {
                self.report
                    .problems
                    .push(format!("result for {name} while {r} was running"));
                self.report
                    .tests
                    .push((r, Status::Failed("no PASS/FAIL of its own".into())));
            }
            None => self
                .report
                .problems
                .push(format!("result for {name} without KTEST RUN")),
        }
        self.report.tests.push((name.to_string(), status));
    }

    /// End of the run: a test still running hung (or crashed the kernel).
    pub fn finish(mut self) -> Report {
        if let Some(r) = self.running.take() {
            self.report.tests.push((r, Status::Hung));
        }
        self.report
    }
}

fn parse_end(arg: &str) -> Option<(usize, usize)> {
    let mut passed = None;
    let mut failed = None;
    for kv in arg.split_whitespace() {
        match kv.split_once('=')? {
            ("passed", v) => passed = v.parse().ok(),
            ("failed", v) => failed = v.parse().ok(),
            _ => {}
        }
    }
    Some((passed?, failed?))
}

/// Parse all lines of one boot.
pub fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> Report {
    let mut p = Parser::new();
    for l in lines {
        p.feed(l);
    }
    p.finish()
}

/// The harness's judgement of one ktest boot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub passed: usize,
    /// Failed tests plus at most one failure of the run itself.
    pub failed: usize,
    /// One message per failure.
    pub failures: Vec<String>,
}

/// Judge a boot from its report and QEMU's exit status (`None`: killed on timeout).
pub fn evaluate(r: &Report, status: Option<i32>) -> Verdict {
    let mut v = Verdict::default();
    for (name, s) in &r.tests {
        match s {
            Status::Passed => v.passed += 1,
            Status::Failed(why) => {
                v.failed += 1;
                v.failures.push(format!("{name}: FAILED: {why}"));
            }
            Status::Hung => {
                v.failed += 1;
                v.failures
                    .push(format!("{name}: hung or crashed (no PASS/FAIL)"));
            }
        }
    }
    let mut run = Vec::new();
    match r.begin {
        None => run.push("no `KTEST BEGIN`".to_string()),
        Some(n) if n != r.tests.len() => run.push(format!(
            "`KTEST BEGIN {n}` but {} tests reported",
            r.tests.len()
        )),
        _ => {}
    }
    match r.end {
        None => run.push("no `KTEST END`".to_string()),
        Some((p, f)) if (p, f) != (v.passed, v.failed) => run.push(format!(
            "`KTEST END passed={p} failed={f}` but the harness counted passed={} failed={}",
            v.passed, v.failed
        )),
        _ => {}
    }
    let expected = if v.failed == 0 {
        STATUS_SUCCESS
    } else {
        STATUS_TEST_FAILED
    };
    match status {
        None => run.push("QEMU did not exit before the timeout".to_string()),
        Some(s) if s != expected => {
            run.push(format!("QEMU exited with status {s}, expected {expected}"))
        }
        _ => {}
    }
    run.extend(r.problems.iter().cloned());
    if !run.is_empty() {
        v.failed += 1;
        v.failures
            .push(format!("the test run itself: {}", run.join("; ")));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
boot: cmdline \"ktest panic=exit\"\r
KTEST BEGIN 2
KTEST RUN mm::frame::alloc
[INFO] allocating
KTEST PASS mm::frame::alloc
KTEST RUN sync::spin::lock
KTEST PASS sync::spin::lock\r
KTEST END passed=2 failed=0
";

    #[test]
    fn all_pass() {
        let r = parse(GOOD.lines());
        assert_eq!(r.begin, Some(2));
        assert_eq!(r.end, Some((2, 0)));
        assert_eq!(r.status_of("sync::spin::lock"), Some(&Status::Passed));
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let v = evaluate(&r, Some(33));
        assert_eq!((v.passed, v.failed), (2, 0), "{:?}", v.failures);
    }

    #[test]
    fn wrong_status_is_a_run_failure() {
        let v = evaluate(&parse(GOOD.lines()), Some(37));
        assert_eq!((v.passed, v.failed), (2, 1));
        assert!(v.failures[0].contains("status 37"), "{:?}", v.failures);
    }

    #[test]
    fn failure_with_reason_and_colons_in_name() {
        let r = parse(
            "KTEST BEGIN 1\nKTEST RUN a::b\nKTEST FAIL a::b: expected 1, got 2: oops\nKTEST END passed=0 failed=1"
                .lines(),
        );
        assert_eq!(
            r.status_of("a::b"),
            Some(&Status::Failed("expected 1, got 2: oops".into()))
        );
        let v = evaluate(&r, Some(35));
        assert_eq!((v.passed, v.failed), (0, 1), "{:?}", v.failures);
    }

    #[test]
    fn hang_until_timeout() {
        let r = parse(
            "KTEST BEGIN 2\nKTEST RUN meta::deliberate_failure\nKTEST FAIL meta::deliberate_failure: on purpose\nKTEST RUN meta::deliberate_hang\n"
                .lines(),
        );
        assert!(matches!(
            r.status_of("meta::deliberate_failure"),
            Some(Status::Failed(_))
        ));
        assert_eq!(r.status_of("meta::deliberate_hang"), Some(&Status::Hung));
        let v = evaluate(&r, None);
        // Two failed tests plus the run (no END, timeout).
        assert_eq!((v.passed, v.failed), (0, 3));
        assert!(v.failures[2].contains("no `KTEST END`"));
    }

    #[test]
    fn crash_mid_test() {
        let r = parse(
            "KTEST BEGIN 3\nKTEST RUN x\nKTEST PASS x\nKTEST RUN y\nKERNEL PANIC at ...".lines(),
        );
        assert_eq!(r.status_of("y"), Some(&Status::Hung));
        let v = evaluate(&r, Some(37));
        assert_eq!((v.passed, v.failed), (1, 2));
        let run = &v.failures[1];
        assert!(
            run.contains("BEGIN 3") && run.contains("END") && run.contains("37"),
            "{run}"
        );
    }

    #[test]
    fn count_mismatch_and_garbage() {
        let r =
            parse("KTEST BEGIN x\nKTEST RUN a\nKTEST PASS a\nKTEST END passed=5 failed=0".lines());
        assert_eq!(r.problems.len(), 1);
        let v = evaluate(&r, Some(33));
        assert_eq!((v.passed, v.failed), (1, 1));
        assert!(v.failures[0].contains("passed=5"), "{:?}", v.failures);
    }

    #[test]
    fn result_without_run_and_run_without_result() {
        let r = parse(
            "KTEST BEGIN 2\nKTEST RUN a\nKTEST RUN b\nKTEST PASS b\nKTEST END passed=1 failed=1"
                .lines(),
        );
        assert!(matches!(r.status_of("a"), Some(Status::Failed(_))));
        assert_eq!(
            evaluate(&r, Some(35)),
            Verdict {
                passed: 1,
                failed: 1,
                failures: evaluate(&r, Some(35)).failures
            }
        );
        let r = parse("KTEST PASS z".lines());
        assert_eq!(r.status_of("z"), Some(&Status::Passed));
        assert_eq!(r.problems.len(), 1);
    }

    #[test]
    fn empty_output_fails_the_run() {
        let v = evaluate(&parse(std::iter::empty()), Some(0));
        assert_eq!((v.passed, v.failed), (0, 1));
        assert!(v.failures[0].contains("no `KTEST BEGIN`"));
    }

    #[test]
    fn lockdep_report_fails_the_run() {
        let r = parse(
            "KTEST BEGIN 1\nKTEST RUN a\nLOCKDEP: lock order inversion: x\nlockdep (expected): y\nKTEST PASS a\nKTEST END passed=1 failed=0"
                .lines(),
        );
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        let v = evaluate(&r, Some(33));
        assert_eq!((v.passed, v.failed), (1, 1));
        assert!(v.failures[0].contains("LOCKDEP: lock order"), "{:?}", v.failures);
    }

    #[test]
    fn zero_tests_is_fine() {
        let v = evaluate(
            &parse("KTEST BEGIN 0\nKTEST END passed=0 failed=0".lines()),
            Some(33),
        );
        assert_eq!(v, Verdict::default());
    }
}
