//! Tests of threads and scheduling: alternation, many threads, sleep accuracy, blocking
//! synchronisation, EMA classification, preemption, FPU state, and use of every CPU.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::ktest::TestFailure;
use crate::sched::sync::{Condvar, Mutex, Semaphore};
use crate::sched::{self, Priority, Queue, SpawnOptions};
use crate::{kassert, kassert_eq, kprintln, ktest, time};

fn failed<E: core::fmt::Debug>(e: E) -> TestFailure {
    TestFailure::new(format_args!("{e:?}"))
}

ktest!(fn three_threads_take_turns() {
    struct Turns {
        turn: Mutex<usize>,
        changed: Condvar,
        log: Mutex<Vec<u8>>,
    }
    let shared = Arc::new(Turns { turn: Mutex::new(0), changed: Condvar::new(), log: Mutex::new(Vec::new()) });
    let mut handles = Vec::new();
    for me in 0..3usize {
        let shared = shared.clone();
        handles.push(sched::spawn("turns", move || {
            for _ in 0..5 {
                let mut turn = shared.turn.lock();
                while *turn % 3 != me {
                    turn = shared.changed.wait(turn);
                }
                shared.log.lock().push(b'A' + me as u8);
                *turn += 1;
                drop(turn);
                shared.changed.notify_all();
                sched::yield_now();
            }
            me as i64
        }).map_err(failed)?);
    }
    for (i, handle) in handles.into_iter().enumerate() {
        kassert_eq!(handle.join(), i as i64);
    }
    let log = shared.log.lock();
    kprintln!("three threads: {}", core::str::from_utf8(&log).unwrap_or("?"));
    kassert_eq!(&log[..], b"ABCABCABCABCABC");
    Ok(())
});

ktest!(fn two_hundred_threads_return_their_checksums() {
    let mut handles = Vec::new();
    for n in 0..200u64 {
        handles.push(sched::spawn("checksum", move || {
            let mut sum = 0u64;
            for k in 0..2_000u64 {
                sum = sum.wrapping_mul(31).wrapping_add(n ^ k);
                if k % 500 == 0 {
                    sched::yield_now();
                }
            }
            sum as i64
        }).map_err(failed)?);
    }
    for (n, handle) in handles.into_iter().enumerate() {
        let mut expected = 0u64;
        for k in 0..2_000u64 {
            expected = expected.wrapping_mul(31).wrapping_add(n as u64 ^ k);
        }
        kassert_eq!(handle.join(), expected as i64);
    }
    Ok(())
});

ktest!(fn sleep_wakes_within_one_tick_of_its_deadline() {
    let tick_ns = sched::tick_ns();
    kassert!(tick_ns > 0, "no scheduler tick");
    // The first tick after the deadline makes the thread runnable. Under emulation a virtual
    // CPU's timer interrupt can arrive late when the host deschedules it, so judge the median
    // of several sleeps (and bound the worst one loosely).
    let mut delays = [0u64; 7];
    for (i, delay) in delays.iter_mut().enumerate() {
        let ns = (2 + i as u64 % 3) * 1_000_000;
        let start = time::since_boot_ns();
        sched::sleep_ns(ns);
        let slept = time::since_boot_ns() - start;
        kassert!(slept >= ns, "woke early after {slept} ns of {ns}");
        kassert!(slept - ns < 50_000_000, "a {ns} ns sleep resumed {} ns late", slept - ns);
        *delay = sched::last_wake_delay_ns();
    }
    delays.sort_unstable();
    kassert!(delays[3] <= tick_ns, "median wake-up {} ns after the deadline (tick {tick_ns} ns): {delays:?}", delays[3]);
    Ok(())
});

