//! One CPU's run queue ([`RunQueue`]): the five FIFO queues of thread ids, the id index,
//! enqueue / remove / steal, accounting, and the invariant checker. Picking and preemption
//! live in `pick.rs`.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::class::{Priority, Queue};
use crate::config::{ConfigError, SchedConfig};
use crate::stats::{bump, SchedStats};
use crate::thread::ThreadSched;
use crate::ThreadId;

/// One queued thread: its id, when it was enqueued, and a per-run-queue sequence number
/// (insertion order; breaks ties between equal enqueue times).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub(crate) id: ThreadId,
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

/// The runnable (not running) threads of one CPU. It stores only thread ids with their
/// enqueue time; per-thread state stays in the kernel's [`ThreadSched`], passed in when
/// needed. The running thread is not in the run queue.
#[derive(Clone, Debug)]
pub struct RunQueue {
    pub(crate) config: SchedConfig,
    /// Indexed by [`Queue::index`]; each is FIFO in insertion order.
    pub(crate) queues: [VecDeque<Entry>; Queue::COUNT],
    /// Every queued id with its queue, sorted by id (membership test and `remove` lookup).
    index: Vec<(ThreadId, Queue)>,
    next_seq: u64,
    /// Whether the last pick was a starvation override (then the next one follows the class
    /// order).
    pub(crate) last_pick_overrode: bool,
    pub(crate) stats: SchedStats,
}

