//! The user-test stage of `cargo xtask test`: boots the normal kernel with the initramfs and
//! `-append "utest panic=exit"` on two CPUs; init runs every program of `/bin/tests` and reports
//! on the serial console:
//!
//! ```text
//! UTEST <program> <case> ok
//! UTEST <program> <case> FAIL <detail>
//! UTEST-EXIT <program> exit=<n>|signal=<n>|timeout  after each program
//! UTEST-SUMMARY passed=<n> failed=<m>           at the end, then init powers off
//! ```
//!
//! Every case counts in the tally (one output line per program); a program that exits badly
//! without a FAIL line, prints no case, or never runs is one failure; a run without the summary
//! (crash, hang, kernel panic) is one failure naming the program that was running.

use crate::harness::{log_path, timeout, Tally};
use crate::initramfs;
use crate::kbuild::{self, BuildOpts};
use crate::qemu::{self, Boot, Capture, Machine, STATUS_PANIC, STATUS_SUCCESS};
use crate::util;
use std::path::Path;

/// The kernel command line of the run (`utest` is passed on to init as argv[1]).
pub const APPEND: &str = "utest panic=exit";
/// Wall-clock limit of the whole run, in seconds (before `XTASK_TIMEOUT_SCALE`).
const SECS: u64 = 240;

/// What one program reported.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProgramReport {
    pub name: String,
    pub passed: Vec<String>,
    /// (case, detail)
    pub failed: Vec<(String, String)>,
    /// `exit=<n>` or `signal=<n>` from its UTEST-EXIT line.
    pub exit: Option<String>,
}

/// Everything the protocol lines of a run say.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Programs in the order their first line appeared.
    pub programs: Vec<ProgramReport>,
    /// `(passed, failed)` of UTEST-SUMMARY.
    pub summary: Option<(usize, usize)>,
    /// Protocol lines that could not be parsed.
    pub malformed: Vec<String>,
    /// The kernel's lock-order checker's reports (`LOCKDEP: …` lines): each one is a failure.
    pub lockdep: Vec<String>,
}

impl Report {
    fn program(&mut self, name: &str) -> &mut ProgramReport {
        let i = match self.programs.iter().position(|p| p.name == name) {
            Some(i) => i,
            None => {
                self.programs.push(ProgramReport {
                    name: name.to_string(),
                    ..ProgramReport::default()
                });
                self.programs.len() - 1
            }
        };
        &mut self.programs[i]
    }
}

/// The protocol text in `line` (from its `UTEST` marker on: kernel output may precede it).
fn protocol(line: &str) -> Option<&str> {
    line.match_indices("UTEST")
        .map(|(i, _)| &line[i..])
        .find(|rest| {
            ["UTEST ", "UTEST-EXIT ", "UTEST-SUMMARY "]
                .iter()
                .any(|m| rest.starts_with(m))
        })
}

/// `key=<n>` → n.
fn number(word: &str, key: &str) -> Option<usize> {
    word.strip_prefix(key)?.strip_prefix('=')?.parse().ok()
}

/// Parse the serial lines of a run.
pub fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> Report {
    let mut r = Report::default();
    for line in lines {
        if let Some(at) = line.find("LOCKDEP: ") {
            r.lockdep.push(line[at..].trim_end().to_string());
        }
        let Some(p) = protocol(line) else { continue };
        let p = p.trim_end();
        let ok = if let Some(rest) = p.strip_prefix("UTEST-SUMMARY ") {
            let w: Vec<&str> = rest.split_whitespace().collect();
            match (w.first(), w.get(1)) {
                (Some(a), Some(b)) => number(a, "passed")
                    .zip(number(b, "failed"))
                    .map(|s| r.summary = Some(s))
                    .is_some(),
                _ => false,
            }
        } else if let Some(rest) = p.strip_prefix("UTEST-EXIT ") {
            match rest.split_whitespace().collect::<Vec<_>>()[..] {
                [prog, status]
                    if number(status, "exit").is_some()
                        || number(status, "signal").is_some()
                        || status == "timeout" =>
                {
                    r.program(prog).exit = Some(status.to_string());
                    true
                }
                _ => false,
            }
        } else if let Some(rest) = p.strip_prefix("UTEST ") {
            parse_case(&mut r, rest)
        } else {
            false
        };
        if !ok {
            r.malformed.push(p.to_string());
        }
    }
    r
}

/// `<program> <case> ok` or `<program> <case> FAIL <detail>` (a case name may hold spaces).
fn parse_case(r: &mut Report, rest: &str) -> bool {
    let Some((prog, tail)) = rest.trim_start().split_once(' ') else {
        return false;
    };
    if let Some(i) = tail.find(" FAIL").filter(|&i| {
        let after = &tail[i + 5..];
        after.is_empty() || after.starts_with(' ')
    }) {
        let case = tail[..i].trim();
        if case.is_empty() {
            return false;
        }
        let detail = tail[i + 5..].trim().to_string();
        r.program(prog).failed.push((case.to_string(), detail));
        return true;
    }
    match tail.strip_suffix(" ok").map(str::trim) {
        Some(case) if !case.is_empty() => {
            r.program(prog).passed.push(case.to_string());
            true
        }
        _ => false,
    }
}

