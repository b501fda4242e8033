//! Wait queues: threads block until a condition holds; wakers wake one or all.
//!
//! Protocol (Linux's prepare-to-wait): a waiter first queues itself and marks itself `Blocked`
//! (under the queue's lock, interrupts off only for that), then checks its condition — and, for
//! interruptible waits, its signal state — with interrupts ON and no lock held, and only then
//! calls the scheduler. A waker changes the condition first and then takes the queue's lock to
//! wake: either the waker finds the waiter queued (and makes it runnable) or the waiter's check
//! sees the new condition. A timer preemption between the check and the switch does not lose
//! the wake-up either: the scheduler keeps a preempted `Blocked` thread runnable
//! (`cpu::schedule_locked`).
//!
//! A waker finds an empty queue without its lock: the queue keeps its length in an atomic
//! (stored under the lock), and a waker reads it after a full fence, the waiter having stored it
//! before the fence that precedes its check (a store-buffering pair: one of the two sees the
//! other). Wakers on hot paths (a pipe transfer, a mutex unlock, readiness) mostly find nobody.
//!
//! The conditions run preemptible and may take ordinary (non-IRQ) locks. They used to run under
//! the queue's IRQ lock: one that spun on a `spin::Mutex` held by a thread preempted on the same
//! CPU (a pipe's buffer, a task's signal state) spun forever with interrupts off and froze the
//! machine.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{fence, AtomicUsize, Ordering};

use crate::spinlock::IrqSpinLock;

use super::thread::{Thread, ThreadId, ThreadState};

/// How an interruptible wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The condition became true.
    Ready,
    /// The interruption predicate became true first (a signal).
    Interrupted,
    /// The deadline passed.
    TimedOut,
}

/// A queue of blocked threads. Lock rule: the queue's lock is a leaf (held only to push, pop or
/// remove ids; nothing else is locked or called under it).
pub struct WaitQueue {
    waiters: IrqSpinLock<Ids>,
    /// `waiters.len()`, stored under the lock: read without it by the wakers' fast path.
    queued: AtomicUsize,
}

/// The queued threads, oldest first: the oldest in a slot of its own, so that a queue with one
/// waiter (a futex's, a pipe end's, a mutex's, the usual case) allocates nothing. The queue
/// holds the threads themselves (not ids), so a waker needs no look-up in the thread table.
struct Ids {
    first: Option<Arc<Thread>>,
    rest: VecDeque<Arc<Thread>>,
}

impl Ids {
    const fn new() -> Ids {
        Ids { first: None, rest: VecDeque::new() }
    }

    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    fn push_back(&mut self, thread: Arc<Thread>) {
        if self.first.is_none() && self.rest.is_empty() {
            self.first = Some(thread);
        } else {
            self.rest.push_back(thread);
        }
    }

    fn pop_front(&mut self) -> Option<Arc<Thread>> {
        self.first.take().or_else(|| self.rest.pop_front())
    }

    /// Drops `id`'s entries (the caller holds its own reference to that thread, so none of
    /// these is the last one: no thread is freed under the queue's lock).
    fn remove(&mut self, id: ThreadId) {
        if self.first.as_ref().is_some_and(|t| t.id == id) {
            self.first = None;
        }
        if !self.rest.is_empty() {
            self.rest.retain(|other| other.id != id);
        }
    }
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    pub const fn new() -> WaitQueue {
        WaitQueue { waiters: IrqSpinLock::new(Ids::new()), queued: AtomicUsize::new(0) }
    }

