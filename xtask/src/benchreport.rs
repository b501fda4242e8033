//! The side-by-side benchmark report of `cargo xtask bench`: parses the serial output of the
//! user-space benchmark program (`user/bench/bench.c`, run as `/init` on Exo-OS and on Linux)
//! and writes `report.md`, `report.json` and `report.svg` (ratio Exo-OS/Linux per case, log
//! scale) next to the in-kernel microbenchmarks and the seed documents' performance targets.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::benchsvg;
use crate::scaling::{self, Scaling};

/// Performance targets stated by the design documents (`shared/seeds/*.md`), by benchmark
/// case or in-kernel microbenchmark name. Cycles are guest cycles per operation.
pub const SEED_TARGETS: &[(&str, &str)] = &[
    ("null_syscall", "<60 cycles (SYSCALL/SYSRET fast path, seed 002)"),
    ("sched_yield_pair", "304 cycles per context switch (windowed switch; \"vs 2134 Linux\", seed 002)"),
    ("pipe_roundtrip", "347 cycles per IPC round trip (Fusion Ring, seed 004; Linux ~1200, seed 003)"),
    ("unix_roundtrip", "347 cycles per IPC round trip (Fusion Ring, seed 004; Linux ~1200, seed 003)"),
    ("futex_pingpong", "347 cycles per IPC round trip (Fusion Ring, seed 004)"),
    ("thread_create_join", "<5000 cycles per thread spawn (seed 002)"),
    ("page_fault", "<100 cycles per page mapping (seed 002)"),
    ("thread_switch_yield", "304 cycles per context switch (seed 002; <500, seed 003)"),
    ("thread_spawn_join", "<5000 cycles per thread spawn (seed 002)"),
    ("heap_64b_alloc_free", "~8 cycles (thread cache hit, seed 002)"),
    ("heap_1k_alloc_free", "~50 cycles (CPU slab, seed 002)"),
    ("buddy_frame_alloc_free", "<200 cycles (buddy alloc, seed 002)"),
    ("buddy_order4_alloc_free", "<200 cycles (buddy alloc, seed 002)"),
    ("map_unmap_4k", "<100 cycles (page mapping, seed 002)"),
];

/// The seed target of a case or microbenchmark, if the design documents give one.
pub fn seed_target(name: &str) -> Option<&'static str> {
    SEED_TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The result of one benchmark case on one kernel.
#[derive(Clone, Debug, PartialEq)]
pub enum CaseResult {
    /// Per-operation TSC cycles and CLOCK_MONOTONIC nanoseconds over `iters` operations.
    Measured { cycles: u64, ns: f64, iters: u64 },
    /// The kernel could not run the case (the reason the program printed).
    Unsupported(String),
}

/// One run of the benchmark program.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BenchRun {
    /// `uname -r` of the kernel.
    pub kernel: String,
    pub cpus: u32,
    pub cases: BTreeMap<String, CaseResult>,
}

/// Finds `token` in `line` at the start of a word (so `BENCH ` does not match `KBENCH `) and
/// returns the text after it. Serial lines may carry a prefix (another writer's text).
fn after_token<'a>(line: &'a str, token: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(i) = line[from..].find(token) {
        let at = from + i;
        let boundary = line[..at]
            .chars()
            .next_back()
            .map_or(true, |c| !c.is_alphanumeric() && c != '_' && c != '-');
        if boundary {
            return Some(&line[at + token.len()..]);
        }
        from = at + token.len();
    }
    None
}

fn field<'a>(words: &[&'a str], key: &str) -> Option<&'a str> {
    words.iter().find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// Parses one `BENCH <case> ...` body (the text after `BENCH `).
