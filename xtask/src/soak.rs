//! `cargo xtask soak [--minutes M]`: boots the normal kernel (debug build, `-smp 2`) with
//! `rdinit=/bin/soak` (`user/soak/soak.c` as PID 1), which keeps a mixed load running for M
//! minutes (busybox scripts, fork/exec/exit storms, pipes, mmap/munmap, signals, threads, the
//! fuzzer at a low rate) and compares free memory after the last round with the baseline taken
//! after the warm-up round. The run passes when the guest prints `SOAK-DONE ... result=ok`,
//! powers off cleanly, and the serial log has no kernel panic or watchdog report
//! (`kernel/src/watchdog.rs`).
//! `cargo xtask test` runs a 90-second smoke ([`smoke`]).

use crate::harness::{self, Tally};
use crate::kbuild::{self, BuildOpts};
use crate::qemu::{self, Boot, Capture, Machine, Outcome};
use crate::{initramfs, util};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Serial text that ends a run at once as a failure.
pub const FATAL: &[&str] = &["KERNEL PANIC"];
/// The kernel watchdog's report of a stuck CPU: the run fails, but goes on so that the stuck
/// CPU's backtrace (printed after it, from an NMI) reaches the log.
pub const WATCHDOG: &str = "WATCHDOG: CPU";

/// The guest's final `SOAK-DONE` line, parsed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Done {
    pub ok: bool,
    pub errors: u64,
    pub ops: u64,
    pub leaked_kb: i64,
    pub line: String,
}

/// `name=value` of a `KEY a=1 b=2` line.
pub fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split_whitespace().find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
}

/// Parses `SOAK-DONE seconds=S rounds=R ops=N errors=E baseline_kb=B final_kb=F leaked_kb=L result=ok`.
pub fn parse_done(line: &str) -> Option<Done> {
    let line = line.trim();
    if !line.starts_with("SOAK-DONE ") {
        return None;
    }
    Some(Done {
        ok: field(line, "result")? == "ok",
        errors: field(line, "errors")?.parse().ok()?,
        ops: field(line, "ops")?.parse().ok()?,
        leaked_kb: field(line, "leaked_kb")?.parse().ok()?,
        line: line.to_string(),
    })
}

/// The verdict of a guest run that should end with a clean power-off: `Err(why)` on failure.
pub fn check_end(out: &Outcome) -> Result<(), String> {
    if let Some(a) = &out.aborted_on {
        let at = out.lines.iter().rposition(|l| l.contains(a.as_str())).unwrap_or(0);
        let report: Vec<&str> = out.lines[at..].iter().take(3).map(String::as_str).collect();
        return Err(format!("kernel failure: {}", report.join(" | ")));
    }
    if let Some(at) = out.lines.iter().position(|l| l.contains(WATCHDOG)) {
        let frame = out.lines[at..].iter().find(|l| l.trim_start().starts_with("#0")).map_or("", |l| l.trim());
        return Err(format!("kernel watchdog: {} | {frame}", out.lines[at].trim()));
    }
    if out.status != Some(qemu::STATUS_SUCCESS) {
        return Err(format!("no clean power-off ({})", out.describe_end()));
    }
    Ok(())
}

/// Boots the soak for `seconds`; returns the outcome and the log path.
fn boot(root: &Path, seconds: u64, log: PathBuf, echo: bool, checked: bool) -> Result<(Outcome, PathBuf)> {
    let initrd = initramfs::build(root, false)?.path;
    let kernel = kbuild::build_kernel(root, BuildOpts { release: false, ktest: false, checked })?;
    let mut m = Machine::new(Boot::Pvh {
        kernel,
        initrd: Some(initrd),
        append: format!("rdinit=/bin/soak panic=exit log=error SOAK_SECONDS={seconds}"),
    });
    m.smp = Some(2);
    let cap = Capture {
        // SOAK_SECONDS is guest time, and under TCG on a busy host the guest's clock runs
        // slower than the host's (a 60-minute soak reached 49 guest minutes in 65 host
        // minutes): allow twice the length, plus boot, warm-up settling, a stuck worker's
        // grace period and the final measurement.
        timeout: harness::timeout(2 * seconds + 300),
        log: log.clone(),
        send: None,
        mark: None,
        echo,
        abort_on: FATAL.iter().map(|s| s.to_string()).collect(),
    };
    Ok((qemu::run_captured(&m, &cap)?, log))
}

