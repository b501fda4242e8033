//! In-kernel microbenchmarks (compiled with the `ktest` feature, run by `kbench` on the command
//! line, driven by `cargo xtask bench`).
//!
//! Each benchmark runs a batch of operations between two `rdtsc`s; the best of several batches is
//! reported in cycles per operation. Under QEMU with `-icount shift=0,sleep=off` a cycle is one
//! retired guest instruction, so the figures are deterministic and comparable. One line per
//! result on serial: `KBENCH RESULT <name> cycles_per_op=<x.yy> ops=<n> target=<t|->`, framed by
//! `KBENCH BEGIN <count>` and `KBENCH END`; then QEMU exits with the success code.

mod memory;
mod sched;

use crate::{arch, kprintln};

/// A registered benchmark: `run(ops)` performs `ops` operations and returns the cycles taken.
pub struct Benchmark {
    pub name: &'static str,
    /// The design documents' target in cycles per operation, if they give one.
    pub target: Option<u64>,
    pub run: fn(ops: u64) -> u64,
}

/// Batches measured per benchmark (the best one counts).
const BATCHES: usize = 5;

/// Times `op` run `ops` times; returns elapsed TSC cycles.
#[inline(always)]
pub fn time_batch(ops: u64, mut op: impl FnMut(u64)) -> u64 {
    let start = arch::read_timestamp();
    for i in 0..ops {
        op(i);
    }
    arch::read_timestamp().wrapping_sub(start)
}

fn all() -> impl Iterator<Item = &'static (Benchmark, u64)> + Clone {
    memory::BENCHMARKS.iter().chain(sched::BENCHMARKS)
}

/// Runs every benchmark whose name contains `filter` and exits QEMU.
pub fn run(filter: &str) -> ! {
    let selected = all().filter(|(b, _)| b.name.contains(filter));
    kprintln!("KBENCH BEGIN {}", selected.clone().count());
    for (bench, ops) in selected {
        // One warm-up batch, then the best of BATCHES.
        (bench.run)(*ops);
        let best = (0..BATCHES).map(|_| (bench.run)(*ops)).min().unwrap_or(0);
        let hundredths = best * 100 / (*ops).max(1);
        kprintln!(
            "KBENCH RESULT {} cycles_per_op={}.{:02} ops={} target={}",
            bench.name, hundredths / 100, hundredths % 100, ops, Target(bench.target)
        );
    }
    kprintln!("KBENCH END");
    arch::exit_emulator(arch::exit_code::SUCCESS)
}

/// A target printed as its number of cycles, or `-` when the design gives none.
struct Target(Option<u64>);

impl core::fmt::Display for Target {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self.0 {
            Some(cycles) => write!(f, "{cycles}"),
            None => f.write_str("-"),
        }
    }
}
