//! Classification and EMA: thresholds, the integer EMA formula, convergence of steady
//! workloads to their queue, initial queues by priority, and fixed Realtime / Idle classes.

use exo_sched::{ThreadId, classify, ema_update, Priority, Queue, RunQueue, SchedConfig, ThreadSched, MS};
use proptest::prelude::*;

const CFG: SchedConfig = SchedConfig::DEFAULT;

#[test]
fn classification_at_the_thresholds() {
    assert_eq!(classify(0, &CFG), Queue::Hot);
    assert_eq!(classify(MS - 1, &CFG), Queue::Hot);
    assert_eq!(classify(MS, &CFG), Queue::Normal);
    assert_eq!(classify(5 * MS, &CFG), Queue::Normal);
    assert_eq!(classify(10 * MS, &CFG), Queue::Normal);
    assert_eq!(classify(10 * MS + 1, &CFG), Queue::Cold);
    assert_eq!(classify(u64::MAX, &CFG), Queue::Cold);
}

#[test]
fn classification_follows_the_configured_thresholds() {
    let cfg = SchedConfig {
        hot_threshold_ns: 200,
        cold_threshold_ns: 300,
        ..CFG
    };
    assert_eq!(classify(199, &cfg), Queue::Hot);
    assert_eq!(classify(200, &cfg), Queue::Normal);
    assert_eq!(classify(300, &cfg), Queue::Normal);
    assert_eq!(classify(301, &cfg), Queue::Cold);
    // Equal thresholds: Normal is the single value.
    let cfg = SchedConfig {
        hot_threshold_ns: 300,
        cold_threshold_ns: 300,
        ..CFG
    };
    assert_eq!(classify(299, &cfg), Queue::Hot);
    assert_eq!(classify(300, &cfg), Queue::Normal);
    assert_eq!(classify(301, &cfg), Queue::Cold);
}

#[test]
fn ema_formula_examples() {
    assert_eq!(ema_update(0, 4000), 1000);
    assert_eq!(ema_update(4000, 0), 3000);
    assert_eq!(ema_update(1000, 1000), 1000);
    assert_eq!(ema_update(1000, 1003), 1000); // truncated: (3) / 4 = 0
    assert_eq!(ema_update(1003, 1000), 1003);
    assert_eq!(ema_update(8 * MS, 0), 6 * MS);
    // No overflow at the extremes.
    assert_eq!(ema_update(0, u64::MAX), u64::MAX / 4);
    assert_eq!(ema_update(u64::MAX, 0), u64::MAX - u64::MAX / 4);
    assert_eq!(ema_update(u64::MAX, u64::MAX), u64::MAX);
}

proptest! {
    /// The EMA moves from `ema` towards `run` by exactly floor(|run - ema| / 4), which is
    /// alpha = 1/4 computed exactly in wide arithmetic, truncated towards `ema`.
    #[test]
    fn ema_matches_the_exact_formula(ema in any::<u64>(), run in any::<u64>()) {
        let new = ema_update(ema, run);
        let (e, r) = (ema as i128, run as i128);
        let exact = e + (r - e) / 4; // i128 division truncates towards zero
        prop_assert_eq!(new as i128, exact);
        prop_assert!(new >= ema.min(run) && new <= ema.max(run));
    }

    /// After accounting, an ordinary thread is always in the queue its EMA belongs to, and its
    /// migration count grows exactly when its queue changes.
    #[test]
    fn ordinary_threads_follow_their_ema(
        prio in prop::sample::select(vec![Priority::Low, Priority::Normal, Priority::High]),
        runs in prop::collection::vec(0u64..40 * MS, 1..40),
    ) {
        let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
        let mut ts = ThreadSched::new(prio, &CFG);
        for run in runs {
            let before = ts.queue();
            let migrations = ts.migrations();
            rq.account(&mut ts, run);
            prop_assert_eq!(ts.queue(), classify(ts.ema_ns(), &CFG));
            prop_assert_eq!(ts.migrations(), migrations + u64::from(before != ts.queue()));
        }
        prop_assert_eq!(rq.stats().migrations, ts.migrations());
        prop_assert_eq!(rq.stats().promotions + rq.stats().demotions, ts.migrations());
    }
}

/// Accounts `slice` repeatedly until the thread reaches `target`; returns the number of
/// slices it took (panics after 100).
fn slices_until(ts: &mut ThreadSched, slice: u64, target: Queue) -> usize {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    for n in 1..=100 {
        rq.account(ts, slice);
        if ts.queue() == target {
            return n;
        }
    }
    panic!("never reached {target:?}: ema {}", ts.ema_ns());
}