    /// How many threads are queued (the in-kernel tests wait for a waiter to be really queued).
    #[cfg(feature = "ktest")]
    pub fn waiting(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// Whether a waker may skip the queue: nobody was queued when the waker's change became
    /// visible (the fence orders the caller's condition change before the read).
    #[inline]
    fn nobody_waiting(&self) -> bool {
        fence(Ordering::SeqCst);
        self.queued.load(Ordering::Relaxed) == 0
    }

    /// Queues `me` and marks it blocked: from here a waker makes it runnable.
    fn prepare(&self, me: &Arc<Thread>) {
        let mut waiters = self.waiters.lock();
        me.set_state(ThreadState::Blocked);
        waiters.push_back(me.clone());
        self.queued.store(waiters.len(), Ordering::Relaxed);
        drop(waiters);
        // Blocked before the caller looks at the condition or the signal state: a waker (or a
        // signal sender) changes its side first and then wakes, so one side sees the other.
        fence(Ordering::SeqCst);
    }

    /// Takes `me` out of the queue (after a wake-up, a timeout or a cancelled wait).
    fn finish(&self, me: &Thread) {
        // An empty queue does not hold `me` (the usual case after a wake-up: the waker took it
        // out). Only this thread queues itself, so from its own `prepare` on every length
        // stored while it is queued is at least 1: reading 0 means it is gone.
        if self.queued.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut waiters = self.waiters.lock();
        waiters.remove(me.id);
        self.queued.store(waiters.len(), Ordering::Relaxed);
    }

    /// Blocks the current thread until `condition()` returns true. `condition` runs with
    /// interrupts on and may take ordinary locks; it may run several times.
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub fn wait_until(&self, mut condition: impl FnMut() -> bool) {
        crate::lockdep::might_sleep();
        // The common case (a free mutex, data already there) costs only the test: the current
        // thread is looked up only when it has to wait.
        if condition() {
            return;
        }
        let me = super::current();
        loop {
            self.prepare(&me);
            if condition() {
                self.finish(&me);
                super::cancel_block(&me, ThreadState::Blocked);
                return;
            }
            super::schedule();
            self.finish(&me);
            if condition() {
                return;
            }
        }
    }

    /// Like [`wait_until`](Self::wait_until), but gives up `timeout_ns` after the call: returns
    /// whether the condition became true (false: timed out).
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    #[cfg(feature = "ktest")]
    pub fn wait_until_timeout(&self, condition: impl FnMut() -> bool, timeout_ns: u64) -> bool {
        crate::lockdep::might_sleep();
        let deadline = crate::time::since_boot_ns().saturating_add(timeout_ns);
        self.wait_interruptible(condition, || false, Some(deadline)) == WaitOutcome::Ready
    }

    /// Blocks until `condition()` holds, `interrupted()` holds (a signal is pending for the
    /// thread: whoever makes it true must then `sched::wake` the thread) or the optional
    /// deadline (ns since boot) passes. Both closures run with interrupts on, as for
    /// [`wait_until`](Self::wait_until).
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub fn wait_interruptible(
        &self,
        condition: impl FnMut() -> bool,
        interrupted: impl Fn() -> bool,
        deadline: Option<u64>,
    ) -> WaitOutcome {
        self.wait_handing_off(condition, interrupted, deadline, None)
    }

    /// [`wait_interruptible`](Self::wait_interruptible) that first hands the CPU to `handoff`
    /// (a thread the caller took out of another queue with [`take_one`](Self::take_one) after
    /// making its condition true): when this thread has to sleep, it switches straight to
    /// `handoff` (`sched::switch_to`); when it does not, `handoff` is woken the ordinary way.
    /// Either way `handoff` is woken exactly once.
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub fn wait_handing_off(
        &self,
        mut condition: impl FnMut() -> bool,
        interrupted: impl Fn() -> bool,
        deadline: Option<u64>,
        mut handoff: Option<Arc<Thread>>,
    ) -> WaitOutcome {
        crate::lockdep::might_sleep();
        let check = |condition: &mut dyn FnMut() -> bool| wait_outcome(condition(), deadline, &interrupted);
        // The common case without a hand-off (the condition holds already) costs only the test.
        if handoff.is_none() {
            if let Some(outcome) = check(&mut condition) {
                return outcome;
            }
        }
        let me = super::current();
        loop {
            self.prepare(&me);
            if let Some(deadline) = deadline {
                super::add_timeout(deadline, me.id);
            }
            let outcome = check(&mut condition);
            match (outcome, handoff.take()) {
                (Some(_), next) => {
                    super::cancel_block(&me, ThreadState::Blocked);
                    if let Some(next) = next {
                        super::wake_thread(&next);
                    }
                }
                (None, Some(next)) => super::switch_to(next),
                (None, None) => super::schedule(),
            }
            if let Some(deadline) = deadline {
                super::cancel_timeout(deadline, me.id);
            }
            self.finish(&me);
            if let Some(outcome) = outcome.or_else(|| check(&mut condition)) {
                return outcome;
            }
        }
    }

    /// Takes the longest-waiting thread out of the queue without waking it (for a hand-off:
    /// the caller must pass it to [`wait_handing_off`](Self::wait_handing_off) or wake it).
    #[inline]
    pub fn take_one(&self) -> Option<Arc<Thread>> {
        if self.nobody_waiting() {
            return None;
        }
        self.pop()
    }

    /// Wakes the longest-waiting thread; returns whether there was one. The empty-queue test is
    /// inlined into the callers (a mutex unlock, a pipe transfer); the wake-up itself is not.
    #[inline]
    pub fn wake_one(&self) -> bool {
        if self.nobody_waiting() {
            return false;
        }
        self.wake_one_slow()
    }

    #[inline(never)]
    fn wake_one_slow(&self) -> bool {
        loop {
            let Some(thread) = self.pop() else {
                return false;
            };
            if super::wake_thread(&thread) {
                return true;
            }
        }
    }

    /// Takes the longest-waiting thread out of the queue.
    fn pop(&self) -> Option<Arc<Thread>> {
        let mut waiters = self.waiters.lock();
        let id = waiters.pop_front();
        self.queued.store(waiters.len(), Ordering::Relaxed);
        id
    }

    /// Wakes every thread waiting now (not those that start waiting meanwhile); returns how
    /// many.
    #[inline]
    pub fn wake_all(&self) -> usize {
        if self.nobody_waiting() {
            return 0;
        }
        self.wake_all_slow()
    }

    #[inline(never)]
    fn wake_all_slow(&self) -> usize {
        // One at a time (the lock is a leaf: no wake-up under it), as many as were queued at
        // the start; the queue keeps its storage, so waiting allocates nothing next time. A
        // thread that left and came back meanwhile is woken once more: it re-checks its
        // condition.
        // The count and the first waiter in one hold of the lock (one waiter is the usual case).
        let (count, first) = {
            let mut waiters = self.waiters.lock();
            let count = waiters.len();
            let first = waiters.pop_front();
            self.queued.store(waiters.len(), Ordering::Relaxed);
            (count, first)
        };
        let mut woken = 0;
        let mut next = first;
        for left in (0..count).rev() {
            let Some(thread) = next.take() else { break };
            if super::wake_thread(&thread) {
                woken += 1;
            }
            if left > 0 {
                next = self.pop();
            }
        }
        woken
    }
}

/// What ends a wait now, if anything, in this order: its condition (`ready`), the deadline (ns
/// since boot), a signal (`interrupted()`).
#[inline]
fn wait_outcome(ready: bool, deadline: Option<u64>, interrupted: &impl Fn() -> bool) -> Option<WaitOutcome> {
    if ready {
        Some(WaitOutcome::Ready)
    } else if deadline.is_some_and(|d| crate::time::since_boot_ns() >= d) {
        Some(WaitOutcome::TimedOut)
    } else if interrupted() {
        Some(WaitOutcome::Interrupted)
    } else {
        None
    }
}

/// Blocks the current thread `me` until `woken()` holds, `interrupted()` holds (a signal: its
/// sender wakes the thread) or the optional deadline (ns since boot) passes — a wait whose
/// waiters are kept by the caller's own structure (the futex table) instead of a [`WaitQueue`].
/// The protocol is the queue's: the waiter is known to its wakers (in the caller's structure)
/// before it calls this; a waker makes `woken()` true, then calls [`unpark`]. The thread marks
/// itself blocked before it checks, so one side sees the other. Spurious wake-ups are fine: the
/// conditions are checked again.
#[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
pub fn park_interruptible(me: &Thread, woken: impl Fn() -> bool, interrupted: impl Fn() -> bool, deadline: Option<u64>) -> WaitOutcome {
    crate::lockdep::might_sleep();
    let check = || wait_outcome(woken(), deadline, &interrupted);
    loop {
        if let Some(outcome) = check() {
            return outcome;
        }
        me.set_state(ThreadState::Blocked);
        // Blocked before the conditions are read (see above and `WaitQueue::prepare`).
        fence(Ordering::SeqCst);
        if let Some(deadline) = deadline {
            super::add_timeout(deadline, me.id);
        }
        let outcome = check();
        match outcome {
            Some(_) => super::cancel_block(me, ThreadState::Blocked),
            None => super::schedule(),
        }
        if let Some(deadline) = deadline {
            super::cancel_timeout(deadline, me.id);
        }
        if let Some(outcome) = outcome {
            return outcome;
        }
    }
}

/// Wakes a thread blocked in [`park_interruptible`] (after making its `woken()` true). Harmless
/// if it is not blocked, or blocked in another wait (which re-checks its condition).
pub fn unpark(thread: &Arc<Thread>) {
    super::wake_thread(thread);
}
