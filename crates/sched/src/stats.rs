//! Counters of one run queue ([`SchedStats`]), returned as a snapshot by `RunQueue::stats`.

use crate::class::Queue;

/// A snapshot of one CPU's scheduling counters. Counters saturate instead of wrapping; arrays
/// are indexed by [`Queue::index`] (see also the accessor methods).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedStats {
    /// Successful `enqueue` calls.
    pub enqueues: u64,
    /// `pick_next` calls that returned a thread.
    pub picks: u64,
    /// `pick_next` calls that found every queue empty (the CPU runs its idle thread).
    pub empty_picks: u64,
    /// Picks per queue the thread was taken from.
    pub picks_by_queue: [u64; Queue::COUNT],
    /// Picks where the starvation rule chose a different queue than the class order would.
    pub starvation_picks: u64,
    /// Successful `remove` calls.
    pub removes: u64,
    /// Successful `steal` calls (threads given away to another CPU).
    pub steals: u64,
    /// `account` calls (switch-outs).
    pub switches: u64,
    /// Queue changes made by `account` (one per change, whatever the distance).
    pub migrations: u64,
    /// Migrations towards Hot (Cold → Normal, Cold → Hot, Normal → Hot).
    pub promotions: u64,
    /// Migrations towards Cold.
    pub demotions: u64,
    /// Current queue lengths.
    pub lengths: [usize; Queue::COUNT],
    /// Longest wait (enqueue to pick) seen per queue, in ns.
    pub max_wait_ns: [u64; Queue::COUNT],
    /// Sum of waits (enqueue to pick) per queue, in ns; divide by `picks_by_queue` for the
    /// mean.
    pub total_wait_ns: [u64; Queue::COUNT],
}

impl SchedStats {
    /// Picks taken from `queue`.
    pub const fn picks_from(&self, queue: Queue) -> u64 {
        self.picks_by_queue[queue.index()]
    }

    /// Current length of `queue`.
    pub const fn len_of(&self, queue: Queue) -> usize {
        self.lengths[queue.index()]
    }

    /// Longest wait seen in `queue`, in ns.
    pub const fn max_wait_of(&self, queue: Queue) -> u64 {
        self.max_wait_ns[queue.index()]
    }

    /// Total number of queued threads.
    pub fn queued(&self) -> usize {
        self.lengths.iter().sum()
    }
}

/// Saturating increment.
pub(crate) fn bump(counter: &mut u64) {
    *counter = counter.saturating_add(1);
}
