//! Pick order: realtime first, class order, FIFO within a queue, idle only when empty, the
//! starvation rule at and past its bound; plus enqueue / remove / steal / set_priority and
//! `pick_cpu_for` on hand-made cases.

use exo_sched::{
    pick_cpu_for, EnqueueError, Pick, Priority, Queue, RunQueue, SchedConfig, ThreadId,
    ThreadSched, MS,
};

const CFG: SchedConfig = SchedConfig::DEFAULT;

fn ts(p: Priority) -> ThreadSched {
    ThreadSched::new(p, &CFG)
}

/// A run queue holding `threads` (id, priority), all enqueued at `now`.
fn rq_with(threads: &[(ThreadId, Priority)], now: u64) -> RunQueue {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    for &(id, p) in threads {
        rq.enqueue(id, &ts(p), now).unwrap();
    }
    rq
}

fn drain(rq: &mut RunQueue, now: u64) -> Vec<ThreadId> {
    core::iter::from_fn(|| rq.pick_next(now)).collect()
}

#[test]
fn class_order_then_fifo_within_each_queue() {
    use Priority::*;
    let mut rq = rq_with(
        &[
            (1, Idle),
            (2, Low),
            (3, Normal),
            (4, High),
            (5, Low),
            (6, High),
            (7, Normal),
            (8, Realtime),
            (9, Realtime),
        ],
        0,
    );
    assert_eq!(rq.len(), 9);
    assert_eq!(rq.load(), 8);
    assert_eq!(drain(&mut rq, 1), [8, 9, 4, 6, 3, 7, 2, 5, 1]);
    assert!(rq.is_empty());
    assert!(rq.check_invariants().is_ok());
}

#[test]
fn realtime_always_first_even_over_starved_threads() {
    let mut rq = rq_with(&[(1, Priority::Low), (2, Priority::High)], 0);
    rq.enqueue(3, &ts(Priority::Realtime), 500 * MS).unwrap();
    let p = rq.pick(500 * MS).unwrap();
    assert_eq!((p.thread, p.queue, p.starved), (3, Queue::Realtime, false));
    // Then the starved Cold thread (enqueued at the same time as 2, but first).
    let p = rq.pick(500 * MS).unwrap();
    assert_eq!(
        (p.thread, p.queue, p.starved, p.waited_ns),
        (1, Queue::Cold, true, 500 * MS)
    );
    assert_eq!(rq.pick_next(500 * MS), Some(2));
}

#[test]
fn realtime_is_fifo_and_picked_as_soon_as_enqueued() {
    let mut rq = rq_with(&[(1, Priority::High)], 0);
    rq.enqueue(10, &ts(Priority::Realtime), 1).unwrap();
    rq.enqueue(11, &ts(Priority::Realtime), 2).unwrap();
    assert_eq!(rq.pick_next(3), Some(10));
    rq.enqueue(10, &ts(Priority::Realtime), 4).unwrap();
    assert_eq!(drain(&mut rq, 5), [11, 10, 1]);
}

#[test]
fn idle_class_only_when_everything_else_is_empty() {
    let mut rq = rq_with(&[(1, Priority::Idle), (2, Priority::Low)], 0);
    // Even a very long wait does not promote an Idle-class thread.
    assert_eq!(rq.pick_next(10_000 * MS), Some(2));
    rq.enqueue(3, &ts(Priority::Normal), 10_000 * MS).unwrap();
    assert_eq!(rq.pick_next(10_000 * MS), Some(3));
    let p = rq.pick(20_000 * MS).unwrap();
    assert_eq!((p.thread, p.queue, p.starved), (1, Queue::Idle, false));
    assert_eq!(rq.pick(20_000 * MS), None);
    assert_eq!(rq.stats().empty_picks, 1);
}

#[test]
fn empty_queue_picks_nothing() {
    let mut rq = RunQueue::<ThreadId>::default();
    assert_eq!(rq.pick_next(0), None);
    assert_eq!(rq.steal(), None);
    assert!(!rq.remove(1));
    assert!(rq.check_invariants().is_ok());
}

#[test]
fn starvation_rule_at_and_past_the_bound() {
    let mut rq = rq_with(&[(1, Priority::Low)], 0);
    rq.enqueue(2, &ts(Priority::High), 0).unwrap();
    rq.enqueue(3, &ts(Priority::High), 50 * MS).unwrap();
    // Exactly at the bound: not starved yet, Hot goes first.
    assert_eq!(
        rq.pick(100 * MS).map(|p| (p.thread, p.starved)),
        Some((2, false))
    );
    rq.enqueue(2, &ts(Priority::High), 100 * MS).unwrap();
    // One ns later, the Cold thread goes ahead of the Hot ones.
    let p = rq.pick(100 * MS + 1).unwrap();
    assert_eq!(
        p,
        Pick {
            thread: 1,
            queue: Queue::Cold,
            waited_ns: 100 * MS + 1,
            starved: true
        }
    );
    assert_eq!(drain(&mut rq, 100 * MS + 1), [3, 2]);
    assert_eq!(rq.stats().starvation_picks, 1);
}