/// One result to put in the tally.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `cases` passing cases of a program that has no failure.
    Passed {
        program: String,
        cases: usize,
    },
    /// Passing cases of a program that also failed.
    PartlyPassed {
        program: String,
        cases: usize,
    },
    Failed {
        what: String,
        why: String,
    },
}

fn failed(what: impl Into<String>, why: impl Into<String>) -> Event {
    Event::Failed {
        what: what.into(),
        why: why.into(),
    }
}

/// Judge a run: `expected` are the programs of `/bin/tests`, `status` QEMU's exit status and
/// `end` how the run ended (for messages).
pub fn evaluate(r: &Report, expected: &[String], status: Option<i32>, end: &str) -> Vec<Event> {
    let mut ev = Vec::new();
    if expected.is_empty() {
        ev.push(failed("user tests", "no test program in user/tests"));
    }
    for p in &r.programs {
        let what = format!("user {}", p.name);
        for (case, detail) in &p.failed {
            ev.push(failed(format!("{what} {case}"), detail.clone()));
        }
        let cases = p.passed.len();
        if cases > 0 {
            ev.push(if p.failed.is_empty() {
                Event::Passed {
                    program: p.name.clone(),
                    cases,
                }
            } else {
                Event::PartlyPassed {
                    program: p.name.clone(),
                    cases,
                }
            });
        }
        match &p.exit {
            // Still running when the run ended: the missing summary reports it.
            None if r.summary.is_none() => {}
            None => ev.push(failed(what, "no UTEST-EXIT line")),
            Some(s) if cases == 0 && p.failed.is_empty() => {
                ev.push(failed(what, format!("printed no UTEST case line ({s})")))
            }
            Some(s) if s != "exit=0" && p.failed.is_empty() => ev.push(failed(what, s.clone())),
            Some(_) => {}
        }
    }
    for l in &r.lockdep {
        ev.push(failed("kernel lockdep", l.clone()));
    }
    for m in &r.malformed {
        ev.push(failed(
            "user tests",
            format!("malformed protocol line {m:?}"),
        ));
    }
    let seen = |n: &str| r.programs.iter().any(|p| p.name == n);
    let never: Vec<&String> = expected.iter().filter(|n| !seen(n)).collect();
    match r.summary {
        Some((_, summary_failed)) => {
            for n in &never {
                ev.push(failed(format!("user {n}"), "never ran (no UTEST line)"));
            }
            let any_failure = ev.iter().any(|e| matches!(e, Event::Failed { .. }));
            if summary_failed > 0 && !any_failure {
                ev.push(failed(
                    "user tests",
                    format!(
                        "UTEST-SUMMARY says failed={summary_failed} but no failure was reported"
                    ),
                ));
            }
            if !matches!(status, Some(0) | Some(STATUS_SUCCESS)) {
                ev.push(failed(
                    "user tests power-off",
                    format!("init printed UTEST-SUMMARY, then {end}"),
                ));
            }
        }
        None => {
            let running = match r.programs.iter().rev().find(|p| p.exit.is_none()) {
                Some(p) => format!("while {} was running", p.name),
                None => match (never.first(), r.programs.last()) {
                    (Some(n), _) => format!("probably while {n} was running (it printed nothing)"),
                    (None, Some(p)) => format!("after {} exited", p.name),
                    (None, None) => "before any test program".to_string(),
                },
            };
            let panic = if status == Some(STATUS_PANIC) {
                " (kernel panic)"
            } else {
                ""
            };
            let left = if never.len() > 1 {
                format!("; {} programs did not run", never.len())
            } else {
                String::new()
            };
            ev.push(failed(
                "user tests run",
                format!("no UTEST-SUMMARY: init stopped {running}; {end}{panic}{left}"),
            ));
        }
    }
    ev
}

/// The stage: build the initramfs and the kernel, boot, judge.
pub fn run(root: &Path, t: &mut Tally) {
    if let Err(e) = util::ensure_packages(&[util::PKGS_USER, util::PKGS_QEMU]) {
        return t.fail("user tests: installing the tools", &format!("{e:#}"), None);
    }
    let built = match initramfs::build(root, true) {
        Ok(b) => b,
        Err(e) => {
            return t.fail(
                "user tests: building the initramfs",
                &format!("{e:#}"),
                None,
            )
        }
    };
    for (name, err) in &built.broken {
        let first = err
            .lines()
            .find(|l| l.contains("error"))
            .or_else(|| err.lines().next())
            .unwrap_or("");
        t.fail(
            &format!("user {name}"),
            &format!("not built: {first}"),
            None,
        );
    }
    let kernel = match kbuild::build_kernel(root, BuildOpts::default()) {
        Ok(k) => k,
        Err(e) => return t.fail("user tests: building the kernel", &format!("{e:#}"), None),
    };
    run_on(root, t, &kernel, &built, 2, None, SECS);
    // The IPC tests with the most concurrency (a million messages between two processes, the
    // hostile peer) also on 1 and 4 CPUs.
    for cpus in [1, 4] {
        run_on(root, t, &kernel, &built, cpus, Some(MULTI_CPU_FILTER), MULTI_CPU_SECS);
    }
}

