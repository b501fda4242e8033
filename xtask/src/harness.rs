//! `cargo xtask test`: host tests, in-kernel tests (on one CPU, then again with `-smp 2` and
//! `-smp 4`, multi-threaded TCG), the harness's self-test (meta), boot tests, and the user-space
//! tests of the initramfs, the shell session, the network end-to-end tests (`nettests.rs`), the
//! storage stage, Debian's programs compared with the host's (`debiantests.rs`), the
//! benchmark smoke, and the reliability smokes (fuzz, soak, repeated
//! boots: `fuzz.rs`, `soak.rs`, `boots.rs`), with one closing line `N passed, N failed` over all of them.

use crate::boottests;
use crate::kbuild::{self, BuildOpts};
use crate::ktest::{self, Status};
use crate::qemu::{self, Boot, Capture, Machine, Outcome};
use crate::usertests;
use crate::util::{self, rel};
use anyhow::{Context, Result};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Running totals of the whole test command.
#[derive(Debug, Default)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    /// Logs of failed QEMU runs, reported at the end.
    pub failed_logs: Vec<PathBuf>,
}

impl Tally {
    pub fn pass(&mut self, what: &str, detail: &str) {
        self.passed += 1;
        println!(
            "  ok    {what}{}",
            if detail.is_empty() {
                String::new()
            } else {
                format!(" ({detail})")
            }
        );
    }

    pub fn fail(&mut self, what: &str, why: &str, log: Option<&Path>) {
        self.failed += 1;
        println!("  FAIL  {what}: {why}");
        if let Some(l) = log {
            if !self.failed_logs.iter().any(|p| p == l) {
                self.failed_logs.push(l.to_path_buf());
            }
        }
    }
}