#[test]
fn oldest_starved_front_wins_across_normal_and_cold() {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    rq.enqueue(1, &ts(Priority::Normal), 10).unwrap();
    rq.enqueue(2, &ts(Priority::Low), 5).unwrap();
    rq.enqueue(3, &ts(Priority::High), 150 * MS).unwrap();
    // Both overdue at 200 ms: Cold's front was enqueued earlier (5 < 10). After that
    // override the class order applies once (Hot), then the overdue Normal thread.
    let picks: Vec<_> = core::iter::from_fn(|| rq.pick(200 * MS))
        .map(|p| (p.thread, p.starved))
        .collect();
    assert_eq!(picks, [(2, true), (3, false), (1, false)]);

    // Equal enqueue times: insertion order decides.
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    rq.enqueue(1, &ts(Priority::Low), 7).unwrap();
    rq.enqueue(2, &ts(Priority::Normal), 7).unwrap();
    rq.enqueue(3, &ts(Priority::High), 7).unwrap();
    rq.enqueue(4, &ts(Priority::High), 7).unwrap();
    let picks: Vec<_> = core::iter::from_fn(|| rq.pick(7 + 100 * MS + 1))
        .map(|p| (p.thread, p.starved))
        .collect();
    assert_eq!(picks, [(1, true), (3, false), (2, true), (4, false)]);
}

#[test]
fn overrides_and_class_order_picks_alternate() {
    // Three overdue Cold threads and Hot threads always queued.
    let mut rq = rq_with(
        &[(1, Priority::Low), (2, Priority::Low), (3, Priority::Low)],
        0,
    );
    let mut next_hot = 10;
    let mut picks = Vec::new();
    let now = 500 * MS;
    for _ in 0..6 {
        while rq.queue_len(Queue::Hot) < 2 {
            rq.enqueue(next_hot, &ts(Priority::High), now).unwrap();
            next_hot += 1;
        }
        let p = rq.pick(now).unwrap();
        picks.push((p.thread, p.starved));
    }
    assert_eq!(
        picks,
        [
            (1, true),
            (10, false),
            (2, true),
            (11, false),
            (3, true),
            (12, false)
        ]
    );
    assert_eq!(rq.stats().starvation_picks, 3);
    // A realtime pick in between does not reset the alternation.
    let mut rq = rq_with(
        &[(1, Priority::Low), (2, Priority::Low), (5, Priority::High)],
        0,
    );
    rq.enqueue(6, &ts(Priority::High), 200 * MS).unwrap();
    assert_eq!(
        rq.pick(200 * MS).map(|p| (p.thread, p.starved)),
        Some((1, true))
    );
    rq.enqueue(9, &ts(Priority::Realtime), 200 * MS).unwrap();
    assert_eq!(rq.pick_next(200 * MS), Some(9));
    assert_eq!(
        rq.pick(200 * MS).map(|p| (p.thread, p.starved)),
        Some((5, false))
    );
}

#[test]
fn starved_front_of_the_class_order_queue_is_not_flagged() {
    let mut rq = rq_with(&[(1, Priority::High), (2, Priority::Low)], 0);
    let p = rq.pick(200 * MS).unwrap();
    assert_eq!((p.thread, p.starved), (1, false)); // oldest is Hot's front (inserted first)
    assert_eq!(rq.stats().starvation_picks, 0);
}

#[test]
fn clock_going_backwards_never_counts_as_waiting() {
    let mut rq = rq_with(&[(1, Priority::Low), (2, Priority::High)], 500 * MS);
    let p = rq.pick(0).unwrap();
    assert_eq!((p.thread, p.waited_ns, p.starved), (2, 0, false));
}

#[test]
fn double_enqueue_is_rejected_and_changes_nothing() {
    let mut rq = rq_with(&[(1, Priority::Low), (2, Priority::High)], 0);
    assert_eq!(
        rq.enqueue(1, &ts(Priority::High), 5),
        Err(EnqueueError::AlreadyQueued)
    );
    assert_eq!(rq.queue_of(1), Some(Queue::Cold));
    assert_eq!(rq.len(), 2);
    assert_eq!(rq.stats().enqueues, 2);
    assert!(rq.check_invariants().is_ok());
    assert_eq!(drain(&mut rq, 6), [2, 1]);
    // Once picked it may be enqueued again.
    assert_eq!(rq.enqueue(1, &ts(Priority::High), 7), Ok(()));
}

#[test]
fn remove_takes_out_exactly_that_thread() {
    use Priority::*;
    let mut rq = rq_with(
        &[(1, High), (2, High), (3, High), (4, Realtime), (5, Idle)],
        0,
    );
    assert!(rq.remove(2));
    assert!(!rq.remove(2));
    assert!(!rq.remove(99));
    assert!(rq.remove(4));
    assert!(!rq.contains(4));
    assert_eq!(rq.queue_of(3), Some(Queue::Hot));
    assert!(rq.check_invariants().is_ok());
    assert_eq!(drain(&mut rq, 1), [1, 3, 5]);
    assert_eq!(rq.stats().removes, 2);
}

