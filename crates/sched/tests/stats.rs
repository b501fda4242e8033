//! Statistics: every counter of `SchedStats` after a scripted sequence, migrations counted once
//! per queue change (not per accounting), wait-time maxima and sums.

use exo_sched::{ThreadId, Priority, Queue, RunQueue, SchedConfig, SchedStats, ThreadSched, MS};

const CFG: SchedConfig = SchedConfig::DEFAULT;

#[test]
fn fresh_run_queue_has_zero_stats() {
    assert_eq!(RunQueue::<ThreadId>::new(CFG).unwrap().stats(), SchedStats::default());
}

#[test]
fn counters_after_a_scripted_sequence() {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    let hot = ThreadSched::new(Priority::High, &CFG);
    let cold = ThreadSched::new(Priority::Low, &CFG);
    let rt = ThreadSched::new(Priority::Realtime, &CFG);
    rq.enqueue(1, &hot, 0).unwrap();
    rq.enqueue(2, &cold, 0).unwrap();
    rq.enqueue(3, &rt, 2 * MS).unwrap();
    rq.enqueue(4, &hot, 3 * MS).unwrap();
    rq.enqueue(5, &cold, 3 * MS).unwrap();
    assert!(rq.enqueue(4, &hot, 3 * MS).is_err()); // rejected: not counted

    let s = rq.stats();
    assert_eq!(s.lengths, [1, 2, 0, 2, 0]);
    assert_eq!((s.len_of(Queue::Hot), s.queued()), (2, 5));

    assert_eq!(rq.pick_next(4 * MS), Some(3)); // waited 2 ms
    assert_eq!(rq.pick_next(5 * MS), Some(1)); // waited 5 ms
    assert!(rq.remove(4));
    assert_eq!(rq.steal(), Some(5));
    assert_eq!(rq.pick_next(200 * MS), Some(2)); // waited 200 ms, Hot empty: not starvation
    assert_eq!(rq.pick_next(200 * MS), None);
    assert_eq!(rq.pick_next(201 * MS), None);

    let s = rq.stats();
    assert_eq!(s.enqueues, 5);
    assert_eq!(s.picks, 3);
    assert_eq!(s.empty_picks, 2);
    assert_eq!(s.picks_by_queue, [1, 1, 0, 1, 0]);
    assert_eq!(s.picks_from(Queue::Cold), 1);
    assert_eq!(s.starvation_picks, 0);
    assert_eq!(s.removes, 1);
    assert_eq!(s.steals, 1);
    assert_eq!(s.lengths, [0; Queue::COUNT]);
    assert_eq!(s.max_wait_ns, [2 * MS, 5 * MS, 0, 200 * MS, 0]);
    assert_eq!(s.max_wait_of(Queue::Hot), 5 * MS);
    assert_eq!(s.total_wait_ns, [2 * MS, 5 * MS, 0, 200 * MS, 0]);
    assert_eq!((s.switches, s.migrations), (0, 0));
}

#[test]
fn wait_sums_and_maxima_accumulate_per_queue() {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    let t = ThreadSched::new(Priority::Normal, &CFG);
    for (enq, pick) in [(0, 3), (10, 11), (20, 27)] {
        rq.enqueue(1, &t, enq).unwrap();
        assert_eq!(rq.pick(pick).map(|p| p.waited_ns), Some(pick - enq));
    }
    let s = rq.stats();
    assert_eq!(s.max_wait_of(Queue::Normal), 7);
    assert_eq!(s.total_wait_ns[Queue::Normal.index()], 3 + 1 + 7);
    assert_eq!(s.picks_from(Queue::Normal), 3);
}

#[test]
fn migrations_are_counted_once_per_change() {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    let mut t = ThreadSched::new(Priority::Normal, &CFG);
    // 5.5 ms -> 9.125 ms (Normal) -> 11.84 ms (Cold) -> ... stays Cold.
    for _ in 0..10 {
        rq.account(&mut t, 20 * MS);
    }
    let s = rq.stats();
    assert_eq!(t.queue(), Queue::Cold);
    assert_eq!(
        (s.switches, s.migrations, s.demotions, s.promotions),
        (10, 1, 1, 0)
    );
    assert_eq!(t.migrations(), 1);

    // Runs that keep a thread in its queue are not migrations.
    let mut u = ThreadSched::new(Priority::Low, &CFG);
    for _ in 0..4 {
        rq.account(&mut u, 20 * MS);
    }
    let mut big = ThreadSched::new(Priority::Normal, &CFG);
    rq.account(&mut big, 0); // Normal: stays Normal (4.125 ms)
    assert_eq!(big.migrations(), 0);
    let s = rq.stats();
    assert_eq!((s.switches, s.migrations), (15, 1));

    // Cold -> Normal -> Hot, counted as two promotions.
    for _ in 0..12 {
        rq.account(&mut u, 100_000);
    }
    assert_eq!(u.queue(), Queue::Hot);
    let s = rq.stats();
    assert_eq!((s.migrations, s.promotions, s.demotions), (3, 2, 1));
    assert_eq!(u.migrations(), 2);
}

#[test]
fn jump_across_two_bands_is_one_migration() {
    let cfg = SchedConfig {
        hot_threshold_ns: 1000,
        cold_threshold_ns: 1100,
        ..CFG
    };
    let mut rq = RunQueue::<ThreadId>::new(cfg).unwrap();
    let mut t = ThreadSched::new(Priority::High, &cfg); // ema 500, Hot
    rq.account(&mut t, 100_000); // ema 25_375: Cold directly
    assert_eq!(t.queue(), Queue::Cold);
    assert_eq!(t.migrations(), 1);
    let s = rq.stats();
    assert_eq!((s.migrations, s.demotions, s.promotions), (1, 1, 0));
    rq.account(&mut t, 0); // 19_032: still Cold
    assert_eq!(rq.stats().migrations, 1);
}
