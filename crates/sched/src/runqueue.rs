//! One CPU's run queue ([`RunQueue`]): the five FIFO queues of runnable threads, enqueue /
//! remove / steal, accounting, and the invariant checker. Picking and preemption live in
//! `pick.rs`.

use alloc::collections::VecDeque;

use crate::class::{Priority, Queue};
use crate::config::{ConfigError, SchedConfig};
use crate::stats::{bump, SchedStats};
use crate::thread::ThreadSched;
use crate::ThreadId;

/// What a run queue holds: a handle of a runnable thread (the kernel's reference-counted
/// thread, or a bare [`ThreadId`] in tests) that names its thread.
pub trait Runnable {
    /// The thread this handle refers to.
    fn thread_id(&self) -> ThreadId;
}

impl Runnable for ThreadId {
    fn thread_id(&self) -> ThreadId {
        *self
    }
}

/// One queued thread: its handle, when it was enqueued, and a per-run-queue sequence number
/// (insertion order; breaks ties between equal enqueue times).
#[derive(Clone, Debug)]
pub(crate) struct Entry<T> {
    pub(crate) thread: T,
    pub(crate) enqueued_at: u64,
    pub(crate) seq: u64,
}

/// Why `enqueue` refused a thread; the run queue is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnqueueError {
    /// The id is already queued on this run queue.
    AlreadyQueued,
    /// Growing a queue or the index failed (heap exhausted).
    OutOfMemory,
}

impl core::fmt::Display for EnqueueError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            EnqueueError::AlreadyQueued => "thread is already queued",
            EnqueueError::OutOfMemory => "out of memory while enqueueing",
        })
    }
}

/// The runnable (not running) threads of one CPU, as handles `T` (see [`Runnable`]);
/// per-thread policy state stays in the kernel's [`ThreadSched`], passed in when needed. The
/// running thread is not in the run queue.
///
/// Cost: enqueue, pick and steal are O(1) (a push or pop on a ring buffer, no search, no
/// shifting); `remove`, `contains`, `queue_of` and `set_priority` scan the queues (O(n), n =
/// threads queued on this CPU; the kernel's switch path does not use them). A double enqueue
/// is the caller's bug: debug builds detect it (an O(n) scan) and refuse it.
#[derive(Clone, Debug)]
pub struct RunQueue<T = ThreadId> {
    pub(crate) config: SchedConfig,
    /// Indexed by [`Queue::index`]; each is FIFO in insertion order.
    pub(crate) queues: [VecDeque<Entry<T>>; Queue::COUNT],
    /// Threads queued, all queues together.
    pub(crate) len: usize,
    next_seq: u64,
    /// Whether the last pick was a starvation override (then the next one follows the class
    /// order).
    pub(crate) last_pick_overrode: bool,
    pub(crate) stats: SchedStats,
}

impl<T: Runnable> RunQueue<T> {
    /// An empty run queue, or the reason `config` is invalid.
    pub fn new(config: SchedConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(RunQueue::empty(config))
    }

    /// An empty run queue with an already validated configuration.
    fn empty(config: SchedConfig) -> Self {
        RunQueue {
            config,
            queues: Default::default(),
            len: 0,
            next_seq: 0,
            last_pick_overrode: false,
            stats: SchedStats::default(),
        }
    }

    /// Like [`RunQueue::new`], with room reserved for `threads` queued threads in every
    /// queue, so that enqueueing up to that many never allocates. The reservation is best
    /// effort: if the heap cannot provide it, the queue still works and grows on demand.
    pub fn with_capacity(config: SchedConfig, threads: usize) -> Result<Self, ConfigError> {
        let mut rq = RunQueue::new(config)?;
        for q in rq.queues.iter_mut() {
            let _ = q.try_reserve(threads);
        }
        Ok(rq)
    }

    /// The configuration in force.
    pub const fn config(&self) -> &SchedConfig {
        &self.config
    }

    /// Makes `thread` runnable on this CPU at time `now`: it goes to the back of
    /// `ts.queue()`. Fails (changing nothing, dropping the handle) if memory runs out, or, in
    /// debug builds, if the thread is already queued here.
    pub fn enqueue(&mut self, thread: T, ts: &ThreadSched, now: u64) -> Result<(), EnqueueError> {
        if cfg!(debug_assertions) && self.queue_of(thread.thread_id()).is_some() {
            return Err(EnqueueError::AlreadyQueued);
        }
        let queue = ts.queue();
        self.queues[queue.index()]
            .try_reserve(1)
            .map_err(|_| EnqueueError::OutOfMemory)?;
        self.push(thread, queue, now);
        self.len += 1;
        bump(&mut self.stats.enqueues);
        Ok(())
    }

    /// Takes thread `id` out of the run queue (it blocked, exited or is being moved). Returns
    /// whether it was queued here; unknown ids are ignored.
    pub fn remove(&mut self, id: ThreadId) -> bool {
        let Some((queue, i)) = self.find(id) else {
            return false;
        };
        self.queues[queue.index()].remove(i);
        self.len -= 1;
        bump(&mut self.stats.removes);
        true
    }

