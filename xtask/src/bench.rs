//! `cargo xtask bench`: the in-kernel microbenchmarks, run under QEMU with instruction counting
//! (`-icount shift=0,sleep=off`, so a guest TSC cycle is one retired instruction and the
//! figures are deterministic), written to `target/bench/kernel.{json,md}`.

use crate::benchreport;
use crate::kbuild::{self, BuildOpts};
use crate::qemu::{self, Boot, Capture, Machine};
use crate::util;
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// One `KBENCH RESULT` line.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchResult {
    pub name: String,
    pub cycles_per_op: f64,
    pub ops: u64,
    pub target: Option<u64>,
}

/// Parses `KBENCH RESULT <name> cycles_per_op=<x> ops=<n> target=<t|->`.
pub fn parse_result(line: &str) -> Option<BenchResult> {
    let rest = line.trim().strip_prefix("KBENCH RESULT ")?;
    let mut words = rest.split_whitespace();
    let name = words.next()?.to_string();
    let (mut cycles, mut ops, mut target) = (None, None, None);
    for word in words {
        match word.split_once('=')? {
            ("cycles_per_op", v) => cycles = v.parse::<f64>().ok(),
            ("ops", v) => ops = v.parse::<u64>().ok(),
            ("target", "-") => target = Some(None),
            ("target", v) => target = Some(Some(v.parse::<u64>().ok()?)),
            _ => {}
        }
    }
    Some(BenchResult { name, cycles_per_op: cycles?, ops: ops?, target: target? })
}

fn markdown(results: &[BenchResult]) -> String {
    let mut md = String::from(
        "# In-kernel microbenchmarks\n\nCycles per operation under QEMU TCG with \
         `-icount shift=0,sleep=off` (one cycle = one retired guest instruction; deterministic).\n\
         Each operation is the pair named (e.g. alloc + free); best of 5 batches.\n\n\
         | benchmark | cycles/op | seed target | vs target |\n|---|---:|---:|---:|\n",
    );
    for r in results {
        let (target, ratio) = match r.target {
            Some(t) => (t.to_string(), format!("{:.2}×", r.cycles_per_op / t as f64)),
            None => ("-".into(), "-".into()),
        };
        let _ = writeln!(md, "| {} | {:.2} | {target} | {ratio} |", r.name, r.cycles_per_op);
    }
    md
}

fn json(results: &[BenchResult]) -> String {
    let rows: Vec<String> = results
        .iter()
        .map(|r| {
            let target = r.target.map_or("null".to_string(), |t| t.to_string());
            format!(
                "    {{\"name\": \"{}\", \"cycles_per_op\": {:.2}, \"ops\": {}, \"target\": {target}}}",
                r.name, r.cycles_per_op, r.ops
            )
        })
        .collect();
    format!("{{\n  \"unit\": \"guest instructions per operation (QEMU -icount shift=0)\",\n  \"kernel\": [\n{}\n  ]\n}}\n", rows.join(",\n"))
}

