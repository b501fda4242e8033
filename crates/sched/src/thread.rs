//! Per-thread policy state ([`ThreadSched`]), kept by the kernel inside each thread control
//! block and passed to the run queue by `&mut` when a thread is enqueued or accounted.

use crate::class::{classify, ema_update, Priority, Queue};
use crate::config::SchedConfig;

/// The scheduling state of one thread. Only the run queue changes it (through
/// `RunQueue::account`, `RunQueue::set_priority`) besides [`ThreadSched::set_priority`];
/// the kernel reads it through the accessors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadSched {
    priority: Priority,
    queue: Queue,
    ema_ns: u64,
    last_run_ns: u64,
    total_runtime_ns: u64,
    switches: u64,
    migrations: u64,
}

impl ThreadSched {
    /// State of a new thread: its queue is [`Priority::initial_queue`], and its EMA is seeded
    /// inside that queue's band so that it starts there and then drifts gradually
    /// (see [`ThreadSched::seed_ema`]).
    pub const fn new(priority: Priority, config: &SchedConfig) -> Self {
        ThreadSched {
            priority,
            queue: priority.initial_queue(),
            ema_ns: Self::seed_ema(priority, config),
            last_run_ns: 0,
            total_runtime_ns: 0,
            switches: 0,
            migrations: 0,
        }
    }

    /// The initial EMA for a priority: `High` → `hot_threshold / 2`, `Normal` → the midpoint
    /// of the thresholds, `Low` → `2 * cold_threshold` (saturating); `Realtime` and `Idle`
    /// → 0 (their EMA is kept for statistics only).
    pub const fn seed_ema(priority: Priority, config: &SchedConfig) -> u64 {
        let hot = config.hot_threshold_ns;
        let cold = config.cold_threshold_ns;
        match priority {
            Priority::High => hot / 2,
            Priority::Normal => hot + cold.saturating_sub(hot) / 2,
            Priority::Low => cold.saturating_mul(2),
            Priority::Realtime | Priority::Idle => 0,
        }
    }

    /// Gives the thread a new priority: queue and EMA are reset as for a new thread (the
    /// runtime counters are kept). If the thread is queued, use `RunQueue::set_priority`
    /// instead, which also moves its queue entry.
    pub fn set_priority(&mut self, priority: Priority, config: &SchedConfig) {
        self.priority = priority;
        self.queue = priority.initial_queue();
        self.ema_ns = Self::seed_ema(priority, config);
    }

    /// Records one finished run of `ran_ns` (the thread is being switched out): updates the
    /// counters and the EMA, and for an ordinary thread reclassifies it. Returns the previous
    /// queue if the queue changed.
    pub(crate) fn record_run(&mut self, ran_ns: u64, config: &SchedConfig) -> Option<Queue> {
        self.last_run_ns = ran_ns;
        self.total_runtime_ns = self.total_runtime_ns.saturating_add(ran_ns);
        self.switches = self.switches.saturating_add(1);
        self.ema_ns = ema_update(self.ema_ns, ran_ns);
        if !self.priority.is_ordinary() {
            return None;
        }
        let new = classify(self.ema_ns, config);
        if new == self.queue {
            return None;
        }
        let old = self.queue;
        self.queue = new;
        self.migrations = self.migrations.saturating_add(1);
        Some(old)
    }

    /// The thread's priority.
    pub const fn priority(&self) -> Priority {
        self.priority
    }

    /// The queue the thread belongs to (where its next enqueue puts it).
    pub const fn queue(&self) -> Queue {
        self.queue
    }

    /// Exponential moving average of its runs, in ns.
    pub const fn ema_ns(&self) -> u64 {
        self.ema_ns
    }

    /// Length of its last accounted run, in ns.
    pub const fn last_run_ns(&self) -> u64 {
        self.last_run_ns
    }

    /// Total accounted CPU time, in ns (saturating).
    pub const fn total_runtime_ns(&self) -> u64 {
        self.total_runtime_ns
    }

    /// Number of accounted runs (switch-outs).
    pub const fn switches(&self) -> u64 {
        self.switches
    }

    /// Number of times accounting moved it to another ordinary queue.
    pub const fn migrations(&self) -> u64 {
        self.migrations
    }
}
