//! Sleeping: the timer queue of sleeping threads and wait deadlines, `sleep_ns`, interruptible
//! sleeps, and the tick's wake-up of the threads whose deadline passed.

use alloc::collections::BTreeSet;
use core::sync::atomic::Ordering;

use super::*;
use crate::spinlock::IrqSpinLock;

/// The timer queue: sleeping threads and wait deadlines, by (deadline ns, id).
static SLEEPERS: IrqSpinLock<BTreeSet<(u64, ThreadId)>> = IrqSpinLock::new(BTreeSet::new());

/// Wakes thread `id` at `deadline` (ns since boot) if it is blocked then (wait timeouts).
pub(crate) fn add_timeout(deadline: u64, id: ThreadId) {
    SLEEPERS.lock().insert((deadline, id));
}

/// Withdraws a timeout registered with [`add_timeout`].
pub(crate) fn cancel_timeout(deadline: u64, id: ThreadId) {
    SLEEPERS.lock().remove(&(deadline, id));
}

/// Blocks the current thread for at least `ns` nanoseconds.
#[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
pub fn sleep_ns(ns: u64) {
    let deadline = time::since_boot_ns().saturating_add(ns);
    sleep_until_interruptible(deadline, || false);
}

/// Sleeps until `deadline` (ns since boot) or until `interrupted()` holds (checked, with
/// interrupts on, after the thread is marked asleep; whoever makes it true wakes the thread).
/// Returns false when interrupted before the deadline.
#[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
pub fn sleep_until_interruptible(deadline: u64, interrupted: impl Fn() -> bool) -> bool {
    crate::lockdep::might_sleep();
    let me = current();
    loop {
        if time::since_boot_ns() >= deadline {
            return true;
        }
        arch::without_interrupts(|| {
            me.wake_at_ns.store(deadline, Ordering::Relaxed);
            me.set_state(ThreadState::Sleeping);
            SLEEPERS.lock().insert((deadline, me.id));
        });
        // Asleep before looking at the signal state (see `WaitQueue::prepare`).
        core::sync::atomic::fence(Ordering::SeqCst);
        let was_interrupted = interrupted();
        if was_interrupted {
            cancel_block(&me, ThreadState::Sleeping);
        } else {
            // Woken by the tick, a signal, or made runnable by a preemption: the loop decides.
            while me.state() == ThreadState::Sleeping {
                schedule();
            }
            cancel_block(&me, ThreadState::Sleeping);
        }
        SLEEPERS.lock().remove(&(deadline, me.id));
        if was_interrupted || interrupted() {
            return time::since_boot_ns() >= deadline;
        }
    }
}

/// How late the timer woke the current thread from its last sleep: ns from the deadline to the
/// tick that made it runnable.
#[cfg(feature = "ktest")]
pub fn last_wake_delay_ns() -> u64 {
    let me = current();
    me.woken_at_ns.load(Ordering::Relaxed).saturating_sub(me.wake_at_ns.load(Ordering::Relaxed))
}

/// Wakes every thread whose deadline is at or before `now` (the timer tick).
pub(super) fn wake_due(now: u64) {
    loop {
        let due = {
            let mut sleepers = SLEEPERS.lock();
            match sleepers.first().copied() {
                Some((deadline, id)) if deadline <= now => {
                    sleepers.pop_first();
                    Some(id)
                }
                _ => None,
            }
        };
        match due {
            Some(id) => {
                if let Some(thread) = lookup(id) {
                    thread.woken_at_ns.store(now, Ordering::Relaxed);
                }
                wake(id);
            }
            None => break,
        }
    }
}
