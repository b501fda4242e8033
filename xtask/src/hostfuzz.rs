//! `cargo xtask hostfuzz [--minutes M] [--target NAME] [--libfuzzer | --randomized]`: the long
//! host fuzzing run of every parser a user controls (docs/hostfuzz.md). Each target's share of
//! M minutes goes half to libFuzzer and half to the randomized engine (they find different
//! bugs), or all to the one engine asked for.
//!
//! Targets are found as `crates/<crate>/fuzz/fuzz_targets/<target>.rs`. Each crate's `fuzz/`
//! package is built with sanitizer coverage (Debian's stable toolchain: `-Cpasses=sancov-module`
//! with libFuzzer's counters and comparison tracing, `--cfg fuzzing`; debug assertions and
//! overflow checks on) into `target/hostfuzz/build`, and each selected target runs for its share
//! of M minutes: new inputs go to `target/hostfuzz/corpus/<target>/` (kept between runs), the
//! checked-in seeds in `crates/<crate>/fuzz/corpus/<target>/` are read only, a crashing input is
//! written to `target/hostfuzz/artifacts/<target>/` and the log to `target/hostfuzz/logs/`.
//!
//! The randomized engine runs the crates' `tests/hostfuzz.rs` property tests (exo-fuzzkit's
//! structure-aware mutator) with `EXO_FUZZ_SECONDS` set and a fresh `EXO_FUZZ_SEED`. If the
//! libFuzzer build fails (no C++ compiler, no network for `libfuzzer-sys`), only it runs.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::util;

/// Flags that make rustc instrument code for libFuzzer (what cargo-fuzz passes, minus ASan:
/// the fuzzed crates are `forbid(unsafe_code)`).
const SANCOV_FLAGS: &[&str] = &[
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "--cfg",
    "fuzzing",
];

/// The host triple: passing `--target` keeps the instrumentation out of build scripts.
const HOST: &str = "x86_64-unknown-linux-gnu";

/// One fuzz target: `crates/<krate>/fuzz/fuzz_targets/<name>.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    krate: String,
    name: String,
}

#[derive(Debug, PartialEq)]
struct Args {
    minutes: f64,
    target: Option<String>,
    engines: Engines,
}

/// Which engines run.
#[derive(Debug, PartialEq, Clone, Copy)]
enum Engines {
    Both,
    LibFuzzer,
    Randomized,
}

fn parse_args(args: &[String]) -> Result<Args> {
    let mut a = Args {
        minutes: 2.0,
        target: None,
        engines: Engines::Both,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || -> Result<String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .with_context(|| format!("{flag} needs a value"))
        };
        match flag {
            "--minutes" => {
                let v = value()?;
                a.minutes = v
                    .parse()
                    .ok()
                    .filter(|m: &f64| m.is_finite() && *m > 0.0)
                    .with_context(|| format!("bad --minutes `{v}`"))?;
            }
            "--target" => a.target = Some(value()?),
            "--randomized" => a.engines = Engines::Randomized,
            "--libfuzzer" => a.engines = Engines::LibFuzzer,
            _ => bail!("`hostfuzz` does not accept `{arg}` (usage: cargo xtask hostfuzz [--minutes M] [--target NAME] [--libfuzzer | --randomized])"),
        }
    }
    Ok(a)
}

/// Every fuzz target of the workspace, sorted by crate then name.
fn discover(root: &Path) -> Result<Vec<Target>> {
    let mut targets = Vec::new();
    let crates = root.join("crates");
    for krate in
        std::fs::read_dir(&crates).with_context(|| format!("reading {}", crates.display()))?
    {
        let krate = krate?.path();
        let Ok(files) = std::fs::read_dir(krate.join("fuzz").join("fuzz_targets")) else {
            continue;
        };
        for f in files {
            let f = f?.path();
            if let (Some(stem), Some("rs")) =
                (f.file_stem(), f.extension().and_then(|e| e.to_str()))
            {
                targets.push(Target {
                    krate: krate
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    name: stem.to_string_lossy().into_owned(),
                });
            }
        }
    }
    targets.sort_by(|a, b| (&a.krate, &a.name).cmp(&(&b.krate, &b.name)));
    Ok(targets)
}

fn select(all: Vec<Target>, filter: Option<&str>) -> Result<Vec<Target>> {
    let names: Vec<String> = all.iter().map(|t| t.name.clone()).collect();
    let chosen: Vec<Target> = match filter {
        None => all,
        Some(f) => all
            .into_iter()
            .filter(|t| t.name == f || t.krate == f)
            .collect(),
    };
    if chosen.is_empty() {
        bail!(
            "no fuzz target `{}`; targets: {}",
            filter.unwrap_or(""),
            names.join(", ")
        );
    }
    Ok(chosen)
}

fn hostfuzz_dir(root: &Path) -> PathBuf {
    root.join("target").join("hostfuzz")
}