/// The test programs (by name) run again on 1 and 4 CPUs, and their time limit there.
const MULTI_CPU_FILTER: &str = "t_fusion";
const MULTI_CPU_SECS: u64 = 180;

/// One boot of the test image on `cpus` CPUs, running the programs whose names contain
/// `filter` (all without one), each reported as a pass or a failure in `t`.
fn run_on(root: &Path, t: &mut Tally, kernel: &Path, built: &initramfs::Built, cpus: u32, filter: Option<&str>, secs: u64) {
    let append = match filter {
        Some(f) => format!("{APPEND} UTEST_FILTER={f}"),
        None => APPEND.to_string(),
    };
    let mut m = Machine::new(Boot::Pvh { kernel: kernel.to_path_buf(), initrd: Some(built.path.clone()), append });
    m.smp = Some(cpus);
    // A network card on QEMU's isolated user network (restrict=on) for t_eth; the other
    // programs use loopback only.
    m.nic = filter.is_none();
    let label = if filter.is_some() { format!("user-tests-{cpus}cpu") } else { "user-tests".to_string() };
    // The main run gets a scratch disk as /dev/vda (t_blockdev; xtask/src/disks.rs).
    if filter.is_none() {
        match crate::disks::scratch_disk(root, &label) {
            Ok(image) => m.disks.push(qemu::Disk::new(image)),
            Err(e) => return t.fail(&format!("{label} disk"), &format!("{e:#}"), None),
        }
    }
    let log = log_path(root, &label);
    let cap = Capture {
        timeout: timeout(secs),
        log: log.clone(),
        send: None,
        mark: None,
        echo: false,
        abort_on: vec![],
    };
    let out = match qemu::run_captured(&m, &cap) {
        Ok(o) => o,
        Err(e) => return t.fail(&format!("{label} run"), &format!("{e:#}"), Some(&log)),
    };
    let report = parse(out.lines.iter().map(String::as_str));
    let expected: Vec<String> = built.tests.iter().filter(|n| filter.is_none_or(|f| n.contains(f))).cloned().collect();
    let events = evaluate(&report, &expected, out.status, &out.describe_end());
    let (before_pass, before_fail) = (t.passed, t.failed);
    let suffix = if filter.is_some() { format!(" ({cpus} CPUs)") } else { String::new() };
    for e in events {
        match e {
            Event::Passed { program, cases } => {
                t.passed += cases;
                println!("  ok    user {program}{suffix} ({cases} cases)");
            }
            Event::PartlyPassed { program, cases } => {
                t.passed += cases;
                println!("        user {program}{suffix}: {cases} cases passed");
            }
            Event::Failed { what, why } => t.fail(&format!("{what}{suffix}"), &why, Some(&log)),
        }
    }
    // Unimplemented calls: one log line per call name, and the report at power-off.
    match enosys_summary(out.lines.iter().map(String::as_str)) {
        Ok(summary) => {
            t.passed += 1;
            println!("  ok    user ENOSYS log{suffix}: {summary}");
        }
        Err(why) => t.fail(&format!("user ENOSYS log{suffix}"), &why, Some(&log)),
    }
    println!(
        "xtask test: user tests{suffix} done: passed={} failed={} ({} programs, {:.1} s, {})",
        t.passed - before_pass,
        t.failed - before_fail,
        report.programs.len(),
        out.elapsed.as_secs_f64(),
        out.describe_end()
    );
}

/// Checks the kernel's log of unimplemented calls in a boot's output: each call is logged at
/// most once (`syscall: NAME (NR) is not implemented (ENOSYS), first called by PROG (pid P)`),
/// and the power-off report (`syscall: ENOSYS report: …`) is there. Returns the report's text.
pub fn enosys_summary<'a>(lines: impl IntoIterator<Item = &'a str>) -> Result<String, String> {
    let mut seen: Vec<String> = Vec::new();
    let mut report = None;
    for line in lines {
        if let Some(at) = line.find("syscall: ENOSYS report: ") {
            report = Some(line[at + "syscall: ENOSYS report: ".len()..].trim().to_string());
        } else if line.contains(") is not implemented (ENOSYS)") {
            let Some(at) = line.find("syscall: ") else { continue };
            // "NAME (NR)": numbers Linux does not name all show as `?`.
            let rest = &line[at + "syscall: ".len()..];
            let name = rest.split(") ").next().unwrap_or("").to_string();
            if !line.contains("first called by ") {
                return Err(format!("the ENOSYS line does not name the program: {line}"));
            }
            if seen.contains(&name) {
                return Err(format!("`{name}` was logged as unimplemented more than once"));
            }
            seen.push(name);
        }
    }
    report.ok_or_else(|| "no `syscall: ENOSYS report` line at power-off".to_string())
}

#[cfg(test)]
mod tests;