/// Wall-clock timeouts can be stretched on slow machines: `XTASK_TIMEOUT_SCALE=2`.
pub fn timeout(secs: u64) -> Duration {
    let scale = std::env::var("XTASK_TIMEOUT_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0);
    Duration::from_secs_f64(secs as f64 * scale)
}

/// `target/exo/test-logs`: one serial log per QEMU run of the last `cargo xtask test`.
pub fn logs_dir(root: &Path) -> PathBuf {
    util::exo_target_dir(root).join("test-logs")
}

/// Where the serial log of the QEMU run `name` goes.
pub fn log_path(root: &Path, name: &str) -> PathBuf {
    logs_dir(root).join(format!("{name}.log"))
}

pub fn run_all(root: &Path) -> Result<u8> {
    let start = Instant::now();
    let mut t = Tally::default();
    println!("xtask test: checking the Debian packages");
    if let Err(e) = util::ensure_packages(&[
        util::PKGS_BUILD,
        util::PKGS_QEMU,
        util::PKGS_ISO,
        util::PKGS_USER,
        util::PKGS_DISK,
    ]) {
        t.fail("installing the tools", &format!("{e:#}"), None);
        return Ok(finish(root, &t, start));
    }
    let logs = logs_dir(root);
    if logs.exists() {
        std::fs::remove_dir_all(&logs)
            .with_context(|| format!("cannot clean {}", logs.display()))?;
    }
    util::mkdirs(&logs)?;

    println!("xtask test [1/15]: host tests (cargo test of crates/* and xtask)");
    host_tests(root, &mut t);
    loom_model(root, &mut t);

    println!("xtask test [2/15]: in-kernel tests");
    let ktest_kernel = match kbuild::build_kernel(
        root,
        BuildOpts {
            release: false,
            ktest: true,
            checked: false,
        },
    ) {
        Ok(k) => Some(k),
        Err(e) => {
            t.fail("building the ktest kernel", &format!("{e:#}"), None);
            None
        }
    };
    match &ktest_kernel {
        Some(k) => kernel_tests(root, k, None, &mut t),
        None => println!("  (skipped: no ktest kernel)"),
    }
    // QEMU's TCG runs one host thread per virtual CPU by default (MTTCG) for x86 on x86 hosts.
    for (stage, cpus) in [(3, 2), (4, 4)] {
        println!("xtask test [{stage}/15]: in-kernel tests with -smp {cpus}");
        match &ktest_kernel {
            Some(k) => kernel_tests(root, k, Some(cpus), &mut t),
            None => println!("  (skipped: no ktest kernel)"),
        }
    }

    println!("xtask test [5/15]: harness self-test (meta::)");
    match &ktest_kernel {
        Some(k) => meta_test(root, k, &mut t),
        None => t.fail("harness self-test", "skipped: no ktest kernel", None),
    }

    println!("xtask test [6/15]: boot tests");
    boottests::run(root, &mut t);

    println!("xtask test [7/15]: user-space tests (initramfs, -smp 2; the t_fusion programs also on 1 and 4 CPUs)");
    usertests::run(root, &mut t);

    println!("xtask test [8/15]: a busybox shell session over the serial console");
    crate::shelltests::run(root, &mut t);

    println!("xtask test [9/15]: network end-to-end (virtio-net, QEMU user net with restrict=on; Linux, then Exo-OS debug/DHCP and release/ip=)");
    crate::nettests::run(root, &mut t);

    println!("xtask test [10/15]: storage end-to-end (ext2 and FAT on virtio-blk: write, host fsck, reboot, crash, root on disk)");
    crate::storagetests::run(root, &mut t);

    println!("xtask test [11/15]: Debian's programs (bash, coreutils, findutils, grep, sed, gawk, tar, gzip, xz, python3) on Exo-OS, outputs compared with the host's");
    crate::debiantests::run(root, &mut t);

    println!("xtask test [12/15]: benchmark smoke (the same program on Exo-OS and on Linux)");
    crate::sidebyside::smoke(root, &mut t);

    println!("xtask test [13/15]: fuzz smoke (random system calls, fixed seed)");
    crate::fuzz::smoke(root, &mut t);

    println!("xtask test [14/15]: soak smoke (90 s of mixed load, memory back to the baseline)");
    crate::soak::smoke(root, &mut t);

    println!("xtask test [15/15]: repeated boots smoke");
    crate::boots::smoke(root, &mut t);

    Ok(finish(root, &t, start))
}

/// Runs one stage alone (e.g. `cargo xtask shell-test`) and prints the usual summary.
pub fn run_one_stage(root: &Path, stage: impl FnOnce(&Path, &mut Tally)) -> u8 {
    let start = Instant::now();
    let mut t = Tally::default();
    stage(root, &mut t);
    finish(root, &t, start)
}

fn finish(root: &Path, t: &Tally, start: Instant) -> u8 {
    for log in &t.failed_logs {
        println!("\n--- last 30 lines of {} ---", rel(root, log));
        for l in qemu::tail(log, 30) {
            println!("{l}");
        }
    }
    if !t.failed_logs.is_empty() {
        println!("---");
    }
    println!(
        "xtask test: finished in {:.0} s; serial logs in {}",
        start.elapsed().as_secs_f64(),
        rel(root, &logs_dir(root))
    );
    println!("{} passed, {} failed", t.passed, t.failed);
    u8::from(t.failed > 0)
}

/// `(passed, failed)` of a libtest `test result:` line.
pub fn parse_test_result(line: &str) -> Option<(usize, usize)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let count = |word: &str| -> Option<usize> {
        rest.split(';').find_map(|part| {
            part.trim()
                .trim_start_matches("ok.")
                .trim_start_matches("FAILED.")
                .trim()
                .strip_suffix(word)?
                .trim()
                .parse()
                .ok()
        })
    };
    Some((count("passed")?, count("failed")?))
}

