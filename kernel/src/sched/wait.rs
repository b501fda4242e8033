//! Wait queues: threads block until a condition holds; wakers wake one or all. No wake-up is
//! lost: the condition is checked, and the thread queued and marked blocked, under the queue's
//! lock with interrupts off, and a waker changes the condition before taking that lock.

use alloc::collections::VecDeque;

use crate::spinlock::IrqSpinLock;

use super::thread::{ThreadId, ThreadState};

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

/// A queue of blocked threads.
pub struct WaitQueue {
    waiters: IrqSpinLock<VecDeque<ThreadId>>,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    pub const fn new() -> WaitQueue {
        WaitQueue { waiters: IrqSpinLock::new(VecDeque::new()) }
    }

    /// Blocks the current thread until `condition()` returns true. `condition` runs with the
    /// queue locked and interrupts off: keep it short and lock-free (or take only locks that are
    /// never held while calling `wake_*` on this queue).
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub fn wait_until(&self, mut condition: impl FnMut() -> bool) {
        crate::lockdep::might_sleep();
        loop {
            {
                // The guard keeps interrupts off from the check to the queuing.
                let mut waiters = self.waiters.lock();
                if condition() {
                    return;
                }
                let current = super::current();
                current.set_state(ThreadState::Blocked);
                waiters.push_back(current.id);
            }
            super::schedule();
        }
    }

    /// Like [`wait_until`](Self::wait_until), but gives up `timeout_ns` after the call: returns
    /// whether the condition became true (false: timed out).
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub fn wait_until_timeout(&self, mut condition: impl FnMut() -> bool, timeout_ns: u64) -> bool {
        crate::lockdep::might_sleep();
        let deadline = crate::time::since_boot_ns().saturating_add(timeout_ns);
        let me = super::current();
        loop {
            {
                let mut waiters = self.waiters.lock();
                if condition() {
                    return true;
                }
                if crate::time::since_boot_ns() >= deadline {
                    return false;
                }
                me.set_state(ThreadState::Blocked);
                waiters.push_back(me.id);
                super::add_timeout(deadline, me.id);
            }
            super::schedule();
            // Woken by a waker or by the deadline: drop whichever registration is left.
            super::cancel_timeout(deadline, me.id);
            self.waiters.lock().retain(|&id| id != me.id);
        }
    }

    /// Blocks until `condition()` holds, `interrupted()` holds (a signal is pending for the
    /// thread: whoever makes it true must then `sched::wake` the thread) or the optional
    /// deadline (ns since boot) passes. Both closures run with the queue locked and interrupts
    /// off, as for [`wait_until`](Self::wait_until).
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub fn wait_interruptible(
        &self,
        mut condition: impl FnMut() -> bool,
        interrupted: impl Fn() -> bool,
        deadline: Option<u64>,
    ) -> WaitOutcome {
        crate::lockdep::might_sleep();
        let me = super::current();
        loop {
            let outcome = {
                let mut waiters = self.waiters.lock();
                if condition() {
                    return WaitOutcome::Ready;
                }
                if deadline.is_some_and(|d| crate::time::since_boot_ns() >= d) {
                    return WaitOutcome::TimedOut;
                }
                me.set_state(ThreadState::Blocked);
                waiters.push_back(me.id);
                if let Some(deadline) = deadline {
                    super::add_timeout(deadline, me.id);
                }
                // Blocked before looking at the signal state: a sender sets that state first
                // and then wakes, so one of the two sides sees the other.
                core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
                if interrupted() {
                    Some(WaitOutcome::Interrupted)
                } else {
                    None
                }
            };
            match outcome {
                // Not woken yet: just stop blocking. Already woken: it is queued, let it run.
                Some(_) if me.transition(ThreadState::Blocked, ThreadState::Running) => {}
                _ => super::schedule(),
            }
            if let Some(deadline) = deadline {
                super::cancel_timeout(deadline, me.id);
            }
            self.waiters.lock().retain(|&id| id != me.id);
            if let Some(outcome) = outcome {
                return outcome;
            }
        }
    }

    /// Wakes the longest-waiting thread; returns whether there was one.
    pub fn wake_one(&self) -> bool {
        loop {
            let Some(id) = self.waiters.lock().pop_front() else {
                return false;
            };
            if super::wake(id) {
                return true;
            }
        }
    }

    /// Wakes every thread waiting now (not those that start waiting meanwhile); returns how
    /// many.
    pub fn wake_all(&self) -> usize {
        let waiting = core::mem::take(&mut *self.waiters.lock());
        waiting.into_iter().filter(|&id| super::wake(id)).count()
    }
}