fn parse_case(body: &str) -> Option<(String, CaseResult)> {
    let words: Vec<&str> = body.split_whitespace().collect();
    let name = words.first()?.to_string();
    if words.get(1) == Some(&"unsupported") {
        return Some((name, CaseResult::Unsupported(words[2..].join(" "))));
    }
    let measured = (|| {
        Some(CaseResult::Measured {
            cycles: field(&words, "cycles")?.parse().ok()?,
            ns: field(&words, "ns")?.parse().ok().filter(|v: &f64| v.is_finite())?,
            iters: field(&words, "iters")?.parse().ok()?,
        })
    })();
    // A garbled result line stays visible in the report rather than vanishing.
    let result = measured
        .unwrap_or_else(|| CaseResult::Unsupported(format!("malformed result line `{}`", body.trim())));
    Some((name, result))
}

/// Parses the serial lines of one run: `BENCH-START kernel=<r> cpus=<n>`, `BENCH` lines,
/// `BENCH-END`. Other lines (kernel messages, noise) are ignored.
pub fn parse(lines: &[String]) -> Result<BenchRun> {
    let mut run: Option<BenchRun> = None;
    for line in lines {
        if let Some(rest) = after_token(line, "BENCH-START") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            run = Some(BenchRun {
                kernel: field(&words, "kernel").unwrap_or("?").to_string(),
                cpus: field(&words, "cpus").and_then(|c| c.parse().ok()).unwrap_or(0),
                cases: BTreeMap::new(),
            });
        } else if after_token(line, "BENCH-END").is_some() {
            return run.context("BENCH-END without BENCH-START in the benchmark output");
        } else if let (Some(r), Some(body)) = (run.as_mut(), after_token(line, "BENCH ")) {
            if let Some((name, result)) = parse_case(body) {
                r.cases.insert(name, result);
            }
        }
    }
    match run {
        None => bail!("no BENCH-START line in the benchmark output"),
        Some(r) => bail!(
            "the benchmark output stops before BENCH-END ({} cases seen on {})",
            r.cases.len(),
            r.kernel
        ),
    }
}

/// Exo-OS cycles over Linux cycles, when both kernels measured the case.
pub fn ratio(exo: Option<&CaseResult>, linux: Option<&CaseResult>) -> Option<f64> {
    match (exo?, linux?) {
        (CaseResult::Measured { cycles: e, .. }, CaseResult::Measured { cycles: l, .. })
            if *l > 0 && *e > 0 =>
        {
            Some(*e as f64 / *l as f64)
        }
        _ => None,
    }
}

/// Every case name of both runs, sorted.
pub(crate) fn case_names(exo: &BenchRun, linux: &BenchRun) -> Vec<String> {
    let mut names: Vec<String> = exo.cases.keys().chain(linux.cases.keys()).cloned().collect();
    names.sort();
    names.dedup();
    names
}

const METHOD: &str = "Both kernels booted the same static benchmark binary as `/init`, under the same \
QEMU settings (TCG, q35, `-cpu max`, the same memory and CPU count, `-icount shift=0,sleep=off`). \
With `-icount shift=0,sleep=off` the guest clock advances by exactly one nanosecond per retired \
guest instruction, so a TSC cycle is one retired guest instruction: the figures count \
instructions, are deterministic, and do not depend on the host's load. They measure the work each \
kernel does, not host wall-clock time. Ratios below 1.00 mean Exo-OS is faster.";

pub(crate) fn md_cell(r: Option<&CaseResult>) -> String {
    match r {
        Some(CaseResult::Measured { cycles, .. }) => cycles.to_string(),
        Some(CaseResult::Unsupported(why)) => format!("unsupported: {}", why.replace('|', "\\|")),
        None => "not run".to_string(),
    }
}