/// Builds the libFuzzer binaries of `krates`; returns the directory holding them.
fn build(root: &Path, krates: &[String]) -> Result<PathBuf> {
    let target_dir = hostfuzz_dir(root).join("build");
    for krate in krates {
        let mut cmd = util::debian_cargo(root);
        cmd.env("CARGO_TARGET_DIR", &target_dir)
            .env("RUSTFLAGS", SANCOV_FLAGS.join(" "))
            .args([
                "build",
                "--release",
                "--bins",
                "--target",
                HOST,
                "--manifest-path",
            ])
            .arg(
                root.join("crates")
                    .join(krate)
                    .join("fuzz")
                    .join("Cargo.toml"),
            );
        println!("xtask hostfuzz: building the libFuzzer targets of crates/{krate}");
        util::run_checked(&mut cmd)?;
    }
    Ok(target_dir.join(HOST).join("release"))
}

/// What one run of a target did.
#[derive(Debug, Default)]
struct Outcome {
    runs: u64,
    new_inputs: u64,
    coverage: String,
    failure: Option<String>,
}

/// Reads libFuzzer's final statistics and last status line.
fn parse_libfuzzer_log(log: &str) -> Outcome {
    let mut o = Outcome::default();
    for line in log.lines() {
        let stat = |key: &str| line.strip_prefix(key).and_then(|v| v.trim().parse().ok());
        if let Some(n) = stat("stat::number_of_executed_units:") {
            o.runs = n;
        }
        if let Some(n) = stat("stat::new_units_added:") {
            o.new_inputs = n;
        }
        if line.starts_with('#') {
            if let Some(i) = line.find("cov: ") {
                o.coverage = line[i..]
                    .split_whitespace()
                    .take(4)
                    .collect::<Vec<_>>()
                    .join(" ");
            }
        }
        if line.contains("panicked at") || line.starts_with("==") && line.contains("ERROR") {
            o.failure.get_or_insert_with(|| line.trim().to_string());
        }
    }
    o
}

