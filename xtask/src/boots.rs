//! `cargo xtask boots [--count N]`: boots the normal kernel and initramfs N times (PVH,
//! `-smp 2`); each boot must reach user space (init's "user space is up" line and the shell's
//! greeting after `/etc/rc`), obey `poweroff` typed on the serial console (busybox asks init,
//! which ends every process and calls reboot(2)), and leave QEMU with the clean power-off status
//! and no kernel panic or watchdog report. `cargo xtask test` runs [`SMOKE_COUNT`] boots.

use crate::harness::{self, Tally};
use crate::kbuild::{self, BuildOpts};
use crate::qemu::{self, Boot, Capture, Machine, Outcome};
use crate::soak::{check_end, FATAL};
use crate::{initramfs, util};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Boots of the smoke tier in `cargo xtask test`.
pub const SMOKE_COUNT: u32 = 3;

const USER_SPACE_UP: &str = "exo-init: Exo-OS user space is up";
/// busybox sh's greeting (its prompt has no newline, so it is never a serial line of its own).
const PROMPT: &str = "built-in shell";
const POWERING_OFF: &str = "exo-init: powering off";

/// Why boot `out` was not clean, if it was not.
pub fn check_boot(out: &Outcome) -> Result<(), String> {
    check_end(out)?;
    for needle in [USER_SPACE_UP, PROMPT, POWERING_OFF] {
        if !out.lines.iter().any(|l| l.contains(needle)) {
            return Err(format!("never printed {needle:?}"));
        }
    }
    Ok(())
}

/// Boots `count` times; returns (passed, failures with their logs).
fn boot_many(root: &Path, count: u32, logs: &Path, echo_progress: bool, checked: bool) -> Result<(u32, Vec<(u32, String, PathBuf)>)> {
    let initrd = initramfs::build(root, false)?.path;
    let kernel = kbuild::build_kernel(root, BuildOpts { release: false, ktest: false, checked })?;
    let mut m = Machine::new(Boot::Pvh { kernel, initrd: Some(initrd), append: "panic=exit".into() });
    m.smp = Some(2);
    let (mut passed, mut failures) = (0, Vec::new());
    for i in 1..=count {
        let log = logs.join(format!("boot-{i}.log"));
        let cap = Capture {
            timeout: harness::timeout(120),
            log: log.clone(),
            send: Some((vec![USER_SPACE_UP.into(), PROMPT.into()], "poweroff\n".into())),
            mark: None,
            echo: false,
            abort_on: FATAL.iter().map(|s| s.to_string()).collect(),
        };
        let out = qemu::run_captured(&m, &cap)?;
        match check_boot(&out) {
            Ok(()) => passed += 1,
            Err(why) => failures.push((i, why, log)),
        }
        if echo_progress {
            let failed = failures.last().is_some_and(|f: &(u32, String, PathBuf)| f.0 == i);
            println!("  boot {i}/{count}: {} ({:.1} s)", if failed { "FAILED" } else { "ok" }, out.elapsed.as_secs_f64());
        }
    }
    Ok((passed, failures))
}

/// `cargo xtask boots --count N`.
pub fn run(root: &Path, count: u32, checked: bool) -> Result<u8> {
    util::ensure_packages(&[util::PKGS_QEMU])?;
    let logs = util::exo_target_dir(root).join("boots");
    util::mkdirs(&logs)?;
    println!("xtask boots: booting Exo-OS {count} times (-smp 2, poweroff typed at the shell); logs in {}", util::rel(root, &logs));
    let (passed, failures) = boot_many(root, count, &logs, true, checked)?;
    for (i, why, log) in &failures {
        println!("  boot {i} FAILED: {why} (log {})", util::rel(root, log));
    }
    println!("xtask boots: {passed} of {count} boots clean");
    Ok(u8::from(!failures.is_empty()))
}

/// The CI smoke (a tier of `cargo xtask test`): [`SMOKE_COUNT`] boots.
pub fn smoke(root: &Path, t: &mut Tally) {
    let what = format!("{SMOKE_COUNT} boots to user space and poweroff");
    let start = std::time::Instant::now();
    match boot_many(root, SMOKE_COUNT, &harness::logs_dir(root).join("boots"), false, false) {
        Err(e) => t.fail(&what, &format!("{e:#}"), None),
        Ok((_, failures)) if failures.is_empty() => t.pass(&what, &format!("{:.0} s", start.elapsed().as_secs_f64())),
        Ok((_, failures)) => {
            let (i, why, log) = &failures[0];
            t.fail(&what, &format!("{} failed; boot {i}: {why}", failures.len()), Some(log));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_boot_needs_user_space_and_the_power_off() {
        let mut out = Outcome { status: Some(qemu::STATUS_SUCCESS), ..Outcome::default() };
        out.lines = vec![USER_SPACE_UP.into(), "BusyBox v1.35.0 built-in shell (ash)".into(), POWERING_OFF.into()];
        assert!(check_boot(&out).is_ok());
        out.lines.remove(2);
        assert!(check_boot(&out).unwrap_err().contains("powering off"));
        out.lines.push(POWERING_OFF.into());
        out.status = None;
        assert!(check_boot(&out).is_err());
    }
}