ktest!(fn producer_consumer_loses_nothing_over_100000_items() {
    struct Channel {
        items: Mutex<VecDeque<u64>>,
        not_empty: Condvar,
        not_full: Condvar,
    }
    const ITEMS: u64 = 100_000;
    let channel = Arc::new(Channel { items: Mutex::new(VecDeque::new()), not_empty: Condvar::new(), not_full: Condvar::new() });
    let producer_side = channel.clone();
    let producer = sched::spawn("producer", move || {
        for item in 0..ITEMS {
            let mut items = producer_side.items.lock();
            while items.len() >= 64 {
                items = producer_side.not_full.wait(items);
            }
            items.push_back(item);
            drop(items);
            producer_side.not_empty.notify_one();
        }
        0
    }).map_err(failed)?;
    let consumer_side = channel.clone();
    let consumer = sched::spawn("consumer", move || {
        let (mut sum, mut next) = (0u64, 0u64);
        for _ in 0..ITEMS {
            let mut items = consumer_side.items.lock();
            while items.is_empty() {
                items = consumer_side.not_empty.wait(items);
            }
            let item = items.pop_front().unwrap_or(u64::MAX);
            drop(items);
            consumer_side.not_full.notify_one();
            if item != next {
                return -1;
            }
            next += 1;
            sum += item;
        }
        sum as i64
    }).map_err(failed)?;
    kassert_eq!(producer.join(), 0);
    kassert_eq!(consumer.join(), (ITEMS * (ITEMS - 1) / 2) as i64);
    Ok(())
});