#[test]
fn cpu_bound_thread_becomes_cold_within_a_few_slices() {
    let mut ts = ThreadSched::new(Priority::Normal, &CFG);
    assert_eq!(slices_until(&mut ts, 20 * MS, Queue::Cold), 2);
    assert_eq!(ts.migrations(), 1);
    // From Hot it passes through Normal.
    let mut ts = ThreadSched::new(Priority::High, &CFG);
    let n = slices_until(&mut ts, 20 * MS, Queue::Cold);
    assert!(n <= 4, "{n} slices");
    assert_eq!(ts.migrations(), 2);
    // And stays Cold.
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    for _ in 0..100 {
        rq.account(&mut ts, 20 * MS);
        assert_eq!(ts.queue(), Queue::Cold);
    }
    assert!(ts.ema_ns().abs_diff(20 * MS) <= 3);
}

#[test]
fn interactive_thread_becomes_hot() {
    let mut ts = ThreadSched::new(Priority::Normal, &CFG);
    assert_eq!(slices_until(&mut ts, 100_000, Queue::Hot), 7);
    assert_eq!(ts.migrations(), 1);
    let mut ts = ThreadSched::new(Priority::Low, &CFG);
    let n = slices_until(&mut ts, 100_000, Queue::Hot);
    assert!(n <= 12, "{n} slices");
    assert_eq!(ts.migrations(), 2); // Cold -> Normal -> Hot
    assert_eq!(ts.total_runtime_ns(), n as u64 * 100_000);
    assert_eq!(ts.switches(), n as u64);
    assert_eq!(ts.last_run_ns(), 100_000);
}

#[test]
fn initial_queue_follows_priority() {
    let queue = |p| ThreadSched::new(p, &CFG).queue();
    assert_eq!(queue(Priority::Realtime), Queue::Realtime);
    assert_eq!(queue(Priority::High), Queue::Hot);
    assert_eq!(queue(Priority::Normal), Queue::Normal);
    assert_eq!(queue(Priority::Low), Queue::Cold);
    assert_eq!(queue(Priority::Idle), Queue::Idle);
    // The seeds lie inside their band.
    for p in [Priority::High, Priority::Normal, Priority::Low] {
        let ts = ThreadSched::new(p, &CFG);
        assert_eq!(classify(ts.ema_ns(), &CFG), ts.queue(), "{p:?}");
        assert_eq!(ts.priority(), p);
    }
}

#[test]
fn realtime_and_idle_threads_keep_their_queue() {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    for (p, q) in [
        (Priority::Realtime, Queue::Realtime),
        (Priority::Idle, Queue::Idle),
    ] {
        let mut ts = ThreadSched::new(p, &CFG);
        for run in [50 * MS, 10, 50 * MS, 0, 3 * MS] {
            rq.account(&mut ts, run);
            assert_eq!(ts.queue(), q);
        }
        assert_eq!(ts.migrations(), 0);
        assert_eq!(ts.switches(), 5);
        assert!(ts.ema_ns() > 0, "EMA still tracked for statistics");
    }
    assert_eq!(rq.stats().migrations, 0);
    assert_eq!(rq.stats().switches, 10);
}

#[test]
fn set_priority_reseeds() {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    let mut ts = ThreadSched::new(Priority::High, &CFG);
    for _ in 0..10 {
        rq.account(&mut ts, 30 * MS);
    }
    assert_eq!(ts.queue(), Queue::Cold);
    ts.set_priority(Priority::High, &CFG);
    assert_eq!(ts.queue(), Queue::Hot);
    assert_eq!(ts.ema_ns(), ThreadSched::seed_ema(Priority::High, &CFG));
    assert_eq!(ts.total_runtime_ns(), 300 * MS, "counters kept");
    ts.set_priority(Priority::Realtime, &CFG);
    assert_eq!(ts.queue(), Queue::Realtime);
}

#[test]
fn runtime_counters_saturate() {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    let mut ts = ThreadSched::new(Priority::Normal, &CFG);
    rq.account(&mut ts, u64::MAX);
    rq.account(&mut ts, u64::MAX);
    assert_eq!(ts.total_runtime_ns(), u64::MAX);
    assert_eq!(ts.queue(), Queue::Cold);
}

#[test]
fn config_validation() {
    use exo_sched::ConfigError;
    assert!(RunQueue::<ThreadId>::new(CFG).is_ok());
    assert_eq!(SchedConfig::default(), CFG);
    let zero = SchedConfig {
        quantum_ns: 0,
        ..CFG
    };
    assert_eq!(RunQueue::<ThreadId>::new(zero).err(), Some(ConfigError::ZeroQuantum));
    let zero_hot = SchedConfig {
        hot_quantum_ns: 0,
        ..CFG
    };
    assert_eq!(zero_hot.validate(), Err(ConfigError::ZeroQuantum));
    let swapped = SchedConfig {
        hot_threshold_ns: 20 * MS,
        ..CFG
    };
    assert_eq!(
        RunQueue::<ThreadId>::with_capacity(swapped, 8).err(),
        Some(ConfigError::ThresholdsOutOfOrder)
    );
    let no_starvation_bound = SchedConfig {
        starvation_ns: 0,
        ..CFG
    };
    assert!(no_starvation_bound.validate().is_ok());
}
