//! ITIMER_REAL, the per-process real-time interval timer behind `setitimer`, `getitimer` and
//! `alarm`: when it expires the process gets SIGALRM (si_code SI_KERNEL) and, with an interval,
//! the timer is armed again. One kernel thread ("itimer") sleeps until the earliest expiry of
//! any process; arming a timer that expires sooner wakes it.
//!
//! The timers live in one table keyed by pid (at most one per process, so the table is bounded
//! by the process count); a process leaving (`exit::exit_process`) drops its entry, so a reused
//! pid never inherits an alarm. execve keeps the timer and fork does not copy it, as in Linux.
//!
//! Lock rule: `TIMERS` is a leaf (the heap under it); signals are sent after it is released.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicBool, Ordering};

use exo_abi::signal::{SigInfo, SIGALRM, SI_KERNEL};

use super::{Pid, Process};
use crate::sched::wait::WaitQueue;
use crate::spinlock::SpinLock;

/// One armed timer.
struct Timer {
    /// Expiry, ns since boot.
    deadline: u64,
    /// Period after an expiry (0: one shot).
    interval: u64,
    process: Weak<Process>,
}

struct Timers {
    by_pid: BTreeMap<Pid, Timer>,
    /// (deadline, pid) of every armed timer, earliest first.
    queue: BTreeSet<(u64, Pid)>,
}

static TIMERS: SpinLock<Timers> = SpinLock::new(Timers { by_pid: BTreeMap::new(), queue: BTreeSet::new() });
static STARTED: AtomicBool = AtomicBool::new(false);
static KICKED: AtomicBool = AtomicBool::new(false);
static WAKE: WaitQueue = WaitQueue::new();

/// A timer's state as getitimer reports it: time to the next expiry and the period, in ns
/// (0, 0 when disarmed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RealTimer {
    pub remaining: u64,
    pub interval: u64,
}

/// The process's timer now.
pub fn get(pid: Pid) -> RealTimer {
    let now = crate::time::since_boot_ns();
    match TIMERS.lock().by_pid.get(&pid) {
        // An expiry being delivered right now reads as 1 µs to go, never as disarmed.
        Some(t) => RealTimer { remaining: t.deadline.saturating_sub(now).max(1000), interval: t.interval },
        None => RealTimer::default(),
    }
}

/// Arms (value > 0) or disarms (value == 0) the process's timer; returns the previous state.
/// ENOMEM when the timer thread cannot be started.
pub fn set(process: &Arc<Process>, value_ns: u64, interval_ns: u64) -> exo_abi::KResult<RealTimer> {
    if value_ns > 0 {
        start_thread()?;
    }
    let now = crate::time::since_boot_ns();
    let mut timers = TIMERS.lock();
    let mut old = RealTimer::default();
    if let Some(t) = timers.by_pid.remove(&process.pid) {
        timers.queue.remove(&(t.deadline, process.pid));
        old = RealTimer { remaining: t.deadline.saturating_sub(now).max(1000), interval: t.interval };
    }
    if value_ns == 0 {
        return Ok(old);
    }
    let deadline = now.saturating_add(value_ns);
    let sooner = timers.queue.first().is_none_or(|&(first, _)| deadline < first);
    timers.queue.insert((deadline, process.pid));
    timers.by_pid.insert(process.pid, Timer { deadline, interval: interval_ns, process: Arc::downgrade(process) });
    drop(timers);
    if sooner {
        KICKED.store(true, Ordering::SeqCst);
        WAKE.wake_all();
    }
    Ok(old)
}

/// Drops the timer of a process that is leaving.
pub fn forget(pid: Pid) {
    let mut timers = TIMERS.lock();
    if let Some(t) = timers.by_pid.remove(&pid) {
        timers.queue.remove(&(t.deadline, pid));
    }
}

fn start_thread() -> exo_abi::KResult<()> {
    if STARTED.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    if crate::sched::spawn("itimer", || loop {
        KICKED.store(false, Ordering::SeqCst);
        let next = fire_due();
        let now = crate::time::since_boot_ns();
        if next > now {
            WAKE.wait_interruptible(|| KICKED.load(Ordering::SeqCst), || false, (next != u64::MAX).then_some(next));
        }
    })
    .is_err()
    {
        STARTED.store(false, Ordering::SeqCst);
        return Err(exo_abi::Errno::ENOMEM);
    }
    Ok(())
}

/// Sends SIGALRM for every timer due now, re-arms the periodic ones, and returns the next
/// expiry (u64::MAX: none).
fn fire_due() -> u64 {
    loop {
        let now = crate::time::since_boot_ns();
        let mut timers = TIMERS.lock();
        let Some(&(deadline, pid)) = timers.queue.first() else { return u64::MAX };
        if deadline > now {
            return deadline;
        }
        timers.queue.remove(&(deadline, pid));
        let Some(timer) = timers.by_pid.remove(&pid) else { continue };
        let process = timer.process.clone();
        if timer.interval > 0 {
            // The next period from the missed deadline, or from now if several were missed
            // (Linux counts overruns; SIGALRM is not queued twice anyway).
            let next = match deadline.checked_add(timer.interval) {
                Some(d) if d > now => d,
                _ => now.saturating_add(timer.interval),
            };
            timers.queue.insert((next, pid));
            timers.by_pid.insert(pid, Timer { deadline: next, ..timer });
        }
        drop(timers);
        if let Some(process) = process.upgrade() {
            super::signal::send_to_process(&process, SIGALRM, SigInfo::new(SIGALRM, SI_KERNEL));
        }
    }
}
