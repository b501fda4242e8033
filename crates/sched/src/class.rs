//! Scheduling classes: thread [`Priority`], the [`Queue`] a thread waits in, the burst-length
//! EMA ([`ema_update`]) and the EMA-to-queue rule ([`classify`]).

use crate::config::SchedConfig;

/// The priority a thread is created with (or later given).
///
/// `Low`, `Normal` and `High` are *ordinary* priorities: they only choose the queue a thread
/// starts in (`High` → [`Queue::Hot`], `Normal` → [`Queue::Normal`], `Low` → [`Queue::Cold`]);
/// afterwards the burst-length EMA alone decides. `Realtime` and `Idle` are classes of their
/// own whose queue never changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Runs only when nothing else is runnable.
    Idle,
    /// Ordinary, starts in the Cold queue.
    Low,
    /// Ordinary, starts in the Normal queue.
    Normal,
    /// Ordinary, starts in the Hot queue.
    High,
    /// Runs ahead of every ordinary thread; FIFO among realtime threads, no time slice.
    Realtime,
}

impl Priority {
    /// Whether this is an ordinary priority (`Low`, `Normal` or `High`), i.e. one whose queue
    /// follows the EMA.
    pub const fn is_ordinary(self) -> bool {
        matches!(self, Priority::Low | Priority::Normal | Priority::High)
    }

    /// The queue a thread of this priority starts in.
    pub const fn initial_queue(self) -> Queue {
        match self {
            Priority::Idle => Queue::Idle,
            Priority::Low => Queue::Cold,
            Priority::Normal => Queue::Normal,
            Priority::High => Queue::Hot,
            Priority::Realtime => Queue::Realtime,
        }
    }
}

/// The queues of one CPU, in pick order (before the starvation rule): `Realtime`, `Hot`,
/// `Normal`, `Cold`, `Idle`. [`Queue::index`] follows that order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Queue {
    /// Realtime threads (FIFO).
    Realtime,
    /// Ordinary threads whose EMA is below `hot_threshold_ns` (interactive, I/O-bound).
    Hot,
    /// Ordinary threads whose EMA is between the thresholds (inclusive).
    Normal,
    /// Ordinary threads whose EMA is above `cold_threshold_ns` (CPU-bound).
    Cold,
    /// Idle-class threads: picked only when every other queue is empty.
    Idle,
}

impl Queue {
    /// Number of queues.
    pub const COUNT: usize = 5;
    /// All queues, in pick order (`ALL[q.index()] == q`).
    pub const ALL: [Queue; Queue::COUNT] = [
        Queue::Realtime,
        Queue::Hot,
        Queue::Normal,
        Queue::Cold,
        Queue::Idle,
    ];
    /// The three queues of ordinary threads, hottest first.
    pub const ORDINARY: [Queue; 3] = [Queue::Hot, Queue::Normal, Queue::Cold];

    /// Position in pick order, `0 .. Queue::COUNT`; used to index per-queue arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Whether this is one of the ordinary queues (`Hot`, `Normal`, `Cold`).
    pub const fn is_ordinary(self) -> bool {
        matches!(self, Queue::Hot | Queue::Normal | Queue::Cold)
    }
}

/// One EMA step with alpha = 1/4, in integer arithmetic:
/// `ema + (run - ema) / 4`, the difference taken without sign and divided with truncation, so
/// the result always lies between `ema` and `run` (inclusive) and nothing can overflow.
///
/// Truncation means the EMA stops up to 3 ns short of a constant `run`; that is far below any
/// threshold.
pub const fn ema_update(ema_ns: u64, run_ns: u64) -> u64 {
    if run_ns >= ema_ns {
        ema_ns + (run_ns - ema_ns) / 4
    } else {
        ema_ns - (ema_ns - run_ns) / 4
    }
}

/// The ordinary queue for an EMA: `Hot` if `ema < hot_threshold_ns`, `Cold` if
/// `ema > cold_threshold_ns`, otherwise `Normal` (both thresholds belong to `Normal`).
pub const fn classify(ema_ns: u64, config: &SchedConfig) -> Queue {
    if ema_ns < config.hot_threshold_ns {
        Queue::Hot
    } else if ema_ns > config.cold_threshold_ns {
        Queue::Cold
    } else {
        Queue::Normal
    }
}