ktest!(fn semaphore_counts_units() {
    let semaphore = Arc::new(Semaphore::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..4 {
        let (semaphore, done) = (semaphore.clone(), done.clone());
        handles.push(sched::spawn("sem", move || {
            semaphore.down();
            done.fetch_add(1, Ordering::SeqCst);
            0
        }).map_err(failed)?);
    }
    sched::sleep_ns(5_000_000);
    kassert_eq!(done.load(Ordering::SeqCst), 0);
    kassert!(!semaphore.try_down(), "took a unit from an empty semaphore");
    for _ in 0..4 {
        semaphore.up();
    }
    for handle in handles {
        handle.join();
    }
    kassert_eq!(done.load(Ordering::SeqCst), 4);
    kassert_eq!(semaphore.available(), 0);
    Ok(())
});

ktest!(fn ema_moves_cpu_bound_thread_to_cold_and_sleeper_to_hot() {
    let stop = Arc::new(AtomicBool::new(false));
    let spin_stop = stop.clone();
    let spinner = sched::spawn("cpu-bound", move || {
        let mut x = 0u64;
        while !spin_stop.load(Ordering::Relaxed) {
            x = core::hint::black_box(x.wrapping_add(1));
        }
        0
    }).map_err(failed)?;
    let sleeper = sched::spawn_with("sleeper", SpawnOptions { priority: Priority::Low, ..Default::default() }, || {
        for _ in 0..30 {
            sched::sleep_ns(1_000_000);
        }
        0
    }).map_err(failed)?;
    // Let the spinner run several full quanta.
    sched::sleep_ns(150_000_000);
    let spinner_queue = spinner.thread().queue();
    stop.store(true, Ordering::Relaxed);
    let sleeper_thread = sleeper.thread().clone();
    kassert_eq!(sleeper.join(), 0);
    kassert_eq!(spinner.join(), 0);
    kassert_eq!(spinner_queue, Queue::Cold);
    kassert_eq!(sleeper_thread.queue(), Queue::Hot);
    Ok(())
});

ktest!(fn timer_preempts_a_thread_that_never_yields() {
    let flag = Arc::new(AtomicBool::new(false));
    let setter_flag = flag.clone();
    // Pin both to this CPU: only preemption can let the setter run while we spin.
    let here = crate::arch::cpu_index();
    let setter = sched::spawn_with("setter", SpawnOptions { cpu: Some(here), ..Default::default() }, move || {
        setter_flag.store(true, Ordering::SeqCst);
        0
    }).map_err(failed)?;
    let start = time::since_boot_ns();
    while !flag.load(Ordering::SeqCst) && time::since_boot_ns() - start < 2_000_000_000 {
        core::hint::spin_loop();
    }
    kassert!(flag.load(Ordering::SeqCst), "the other thread never ran: no preemption");
    kassert_eq!(setter.join(), 0);
    Ok(())
});

ktest!(fn fpu_state_survives_context_switches() {
    let mut handles = Vec::new();
    for seed in [0x1111_2222_3333_4444u64, 0x5555_6666_7777_8888] {
        let options = SpawnOptions { uses_fpu: true, cpu: Some(crate::arch::cpu_index()), ..Default::default() };
        handles.push(sched::spawn_with("fpu", options, move || {
            let mut bad = 0i64;
            for round in 0..50u64 {
                let value = seed ^ round;
                let mut out = 0u64;
                // SAFETY: this thread was spawned with `uses_fpu`; xmm0 is declared clobbered.
                unsafe { core::arch::asm!("movq xmm0, {}", in(reg) value, out("xmm0") _) };
                sched::yield_now();
                // SAFETY: as above; reads back xmm0, which the switch must have preserved.
                unsafe { core::arch::asm!("movq {}, xmm0", out(reg) out) };
                if out != value {
                    bad += 1;
                }
            }
            bad
        }).map_err(failed)?);
    }
    for handle in handles {
        kassert_eq!(handle.join(), 0);
    }
    Ok(())
});

ktest!(fn every_cpu_runs_threads() {
    let cpus = sched::online().count();
    let seen = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for _ in 0..cpus * 4 {
        let seen = seen.clone();
        handles.push(sched::spawn("spread", move || {
            let start = time::since_boot_ns();
            while time::since_boot_ns() - start < 30_000_000 {
                seen.fetch_or(1 << crate::arch::cpu_index(), Ordering::SeqCst);
                core::hint::spin_loop();
            }
            0
        }).map_err(failed)?);
    }
    for handle in handles {
        handle.join();
    }
    kassert_eq!(seen.load(Ordering::SeqCst).count_ones() as usize, cpus);
    for cpu in sched::online() {
        kassert!(cpu.switches() > 0, "CPU {} never switched", cpu.index());
    }
    Ok(())
});

ktest!(fn ten_second_lock_stress_ends_without_deadlock() {
    struct Shared {
        sleeping: Mutex<u64>,
        spinning: crate::spinlock::SpinLock<u64>,
        stop: AtomicBool,
    }
    let shared = Arc::new(Shared { sleeping: Mutex::new(0), spinning: crate::spinlock::SpinLock::new(0), stop: AtomicBool::new(false) });
    let threads = (sched::online().count() * 2).max(4);
    let mut handles = Vec::new();
    for n in 0..threads {
        let shared = shared.clone();
        handles.push(sched::spawn("lock-stress", move || {
            let mut ops = 0i64;
            while !shared.stop.load(Ordering::Relaxed) {
                {
                    let mut value = shared.sleeping.lock();
                    *value += 1;
                    // Hold the sleeping lock across a nested interrupt-safe spin lock.
                    crate::arch::without_interrupts(|| *shared.spinning.lock() += 1);
                }
                ops += 1;
                if (ops as usize + n) % 64 == 0 {
                    sched::yield_now();
                }
            }
            ops
        }).map_err(failed)?);
    }
    sched::sleep_ns(10_000_000_000);
    shared.stop.store(true, Ordering::Relaxed);
    let total: i64 = handles.into_iter().map(|h| h.join()).sum();
    kassert!(total > 0);
    kassert_eq!(*shared.sleeping.lock(), total as u64);
    kassert_eq!(crate::arch::without_interrupts(|| *shared.spinning.lock()), total as u64);
    kprintln!("lock stress: {threads} threads, {total} critical sections in 10 s");
    Ok(())
});

/// Spawns and joins 1,500 threads (more than there are stack slots, so leaked stacks would run
/// out) and 50 detached ones.
fn thread_churn() -> Result<(), TestFailure> {
    let before = sched::thread_count();
    for n in 0..1500i64 {
        kassert_eq!(sched::spawn("short", move || n).map_err(failed)?.join(), n);
    }
    for _ in 0..50 {
        drop(sched::spawn("detached", || 0).map_err(failed)?);
    }
    // The detached threads run and leave the table by themselves.
    let start = time::since_boot_ns();
    while sched::thread_count() > before && time::since_boot_ns() - start < 5_000_000_000 {
        sched::sleep_ns(1_000_000);
    }
    kassert_eq!(sched::thread_count(), before);
    Ok(())
}

ktest!(fn finished_threads_give_back_their_stacks_and_memory() {
    // The first round grows what stays allocated (queue capacities); the second must give
    // back everything it takes. The stack region's page tables stay too: create them for more
    // stacks than can be alive at once during a round, so their number cannot vary.
    let stacks: Vec<_> = (0..128).filter_map(|_| crate::memory::stacks::KernelStack::new().ok()).collect();
    kassert_eq!(stacks.len(), 128);
    drop(stacks);
    thread_churn()?;
    crate::memory::heap::trim();
    // Frames outside the heap: the heap's pages may sit in other CPUs' caches (its own tests
    // check it gives everything back).
    let outside_heap = || crate::memory::frames::free_frames() + crate::memory::heap::stats().pages_in_use;
    let (frames, threads, stacks) = (outside_heap(), sched::thread_count(), crate::memory::stacks::live_count());
    thread_churn()?;
    crate::memory::heap::trim();
    // Nothing may grow (threads of earlier tests may finish meanwhile, so less is fine). A stack
    // being freed stays counted until its TLB shootdown is acknowledged by every CPU, so let
    // frees in flight complete (bounded) before judging.
    let settled = || {
        sched::thread_count() <= threads
            && crate::memory::stacks::live_count() <= stacks
            && outside_heap() >= frames
    };
    let start = time::since_boot_ns();
    while !settled() && time::since_boot_ns() - start < 2_000_000_000 {
        sched::sleep_ns(1_000_000);
        crate::memory::heap::trim();
    }
    kassert!(sched::thread_count() <= threads, "threads {threads} -> {}", sched::thread_count());
    kassert!(crate::memory::stacks::live_count() <= stacks, "stacks {stacks} -> {}", crate::memory::stacks::live_count());
    kassert!(outside_heap() >= frames, "{} frames lost", frames - outside_heap());
    Ok(())
});

ktest!(fn preempt_disable_keeps_the_cpu_until_dropped() {
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let guard = sched::preempt_disable();
    let here = crate::arch::cpu_index();
    let other = sched::spawn_with("waits", SpawnOptions { cpu: Some(here), ..Default::default() }, move || {
        flag.store(true, Ordering::SeqCst);
        0
    }).map_err(failed)?;
    // Several quanta of spinning: the pinned thread must not get this CPU meanwhile. (With
    // more CPUs an idle one may steal it; then it runs elsewhere, which is allowed.)
    let start = time::since_boot_ns();
    while time::since_boot_ns() - start < 30_000_000 {
        core::hint::spin_loop();
    }
    kassert_eq!(crate::arch::cpu_index(), here);
    let ran_while_disabled = ran.load(Ordering::SeqCst);
    let stolen = other.thread().cpus_seen() & !(1 << here) != 0;
    kassert!(!ran_while_disabled || stolen, "preempted while preemption was disabled");
    drop(guard);
    kassert_eq!(other.join(), 0);
    kassert!(ran.load(Ordering::SeqCst));
    Ok(())
});

ktest!(fn an_idle_cpu_takes_a_thread_queued_behind_a_busy_one() {
    // One thread queued behind a CPU that keeps running (preemption off): with another CPU
    // idle, that CPU must take it within a few ticks (it used to wait for a second queued
    // thread, so a lone waiter sat behind a busy CPU while others idled).
    if sched::online().count() < 2 {
        return Ok(());
    }
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let guard = sched::preempt_disable();
    let here = crate::arch::cpu_index();
    let other = sched::spawn_with("queued", SpawnOptions { cpu: Some(here), ..Default::default() }, move || {
        flag.store(true, Ordering::SeqCst);
        0
    }).map_err(failed)?;
    let start = time::since_boot_ns();
    while !ran.load(Ordering::SeqCst) && time::since_boot_ns() - start < 50_000_000 {
        core::hint::spin_loop();
    }
    let ran_elsewhere = ran.load(Ordering::SeqCst);
    drop(guard);
    let seen = other.thread().cpus_seen();
    kassert_eq!(other.join(), 0);
    kassert!(ran_elsewhere, "the queued thread waited 50 ms behind a busy CPU with another CPU idle");
    kassert!(seen & !(1 << here) != 0, "it ran on no other CPU");
    Ok(())
});

ktest!(fn mutex_try_lock_and_queue_statistics() {
    let mutex = Mutex::new(5u32);
    let guard = mutex.lock();
    kassert!(mutex.try_lock().is_none(), "try_lock succeeded on a held mutex");
    drop(guard);
    kassert_eq!(mutex.try_lock().map(|g| *g), Some(5));
    let picks: u64 = sched::online().map(|c| c.stats().picks).sum();
    kassert!(picks > 0, "no run-queue picks recorded");
    Ok(())
});

fn loaded_root(_: u64) -> u64 {
    crate::arch::mmu::current_root()
}

ktest!(fn cr3_follows_threads_with_their_own_address_space() {
    use crate::memory::address_space::AddressSpace;
    let roots = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for leave_first in [true, false] {
        let (here, roots) = (crate::arch::cpu_index(), roots.clone());
        handles.push(sched::spawn_with("own-space", SpawnOptions { cpu: Some(here), ..Default::default() }, move || {
            let Ok(space) = AddressSpace::new() else { return -1 };
            roots.lock().push(space.root());
            sched::enter_address_space(&space);
            let mut wrong = 0;
            for _ in 0..20 {
                sched::yield_now();
                if crate::arch::mmu::current_root() != space.root() {
                    wrong += 1;
                }
            }
            // One thread leaves its space before dropping it, the other drops it while loaded.
            if leave_first {
                sched::leave_address_space();
            }
            wrong
        }).map_err(failed)?);
    }
    for handle in handles {
        kassert_eq!(handle.join(), 0);
    }
    // Both spaces were dropped: no CPU may still run on either freed tree.
    let roots = roots.lock().clone();
    kassert_eq!(roots.len(), 2);
    for cpu in 0..crate::arch::cpu_count() {
        let loaded = crate::arch::smp::run_on_cpu(cpu, loaded_root, 0, 1_000_000_000);
        kassert!(loaded.is_some_and(|r| !roots.contains(&r)), "CPU {cpu} still has {loaded:?} loaded");
    }
    Ok(())
});

ktest!(fn waits_with_a_timeout_give_up_on_time_or_succeed_early() {
    let semaphore = Arc::new(Semaphore::new(0));
    let start = time::since_boot_ns();
    kassert!(!semaphore.down_timeout(5_000_000), "got a unit from an empty semaphore");
    let waited = time::since_boot_ns() - start;
    kassert!(waited >= 5_000_000 && waited < 100_000_000, "timed out after {waited} ns");
    // A unit arriving before the deadline ends the wait early.
    let giver = semaphore.clone();
    let helper = sched::spawn("giver", move || {
        sched::sleep_ns(2_000_000);
        giver.up();
        0
    }).map_err(failed)?;
    let start = time::since_boot_ns();
    kassert!(semaphore.down_timeout(1_000_000_000), "the unit never arrived");
    kassert!(time::since_boot_ns() - start < 500_000_000);
    helper.join();
    // Condition variable: a timeout without notification, then a notification.
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let (lock, cond) = (&pair.0, &pair.1);
    let (guard, timed_out) = cond.wait_timeout(lock.lock(), 3_000_000);
    kassert!(timed_out && !*guard);
    drop(guard);
    let other = pair.clone();
    let notifier = sched::spawn("notifier", move || {
        sched::sleep_ns(2_000_000);
        *other.0.lock() = true;
        other.1.notify_all();
        0
    }).map_err(failed)?;
    let mut guard = lock.lock();
    let mut timed_out = false;
    while !*guard && !timed_out {
        (guard, timed_out) = cond.wait_timeout(guard, 1_000_000_000);
    }
    kassert!(*guard && !timed_out);
    drop(guard);
    notifier.join();
    Ok(())
});

ktest!(fn wait_condition_may_take_a_lock_held_by_a_preempted_thread() {
    // Regression (issue 11, the `dd | cat | wc` freeze): a wait condition that takes an
    // ordinary spin lock whose holder was preempted on the same CPU. Conditions used to run
    // with interrupts off, so the waiter spun forever and the CPU never ticked again.
    struct Shared {
        value: crate::spinlock::SpinLock<u64>,
        changed: sched::wait::WaitQueue,
        holding: AtomicBool,
    }
    let shared = Arc::new(Shared { value: crate::spinlock::SpinLock::new(0), changed: sched::wait::WaitQueue::new(), holding: AtomicBool::new(false) });
    let here = crate::arch::cpu_index();
    let other = shared.clone();
    let holder = sched::spawn_with("holder", SpawnOptions { cpu: Some(here), ..Default::default() }, move || {
        let mut value = other.value.lock();
        other.holding.store(true, Ordering::SeqCst);
        // Several quanta with the lock held: the timer preempts this thread meanwhile.
        let start = time::since_boot_ns();
        while time::since_boot_ns() - start < 30_000_000 {
            core::hint::spin_loop();
        }
        *value = 1;
        drop(value);
        other.changed.wake_all();
        0
    }).map_err(failed)?;
    while !shared.holding.load(Ordering::SeqCst) {
        sched::yield_now();
    }
    let start = time::since_boot_ns();
    shared.changed.wait_until(|| *shared.value.lock() == 1);
    let waited = time::since_boot_ns() - start;
    kassert_eq!(holder.join(), 0);
    kassert!(waited < 2_000_000_000, "the wait took {waited} ns");
    Ok(())
});