fn host_tests(root: &Path, t: &mut Tally) {
    if let Err(e) = util::ensure_packages(&[util::PKGS_BUILD]) {
        t.fail("host tests", &format!("{e:#}"), None);
        return;
    }
    let mut cmd = util::debian_cargo(root);
    cmd.args(["test", "--no-fail-fast"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let shown = util::show(&cmd);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return t.fail("host tests", &format!("cannot start `{shown}`: {e}"), None),
    };
    let (mut passed, mut failed, mut results) = (0, 0, 0);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
            println!("{line}");
            if let Some((p, f)) = parse_test_result(&line) {
                passed += p;
                failed += f;
                results += 1;
            }
        }
    }
    let ok = child.wait().map(|s| s.success()).unwrap_or(false);
    println!(
        "xtask test: host tests done: passed={passed} failed={failed} ({results} test binaries)"
    );
    t.passed += passed;
    t.failed += failed;
    if !ok && failed == 0 {
        t.fail(
            "host tests",
            "cargo test failed without a failing test (does it compile?)",
            None,
        );
    } else if ok && results == 0 {
        t.fail("host tests", "cargo test ran no test binary", None);
    } else if failed > 0 {
        println!("  FAIL  host tests: {failed} failed (see the cargo output above)");
    }
}

/// The loom model of the Fusion Ring protocol (crates/fusion/tests/loom.rs; about 15 s of
/// checking once built): `RUSTFLAGS="--cfg loom" cargo test -p exo-fusion --test loom
/// --release`, in its own target directory so that the `--cfg loom` build does not evict the
/// ordinary one.
fn loom_model(root: &Path, t: &mut Tally) {
    println!("xtask test: the loom model of Fusion Rings (exo-fusion --test loom, --cfg loom)");
    let mut cmd = util::debian_cargo(root);
    cmd.args(["test", "-p", "exo-fusion", "--test", "loom", "--release"])
        .env("RUSTFLAGS", "--cfg loom")
        .env("CARGO_TARGET_DIR", util::exo_target_dir(root).join("loom"))
        .stdin(Stdio::null());
    let shown = util::show(&cmd);
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => return t.fail("loom model", &format!("cannot start `{shown}`: {e}"), None),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (mut passed, mut failed) = (0, 0);
    for line in stdout.lines() {
        if let Some((p, f)) = parse_test_result(line) {
            passed += p;
            failed += f;
        }
    }
    println!("xtask test: loom model done: passed={passed} failed={failed}");
    t.passed += passed;
    t.failed += failed;
    if !out.status.success() && failed == 0 {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        t.fail(
            "loom model",
            &format!("`{shown}` failed:\n{}", tail.join("\n")),
            None,
        );
    } else if failed > 0 {
        println!("{stdout}");
        println!("  FAIL  loom model: {failed} failed");
    }
}

/// Boot the ktest kernel with `append`; returns the run and its parsed report.
fn ktest_boot(
    root: &Path,
    kernel: &Path,
    name: &str,
    append: &str,
    secs: u64,
    smp: Option<u32>,
) -> Result<(Outcome, ktest::Report, PathBuf)> {
    let mut m = Machine::new(Boot::Pvh {
        kernel: kernel.to_path_buf(),
        initrd: None,
        append: append.into(),
    });
    m.smp = smp;
    // The multi-CPU runs have a NIC (the network-device tests send ARP to QEMU's gateway);
    // the single-CPU run has none, so the same tests check that they skip cleanly.
    m.nic = smp.is_some();
    // Likewise a scratch disk (/dev/vda, xtask/src/disks.rs) for the block-device tests.
    if smp.is_some() {
        m.disks.push(qemu::Disk::new(crate::disks::scratch_disk(root, name)?));
    }
    let log = log_path(root, name);
    let cap = Capture {
        timeout: timeout(secs),
        log: log.clone(),
        send: None,
        mark: None,
        echo: false,
        abort_on: vec![],
    };
    let out = qemu::run_captured(&m, &cap)?;
    let report = ktest::parse(out.lines.iter().map(String::as_str));
    Ok((out, report, log))
}