#[test]
fn steal_takes_the_back_of_cold_then_normal_then_hot_never_realtime_or_idle() {
    use Priority::*;
    let mut rq = rq_with(
        &[
            (1, Low),
            (2, Low),
            (3, Normal),
            (4, Normal),
            (5, High),
            (6, High),
            (7, Realtime),
            (8, Idle),
        ],
        0,
    );
    let stolen: Vec<_> = core::iter::from_fn(|| rq.steal()).collect();
    assert_eq!(stolen, [2, 1, 4, 3, 6, 5]);
    assert_eq!(rq.len(), 2);
    assert_eq!(rq.queue_len(Queue::Realtime), 1);
    assert_eq!(rq.queue_len(Queue::Idle), 1);
    assert_eq!(rq.stats().steals, 6);
    assert!(rq.check_invariants().is_ok());
}

#[test]
fn set_priority_moves_a_queued_thread_to_the_back_of_its_new_queue() {
    let mut rq = rq_with(
        &[(1, Priority::High), (2, Priority::Low), (3, Priority::Low)],
        0,
    );
    let mut t2 = ts(Priority::Low);
    assert!(rq.set_priority(2, &mut t2, Priority::High, 10));
    assert_eq!(t2.queue(), Queue::Hot);
    assert_eq!(rq.queue_of(2), Some(Queue::Hot));
    // Same queue: moves to the back.
    let mut t1 = ts(Priority::High);
    assert!(rq.set_priority(1, &mut t1, Priority::High, 11));
    assert!(rq.check_invariants().is_ok());
    assert_eq!(drain(&mut rq, 12), [2, 1, 3]);
    // Not queued: only the state changes.
    assert!(!rq.set_priority(1, &mut t1, Priority::Realtime, 13));
    assert_eq!(t1.queue(), Queue::Realtime);
    assert!(rq.is_empty());
    let s = rq.stats();
    assert_eq!((s.enqueues, s.removes, s.migrations), (3, 0, 0));
}

#[test]
fn with_capacity_behaves_like_new() {
    let mut rq = RunQueue::<ThreadId>::with_capacity(CFG, 64).unwrap();
    for id in 0..100 {
        rq.enqueue(id, &ts(Priority::Normal), u64::from(id))
            .unwrap();
    }
    assert_eq!(drain(&mut rq, 1000), (0..100).collect::<Vec<_>>());
}

#[test]
fn pick_cpu_for_least_loaded_lowest_index() {
    assert_eq!(pick_cpu_for(&[]), None);
    assert_eq!(pick_cpu_for(&[7]), Some(0));
    assert_eq!(pick_cpu_for(&[3, 1, 2, 1]), Some(1));
    assert_eq!(pick_cpu_for(&[0, 0, 0]), Some(0));
    assert_eq!(pick_cpu_for(&[5, 4, 3, 2, 1, 0]), Some(5));
    assert_eq!(pick_cpu_for(&[usize::MAX, usize::MAX - 1]), Some(1));
}

/// A handle that is not a bare id (as the kernel's reference-counted thread): the queue hands
/// back the very handle it was given, and drops the ones it refuses.
#[derive(Debug, PartialEq)]
struct Handle {
    id: ThreadId,
    name: String,
}

impl exo_sched::Runnable for Handle {
    fn thread_id(&self) -> ThreadId {
        self.id
    }
}

#[test]
fn handles_come_back_as_given() {
    let h = |id: ThreadId| Handle { id, name: format!("t{id}") };
    let mut rq = RunQueue::<Handle>::new(CFG).unwrap();
    rq.enqueue(h(1), &ts(Priority::Low), 0).unwrap();
    rq.enqueue(h(2), &ts(Priority::High), 0).unwrap();
    rq.enqueue(h(3), &ts(Priority::Low), 0).unwrap();
    assert_eq!(rq.enqueue(h(2), &ts(Priority::Normal), 0), Err(EnqueueError::AlreadyQueued));
    assert_eq!(rq.queue_of(2), Some(Queue::Hot));
    assert!(rq.check_invariants().is_ok());
    assert_eq!(rq.pick_next(1), Some(h(2)));
    assert_eq!(rq.steal(), Some(h(3)));
    assert_eq!(rq.len(), 1);
    assert!(rq.remove(1));
    assert!(rq.is_empty() && rq.pick(2).is_none());
    assert!(rq.check_invariants().is_ok());
}

#[test]
fn steal_where_skips_threads_pinned_elsewhere() {
    let mut rq = rq_with(&[(1, Priority::Low), (2, Priority::Low), (3, Priority::Normal)], 0);
    // Thread 2 (the one `steal` would take) is pinned elsewhere: the thief takes 1.
    assert_eq!(rq.steal_where(|&t| t != 2), Some(1));
    assert_eq!(rq.steal_where(|&t| t == 3), Some(3));
    assert_eq!(rq.steal_where(|_| false), None);
    assert_eq!(rq.len(), 1);
    assert!(rq.check_invariants().is_ok());
}