fn markdown(exo: &BenchRun, linux: &BenchRun, kernel_benches: &[(String, u64, Option<String>)], axis: &Scaling) -> String {
    let mut md = String::from("# Exo-OS vs Linux\n\n");
    let _ = writeln!(
        md,
        "Exo-OS `{}` ({} CPUs) and Linux `{}` ({} CPUs); guest cycles per operation.\n",
        exo.kernel, exo.cpus, linux.kernel, linux.cpus
    );
    md.push_str("| metric | Linux cycles | Exo-OS cycles | Exo-OS/Linux | seed target |\n");
    md.push_str("|---|---:|---:|---:|---|\n");
    for name in case_names(exo, linux) {
        let (e, l) = (exo.cases.get(&name), linux.cases.get(&name));
        let ratio = ratio(e, l).map_or("-".to_string(), |r| format!("{r:.2}"));
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {ratio} | {} |",
            md_cell(l),
            md_cell(e),
            seed_target(&name).unwrap_or("-")
        );
    }
    if !kernel_benches.is_empty() {
        md.push_str("\n## In-kernel microbenchmarks (Exo-OS)\n\n| metric | Exo-OS cycles | seed target |\n|---|---:|---|\n");
        for (name, cycles, target) in kernel_benches {
            let target = target.as_deref().or_else(|| seed_target(name)).unwrap_or("-");
            let _ = writeln!(md, "| {name} | {cycles} | {target} |");
        }
    }
    md.push_str(&crate::benchfusion::markdown(exo, linux));
    md.push_str(&crate::benchnet::markdown(exo, linux));
    md.push_str(&crate::benchdisk::markdown(exo, linux));
    if !axis.samples.is_empty() || !axis.unsupported.is_empty() {
        md.push_str(&scaling::markdown(axis));
    }
    let _ = write!(md, "\n## Method\n\n{METHOD}\n");
    md
}