/// Builds the optimized test kernel, runs the benchmarks selected by `filter`, writes the
/// reports. Returns the process exit code.
pub fn run(root: &Path, filter: Option<&str>) -> Result<u8> {
    // The in-kernel part boots QEMU before the side-by-side part installs anything.
    util::ensure_packages(&[util::PKGS_QEMU])?;
    let kernel = kbuild::build_kernel(root, BuildOpts { release: true, ktest: true, checked: false })?;
    let out_dir = root.join("target").join("bench");
    util::mkdirs(&out_dir)?;
    let append = match filter {
        Some(f) => format!("kbench={f} panic=exit log=warn"),
        None => "kbench panic=exit log=warn".to_string(),
    };
    let mut machine = Machine::new(Boot::Pvh { kernel, initrd: None, append });
    machine.icount = true;
    let capture = Capture {
        timeout: Duration::from_secs(600),
        log: out_dir.join("kernel-serial.log"),
        send: None,
        mark: None,
        echo: false,
        abort_on: vec!["KERNEL PANIC".into()],
    };
    println!("xtask bench: in-kernel microbenchmarks (QEMU TCG, -icount shift=0,sleep=off)");
    let outcome = qemu::run_captured(&machine, &capture)?;
    let results: Vec<BenchResult> = outcome.lines.iter().filter_map(|l| parse_result(l)).collect();
    for r in &results {
        let target = r.target.map_or("-".to_string(), |t| t.to_string());
        println!("  {:<28} {:>10.2} cycles/op   (seed target {target})", r.name, r.cycles_per_op);
    }
    if outcome.status != Some(33) || !outcome.lines.iter().any(|l| l.trim() == "KBENCH END") {
        bail!("benchmark run failed ({}); serial log: {}", outcome.describe_end(), capture.log.display());
    }
    let md_path = out_dir.join("kernel.md");
    std::fs::write(&md_path, markdown(&results)).with_context(|| format!("cannot write {}", md_path.display()))?;
    let json_path = out_dir.join("kernel.json");
    std::fs::write(&json_path, json(&results)).with_context(|| format!("cannot write {}", json_path.display()))?;
    println!("xtask bench: wrote {} and {}", md_path.display(), json_path.display());

    // The same static program on Exo-OS and on Linux, side by side.
    let (mut exo, linux) = crate::sidebyside::run_both(root, 1, filter)?;
    // The 2-CPU cases (Fusion polling and its futex comparison) on Exo-OS with 2 CPUs.
    if filter.is_none_or(|f| ["fusion_poll_rt_2cpu", "futex_pingpong_2cpu"].iter().any(|case| case.contains(f))) {
        let two = crate::sidebyside::run_exo_2cpu(root, 1, filter)?;
        crate::sidebyside::merge_2cpu(&mut exo, two);
    }
    let kernel_benches: Vec<(String, u64, Option<String>)> = results
        .iter()
        .map(|r| {
            let target = r.target.map(|t| format!("{t} cycles"));
            (r.name.clone(), r.cycles_per_op.round() as u64, target)
        })
        .collect();
    // The scaling axis (Exo-OS only, 1/2/4 CPUs).
    let axis = if crate::scaling::selected(filter) {
        crate::scaling::run(root, 1, filter, crate::scaling::CPU_COUNTS)?
    } else {
        crate::scaling::Scaling::default()
    };
    benchreport::write_reports(&out_dir, &exo, &linux, &kernel_benches, &axis)?;
    println!(
        "xtask bench: wrote {} (.json, .svg): Exo-OS {} vs Linux {}",
        out_dir.join("report.md").display(),
        exo.kernel,
        linux.kernel
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_results_with_and_without_target() {
        let r = parse_result("KBENCH RESULT heap_64b cycles_per_op=12.50 ops=1000 target=8");
        assert_eq!(
            r,
            Some(BenchResult { name: "heap_64b".into(), cycles_per_op: 12.5, ops: 1000, target: Some(8) })
        );
        let r = parse_result("KBENCH RESULT x cycles_per_op=3.00 ops=7 target=-");
        assert_eq!(r.map(|r| r.target), Some(None));
    }

    #[test]
    fn rejects_malformed_lines() {
        assert_eq!(parse_result("KBENCH RESULT x cycles_per_op=abc ops=1 target=-"), None);
        assert_eq!(parse_result("KBENCH RESULT x ops=1 target=-"), None);
        assert_eq!(parse_result("KBENCH BEGIN 3"), None);
        assert_eq!(parse_result("noise"), None);
    }

    #[test]
    fn markdown_has_ratio_to_target() {
        let md = markdown(&[BenchResult { name: "a".into(), cycles_per_op: 16.0, ops: 1, target: Some(8) }]);
        assert!(md.contains("| a | 16.00 | 8 | 2.00× |"), "{md}");
    }
}
