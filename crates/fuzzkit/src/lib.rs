//! `exo-fuzzkit`: the randomized half of Exo-OS's host fuzzing (a dev-dependency only; the
//! coverage-guided half is libFuzzer, run by `cargo xtask hostfuzz`, see `docs/hostfuzz.md`).
//!
//! Every fuzz target of a crate is one function `check(&[u8])` that feeds the bytes to a
//! parser and panics when an invariant breaks. The same function is linked into the
//! libFuzzer binary (`crates/<crate>/fuzz/`) and into a `cargo test` integration test that
//! calls [`run`]: it replays the checked-in corpus (`crates/<crate>/fuzz/corpus/<target>/`,
//! which also holds the inputs of every bug found) and then runs a bounded number of
//! deterministic mutations of it ([`Mutator`]: bit flips, boundary values written over
//! 1/2/4/8-byte fields and ASCII hex fields, truncations, chunk duplication/removal, splices
//! of two inputs, dictionary tokens).
//!
//! Environment: `EXO_FUZZ_CASES` (mutated cases per target, default [`DEFAULT_CASES`]),
//! `EXO_FUZZ_SECONDS` (stop after this long instead), `EXO_FUZZ_SEED` (default fixed, so a
//! plain `cargo test` is reproducible). A failing input is written to
//! `target/hostfuzz/failures/<target>-<hash>` and printed in hex before the panic goes on.

#![forbid(unsafe_code)]

mod mutate;

pub use mutate::{Mutator, Rng};

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Mutated cases per target in a plain `cargo test` (a few seconds in total per crate).
pub const DEFAULT_CASES: u64 = 20_000;

/// The checked-in seed corpus of `target` in the crate at `manifest_dir` (sorted by name).
/// Panics if there is none: every target must have seeds.
pub fn corpus(manifest_dir: &str, target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(manifest_dir)
        .join("fuzz")
        .join("corpus")
        .join(target);
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let seeds: Vec<Vec<u8>> = names
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
    assert!(!seeds.is_empty(), "corpus {} is empty", dir.display());
    seeds
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: not a number")),
    )
}

/// What [`run`] did.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub seeds: usize,
    pub cases: u64,
    pub elapsed: Duration,
}

/// Replays `seeds`, then checks [`DEFAULT_CASES`] mutated inputs (see the crate
/// documentation) or as many as the environment asks for. `dict` holds tokens worth inserting
/// (keywords, escapes).
pub fn run(target: &str, seeds: &[Vec<u8>], dict: &[&[u8]], check: fn(&[u8])) -> Stats {
    run_n(target, seeds, dict, DEFAULT_CASES, check)
}

/// [`run`] with another default case count, for targets whose cases are expensive.
pub fn run_n(
    target: &str,
    seeds: &[Vec<u8>],
    dict: &[&[u8]],
    default_cases: u64,
    check: fn(&[u8]),
) -> Stats {
    let start = Instant::now();
    for seed in seeds {
        guarded(target, seed, check);
    }
    let seconds = env_u64("EXO_FUZZ_SECONDS");
    let cases = env_u64("EXO_FUZZ_CASES").unwrap_or(if seconds.is_some() {
        u64::MAX
    } else {
        default_cases
    });
    let deadline = seconds.map(|s| start + Duration::from_secs(s));
    let seed = env_u64("EXO_FUZZ_SEED").unwrap_or(0x05ee_d0fe_7005);
    let mut m = Mutator::new(Rng::new(seed ^ hash(target.as_bytes())), dict);
    let mut done = 0;
    while done < cases {
        if done % 256 == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let input = m.derive(seeds);
        guarded(target, &input, check);
        done += 1;
    }
    let stats = Stats {
        seeds: seeds.len(),
        cases: done,
        elapsed: start.elapsed(),
    };
    println!(
        "hostfuzz {target}: {} seeds + {} mutated cases in {:.2?} (EXO_FUZZ_SEED={seed})",
        stats.seeds, stats.cases, stats.elapsed
    );
    stats
}

/// Runs `check(input)`; on a panic saves and prints the input, then lets the panic go on.
fn guarded(target: &str, input: &[u8], check: fn(&[u8])) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| check(input))) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/hostfuzz/failures");
        let file = dir.join(format!("{target}-{:016x}", hash(input)));
        let saved = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&file, input));
        eprintln!(
            "hostfuzz {target}: FAILING INPUT ({} bytes){}:\n{}",
            input.len(),
            match saved {
                Ok(()) => format!(" saved to {}", file.display()),
                Err(e) => format!(" (not saved: {e})"),
            },
            hex(input)
        );
        resume_unwind(p);
    }
}

/// FNV-1a, for file names and per-target seeds.
pub fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Up to 4 KiB of `bytes` as hex, 32 bytes a line.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::new();
    for line in bytes[..bytes.len().min(4096)].chunks(32) {
        for b in line {
            s.push_str(&format!("{b:02x}"));
        }
        s.push('\n');
    }
    s
}