/// A JSON string literal.
fn js(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_result(r: Option<&CaseResult>) -> String {
    match r {
        Some(CaseResult::Measured { cycles, ns, iters }) => {
            format!("{{\"cycles\": {cycles}, \"ns\": {ns}, \"iters\": {iters}}}")
        }
        Some(CaseResult::Unsupported(why)) => format!("{{\"unsupported\": {}}}", js(why)),
        None => "null".to_string(),
    }
}

fn json(exo: &BenchRun, linux: &BenchRun, kernel_benches: &[(String, u64, Option<String>)], axis: &Scaling) -> String {
    let opt = |s: Option<&str>| s.map_or("null".to_string(), js);
    let cases: Vec<String> = case_names(exo, linux)
        .iter()
        .map(|n| {
            let (e, l) = (exo.cases.get(n), linux.cases.get(n));
            format!(
                "    {{\"name\": {}, \"linux\": {}, \"exo\": {}, \"ratio_exo_linux\": {}, \"seed_target\": {}}}",
                js(n),
                json_result(l),
                json_result(e),
                ratio(e, l).map_or("null".to_string(), |r| format!("{r:.4}")),
                opt(seed_target(n))
            )
        })
        .collect();
    let kb: Vec<String> = kernel_benches
        .iter()
        .map(|(n, c, t)| {
            let t = t.as_deref().or_else(|| seed_target(n));
            format!("    {{\"name\": {}, \"cycles\": {c}, \"seed_target\": {}}}", js(n), opt(t))
        })
        .collect();
    format!(
        "{{\n  \"unit\": \"guest cycles per operation (QEMU -icount shift=0,sleep=off: one cycle = one retired instruction)\",\n  \
         \"method\": {},\n  \"exo\": {{\"kernel\": {}, \"cpus\": {}}},\n  \"linux\": {{\"kernel\": {}, \"cpus\": {}}},\n  \
         \"cases\": [\n{}\n  ],\n  \"socket_goals\": {},\n  \"storage_goals\": {},\n  \"kernel_benches\": [\n{}\n  ],\n  \"scaling\": {}\n}}\n",
        js(METHOD),
        js(&exo.kernel),
        exo.cpus,
        js(&linux.kernel),
        linux.cpus,
        cases.join(",\n"),
        crate::benchnet::json(exo, linux),
        crate::benchdisk::json(exo, linux),
        kb.join(",\n"),
        scaling::json(axis)
    )
}

/// Writes `report.md`, `report.json` and `report.svg` into `dir` (created if needed).
/// `kernel_benches`: in-kernel microbenchmarks as (name, cycles per op, seed target text).
pub fn write_reports(
    dir: &Path,
    exo: &BenchRun,
    linux: &BenchRun,
    kernel_benches: &[(String, u64, Option<String>)],
    axis: &Scaling,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (file, text) in [
        ("report.md", markdown(exo, linux, kernel_benches, axis)),
        ("report.json", json(exo, linux, kernel_benches, axis)),
        ("report.svg", benchsvg::svg(exo, linux, axis)),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    fn m(cycles: u64) -> CaseResult {
        CaseResult::Measured { cycles, ns: cycles as f64, iters: 100 }
    }

    fn run(kernel: &str, cases: &[(&str, CaseResult)]) -> BenchRun {
        BenchRun {
            kernel: kernel.into(),
            cpus: 1,
            cases: cases.iter().map(|(n, r)| (n.to_string(), r.clone())).collect(),
        }
    }

    #[test]
    fn parses_a_good_run_ignoring_garbage() {
        let out = lines(
            "[    1.0] Run /init as init process\nnoise BENCH\nKBENCH RESULT x cycles_per_op=1.00 ops=1 target=-\n\
             BENCH-START kernel=6.1.0-56-amd64 cpus=2\n\
             BENCH null_syscall cycles=123 ns=123.5 iters=20000\n\
             [    2.0] random kernel message\n\
             BENCH pipe_throughput_64k cycles=9000 ns=9000.25 iters=200 MBps=7.5\n\
             BENCH-END\nreboot: Power down",
        );
        let r = parse(&out).unwrap();
        assert_eq!(r.kernel, "6.1.0-56-amd64");
        assert_eq!(r.cpus, 2);
        assert_eq!(r.cases.len(), 2);
        assert_eq!(r.cases["null_syscall"], CaseResult::Measured { cycles: 123, ns: 123.5, iters: 20000 });
        assert!(matches!(r.cases["pipe_throughput_64k"], CaseResult::Measured { cycles: 9000, .. }));
    }

    #[test]
    fn unsupported_and_malformed_cases_stay_visible() {
        let out = lines(
            "BENCH-START kernel=0.1.0 cpus=1\nBENCH unix_roundtrip unsupported socketpair: ENOSYS\n\
             BENCH stat cycles=oops ns=1 iters=2\nBENCH-END",
        );
        let r = parse(&out).unwrap();
        assert_eq!(r.cases["unix_roundtrip"], CaseResult::Unsupported("socketpair: ENOSYS".into()));
        assert!(matches!(&r.cases["stat"], CaseResult::Unsupported(w) if w.contains("malformed")));
    }

    #[test]
    fn missing_start_or_end_is_an_error() {
        let e = parse(&lines("BENCH-START kernel=x cpus=1\nBENCH a cycles=1 ns=1 iters=1")).unwrap_err();
        assert!(e.to_string().contains("BENCH-END"), "{e}");
        assert!(parse(&lines("BENCH a cycles=1 ns=1 iters=1\nBENCH-END")).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn ratio_math() {
        assert_eq!(ratio(Some(&m(50)), Some(&m(200))), Some(0.25));
        assert_eq!(ratio(Some(&m(300)), Some(&m(100))), Some(3.0));
        assert_eq!(ratio(Some(&m(1)), Some(&m(0))), None);
        assert_eq!(ratio(Some(&CaseResult::Unsupported("x".into())), Some(&m(1))), None);
        assert_eq!(ratio(None, Some(&m(1))), None);
    }

    /// Checks that every tag of an SVG text is closed in order (a tiny well-formedness check).
    fn balanced(svg: &str) -> bool {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            let Some(j) = rest[i..].find('>') else { return false };
            let tag = &rest[i + 1..i + j];
            rest = &rest[i + j + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop().as_deref() != Some(name.trim()) {
                    return false;
                }
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap_or("").to_string());
            }
        }
        stack.is_empty()
    }

    #[test]
    fn writes_the_three_reports() {
        let exo = run(
            "0.1.0",
            &[("null_syscall", m(50)), ("fork_exit_wait", m(30000)), ("unix_roundtrip", CaseResult::Unsupported("no AF_UNIX | yet".into()))],
        );
        let linux = run(
            "6.1.0-56-amd64",
            &[("null_syscall", m(200)), ("fork_exit_wait", m(10000)), ("unix_roundtrip", m(5000)), ("stat", m(700))],
        );
        let dir = std::env::temp_dir().join(format!("xtask-benchreport-{}", std::process::id()));
        let kb = vec![("heap_64b_alloc_free".to_string(), 12, None), ("custom".to_string(), 5, Some("<4".to_string()))];
        let axis = Scaling {
            samples: vec![crate::scaling::parse_line("SCALE fork_exit cpus=1 workers=4 ops=8 ns=800 cycles=800 busy=1 idle=0").unwrap()],
            unsupported: vec![("pipe_pairs".into(), 2, "pipe: ENOSYS".into())],
        };
        write_reports(&dir, &exo, &linux, &kb, &axis).unwrap();
        let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
        let json = std::fs::read_to_string(dir.join("report.json")).unwrap();
        let svg = std::fs::read_to_string(dir.join("report.svg")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);

        // The main table (the socket section repeats unix_roundtrip with its goal).
        let main_table = md.split("\n## ").next().unwrap();
        let rows = |name: &str| main_table.lines().filter(|l| l.starts_with(&format!("| {name} |"))).count();
        assert!(md.contains("## Sockets vs Linux") && json.contains("\"socket_goals\": ["), "{md}");
        assert!(!md.contains("## Storage vs Linux") && json.contains("\"storage_goals\": ["), "no disk case ran: {md}");
        for name in ["null_syscall", "fork_exit_wait", "unix_roundtrip", "stat"] {
            assert_eq!(rows(name), 1, "{name} in\n{md}");
        }
        assert!(md.contains("| null_syscall | 200 | 50 | 0.25 | <60 cycles"), "{md}");
        assert!(md.contains("| fork_exit_wait | 10000 | 30000 | 3.00 | - |"), "{md}");
        assert!(md.contains("| unix_roundtrip | 5000 | unsupported: no AF_UNIX \\| yet | - |"), "{md}");
        assert!(md.contains("| stat | 700 | not run | - |"), "{md}");
        assert!(md.contains("| heap_64b_alloc_free | 12 | ~8 cycles"), "{md}");
        assert!(md.contains("| custom | 5 | <4 |"), "{md}");
        assert!(md.contains("one retired guest instruction") && md.contains("same static benchmark binary"));

        assert!(md.contains("## Scaling") && md.contains("| fork_exit | 1 | 8 |"), "{md}");
        assert!(md.contains("| pipe_pairs | 2 | unsupported: pipe: ENOSYS |"), "{md}");
        assert!(json.contains("\"scaling\": [") && json.contains("\"ops_per_virtual_s\": 10000000.0"), "{json}");
        assert!(json.contains("\"ratio_exo_linux\": 0.2500"), "{json}");
        assert!(json.contains("{\"unsupported\": \"no AF_UNIX | yet\"}"), "{json}");
        assert_eq!(json.matches('{').count(), json.matches('}').count());
        assert_eq!(json.matches('[').count(), json.matches(']').count());

        assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"), "{svg}");
        assert!(balanced(&svg), "{svg}");
        assert_eq!(svg.matches("class=\"bar\"").count(), 2, "{svg}");
        assert_eq!(svg.matches("class=\"speedup\"").count(), 1, "{svg}");
        assert!(svg.contains("pipe_pairs, 2 CPUs: unsupported"), "{svg}");
        assert!(svg.contains(">0.25<") && svg.contains(">3.00<"), "{svg}");
        assert!(svg.contains("unsupported on Exo-OS"), "{svg}");
    }

    #[test]
    fn seed_targets_are_named_once() {
        for (i, (n, _)) in SEED_TARGETS.iter().enumerate() {
            assert!(!SEED_TARGETS[i + 1..].iter().any(|(m, _)| m == n), "{n}");
        }
        assert!(seed_target("null_syscall").unwrap().contains("60"));
        assert_eq!(seed_target("nope"), None);
    }
}
