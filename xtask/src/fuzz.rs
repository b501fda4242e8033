//! `cargo xtask fuzz [--calls N] [--seed S] [--workers W] [--checked]`: boots the normal kernel
//! (debug build, or the optimized `checked` profile, `-smp 2`) with `rdinit=/bin/fuzz`
//! (`user/fuzz/fuzz.c` as PID 1): W worker processes (root and uid 1000) issue N random system
//! calls with structured arguments (most workers spend most of their time blocked in a call
//! until the supervisor's nudge, so the rate grows with W: about 360/s with 4, 4,600/s with 64); the run passes when the guest prints
//! `FUZZ-DONE ... result=ok` (no unkillable worker, free memory back to its start value) and
//! powers off, with no kernel panic or watchdog report on the serial line. On a failure the seed,
//! the guest's last-call lines and the serial tail are printed. `cargo xtask test` runs a
//! fixed-seed smoke ([`smoke`]).

use crate::harness::{self, Tally};
use crate::kbuild::{self, BuildOpts};
use crate::qemu::{self, Boot, Capture, Machine, Outcome};
use crate::soak::{check_end, field, FATAL};
use crate::{initramfs, util};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Calls of the smoke in `cargo xtask test` (under a minute at TCG's ~380 calls/s) and its seed.
pub const SMOKE_CALLS: u64 = 15_000;
pub const SMOKE_SEED: u64 = 1;

/// Guest calls per second assumed for the timeout (TCG on a busy machine is slow).
const MIN_RATE: u64 = 150;

/// Workers of a run unless `--workers` says otherwise (the smoke's and older seeds' setting).
pub const DEFAULT_WORKERS: u64 = 4;

/// One fuzz run: a seed replays it with the same calls, workers and kernel.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub calls: u64,
    pub seed: u64,
    pub workers: u64,
    pub checked: bool,
}

impl Run {
    fn replay(&self) -> String {
        let checked = if self.checked { " --checked" } else { "" };
        format!("cargo xtask fuzz --calls {} --seed {} --workers {}{checked}", self.calls, self.seed, self.workers)
    }
}

/// The guest's `FUZZ-DONE` line: (ok, calls, leaked_kb, the line).
pub fn parse_done(line: &str) -> Option<(bool, u64, i64, String)> {
    let line = line.trim();
    if !line.starts_with("FUZZ-DONE ") {
        return None;
    }
    Some((
        field(line, "result")? == "ok",
        field(line, "calls")?.parse().ok()?,
        field(line, "leaked_kb")?.parse().ok()?,
        line.to_string(),
    ))
}

fn boot(root: &Path, run: Run, log: PathBuf, echo: bool) -> Result<Outcome> {
    let Run { calls, seed, workers, checked } = run;
    let initrd = initramfs::build(root, false)?.path;
    let kernel = kbuild::build_kernel(root, BuildOpts { release: false, ktest: false, checked })?;
    let mut m = Machine::new(Boot::Pvh {
        kernel,
        initrd: Some(initrd),
        append: format!("rdinit=/bin/fuzz panic=exit log=error FUZZ_CALLS={calls} FUZZ_SEED={seed} FUZZ_WORKERS={workers}"),
    });
    m.smp = Some(2);
    let cap = Capture {
        timeout: harness::timeout(calls / MIN_RATE + 180),
        log,
        send: None,
        mark: None,
        echo,
        abort_on: FATAL.iter().map(|s| s.to_string()).collect(),
    };
    qemu::run_captured(&m, &cap)
}

/// `Ok((calls, leaked_kb))` if the run passed, else why not (with the seed).
fn verdict(out: &Outcome, seed: u64) -> Result<(u64, i64), String> {
    let failed = |why: String| -> String {
        let last: Vec<&str> = out.lines.iter().filter(|l| l.starts_with("FUZZ-LAST") || l.starts_with("FUZZ-UNKILLABLE")).map(String::as_str).collect();
        let last = &last[last.len().saturating_sub(9)..];
        format!("seed {seed}: {why}{}{}", if last.is_empty() { "" } else { "\n    " }, last.join("\n    "))
    };
    check_end(out).map_err(failed)?;
    let (ok, calls, leaked, line) = out.lines.iter().rev().find_map(|l| parse_done(l)).ok_or_else(|| failed("no FUZZ-DONE line".into()))?;
    if !ok {
        return Err(failed(line));
    }
    Ok((calls, leaked))
}

/// `cargo xtask fuzz --calls N --seed S --workers W [--checked]`.
pub fn run(root: &Path, run: Run) -> Result<u8> {
    util::ensure_packages(&[util::PKGS_QEMU])?;
    let Run { calls, seed, workers, checked } = run;
    let kind = if checked { "checked" } else { "debug" };
    let log = util::exo_target_dir(root).join("fuzz").join(format!("fuzz-seed{seed}-{kind}.log"));
    println!(
        "xtask fuzz: {calls} random system calls, seed {seed}, {workers} workers, {kind} kernel, -smp 2; serial log {}",
        util::rel(root, &log)
    );
    let out = boot(root, run, log.clone(), true)?;
    match verdict(&out, seed) {
        Ok((n, leaked)) => {
            println!("xtask fuzz: PASSED: {n} calls, seed {seed}, leaked {leaked} kB, {:.0} s", out.elapsed.as_secs_f64());
            Ok(0)
        }
        Err(why) => {
            println!("xtask fuzz: FAILED ({why})\n    replay: {}", run.replay());
            println!("--- last 40 lines of {} ---", util::rel(root, &log));
            for l in qemu::tail(&log, 40) {
                println!("{l}");
            }
            Ok(1)
        }
    }
}

/// The CI smoke (a tier of `cargo xtask test`): a fixed-seed fuzz of [`SMOKE_CALLS`] calls.
pub fn smoke(root: &Path, t: &mut Tally) {
    let what = format!("fuzz smoke ({SMOKE_CALLS} calls, seed {SMOKE_SEED})");
    let run = Run { calls: SMOKE_CALLS, seed: SMOKE_SEED, workers: DEFAULT_WORKERS, checked: false };
    match boot(root, run, harness::log_path(root, "fuzz"), false) {
        Err(e) => t.fail(&what, &format!("{e:#}"), None),
        Ok(out) => match verdict(&out, SMOKE_SEED) {
            Ok((n, leaked)) => t.pass(&what, &format!("{n} calls, leaked_kb={leaked}, {:.0} s", out.elapsed.as_secs_f64())),
            Err(why) => t.fail(&what, &why, Some(&harness::log_path(root, "fuzz"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_done_line() {
        let l = "FUZZ-DONE calls=30012 seed=1 workers=4 started=9 died=3 stuck=1 start_kb=9 final_kb=9 leaked_kb=-8 unkillable=0 result=ok";
        assert_eq!(parse_done(l).map(|d| (d.0, d.1, d.2)), Some((true, 30012, -8)));
        assert!(!parse_done("FUZZ-DONE calls=1 seed=1 leaked_kb=0 unkillable=1 result=FAIL").unwrap().0);
        assert_eq!(parse_done("FUZZ calls=5"), None);
    }
}
