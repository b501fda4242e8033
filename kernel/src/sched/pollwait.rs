//! Readiness waits over many objects at once (poll, select, epoll_wait).
//!
//! Every pollable object (each side of a pipe, an eventfd, the console, an epoll instance) owns
//! a [`PollQueue`]: the threads polling it now. A poller builds a [`PollTable`]: it registers
//! on the queue of each file it polls (`FileOps::poll_register`), scans the files' readiness,
//! and sleeps ([`PollTable::wait`]) until one of those objects notifies, a signal arrives or
//! its deadline passes; dropping the table deregisters it from every queue. A change of an
//! object wakes only the threads polling that object (it used to wake every poller of the
//! system), and a notify on an object nobody polls costs a fence and an atomic load.
//!
//! No lost wake-ups: a poller registers (storing the queue's count under its lock, then a
//! full fence) BEFORE it scans; a notifier makes its change visible, then fences and reads the
//! count. Either the notifier sees the poller (and sets its `poll_woken` flag and wakes it) or
//! the scan sees the change. Between the scan and the sleep the poller marks itself `Blocked`,
//! fences and checks its flag; the notifier sets the flag before it tries to wake the thread
//! (`wake_thread` only wakes a `Blocked`/`Sleeping` thread): either the check sees the flag or
//! the wake sees `Blocked`. The registration stays across the poller's re-scans, so a notify
//! may meet it running: the flag keeps that notify for its next check. A thread polls with one
//! table at a time (its `poll_woken` flag is the table's).
//!
//! Lock rule: `PollQueue::pollers` (irq spin, one class for all queues) is taken by a poller
//! with no lock held (register/deregister) and by notifiers after they released their own
//! locks, also from interrupt handlers (the console's input). Under it: the heap (registration
//! reserves one slot, fallibly: ENOMEM) and, in a notify, `wake_thread`'s scheduler locks.
//! Nothing takes a poll queue under those. See docs/locking.md.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{fence, AtomicUsize, Ordering};

use exo_abi::{Errno, KResult};

use super::thread::{Thread, ThreadId};
use super::wait::WaitOutcome;
use crate::spinlock::IrqSpinLock;

/// The threads polling one object.
pub struct PollQueue {
    pollers: IrqSpinLock<Vec<Arc<Thread>>>,
    /// `pollers.len()`, stored under the lock: read without it by [`notify`](Self::notify).
    count: AtomicUsize,
    /// Where else the count is published, under the lock (a Fusion Ring's kernel page, read by
    /// user space to know that somebody polls and must be woken).
    mirror: Option<Arc<dyn CountMirror>>,
}

/// A second place a poll queue's count is stored whenever it changes (under the queue's lock:
/// `store` must be a leaf — an atomic store).
pub trait CountMirror: Send + Sync {
    fn store(&self, count: usize);
}

impl Default for PollQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl PollQueue {
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub const fn new() -> PollQueue {
        PollQueue { pollers: IrqSpinLock::new(Vec::new()), count: AtomicUsize::new(0), mirror: None }
    }

    /// A queue whose count is also stored into `mirror` whenever it changes.
    pub fn mirrored(mirror: Arc<dyn CountMirror>) -> PollQueue {
        PollQueue { pollers: IrqSpinLock::new(Vec::new()), count: AtomicUsize::new(0), mirror: Some(mirror) }
    }

    /// Stores the new count (under the lock).
    fn set_count(&self, count: usize) {
        self.count.store(count, Ordering::Relaxed);
        if let Some(mirror) = &self.mirror {
            mirror.store(count);
        }
    }

    /// Tells the object's pollers that its readiness may have changed. Call it after the
    /// change is visible, with no lock held that a poll queue may be taken under. With nobody
    /// polling: a fence and a load.
    #[inline]
    pub fn notify(&self) {
        fence(Ordering::SeqCst);
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        self.notify_slow();
    }

    #[inline(never)]
    fn notify_slow(&self) {
        let pollers = self.pollers.lock();
        for thread in pollers.iter() {
            // The flag first: the poller checks it after marking itself `Blocked`.
            thread.poll_woken.store(true, Ordering::SeqCst);
            super::wake_thread(thread);
        }
    }

