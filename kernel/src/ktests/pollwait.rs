//! Tests of poll queues (`sched/pollwait.rs`): a thread registered on several queues is woken
//! by a notify of any of them and by nothing else, leaves no registration behind, loses no
//! wake-up when the notifier takes the lock-free path, and times out at its deadline.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::ktest::TestFailure;
use crate::sched::pollwait::{PollQueue, PollTable};
use crate::sched::wait::WaitOutcome;
use crate::sched::{self, SpawnOptions};
use crate::{kassert, kassert_eq, ktest};

fn failed<E: core::fmt::Debug>(e: E) -> TestFailure {
    TestFailure::new(format_args!("{e:?}"))
}

struct Shared {
    a: Arc<PollQueue>,
    b: Arc<PollQueue>,
    other: Arc<PollQueue>,
    registered: AtomicBool,
    done: AtomicBool,
    wakes: AtomicU64,
}

ktest!(fn poll_table_is_woken_by_its_queues_only() {
    let shared = Arc::new(Shared {
        a: Arc::new(PollQueue::new()),
        b: Arc::new(PollQueue::new()),
        other: Arc::new(PollQueue::new()),
        registered: AtomicBool::new(false),
        done: AtomicBool::new(false),
        wakes: AtomicU64::new(0),
    });
    let me = shared.clone();
    let here = crate::arch::cpu_index();
    let poller = sched::spawn_with("poller", SpawnOptions { cpu: Some(here), ..Default::default() }, move || {
        let mut table = PollTable::new();
        // Registered twice on `a`: one entry (the second add says so).
        let added = [table.add_shared(&me.a), table.add_shared(&me.b), table.add_shared(&me.a)];
        if !matches!(added, [Ok(true), Ok(true), Ok(false)]) {
            return -1;
        }
        me.registered.store(true, Ordering::SeqCst);
        while !me.done.load(Ordering::SeqCst) {
            if table.wait(|| false, None) == WaitOutcome::Ready {
                me.wakes.fetch_add(1, Ordering::SeqCst);
            }
        }
        0
    })
    .map_err(failed)?;
    while !shared.registered.load(Ordering::SeqCst) {
        sched::yield_now();
    }
    kassert!(shared.a.polled() && shared.b.polled() && !shared.other.polled());
    // 1,000 notifications of a queue the poller is not on: not one wake-up.
    for round in 0..1000 {
        shared.other.notify();
        if round % 50 == 0 {
            sched::yield_now();
        }
    }
    for _ in 0..20 {
        sched::yield_now();
    }
    kassert_eq!(shared.wakes.load(Ordering::SeqCst), 0);
    // One of its queues wakes it.
    shared.a.notify();
    while shared.wakes.load(Ordering::SeqCst) == 0 {
        sched::yield_now();
    }
    shared.done.store(true, Ordering::SeqCst);
    shared.b.notify();
    kassert_eq!(poller.join(), 0);
    // Its table deregistered it from both queues when dropped.
    kassert!(!shared.a.polled() && !shared.b.polled());
    Ok(())
});

ktest!(fn poll_table_loses_no_wake_up() {
    // Ping-pong over two poll queues (each thread polls its own, the other notifies it): a lost
    // wake-up hangs the test (caught by the runner's timeout). Each side re-registers every
    // round half of the time, so both the standing registration and a fresh one are covered.
    let turn = Arc::new((AtomicU64::new(0), Arc::new(PollQueue::new()), Arc::new(PollQueue::new())));
    let peer = turn.clone();
    let other = sched::spawn("pong", move || {
        let mut table = PollTable::new();
        if table.add_shared(&peer.2).is_err() {
            return -1;
        }
        for round in 0..2000u64 {
            if round % 2 == 0 {
                table = PollTable::new();
                if table.add_shared(&peer.2).is_err() {
                    return -1;
                }
            }
            while peer.0.load(Ordering::SeqCst) != 2 * round + 1 {
                table.wait(|| false, None);
            }
            peer.0.store(2 * round + 2, Ordering::SeqCst);
            peer.1.notify();
        }
        0
    })
    .map_err(failed)?;
    let mut table = PollTable::new();
    table.add_shared(&turn.1).map_err(failed)?;
    for round in 0..2000u64 {
        turn.0.store(2 * round + 1, Ordering::SeqCst);
        turn.2.notify();
        while turn.0.load(Ordering::SeqCst) != 2 * round + 2 {
            table.wait(|| false, None);
        }
    }
    kassert_eq!(other.join(), 0);
    Ok(())
});

ktest!(fn poll_table_times_out_and_is_interrupted() {
    let queue = Arc::new(PollQueue::new());
    let mut table = PollTable::new();
    table.add_shared(&queue).map_err(failed)?;
    let start = crate::time::since_boot_ns();
    let outcome = table.wait(|| false, Some(start + 5_000_000));
    kassert_eq!(outcome, WaitOutcome::TimedOut);
    kassert!(crate::time::since_boot_ns() >= start + 5_000_000);
    kassert_eq!(table.wait(|| true, None), WaitOutcome::Interrupted);
    // A notify before the wait is kept for it.
    queue.notify();
    kassert_eq!(table.wait(|| false, None), WaitOutcome::Ready);
    drop(table);
    kassert!(!queue.polled());
    Ok(())
});