/// Runs every in-kernel test on one CPU (`smp` None) or `-smp N`.
fn kernel_tests(root: &Path, kernel: &Path, smp: Option<u32>, t: &mut Tally) {
    let (log_name, label) = match smp {
        Some(n) => (format!("ktest-smp{n}"), format!("ktest[smp{n}]")),
        None => ("ktest".to_string(), "ktest".to_string()),
    };
    let (out, report, log) = match ktest_boot(root, kernel, &log_name, "ktest panic=exit", 60, smp) {
        Ok(r) => r,
        Err(e) => return t.fail(&format!("{label} run"), &format!("{e:#}"), None),
    };
    for (name, s) in &report.tests {
        match s {
            Status::Passed => t.pass(&format!("{label} {name}"), ""),
            Status::Failed(why) => t.fail(&format!("{label} {name}"), why, Some(&log)),
            Status::Hung => t.fail(
                &format!("{label} {name}"),
                "hung or crashed (no PASS/FAIL)",
                Some(&log),
            ),
        }
    }
    let v = ktest::evaluate(&report, out.status);
    let tests_failed = report
        .tests
        .iter()
        .filter(|(_, s)| *s != Status::Passed)
        .count();
    if v.failed > tests_failed {
        if let Some(why) = v.failures.last() {
            t.fail(
                &format!("{label} run"),
                &format!("{why} ({})", out.describe_end()),
                Some(&log),
            );
        }
    }
    println!(
        "xtask test: in-kernel tests{} done: passed={} failed={} ({:.1} s, {})",
        smp.map(|n| format!(" (-smp {n})")).unwrap_or_default(),
        v.passed,
        v.failed,
        out.elapsed.as_secs_f64(),
        out.describe_end()
    );
}

/// The harness must flag the kernel's deliberately broken tests as failures.
fn meta_test(root: &Path, kernel: &Path, t: &mut Tally) {
    const WHAT: &str = "harness flags meta::deliberate_failure and meta::deliberate_hang";
    let (out, report, log) =
        match ktest_boot(root, kernel, "ktest-meta", "ktest=meta:: panic=exit", 10, None) {
            Ok(r) => r,
            Err(e) => return t.fail(WHAT, &format!("{e:#}"), None),
        };
    let v = ktest::evaluate(&report, out.status);
    let failure = report.status_of("meta::deliberate_failure");
    let hang = report.status_of("meta::deliberate_hang");
    let mut wrong = Vec::new();
    if !matches!(failure, Some(Status::Failed(_))) {
        wrong.push(format!(
            "meta::deliberate_failure was {failure:?}, expected a FAIL"
        ));
    }
    if hang != Some(&Status::Hung) {
        wrong.push(format!(
            "meta::deliberate_hang was {hang:?}, expected hung (timed out)"
        ));
    }
    if !out.timed_out {
        wrong.push(format!(
            "the run should have timed out, but {}",
            out.describe_end()
        ));
    }
    let flagged = v
        .failures
        .iter()
        .filter(|f| f.starts_with("meta::deliberate_"))
        .count();
    if flagged < 2 {
        wrong.push(format!(
            "the verdict flagged {flagged} of the 2 broken tests"
        ));
    }
    if wrong.is_empty() {
        t.pass(
            WHAT,
            &format!("{} failures flagged, {}", v.failed, out.describe_end()),
        );
    } else {
        t.fail(WHAT, &wrong.join("; "), Some(&log));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libtest_results() {
        assert_eq!(
            parse_test_result("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s"),
            Some((12, 0))
        );
        assert_eq!(
            parse_test_result(
                "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out"
            ),
            Some((3, 2))
        );
        assert_eq!(parse_test_result("running 3 tests"), None);
        assert_eq!(parse_test_result("test foo ... ok"), None);
    }

    #[test]
    fn timeout_is_seconds() {
        if std::env::var_os("XTASK_TIMEOUT_SCALE").is_none() {
            assert_eq!(timeout(7), Duration::from_secs(7));
        }
    }
}
