//! Tests of wait queues (`sched/wait.rs`): wake-ups in arrival order (the first waiter in the
//! queue's own slot, the others in its list) and no lost wake-up when the waker takes the
//! lock-free path (nobody queued); a spin lock's holder is not preempted by a thread of its CPU
//! (which would spin on the lock for its whole time slice) and yields when it unlocks.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::ktest::TestFailure;
use crate::sched::{self, SpawnOptions};
use crate::{kassert, kassert_eq, ktest};

fn failed<E: core::fmt::Debug>(e: E) -> TestFailure {
    TestFailure::new(format_args!("{e:?}"))
}

ktest!(fn wait_queue_wakes_in_arrival_order_and_loses_no_wake_up() {
    // Three waiters (the first in the queue's own slot, the others in its list), woken one at a
    // time: each wake_one wakes the longest waiting; then many rounds of wake-then-wait between
    // two threads, where the waker usually finds the queue empty (its lock-free fast path).
    struct Shared {
        queue: sched::wait::WaitQueue,
        tickets: [AtomicBool; 3],
        order: crate::spinlock::SpinLock<Vec<usize>>,
        queued: AtomicUsize,
    }
    let shared = Arc::new(Shared {
        queue: sched::wait::WaitQueue::new(),
        tickets: [AtomicBool::new(false), AtomicBool::new(false), AtomicBool::new(false)],
        order: crate::spinlock::SpinLock::new(Vec::new()),
        queued: AtomicUsize::new(0),
    });
    let here = crate::arch::cpu_index();
    let mut handles = Vec::new();
    for index in 0..3 {
        let me = shared.clone();
        let handle = sched::spawn_with("waiter", SpawnOptions { cpu: Some(here), ..Default::default() }, move || {
            me.queued.fetch_add(1, Ordering::SeqCst);
            me.queue.wait_until(|| me.tickets.iter().any(|t| t.swap(false, Ordering::SeqCst)));
            me.order.lock().push(index);
            0
        }).map_err(failed)?;
        // Each waiter is in the queue before the next starts. (Counting the waiters that
        // started, then yielding a few times, was not enough on a loaded host with 4 CPUs: a
        // waiter moved to another CPU could still be on its way to the queue, see the next
        // ticket free and take it out of order.)
        while shared.queued.load(Ordering::SeqCst) <= index || shared.queue.waiting() <= index {
            sched::yield_now();
        }
        handles.push(handle);
    }
    for index in 0..3 {
        shared.tickets[index].store(true, Ordering::SeqCst);
        kassert!(shared.queue.wake_one(), "nobody to wake for ticket {index}");
        while shared.order.lock().len() <= index {
            sched::yield_now();
        }
    }
    for handle in handles {
        kassert_eq!(handle.join(), 0);
    }
    kassert_eq!(*shared.order.lock(), alloc::vec![0, 1, 2]);
    kassert!(!shared.queue.wake_one(), "the queue should be empty");
    // Ping-pong: no wake-up may be lost (the test would hang, caught by the runner's timeout).
    let turn = Arc::new((AtomicU64::new(0), sched::wait::WaitQueue::new()));
    let peer = turn.clone();
    let other = sched::spawn("pong", move || {
        for round in 0..2000u64 {
            peer.1.wait_until(|| peer.0.load(Ordering::SeqCst) == 2 * round + 1);
            peer.0.store(2 * round + 2, Ordering::SeqCst);
            peer.1.wake_all();
        }
        0
    }).map_err(failed)?;
    for round in 0..2000u64 {
        turn.0.store(2 * round + 1, Ordering::SeqCst);
        turn.1.wake_all();
        turn.1.wait_until(|| turn.0.load(Ordering::SeqCst) == 2 * round + 2);
    }
    kassert_eq!(other.join(), 0);
    Ok(())
});

ktest!(fn spin_lock_holder_is_not_preempted_and_switches_at_unlock() {
    // A thread made runnable on this CPU while a spin lock is held does not run before the
    // unlock, however many timer ticks pass (before, the first tick switched to it and it spun on
    // the lock for its whole time slice), and the switch asked for meanwhile is handled as soon
    // as the lock is released.
    struct Shared {
        lock: crate::spinlock::SpinLock<u64>,
        started: AtomicBool,
    }
    let shared = Arc::new(Shared { lock: crate::spinlock::SpinLock::new(0), started: AtomicBool::new(false) });
    let here = crate::arch::cpu_index();
    let cpu = sched::this_cpu().ok_or_else(|| TestFailure::new(format_args!("no scheduler here")))?;
    // Preemption off until the spin lock holds it: the thread stays on this CPU meanwhile.
    let no_preemption = sched::preempt_disable();
    let guard = shared.lock.lock();
    let other = shared.clone();
    let handle = sched::spawn_with("spinner", SpawnOptions { cpu: Some(here), ..Default::default() }, move || {
        other.started.store(true, Ordering::SeqCst);
        *other.lock.lock() += 1;
        0
    }).map_err(failed)?;
    // Ask for a switch, as a tick at the end of a quantum does (a new Normal thread next to a
    // running Normal one does not preempt by itself).
    crate::arch::percpu::request_resched();
    drop(no_preemption);
    // Interrupts are on: every tick's preemption point sees the request.
    let ticks = cpu.ticks();
    while cpu.ticks() < ticks + 3 {
        core::hint::spin_loop();
    }
    // (With another CPU idle, that CPU may take the spinner and run it: allowed. Only running
    // here would be wrong.)
    let ran_here_while_held = shared.started.load(Ordering::SeqCst) && handle.thread().cpus_seen() & (1 << here) != 0;
    let pending = crate::arch::percpu::need_resched();
    drop(guard);
    // The unlock ran the scheduler: it switched to the spinner, or it picked this thread again
    // (the EMA may rank it first) and cleared the request either way.
    let handled_at_unlock = shared.started.load(Ordering::SeqCst) || !crate::arch::percpu::need_resched();
    kassert_eq!(handle.join(), 0);
    kassert!(!ran_here_while_held, "the spinner ran on this CPU while it held the spin lock");
    kassert!(pending, "no switch was pending at the unlock");
    kassert!(handled_at_unlock, "the pending switch was not handled at the unlock");
    kassert_eq!(*shared.lock.lock(), 1);
    Ok(())
});