impl RunQueue {
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
            index: Vec::new(),
            next_seq: 0,
            last_pick_overrode: false,
            stats: SchedStats::default(),
        }
    }

    /// Like [`RunQueue::new`], with room reserved for `threads` queued threads in the index
    /// and in every queue, so that enqueueing up to that many never allocates. The
    /// reservation is best effort: if the heap cannot provide it, the queue still works and
    /// grows on demand.
    pub fn with_capacity(config: SchedConfig, threads: usize) -> Result<Self, ConfigError> {
        let mut rq = RunQueue::new(config)?;
        let _ = rq.index.try_reserve(threads);
        for q in rq.queues.iter_mut() {
            let _ = q.try_reserve(threads);
        }
        Ok(rq)
    }

    /// The configuration in force.
    pub const fn config(&self) -> &SchedConfig {
        &self.config
    }

    /// Makes thread `id` runnable on this CPU at time `now`: it goes to the back of
    /// `ts.queue()`. Fails (changing nothing) if `id` is already queued here or memory runs
    /// out.
    pub fn enqueue(
        &mut self,
        id: ThreadId,
        ts: &ThreadSched,
        now: u64,
    ) -> Result<(), EnqueueError> {
        let pos = match self.index_pos(id) {
            Ok(_) => return Err(EnqueueError::AlreadyQueued),
            Err(pos) => pos,
        };
        let queue = ts.queue();
        self.index
            .try_reserve(1)
            .map_err(|_| EnqueueError::OutOfMemory)?;
        self.queues[queue.index()]
            .try_reserve(1)
            .map_err(|_| EnqueueError::OutOfMemory)?;
        self.index.insert(pos, (id, queue));
        self.push(id, queue, now);
        bump(&mut self.stats.enqueues);
        Ok(())
    }

    /// Takes thread `id` out of the run queue (it blocked, exited or is being moved). Returns
    /// whether it was queued here; unknown ids are ignored.
    pub fn remove(&mut self, id: ThreadId) -> bool {
        if self.unlink(id).is_none() {
            return false;
        }
        bump(&mut self.stats.removes);
        true
    }

    /// Gives a thread away to an idle CPU (work stealing): the back of `Cold`, else the back
    /// of `Normal`, else the back of `Hot`. Realtime and Idle-class threads are never stolen.
    /// The caller enqueues the returned id on the stealing CPU. `None` if nothing can go.
    pub fn steal(&mut self) -> Option<ThreadId> {
        for queue in [Queue::Cold, Queue::Normal, Queue::Hot] {
            if let Some(entry) = self.queues[queue.index()].pop_back() {
                self.unindex(entry.id);
                bump(&mut self.stats.steals);
                return Some(entry.id);
            }
        }
        None
    }

    /// Gives thread `id` a new priority ([`ThreadSched::set_priority`]); if it is queued here
    /// it moves to the back of its new queue with enqueue time `now`. Returns whether it was
    /// queued here. Does not count as an enqueue, a removal or a migration.
    pub fn set_priority(
        &mut self,
        id: ThreadId,
        ts: &mut ThreadSched,
        priority: Priority,
        now: u64,
    ) -> bool {
        ts.set_priority(priority, &self.config);
        let Ok(pos) = self.index_pos(id) else {
            return false;
        };
        let old = self.index[pos].1;
        let new = ts.queue();
        if old != new {
            // Reserve first so that a failed allocation leaves the thread queued where it was.
            if self.queues[new.index()].try_reserve(1).is_err() {
                return true;
            }
            self.index[pos].1 = new;
        }
        self.unlink_from(id, old);
        self.push(id, new, now);
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
        self.index.len()
    }

    /// Whether no thread is queued.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Number of threads in `queue`.
    pub fn queue_len(&self, queue: Queue) -> usize {
        self.queues[queue.index()].len()
    }

    /// Load for balancing: queued threads other than Idle-class ones (the running thread is
    /// not included; add it if wanted).
    pub fn load(&self) -> usize {
        self.len().saturating_sub(self.queue_len(Queue::Idle))
    }

    /// Whether `id` is queued here.
    pub fn contains(&self, id: ThreadId) -> bool {
        self.index_pos(id).is_ok()
    }

    /// The queue `id` waits in, if queued here.
    pub fn queue_of(&self, id: ThreadId) -> Option<Queue> {
        self.index_pos(id).ok().map(|pos| self.index[pos].1)
    }

    /// Snapshot of the counters, with the current queue lengths.
    pub fn stats(&self) -> SchedStats {
        let mut stats = self.stats;
        for queue in Queue::ALL {
            stats.lengths[queue.index()] = self.queue_len(queue);
        }
        stats
    }

    /// Checks the internal invariants: the index is sorted without duplicates, and it matches
    /// the queues exactly (every queued entry is indexed with its queue, every indexed id is
    /// in its queue, same totals, hence each id is queued exactly once).
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        if self.index.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err("index not strictly sorted by id");
        }
        let total: usize = self.queues.iter().map(VecDeque::len).sum();
        if total != self.index.len() {
            return Err("queue lengths do not add up to the index length");
        }
        for queue in Queue::ALL {
            for entry in &self.queues[queue.index()] {
                if self.queue_of(entry.id) != Some(queue) {
                    return Err("queued id missing from the index or indexed in another queue");
                }
                if entry.seq >= self.next_seq {
                    return Err("sequence number from the future");
                }
            }
        }
        for &(id, queue) in &self.index {
            if !self.queues[queue.index()].iter().any(|e| e.id == id) {
                return Err("indexed id missing from its queue");
            }
        }
        Ok(())
    }

    /// Position of `id` in the index (`Err` = where it would be inserted).
    fn index_pos(&self, id: ThreadId) -> Result<usize, usize> {
        self.index.binary_search_by_key(&id, |&(i, _)| i)
    }

    /// Appends an entry to `queue` (the index is the caller's business).
    fn push(&mut self, id: ThreadId, queue: Queue, now: u64) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queues[queue.index()].push_back(Entry {
            id,
            enqueued_at: now,
            seq,
        });
    }

    /// Drops `id` from the index (its entry has already left its queue).
    pub(crate) fn unindex(&mut self, id: ThreadId) {
        if let Ok(pos) = self.index_pos(id) {
            self.index.remove(pos);
        }
    }

    /// Removes `id` from the index and from its queue; returns the queue it was in.
    fn unlink(&mut self, id: ThreadId) -> Option<Queue> {
        let pos = self.index_pos(id).ok()?;
        let (_, queue) = self.index.remove(pos);
        self.unlink_from(id, queue);
        Some(queue)
    }

    /// Removes `id`'s entry from `queue` only.
    fn unlink_from(&mut self, id: ThreadId, queue: Queue) {
        let deque = &mut self.queues[queue.index()];
        if let Some(i) = deque.iter().position(|e| e.id == id) {
            deque.remove(i);
        }
    }
}

impl Default for RunQueue {
    /// An empty run queue with [`SchedConfig::DEFAULT`].
    fn default() -> Self {
        RunQueue::empty(SchedConfig::DEFAULT)
    }
}
