//! Tests of CPU affinity in the scheduler: a thread spawned with a one-CPU mask runs only
//! there (through yields, sleeps and competing load), moves when another thread changes its
//! mask, and a mask with no online CPU is refused; and the tick's user/system split of an
//! in-kernel thread (all system time).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::ktest::TestFailure;
use crate::sched::{self, SpawnOptions};
use crate::{kassert, kassert_eq, ktest, time};

fn failed<E: core::fmt::Debug>(e: E) -> TestFailure {
    TestFailure::new(format_args!("{e:?}"))
}

ktest!(fn pinned_threads_stay_on_their_cpu_and_move_when_repinned() {
    let cpus = sched::online().count();
    if cpus < 2 {
        return Ok(());
    }
    let last = cpus - 1;
    let wrong = Arc::new(AtomicU64::new(0));
    let phase = Arc::new(AtomicU64::new(0));
    let moved = Arc::new(AtomicBool::new(false));
    // Competing unpinned load so that idle CPUs try to steal.
    let mut load = Vec::new();
    for _ in 0..cpus * 2 {
        load.push(sched::spawn("aff-load", || {
            let start = time::since_boot_ns();
            while time::since_boot_ns() - start < 200_000_000 {
                sched::yield_now();
            }
            0
        }).map_err(failed)?);
    }
    let (w, p, m) = (wrong.clone(), phase.clone(), moved.clone());
    let options = SpawnOptions { affinity: 1 << last, ..SpawnOptions::default() };
    // Phases: 0 pinned to the last CPU, 1 being moved, 2 pinned to CPU 0, 3 done.
    let pinned = sched::spawn_with("aff-pinned", options, move || {
        let start = time::since_boot_ns();
        let mut i = 0u64;
        while p.load(Ordering::SeqCst) != 3 && time::since_boot_ns() - start < 10_000_000_000 {
            let phase = p.load(Ordering::SeqCst);
            let here = crate::arch::cpu_index();
            match phase {
                0 if here != last => {
                    w.fetch_add(1, Ordering::SeqCst);
                }
                2 if here != 0 => {
                    w.fetch_add(1, Ordering::SeqCst);
                }
                2 => m.store(true, Ordering::SeqCst),
                _ => {}
            }
            i += 1;
            if i % 10 == 0 {
                sched::sleep_ns(1_000_000);
            } else {
                sched::yield_now();
            }
        }
        0
    }).map_err(failed)?;
    let thread = pinned.thread().clone();
    kassert_eq!(thread.affinity(), 1 << last);
    kassert!(sched::affinity::set_affinity(&thread, 1 << 40).is_err(), "a mask without an online CPU was accepted");
    let pause = |ns: u64| {
        let start = time::since_boot_ns();
        while time::since_boot_ns() - start < ns {
            sched::yield_now();
        }
    };
    // Let it run pinned for a while, then move it to CPU 0 from here.
    pause(100_000_000);
    phase.store(1, Ordering::SeqCst);
    sched::affinity::set_affinity(&thread, 1).map_err(failed)?;
    pause(20_000_000);
    phase.store(2, Ordering::SeqCst);
    pause(100_000_000);
    phase.store(3, Ordering::SeqCst);
    pinned.join();
    for handle in load {
        handle.join();
    }
    kassert_eq!(wrong.load(Ordering::SeqCst), 0);
    kassert!(moved.load(Ordering::SeqCst), "the repinned thread never ran on CPU 0");
    Ok(())
});

ktest!(fn kernel_thread_time_is_system_time() {
    let handle = sched::spawn("aff-spin", || {
        let start = time::since_boot_ns();
        while time::since_boot_ns() - start < 60_000_000 {
            core::hint::spin_loop();
        }
        0
    }).map_err(failed)?;
    let thread = handle.thread().clone();
    handle.join();
    let (user, system) = thread.cpu_times();
    kassert_eq!(user, 0);
    kassert!(system >= 30_000_000, "system time {system} ns");
    Ok(())
});