    /// Gives a thread away to an idle CPU (work stealing): the back of `Cold`, else the back
    /// of `Normal`, else the back of `Hot`. Realtime and Idle-class threads are never stolen.
    /// The caller enqueues the returned thread on the stealing CPU. `None` if nothing can go.
    pub fn steal(&mut self) -> Option<T> {
        for queue in [Queue::Cold, Queue::Normal, Queue::Hot] {
            if let Some(entry) = self.queues[queue.index()].pop_back() {
                self.len -= 1;
                bump(&mut self.stats.steals);
                return Some(entry.thread);
            }
        }
        None
    }

    /// [`steal`](Self::steal) restricted to the threads `allowed` accepts (those whose
    /// affinity allows the stealing CPU): the last such thread of the coldest queue. O(n).
    pub fn steal_where(&mut self, allowed: impl Fn(&T) -> bool) -> Option<T> {
        for queue in [Queue::Cold, Queue::Normal, Queue::Hot] {
            let q = &mut self.queues[queue.index()];
            if let Some(i) = (0..q.len()).rev().find(|&i| q.get(i).is_some_and(|e| allowed(&e.thread))) {
                if let Some(entry) = q.remove(i) {
                    self.len -= 1;
                    bump(&mut self.stats.steals);
                    return Some(entry.thread);
                }
            }
        }
        None
    }

    /// Gives thread `id` a new priority ([`ThreadSched::set_priority`]); if it is queued here
    /// it moves to the back of its new queue with enqueue time `now`. Returns whether it was
    /// queued here. Does not count as an enqueue, a removal or a migration.
    pub fn set_priority(&mut self, id: ThreadId, ts: &mut ThreadSched, priority: Priority, now: u64) -> bool {
        ts.set_priority(priority, &self.config);
        let Some((old, i)) = self.find(id) else {
            return false;
        };
        let new = ts.queue();
        // Reserve first so that a failed allocation leaves the thread queued where it was.
        if old != new && self.queues[new.index()].try_reserve(1).is_err() {
            return true;
        }
        if let Some(entry) = self.queues[old.index()].remove(i) {
            self.push(entry.thread, new, now);
        }
        true
    }

    /// Accounts the run that just ended (the thread is being switched out after running
    /// `ran_ns`): updates its counters and EMA and, for an ordinary thread, moves it to the
    /// queue its EMA now belongs to (counted as a migration if it changed). Call it before
    /// re-enqueueing the thread.
    pub fn account(&mut self, ts: &mut ThreadSched, ran_ns: u64) {
        bump(&mut self.stats.switches);
        if let Some(old) = ts.record_run(ran_ns, &self.config) {
            bump(&mut self.stats.migrations);
            if ts.queue() < old {
                bump(&mut self.stats.promotions);
            } else {
                bump(&mut self.stats.demotions);
            }
        }
    }

    /// Number of queued threads (all queues).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no thread is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of threads in `queue`.
    pub fn queue_len(&self, queue: Queue) -> usize {
        self.queues[queue.index()].len()
    }

    /// Load for balancing: queued threads other than Idle-class ones (the running thread is
    /// not included; add it if wanted).
    pub fn load(&self) -> usize {
        self.len.saturating_sub(self.queue_len(Queue::Idle))
    }

    /// Whether `id` is queued here.
    pub fn contains(&self, id: ThreadId) -> bool {
        self.find(id).is_some()
    }

    /// The queue `id` waits in, if queued here.
    pub fn queue_of(&self, id: ThreadId) -> Option<Queue> {
        self.find(id).map(|(queue, _)| queue)
    }

    /// Snapshot of the counters, with the current queue lengths.
    pub fn stats(&self) -> SchedStats {
        let mut stats = self.stats;
        for queue in Queue::ALL {
            stats.lengths[queue.index()] = self.queue_len(queue);
        }
        stats
    }

    /// Checks the internal invariants: every thread is queued at most once (in one queue),
    /// the length counter matches the queues, and each queue is in insertion order with
    /// sequence numbers from the past.
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        let total: usize = self.queues.iter().map(VecDeque::len).sum();
        if total != self.len {
            return Err("queue lengths do not add up to the length counter");
        }
        let mut ids: alloc::vec::Vec<ThreadId> = alloc::vec::Vec::new();
        for queue in &self.queues {
            if queue.iter().zip(queue.iter().skip(1)).any(|(a, b)| a.seq >= b.seq) {
                return Err("queue not in insertion order");
            }
            if queue.iter().any(|e| e.seq >= self.next_seq) {
                return Err("sequence number from the future");
            }
            ids.extend(queue.iter().map(|e| e.thread.thread_id()));
        }
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err("a thread is queued twice");
        }
        Ok(())
    }

    /// The queue holding `id` and its position there.
    fn find(&self, id: ThreadId) -> Option<(Queue, usize)> {
        Queue::ALL.into_iter().find_map(|queue| {
            let i = self.queues[queue.index()].iter().position(|e| e.thread.thread_id() == id)?;
            Some((queue, i))
        })
    }

    /// Appends an entry to `queue` (room is reserved; the length counter is the caller's).
    fn push(&mut self, thread: T, queue: Queue, now: u64) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queues[queue.index()].push_back(Entry { thread, enqueued_at: now, seq });
    }
}

impl<T: Runnable> Default for RunQueue<T> {
    /// An empty run queue with [`SchedConfig::DEFAULT`].
    fn default() -> Self {
        RunQueue::empty(SchedConfig::DEFAULT)
    }
}
