//! The pick rule (class order plus starvation protection), time slices and the preemption
//! test of [`RunQueue`].

use crate::class::Queue;
use crate::runqueue::{RunQueue, Runnable};
use crate::stats::bump;
use crate::thread::ThreadSched;

/// What `RunQueue::pick` took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick<T> {
    /// The thread to run.
    pub thread: T,
    /// The queue it was taken from.
    pub queue: Queue,
    /// How long it waited, `now - enqueue time` (0 if the clock went backwards).
    pub waited_ns: u64,
    /// Whether the starvation rule took it ahead of a non-empty hotter ordinary queue (an
    /// override; the next pick then follows the class order).
    pub starved: bool,
}

impl<T: Runnable> RunQueue<T> {
    /// Takes the next thread to run at time `now` (see the crate documentation for the rule),
    /// or `None` if every queue is empty: the CPU then runs its idle thread.
    pub fn pick_next(&mut self, now: u64) -> Option<T> {
        self.pick(now).map(|p| p.thread)
    }

    /// [`RunQueue::pick_next`] with details about the choice.
    pub fn pick(&mut self, now: u64) -> Option<Pick<T>> {
        let Some((queue, starved)) = self.choose(now) else {
            bump(&mut self.stats.empty_picks);
            return None;
        };
        let entry = self.queues[queue.index()].pop_front()?;
        self.len -= 1;
        let waited_ns = now.saturating_sub(entry.enqueued_at);
        let stats = &mut self.stats;
        let i = queue.index();
        bump(&mut stats.picks);
        bump(&mut stats.picks_by_queue[i]);
        if starved {
            bump(&mut stats.starvation_picks);
        }
        if queue.is_ordinary() {
            // Realtime picks neither count as, nor consume, the class-order turn.
            self.last_pick_overrode = starved;
        }
        stats.max_wait_ns[i] = stats.max_wait_ns[i].max(waited_ns);
        stats.total_wait_ns[i] = stats.total_wait_ns[i].saturating_add(waited_ns);
        Some(Pick {
            thread: entry.thread,
            queue,
            waited_ns,
            starved,
        })
    }

    /// The queue the next pick at `now` takes from, and whether the starvation rule overrode
    /// the class order.
    fn choose(&self, now: u64) -> Option<(Queue, bool)> {
        if !self.queues[Queue::Realtime.index()].is_empty() {
            return Some((Queue::Realtime, false));
        }
        let by_class = Queue::ORDINARY
            .into_iter()
            .find(|q| !self.queues[q.index()].is_empty());
        if !self.last_pick_overrode {
            if let Some(queue) = self.oldest_overdue(now) {
                return Some((queue, by_class != Some(queue)));
            }
        }
        if let Some(queue) = by_class {
            return Some((queue, false));
        }
        if !self.queues[Queue::Idle.index()].is_empty() {
            return Some((Queue::Idle, false));
        }
        None
    }

    /// The ordinary queue whose front has waited longer than `starvation_ns` and was enqueued
    /// earliest (enqueue time, then insertion order), if any.
    fn oldest_overdue(&self, now: u64) -> Option<Queue> {
        let mut oldest: Option<(Queue, (u64, u64))> = None;
        for queue in Queue::ORDINARY {
            let Some(front) = self.queues[queue.index()].front() else {
                continue;
            };
            if now.saturating_sub(front.enqueued_at) <= self.config.starvation_ns {
                continue;
            }
            let key = (front.enqueued_at, front.seq);
            if oldest.is_none_or(|(_, k)| key < k) {
                oldest = Some((queue, key));
            }
        }
        oldest.map(|(queue, _)| queue)
    }

    /// The time slice of threads in `queue`: `hot_quantum_ns` for Hot, `quantum_ns` for
    /// Normal, Cold and Idle, `None` for Realtime (FIFO: a realtime thread runs until it
    /// blocks or yields).
    pub fn quantum_ns(&self, queue: Queue) -> Option<u64> {
        match queue {
            Queue::Realtime => None,
            Queue::Hot => Some(self.config.hot_quantum_ns),
            Queue::Normal | Queue::Cold | Queue::Idle => Some(self.config.quantum_ns),
        }
    }

    /// Whether the running thread `current`, which has run `ran_ns` since it was picked,
    /// should be switched out now (called from the timer tick, and after a wake-up):
    ///
    /// - a realtime `current` is never preempted;
    /// - an ordinary or Idle-class `current` is preempted at once if a realtime thread is
    ///   queued;
    /// - an Idle-class `current` is preempted at once if an ordinary thread is queued;
    /// - otherwise `current` is preempted when its quantum has expired
    ///   (`ran_ns >= quantum_ns(current.queue())`) and a thread of its own class is queued
    ///   (an ordinary thread for an ordinary `current`, an Idle-class one for an Idle-class
    ///   `current`): Idle-class threads never displace an ordinary one.
    pub fn should_preempt(&self, current: &ThreadSched, ran_ns: u64) -> bool {
        let queue = current.queue();
        if queue == Queue::Realtime {
            return false;
        }
        if self.queue_len(Queue::Realtime) > 0 {
            return true;
        }
        let ordinary_waiting = Queue::ORDINARY.into_iter().any(|q| self.queue_len(q) > 0);
        if queue == Queue::Idle && ordinary_waiting {
            return true;
        }
        let expired = self.quantum_ns(queue).is_some_and(|q| ran_ns >= q);
        let same_class_waiting = if queue == Queue::Idle {
            self.queue_len(Queue::Idle) > 0
        } else {
            ordinary_waiting
        };
        expired && same_class_waiting
    }

    /// Whether `woken`, just queued here by a wake-up (or a new thread), should take the CPU
    /// from the running `current` (which has run `ran_ns` since it was picked) at the next
    /// preemption point: when [`should_preempt`](Self::should_preempt) says so (a realtime
    /// thread is now queued, an Idle-class `current`, an expired quantum), and when a Hot
    /// thread wakes up on the CPU of a Cold (CPU-bound) one — the latency the Hot queue is for.
    /// Otherwise the woken thread waits until `current` blocks, yields or uses up its quantum:
    /// a request/reply pair on one CPU (pipe, futex) switches once per message, when the
    /// waker blocks, not twice.
    pub fn should_preempt_on_wake(&self, current: &ThreadSched, woken: &ThreadSched, ran_ns: u64) -> bool {
        self.should_preempt(current, ran_ns) || woken.queue() == Queue::Hot && current.queue() == Queue::Cold
    }
}
