//! Starvation bound: a CPU-bound Cold thread keeps running while Hot threads keep arriving,
//! within `starvation_ns` plus at most two Hot runs; and, on random mixed workloads, every
//! ordinary thread is picked within the documented bound
//! `t0 + starvation_ns + 2 * (a + 1) * R` (`a` = older ordinary threads still queued when it
//! becomes overdue, `R` = longest run); under overload Hot threads stay responsive.

use std::collections::BTreeMap;

use exo_sched::{Priority, Queue, RunQueue, SchedConfig, ThreadId, ThreadSched, MS};
use proptest::prelude::*;

const CFG: SchedConfig = SchedConfig::DEFAULT;
const COLD: ThreadId = 0;

/// One CPU-bound Low thread and a stream of fresh High threads (one always queued), each
/// running `hot_burst(n)` for the `n`-th of them, until `end`. Returns the Cold thread's waits.
fn cold_versus_hot_stream(
    cfg: SchedConfig,
    end: u64,
    hot_burst: impl Fn(usize) -> u64,
) -> Vec<u64> {
    let mut rq = RunQueue::<ThreadId>::new(cfg).unwrap();
    let mut cold = ThreadSched::new(Priority::Low, &cfg);
    let hot_ts = ThreadSched::new(Priority::High, &cfg);
    let mut next_hot: ThreadId = 1;
    let mut now = 0;
    let mut waits = Vec::new();
    rq.enqueue(COLD, &cold, now).unwrap();
    while now < end {
        if rq.queue_len(Queue::Hot) == 0 {
            rq.enqueue(next_hot, &hot_ts, now).unwrap();
            next_hot += 1;
        }
        let p = rq.pick(now).expect("something is always queued");
        if p.thread == COLD {
            waits.push(p.waited_ns);
            rq.account(&mut cold, cfg.quantum_ns); // CPU-bound: runs its whole quantum
            assert_eq!(cold.queue(), Queue::Cold);
            now += cfg.quantum_ns;
            rq.enqueue(COLD, &cold, now).unwrap();
        } else {
            let run = hot_burst(p.thread as usize).min(cfg.hot_quantum_ns);
            now += run; // a fresh thread per burst: it blocks, or exits, after it
        }
        assert!(rq.check_invariants().is_ok());
    }
    waits
}

