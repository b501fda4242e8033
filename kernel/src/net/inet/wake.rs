//! How an AF_INET socket learns that smoltcp changed it, and how callers wait.
//!
//! Every socket has a [`Shared`]: its readiness bits (what `poll` and epoll read without any
//! lock: epoll asks under its own spin lock), an event counter, a wait queue and a poll queue.
//! smoltcp wakes a socket's `core::task::Waker` when it receives data, frees send space or
//! changes state; our waker only marks the socket dirty (it runs inside smoltcp, with the
//! socket borrowed). At the end of every poll of an interface, [`pop_dirty`] hands the dirty
//! sockets to the stack, which recomputes their readiness under the stack lock, registers the
//! wakers again (smoltcp drops a waker once woken), bumps the counter and wakes their waiters
//! and pollers. Only sockets smoltcp touched are woken.
//!
//! A blocking call ([`block`]) reads the counter, tries its operation under the stack lock
//! (which registers the wakers), and sleeps until the counter moves: a change after the try
//! bumps it, so no wake-up is lost.

use alloc::sync::{Arc, Weak};
use alloc::task::Wake;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use core::task::Waker;

use exo_abi::{Errno, KResult};

use super::stack::Stack;
use crate::sched::pollwait::PollQueue;
use crate::sched::wait::{WaitOutcome, WaitQueue};
use crate::spinlock::SpinLock;

/// What a socket does when the stack refreshes it.
pub trait Refresh: Send + Sync {
    /// Recomputes the readiness bits (stored in the socket's [`Shared`]) and registers the
    /// wakers again. Runs under the stack lock.
    fn refresh(&self, stack: &mut Stack);
}

/// The part of a socket the stack and waiters share.
pub struct Shared {
    /// POLLIN, POLLOUT, ... as of the last refresh.
    pub ready: AtomicU32,
    /// Bumped on every refresh that follows a change.
    pub events: AtomicU64,
    pub waiters: WaitQueue,
    pub pollers: Arc<PollQueue>,
    dirty: AtomicBool,
    owner: Weak<dyn Refresh>,
}

/// Sockets smoltcp woke since the last poll ended.
static DIRTY: SpinLock<Vec<Arc<Shared>>> = SpinLock::new(Vec::new());
/// A waker found no memory to queue itself: refresh every socket.
static OVERFLOW: AtomicBool = AtomicBool::new(false);

impl Shared {
    pub fn new(owner: Weak<dyn Refresh>) -> Arc<Shared> {
        Arc::new(Shared {
            ready: AtomicU32::new(0),
            events: AtomicU64::new(0),
            waiters: WaitQueue::new(),
            pollers: Arc::new(PollQueue::new()),
            dirty: AtomicBool::new(false),
            owner,
        })
    }

    /// The waker smoltcp keeps for this socket.
    pub fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(self.clone())
    }

    /// Stores new readiness and wakes whoever waits or polls.
    pub fn publish(&self, ready: u32) {
        self.ready.store(ready, Ordering::SeqCst);
        self.notify();
    }

    /// Wakes waiters and pollers (the state changed in a way they must look at).
    pub fn notify(&self) {
        self.events.fetch_add(1, Ordering::SeqCst);
        self.waiters.wake_all();
        self.pollers.notify();
    }

    pub fn owner(&self) -> Option<Arc<dyn Refresh>> {
        self.owner.upgrade()
    }
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.dirty.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut dirty = DIRTY.lock();
        if dirty.try_reserve(1).is_ok() {
            dirty.push(self.clone());
        } else {
            // No memory to queue it: wake its waiters now (they look again under the stack
            // lock); its poll bits wait for the next refresh.
            drop(dirty);
            OVERFLOW.store(true, Ordering::SeqCst);
            self.dirty.store(false, Ordering::Release);
            self.notify();
        }
    }
}

/// The next socket to refresh (the list keeps its memory: no allocation per poll).
pub fn pop_dirty() -> Option<Arc<Shared>> {
    let s = DIRTY.lock().pop()?;
    s.dirty.store(false, Ordering::Release);
    Some(s)
}

/// Whether a waker found no memory since the last call (then every socket is refreshed).
pub fn overflowed() -> bool {
    OVERFLOW.swap(false, Ordering::SeqCst)
}

/// How a blocking call waits: non-blocking (EAGAIN at once), with a timeout, or forever.
#[derive(Clone, Copy)]
pub struct Wait {
    pub nonblocking: bool,
    pub deadline: Option<u64>,
    /// What a signal gives: ERESTARTSYS, or EINTR when a timeout was set (Linux's
    /// `sock_intr_errno`).
    pub interrupted: Errno,
}

impl Wait {
    pub fn new(nonblocking: bool, timeout_ns: Option<u64>) -> Wait {
        Wait {
            nonblocking,
            deadline: timeout_ns.map(|t| crate::time::since_boot_ns().saturating_add(t)),
            interrupted: if timeout_ns.is_some() { Errno::EINTR } else { Errno::ERESTARTSYS },
        }
    }
}

/// Runs `attempt` under the stack lock until it returns a result; between attempts sleeps
/// until the socket's state changes. Gives `would_block` when non-blocking or timed out.
pub fn block<T>(shared: &Shared, wait: Wait, would_block: Errno, mut attempt: impl FnMut(&mut Stack) -> Option<KResult<T>>) -> KResult<T> {
    loop {
        let seen = shared.events.load(Ordering::SeqCst);
        if let Some(result) = super::stack::with(|stack| attempt(stack)) {
            return result;
        }
        if wait.nonblocking {
            return Err(would_block);
        }
        match shared.waiters.wait_interruptible(|| shared.events.load(Ordering::SeqCst) != seen, crate::sched::signal_check(), wait.deadline) {
            WaitOutcome::Ready => {}
            WaitOutcome::Interrupted => return Err(wait.interrupted),
            WaitOutcome::TimedOut => return Err(would_block),
        }
    }
}
