//! Scheduler microbenchmarks: thread switch through `yield_now` ping-pong, spawn + join, and
//! wake-up latency (from `Semaphore::up` to the woken thread running). Targets from the design
//! documents: 304 cycles per switch, spawn + join under 5,000.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Benchmark;
use crate::arch;
use crate::sched::sync::Semaphore;
use crate::sched::{self, SpawnOptions};

fn on_this_cpu() -> SpawnOptions {
    SpawnOptions { cpu: Some(arch::cpu_index()), ..Default::default() }
}

/// Two threads on one CPU yield to each other `ops` times each; cycles per switch × 2 ops.
fn yield_ping_pong(ops: u64) -> u64 {
    let Ok(partner) = sched::spawn_with("pong", on_this_cpu(), move || {
        for _ in 0..ops {
            sched::yield_now();
        }
        0
    }) else {
        return 0;
    };
    // Let the partner start so both are in the loop.
    sched::yield_now();
    let start = arch::read_timestamp();
    for _ in 0..ops {
        sched::yield_now();
    }
    let cycles = arch::read_timestamp().wrapping_sub(start);
    partner.join();
    // Each round is two switches: report per switch.
    cycles / 2
}

fn spawn_join(ops: u64) -> u64 {
    let start = arch::read_timestamp();
    for _ in 0..ops {
        if let Ok(handle) = sched::spawn_with("nop", on_this_cpu(), || 0) {
            handle.join();
        }
    }
    arch::read_timestamp().wrapping_sub(start)
}

/// Cycles from waking a blocked thread to that thread running, summed over `ops` wake-ups.
fn wakeup_latency(ops: u64) -> u64 {
    let go = Arc::new(Semaphore::new(0));
    let sent_at = Arc::new(AtomicU64::new(0));
    let total = Arc::new(AtomicU64::new(0));
    let (g, s, t) = (go.clone(), sent_at.clone(), total.clone());
    let Ok(waiter) = sched::spawn_with("waiter", on_this_cpu(), move || {
        for _ in 0..ops {
            g.down();
            let now = arch::read_timestamp();
            t.fetch_add(now.wrapping_sub(s.load(Ordering::SeqCst)), Ordering::SeqCst);
        }
        0
    }) else {
        return 0;
    };
    for _ in 0..ops {
        // Wait until the waiter blocks again.
        while go.available() > 0 || waiter.thread().state() != sched::ThreadState::Blocked {
            sched::yield_now();
        }
        sent_at.store(arch::read_timestamp(), Ordering::SeqCst);
        go.up();
        sched::yield_now();
    }
    waiter.join();
    total.load(Ordering::SeqCst)
}

/// The scheduler benchmarks with their batch sizes.
pub static BENCHMARKS: &[(Benchmark, u64)] = &[
    (Benchmark { name: "thread_switch_yield", target: Some(304), run: yield_ping_pong }, 20_000),
    (Benchmark { name: "thread_spawn_join", target: Some(5000), run: spawn_join }, 500),
    (Benchmark { name: "wakeup_latency", target: None, run: wakeup_latency }, 2_000),
];