    /// Whether some thread polls the object now (tests).
    #[cfg(feature = "ktest")]
    pub fn polled(&self) -> bool {
        self.count.load(Ordering::SeqCst) != 0
    }

    /// Registers `thread`; false if it was registered already (one entry per thread: a file
    /// polled twice, or met again through nested epolls).
    fn add(&self, thread: &Arc<Thread>) -> KResult<bool> {
        let mut pollers = self.pollers.lock();
        if pollers.iter().any(|other| Arc::ptr_eq(other, thread)) {
            return Ok(false);
        }
        pollers.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        pollers.push(thread.clone());
        self.set_count(pollers.len());
        Ok(true)
    }

    /// Drops the registration of thread `id` (the caller holds its own reference to the
    /// thread, so it is not the last one: nothing is freed under the lock).
    fn remove(&self, id: ThreadId) {
        let mut pollers = self.pollers.lock();
        pollers.retain(|thread| thread.id != id);
        self.set_count(pollers.len());
    }
}

/// A poll queue as a table keeps it: a static one (the console's) or one shared with its
/// object (kept alive by the table while registered).
pub enum QueueRef {
    Static(&'static PollQueue),
    Shared(Arc<PollQueue>),
}

impl core::ops::Deref for QueueRef {
    type Target = PollQueue;
    fn deref(&self) -> &PollQueue {
        match self {
            QueueRef::Static(queue) => queue,
            QueueRef::Shared(queue) => queue,
        }
    }
}

/// One poll/select/epoll_wait call's registrations: the current thread on the queues of the
/// files it polls. Dropping it deregisters from all of them.
pub struct PollTable {
    me: Arc<Thread>,
    queues: Vec<QueueRef>,
}

impl PollTable {
    /// An empty table for the current thread (its notify flag cleared).
    pub fn new() -> PollTable {
        let me = super::current();
        me.poll_woken.store(false, Ordering::SeqCst);
        PollTable { me, queues: Vec::new() }
    }

    /// Registers on `queue` (ENOMEM when a slot cannot be reserved), then fences: the caller
    /// asks the file's readiness after this. Returns false when the table was registered on
    /// that queue already (a file polled twice, an object met again through nested epolls: an
    /// epoll instance then skips its items, so a wait registers once per distinct object and
    /// the table's size is bounded by the objects it watches).
    pub fn add(&mut self, queue: QueueRef) -> KResult<bool> {
        self.queues.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let new = queue.add(&self.me)?;
        if new {
            self.queues.push(queue);
        }
        // The registration (the queue's count) before the caller asks the file's readiness.
        fence(Ordering::SeqCst);
        Ok(new)
    }

    /// [`add`](Self::add) for a queue shared with its object.
    pub fn add_shared(&mut self, queue: &Arc<PollQueue>) -> KResult<bool> {
        self.add(QueueRef::Shared(queue.clone()))
    }

    /// [`add`](Self::add) for a static queue.
    pub fn add_static(&mut self, queue: &'static PollQueue) -> KResult<bool> {
        self.add(QueueRef::Static(queue))
    }

    /// Sleeps until a queue of the table was notified since the previous call (or since the
    /// table was made), `interrupted()` holds (a signal: its sender wakes the thread) or the
    /// deadline (ns since boot) passes. `Ready` means "notified": the caller scans again.
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub fn wait(&self, interrupted: impl Fn() -> bool, deadline: Option<u64>) -> WaitOutcome {
        // The queues hold this thread: a notifier sets the flag and then wakes it, as an
        // unparker does (`wait::park_interruptible`'s protocol).
        let me = &self.me;
        super::wait::park_interruptible(me, || me.poll_woken.swap(false, Ordering::SeqCst), interrupted, deadline)
    }
}

impl Drop for PollTable {
    fn drop(&mut self) {
        let id = self.me.id;
        for queue in &self.queues {
            queue.remove(id);
        }
    }
}