fn run_libfuzzer(root: &Path, bin_dir: &Path, t: &Target, seconds: u64) -> Result<Outcome> {
    let base = hostfuzz_dir(root);
    let work = base.join("corpus").join(&t.name);
    let artifacts = base.join("artifacts").join(&t.name);
    let logs = base.join("logs");
    for d in [&work, &artifacts, &logs] {
        util::mkdirs(d)?;
    }
    let seeds = root
        .join("crates")
        .join(&t.krate)
        .join("fuzz")
        .join("corpus")
        .join(&t.name);
    let log_path = logs.join(format!("{}.log", t.name));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let mut prefix = std::ffi::OsString::from("-artifact_prefix=");
    prefix.push(&artifacts);
    prefix.push("/");
    let status = Command::new(bin_dir.join(&t.name))
        .arg(&work)
        .arg(&seeds)
        .arg(format!("-max_total_time={seconds}"))
        .arg(prefix)
        .args(["-print_final_stats=1", "-timeout=10", "-rss_limit_mb=1024"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .with_context(|| format!("cannot run the fuzz target {}", t.name))?;
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut o = parse_libfuzzer_log(&text);
    if !status.success() {
        let why = o
            .failure
            .take()
            .unwrap_or_else(|| format!("exit status {status}"));
        o.failure = Some(format!(
            "{why} (log: {}, input in {}/)",
            util::rel(root, &log_path),
            util::rel(root, &base.join("artifacts").join(&t.name))
        ));
    }
    Ok(o)
}

fn run_randomized(root: &Path, t: &Target, seconds: u64) -> Result<Outcome> {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut cmd = util::debian_cargo(root);
    cmd.env("EXO_FUZZ_SECONDS", seconds.to_string())
        .env("EXO_FUZZ_SEED", seed.to_string())
        .args([
            "test",
            "--quiet",
            "-p",
            &format!("exo-{}", t.krate),
            "--test",
            "hostfuzz",
            "--",
        ])
        .args(["--exact", &t.name, "--nocapture"]);
    let out = cmd
        .output()
        .with_context(|| format!("cannot start `{}`", util::show(&cmd)))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let mut o = Outcome::default();
    for line in text.lines() {
        // "hostfuzz NAME: S seeds + N mutated cases in T (EXO_FUZZ_SEED=X)"
        if let Some(rest) = line.strip_prefix(&format!("hostfuzz {}: ", t.name)) {
            if let Some(n) = rest
                .split(" + ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse().ok())
            {
                o.runs = n;
            }
        }
    }
    o.coverage = format!("randomized, EXO_FUZZ_SEED={seed}");
    if !out.status.success() {
        let why = text
            .lines()
            .find(|l| l.contains("panicked at") || l.contains("FAILING INPUT"))
            .unwrap_or("test failed");
        o.failure = Some(format!(
            "{} (failing inputs in target/hostfuzz/failures/)",
            why.trim()
        ));
        eprintln!("{text}");
    }
    Ok(o)
}

/// Entry point: returns the exit status (1 if a target found a bug).
pub fn run(root: &Path, args: &[String]) -> Result<u8> {
    let a = parse_args(args)?;
    let targets = select(discover(root)?, a.target.as_deref())?;
    let share = a.minutes * 60.0 / targets.len() as f64;
    let mut krates: Vec<String> = targets.iter().map(|t| t.krate.clone()).collect();
    krates.dedup();
    let bin_dir = if a.engines == Engines::Randomized {
        None
    } else {
        match build(root, &krates) {
            Ok(d) => Some(d),
            Err(e) => {
                println!("xtask hostfuzz: the libFuzzer build failed ({e:#}); only the randomized engine runs");
                None
            }
        }
    };
    let randomized = bin_dir.is_none() || a.engines == Engines::Both;
    let engines = usize::from(bin_dir.is_some()) + usize::from(randomized);
    let seconds = (share / engines as f64).max(1.0).round() as u64;
    println!(
        "xtask hostfuzz: {} targets, {seconds} s each per engine ({}{}{})",
        targets.len(),
        if bin_dir.is_some() { "libFuzzer" } else { "" },
        if engines == 2 { " + " } else { "" },
        if randomized { "randomized" } else { "" }
    );
    let mut failed = 0;
    for t in &targets {
        let mut runs: Vec<(&str, Outcome, f64)> = Vec::new();
        if let Some(dir) = &bin_dir {
            let start = Instant::now();
            runs.push((
                "libFuzzer",
                run_libfuzzer(root, dir, t, seconds)?,
                start.elapsed().as_secs_f64(),
            ));
        }
        if randomized {
            let start = Instant::now();
            runs.push((
                "randomized",
                run_randomized(root, t, seconds)?,
                start.elapsed().as_secs_f64(),
            ));
        }
        for (engine, o, secs) in runs {
            let status = match &o.failure {
                Some(f) => {
                    failed += 1;
                    format!("FAIL  {f}")
                }
                None => "ok".to_string(),
            };
            println!(
                "  {:<12} {:<9} {:<10} {:>11} runs {:>9.0}/s  {:>5} new  {}  {status}",
                t.name,
                t.krate,
                engine,
                o.runs,
                o.runs as f64 / secs.max(0.001),
                o.new_inputs,
                o.coverage
            );
        }
    }
    println!(
        "xtask hostfuzz: {} targets, {failed} failures",
        targets.len()
    );
    Ok(if failed == 0 { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn parses_options() {
        assert_eq!(
            parse_args(&[]).unwrap(),
            Args {
                minutes: 2.0,
                target: None,
                engines: Engines::Both
            }
        );
        let a = parse_args(&args(&[
            "--minutes",
            "0.5",
            "--target=elf_parse",
            "--randomized",
        ]))
        .unwrap();
        assert_eq!(
            a,
            Args {
                minutes: 0.5,
                target: Some("elf_parse".into()),
                engines: Engines::Randomized
            }
        );
        assert_eq!(
            parse_args(&args(&["--libfuzzer"])).unwrap().engines,
            Engines::LibFuzzer
        );
        assert!(parse_args(&args(&["--minutes", "0"])).is_err());
        assert!(parse_args(&args(&["--minutes"])).is_err());
        assert!(parse_args(&args(&["--bogus"])).is_err());
    }

    #[test]
    fn finds_every_target() {
        let all = discover(&util::workspace_root()).unwrap();
        for name in [
            "elf_parse",
            "elf_stack",
            "cpio_read",
            "cmdline",
            "multiboot2",
            "pvh",
            "vfs_path",
            "ansi_screen",
            "ldisc",
            "abi_structs",
        ] {
            assert!(
                all.iter().any(|t| t.name == name),
                "{name} missing from {all:?}"
            );
        }
        assert_eq!(select(all.clone(), Some("bootinfo")).unwrap().len(), 3);
        assert!(select(all, Some("nonexistent")).is_err());
    }

    #[test]
    fn reads_libfuzzer_statistics() {
        let log = "#4096\tpulse  cov: 312 ft: 901 corp: 40/2Kb exec/s: 2048 rss: 40Mb\n\
                   Done 123456 runs in 61 second(s)\nstat::number_of_executed_units: 123456\n\
                   stat::new_units_added: 17\n";
        let o = parse_libfuzzer_log(log);
        assert_eq!((o.runs, o.new_inputs), (123456, 17));
        assert_eq!(o.coverage, "cov: 312 ft: 901");
        assert!(o.failure.is_none());
        let crash = parse_libfuzzer_log(
            "thread '<unnamed>' panicked at src/x.rs:1:1:\n==1== ERROR: libFuzzer: deadly signal\n",
        );
        assert!(crash.failure.unwrap().contains("panicked at"));
    }
}