/// `Ok(done)` if the run passed, else why not.
fn verdict(out: &Outcome) -> Result<Done, String> {
    check_end(out)?;
    let done = out.lines.iter().rev().find_map(|l| parse_done(l)).ok_or("no SOAK-DONE line")?;
    let errors: Vec<&str> = out.lines.iter().filter(|l| l.starts_with("SOAK-ERROR")).map(String::as_str).take(5).collect();
    if !done.ok {
        return Err(format!("{} {}", done.line, errors.join(" | ")));
    }
    Ok(done)
}

/// `cargo xtask soak --minutes M`.
pub fn run(root: &Path, minutes: u64, checked: bool) -> Result<u8> {
    util::ensure_packages(&[util::PKGS_QEMU])?;
    let log = util::exo_target_dir(root).join("soak").join("soak-serial.log");
    println!("xtask soak: {minutes} minute(s) of mixed load on Exo-OS (-smp 2); serial log {}", util::rel(root, &log));
    let (out, log) = boot(root, minutes * 60, log, true, checked)?;
    match verdict(&out) {
        Ok(done) => {
            println!("xtask soak: PASSED: {}", done.line);
            Ok(0)
        }
        Err(why) => {
            println!("xtask soak: FAILED: {why}");
            println!("--- last 40 lines of {} ---", util::rel(root, &log));
            for l in qemu::tail(&log, 40) {
                println!("{l}");
            }
            Ok(1)
        }
    }
}

/// Seconds of the CI smoke: 90 rather than the 120, so that the three reliability
/// smokes together add about 3 minutes to `cargo xtask test` (the warm-up round and 3 more
/// rounds of every load still run).
pub const SMOKE_SECONDS: u64 = 90;

/// The CI smoke (a tier of `cargo xtask test`): a [`SMOKE_SECONDS`] soak.
pub fn smoke(root: &Path, t: &mut Tally) {
    let what = format!("soak smoke ({SMOKE_SECONDS} s)");
    match boot(root, SMOKE_SECONDS, harness::log_path(root, "soak"), false, false) {
        Err(e) => t.fail(&what, &format!("{e:#}"), None),
        Ok((out, log)) => match verdict(&out) {
            Ok(done) => t.pass(&what, &format!("ops={} leaked_kb={}", done.ops, done.leaked_kb)),
            Err(why) => t.fail(&what, &why, Some(&log)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_done_line() {
        let d = parse_done("SOAK-DONE seconds=120 rounds=6 ops=5000 errors=0 baseline_kb=2000 final_kb=1990 leaked_kb=10 result=ok").unwrap();
        assert!(d.ok);
        assert_eq!((d.errors, d.ops, d.leaked_kb), (0, 5000, 10));
        let d = parse_done("SOAK-DONE seconds=1 rounds=1 ops=1 errors=2 baseline_kb=1 final_kb=1 leaked_kb=-4 result=FAIL").unwrap();
        assert!(!d.ok);
        assert_eq!(d.leaked_kb, -4);
        assert_eq!(parse_done("SOAK t=3s"), None);
        assert_eq!(parse_done("SOAK-DONE result=ok"), None);
    }

    #[test]
    fn end_of_run() {
        let mut out = Outcome { status: Some(qemu::STATUS_SUCCESS), ..Outcome::default() };
        assert!(check_end(&out).is_ok());
        out.status = Some(qemu::STATUS_PANIC);
        assert!(check_end(&out).is_err());
        out.aborted_on = Some("KERNEL PANIC".into());
        out.lines = vec!["x".into(), "!!! KERNEL PANIC: boom".into(), "at foo".into()];
        assert!(check_end(&out).unwrap_err().contains("boom"));
        let out = Outcome {
            status: Some(qemu::STATUS_SUCCESS),
            lines: vec!["WATCHDOG: CPU 1 has taken no timer tick for 10.1 s".into(), "NMI".into()],
            ..Outcome::default()
        };
        assert!(check_end(&out).unwrap_err().contains("CPU 1"));
    }
}
