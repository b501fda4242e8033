//! Kernel deadline timers with callbacks, for the timers user space creates (POSIX timers,
//! timerfd): one kernel thread ("ktimer") sleeps until the earliest deadline (ns since boot)
//! and calls the expired timers' [`Expire::expire`] without holding the queue's lock; a timer
//! re-arms itself from there ([`arm`]) when it is periodic.
//!
//! Each timer has a key from [`new_key`]; arming a key again replaces its deadline, so a
//! timer is queued at most once and the queue is bounded by the timers that exist (each
//! bounded by its owner's limit). The queue holds a `Weak`: a dropped timer simply vanishes.
//!
//! Lock rule: `QUEUE` is a leaf; an owner may hold its own lock while it arms or cancels.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use exo_abi::{Errno, KResult};

use crate::sched::wait::WaitQueue;
use crate::spinlock::SpinLock;

/// Something that happens at a deadline.
pub trait Expire: Send + Sync {
    /// Called by the timer thread once the deadline armed for this key has passed (`now`,
    /// ns since boot). The timer checks its own state (it may have been re-armed or
    /// disarmed meanwhile) and re-arms itself with [`arm`] if it is periodic.
    fn expire(&self, now: u64);
}

struct Queue {
    by_key: BTreeMap<u64, (u64, Weak<dyn Expire>)>,
    order: BTreeSet<(u64, u64)>,
}

static QUEUE: SpinLock<Queue> = SpinLock::new(Queue { by_key: BTreeMap::new(), order: BTreeSet::new() });
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);
static STARTED: AtomicBool = AtomicBool::new(false);
static KICKED: AtomicBool = AtomicBool::new(false);
static WAKE: WaitQueue = WaitQueue::new();

/// A fresh timer key.
pub fn new_key() -> u64 {
    NEXT_KEY.fetch_add(1, Ordering::Relaxed)
}

/// Queues (or moves) timer `key` to expire at `deadline` (ns since boot). ENOMEM when the
/// timer thread cannot be started.
pub fn arm(key: u64, deadline: u64, timer: Weak<dyn Expire>) -> KResult<()> {
    start_thread()?;
    let mut queue = QUEUE.lock();
    if let Some((old, _)) = queue.by_key.remove(&key) {
        queue.order.remove(&(old, key));
    }
    let sooner = queue.order.first().is_none_or(|&(first, _)| deadline < first);
    queue.order.insert((deadline, key));
    queue.by_key.insert(key, (deadline, timer));
    drop(queue);
    if sooner {
        KICKED.store(true, Ordering::SeqCst);
        WAKE.wake_all();
    }
    Ok(())
}

/// Bumped whenever CLOCK_REALTIME is set (clock_settime, settimeofday, adjtimex).
static CLOCK_SET_GEN: AtomicU64 = AtomicU64::new(0);

/// How many times the wall clock was set (timerfd's TFD_TIMER_CANCEL_ON_SET compares it).
pub fn clock_set_generation() -> u64 {
    CLOCK_SET_GEN.load(Ordering::SeqCst)
}

/// The wall clock was set: every queued timer is run at once so that the ones on
/// CLOCK_REALTIME re-compute their monotonic deadline (and cancelable timerfds see the
/// change); the others re-arm themselves unchanged.
pub fn clock_was_set() {
    CLOCK_SET_GEN.fetch_add(1, Ordering::SeqCst);
    let mut queue = QUEUE.lock();
    let keys: alloc::vec::Vec<(u64, u64)> = queue.order.iter().copied().collect();
    for (deadline, key) in keys {
        queue.order.remove(&(deadline, key));
        queue.order.insert((0, key));
        if let Some(entry) = queue.by_key.get_mut(&key) {
            entry.0 = 0;
        }
    }
    drop(queue);
    KICKED.store(true, Ordering::SeqCst);
    WAKE.wake_all();
}

/// Takes timer `key` out of the queue (if queued).
pub fn cancel(key: u64) {
    let mut queue = QUEUE.lock();
    if let Some((deadline, _)) = queue.by_key.remove(&key) {
        queue.order.remove(&(deadline, key));
    }
}

/// Starts the timer thread if it is not running (ENOMEM if it cannot be): owners call it before
/// taking their own lock, so that arming under that lock never has to create a thread.
pub fn start_thread() -> KResult<()> {
    if STARTED.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    let started = crate::sched::spawn("ktimer", || loop {
        KICKED.store(false, Ordering::SeqCst);
        let next = fire_due();
        if next > crate::time::since_boot_ns() {
            WAKE.wait_interruptible(|| KICKED.load(Ordering::SeqCst), || false, (next != u64::MAX).then_some(next));
        }
    });
    if started.is_err() {
        STARTED.store(false, Ordering::SeqCst);
        return Err(Errno::ENOMEM);
    }
    Ok(())
}

/// Runs every timer due now; returns the next deadline (u64::MAX: none).
fn fire_due() -> u64 {
    loop {
        let now = crate::time::since_boot_ns();
        let mut queue = QUEUE.lock();
        let Some(&(deadline, key)) = queue.order.first() else { return u64::MAX };
        if deadline > now {
            return deadline;
        }
        queue.order.remove(&(deadline, key));
        let timer = queue.by_key.remove(&key).and_then(|(_, weak)| weak.upgrade());
        drop(queue);
        if let Some(timer) = timer {
            timer.expire(now);
        }
    }
}

/// The next deadline of a periodic timer that was due at `deadline` with period `interval`,
/// now `now`: the first period boundary after `now`, and how many periods were missed
/// (Linux's overrun count) besides the one that fired.
pub fn next_period(deadline: u64, interval: u64, now: u64) -> (u64, u64) {
    if interval == 0 || now < deadline {
        return (deadline, 0);
    }
    let missed = (now - deadline) / interval;
    let next = deadline.saturating_add((missed + 1).saturating_mul(interval));
    (next, missed)
}

/// Keeps the `Arc` type of an owner's timer as the queue wants it.
pub fn weak_of<T: Expire + 'static>(timer: &Arc<T>) -> Weak<dyn Expire> {
    let weak: Weak<T> = Arc::downgrade(timer);
    weak
}