#[test]
fn cold_thread_runs_every_bound_under_a_steady_hot_stream() {
    let waits = cold_versus_hot_stream(CFG, 2_000 * MS, |_| 500_000);
    // First pick: C was enqueued at 0 before the first Hot thread, and is picked once
    // overdue; then every time exactly one Hot burst after the bound.
    assert!(waits.len() >= 15, "{} Cold runs", waits.len());
    for &w in &waits {
        assert_eq!(w, 100 * MS + 500_000);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Hot threads keep arriving (one always queued) with random bursts of 50 µs to 3 ms (cut at
    /// the 2 ms Hot quantum): the Cold thread always waits more than the bound (it is never
    /// picked by class order) and never more than the bound plus two Hot quanta.
    #[test]
    fn cold_thread_is_picked_within_the_bound_while_hot_threads_keep_arriving(
        starvation_ms in 1u64..150,
        bursts in prop::collection::vec(50_000u64..=3 * MS, 1..64),
    ) {
        let cfg = SchedConfig { starvation_ns: starvation_ms * MS, ..CFG };
        let waits = cold_versus_hot_stream(cfg, 1_000 * MS, |n| bursts[n % bursts.len()]);
        prop_assert!(!waits.is_empty());
        for &w in &waits {
            prop_assert!(w <= cfg.starvation_ns + 2 * cfg.hot_quantum_ns, "wait {} ns", w);
            // A Hot thread is always queued: the Cold thread only runs through the starvation
            // rule.
            prop_assert!(w > cfg.starvation_ns, "wait {} ns", w);
        }
    }
}

/// A thread of the random workload: arrives at `arrival`, runs `bursts` (each cut into
/// quanta), sleeping `sleep` between two bursts.
#[derive(Clone, Debug)]
struct Spec {
    arrival: u64,
    priority: Priority,
    bursts: Vec<u64>,
    sleep: u64,
}

fn spec() -> impl Strategy<Value = Spec> {
    let prio = prop::sample::select(vec![Priority::Low, Priority::Normal, Priority::High]);
    let burst = prop_oneof![0u64..MS, MS..10 * MS, 10 * MS..60 * MS];
    (
        0u64..500 * MS,
        prio,
        prop::collection::vec(burst, 1..20),
        0u64..20 * MS,
    )
        .prop_map(|(arrival, priority, bursts, sleep)| Spec {
            arrival,
            priority,
            bursts,
            sleep,
        })
}

/// What the check needs about a queued thread.
struct Queued {
    key: (u64, u64), // (enqueue time, insertion order)
    ahead_when_overdue: Option<u64>,
}

/// The random-workload simulator: one CPU, wake-up events, and the bookkeeping of the check.
struct Workload {
    cfg: SchedConfig,
    specs: Vec<Spec>,
    rq: RunQueue,
    ts: Vec<ThreadSched>,
    next_burst: Vec<usize>,
    remaining: Vec<u64>,
    events: BTreeMap<(u64, u64), ThreadId>, // (time, seq) -> wake-up
    queued: BTreeMap<ThreadId, Queued>,
    seq: u64,
    now: u64,
}

impl Workload {
    fn new(cfg: SchedConfig, specs: Vec<Spec>) -> Self {
        let n = specs.len();
        let mut w = Workload {
            cfg,
            rq: RunQueue::<ThreadId>::new(cfg).unwrap(),
            ts: specs
                .iter()
                .map(|s| ThreadSched::new(s.priority, &cfg))
                .collect(),
            next_burst: vec![0; n],
            remaining: vec![0; n],
            events: BTreeMap::new(),
            queued: BTreeMap::new(),
            seq: 0,
            now: 0,
            specs,
        };
        for id in 0..n {
            let t = w.specs[id].arrival;
            w.schedule_wake(id as ThreadId, t);
        }
        w
    }

    fn schedule_wake(&mut self, id: ThreadId, at: u64) {
        self.events.insert((at, self.seq), id);
        self.seq += 1;
    }

    fn enqueue(&mut self, id: ThreadId, at: u64) {
        self.rq.enqueue(id, &self.ts[id as usize], at).unwrap();
        self.queued.insert(
            id,
            Queued {
                key: (at, self.seq),
                ahead_when_overdue: None,
            },
        );
        self.seq += 1;
    }

    /// Enqueues every wake-up due by `now`, in time order.
    fn admit_wakeups(&mut self) {
        while let Some((&(t, k), &id)) = self.events.iter().next() {
            if t > self.now {
                break;
            }
            self.events.remove(&(t, k));
            let i = id as usize;
            self.remaining[i] = self.specs[i].bursts[self.next_burst[i]];
            self.enqueue(id, t);
        }
    }

    /// Records, for each thread that has just become overdue, how many are queued ahead of it.
    fn note_overdue(&mut self) {
        let keys: Vec<(u64, u64)> = self.queued.values().map(|q| q.key).collect();
        for q in self.queued.values_mut() {
            if q.ahead_when_overdue.is_none() && self.now - q.key.0 > self.cfg.starvation_ns {
                q.ahead_when_overdue = Some(keys.iter().filter(|&&k| k < q.key).count() as u64);
            }
        }
    }

    /// Runs the whole workload, checking the bound at every pick.
    fn run(&mut self) -> Result<(), TestCaseError> {
        let r = self.cfg.quantum_ns.max(self.cfg.hot_quantum_ns);
        loop {
            self.admit_wakeups();
            self.note_overdue();
            let Some(p) = self.rq.pick(self.now) else {
                prop_assert!(self.queued.is_empty());
                match self.events.keys().next() {
                    Some(&(t, _)) => {
                        self.now = t;
                        continue;
                    }
                    None => return Ok(()),
                }
            };
            let q = self.queued.remove(&p.thread).expect("picked thread was queued");
            prop_assert_eq!(p.waited_ns, self.now - q.key.0);
            if let Some(a) = q.ahead_when_overdue {
                prop_assert!(
                    self.now <= q.key.0 + self.cfg.starvation_ns + 2 * (a + 1) * r,
                    "thread {} ({:?}) enqueued at {} picked at {} with {} ahead",
                    p.thread,
                    p.queue,
                    q.key.0,
                    self.now,
                    a
                );
            }
            // Run until the burst ends or the quantum expires.
            let i = p.thread as usize;
            let run = self.remaining[i].min(self.rq.quantum_ns(p.queue).unwrap());
            prop_assert!(run <= r);
            self.remaining[i] -= run;
            self.rq.account(&mut self.ts[i], run);
            self.now += run;
            if self.remaining[i] > 0 {
                // Preempted: back in the queue, after the wake-ups that happened meanwhile.
                self.admit_wakeups();
                self.enqueue(p.thread, self.now);
            } else {
                self.next_burst[i] += 1;
                if self.next_burst[i] < self.specs[i].bursts.len() {
                    self.schedule_wake(p.thread, self.now + self.specs[i].sleep);
                }
            }
            prop_assert!(self.rq.check_invariants().is_ok());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Random mixed workloads (Hot, Normal and Cold threads arriving, sleeping and waking):
    /// every pick of a thread that waited past the bound happens by `t0 + S + 2 (a + 1) R`,
    /// and every thread completes all its bursts.
    #[test]
    fn every_ordinary_thread_is_picked_within_the_documented_bound(
        starvation_ms in 5u64..120,
        specs in prop::collection::vec(spec(), 1..24),
    ) {
        let cfg = SchedConfig { starvation_ns: starvation_ms * MS, ..CFG };
        let mut w = Workload::new(cfg, specs);
        w.run()?;
        prop_assert!(w.rq.is_empty());
        for (i, s) in w.specs.iter().enumerate() {
            prop_assert_eq!(w.next_burst[i], s.bursts.len(), "thread {} finished", i);
            prop_assert_eq!(w.ts[i].total_runtime_ns(), s.bursts.iter().sum::<u64>());
        }
    }
}

/// An overloaded CPU (ten CPU-bound threads, every wait far past the bound) and a Hot thread
/// that keeps coming back: the CPU-bound threads round-robin in a fixed order, and the Hot
/// thread waits for at most one CPU-bound run (overrides and class-order picks alternate).
#[test]
fn overload_keeps_hot_threads_responsive_and_nobody_starves() {
    let cfg = SchedConfig {
        starvation_ns: 20 * MS,
        ..CFG
    };
    let mut rq = RunQueue::<ThreadId>::new(cfg).unwrap();
    let mut ts: Vec<_> = (0..10)
        .map(|_| ThreadSched::new(Priority::Low, &cfg))
        .collect();
    // One Hot thread that runs 100 us and sleeps 1 ms keeps coming back.
    let hot = ThreadSched::new(Priority::High, &cfg);
    for id in 0..10 {
        rq.enqueue(id, &ts[id as usize], 0).unwrap();
    }
    let mut now = 0;
    let mut order = Vec::new();
    let mut hot_waits = Vec::new();
    let mut hot_queued_at = None;
    while order.len() < 100 {
        if hot_queued_at.is_none() {
            rq.enqueue(100, &hot, now).unwrap();
            hot_queued_at = Some(now);
        }
        let p = rq.pick(now).unwrap();
        if p.thread == 100 {
            hot_waits.push(p.waited_ns);
            hot_queued_at = None;
            now += 100_000;
        } else {
            order.push(p.thread);
            rq.account(&mut ts[p.thread as usize], 10 * MS);
            now += 10 * MS;
            rq.enqueue(p.thread, &ts[p.thread as usize], now).unwrap();
        }
    }
    // Round robin in a fixed order among the CPU-bound threads.
    for (n, &id) in order.iter().enumerate() {
        assert_eq!(id, order[n % 10]);
    }
    // Every CPU-bound pick was an override, each followed by one Hot pick.
    assert_eq!(rq.stats().starvation_picks, 100);
    assert_eq!(rq.stats().picks_from(Queue::Hot), hot_waits.len() as u64);
    assert!(hot_waits.len() >= 100);
    // The Hot thread is never stuck behind more than one CPU-bound run.
    assert!(hot_waits.iter().all(|&w| w <= 10 * MS), "{hot_waits:?}");
}
