//! Wait queues: threads block until a condition holds; wakers wake one or all. No wake-up is
//! lost: the condition is checked, and the thread queued and marked blocked, under the queue's
//! lock with interrupts off, and a waker changes the condition before taking that lock.

use alloc::collections::VecDeque;

use crate::spinlock::IrqSpinLock;

use super::thread::{ThreadId, ThreadState};

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
    pub fn wait_until(&self, mut condition: impl FnMut() -> bool) {
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
    pub fn wait_until_timeout(&self, mut condition: impl FnMut() -> bool, timeout_ns: u64) -> bool {
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
