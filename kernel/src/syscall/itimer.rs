//! The real-time interval timer of a process: `alarm`, `setitimer(ITIMER_REAL)` and
//! `getitimer(ITIMER_REAL)` (busybox `ping` paces its echoes with them). Each process has at
//! most one armed timer: its deadline and reload interval sit in one table keyed by the
//! process (a `Weak` reference: a process that exits drops out, and the key's address cannot
//! be reused while the entry holds it). One kernel thread, started at the first use, sleeps
//! until the earliest deadline and sends SIGALRM (`SI_KERNEL`); an interval reloads the
//! timer. Timers are not inherited by fork (the child is another key) and survive exec, as on
//! Linux. ITIMER_VIRTUAL and ITIMER_PROF are not kept (EINVAL).

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use exo_abi::signal::{SigInfo, SIGALRM, SI_KERNEL};
use exo_abi::time::ITIMER_REAL;
use exo_abi::types::{Itimerval, Timeval};
use exo_abi::{nr, Errno, KResult};

use super::args::typed;
use super::Handler;
use crate::process::Process;
use crate::sched::wait::WaitQueue;
use crate::spinlock::SpinLock;
use crate::uaccess::UserPtr;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    t[nr::ALARM] = typed!(sys_alarm);
    t[nr::SETITIMER] = typed!(sys_setitimer);
    t[nr::GETITIMER] = typed!(sys_getitimer);
}

struct Armed {
    process: Weak<Process>,
    deadline: u64,
    interval: u64,
}

/// Armed timers, one per process at most (so the process table bounds them), keyed by the
/// address of its `Process`; a short list searched linearly.
static TIMERS: SpinLock<Vec<(usize, Armed)>> = SpinLock::new(Vec::new());
static CHANGED: AtomicBool = AtomicBool::new(false);
static WAKE: WaitQueue = WaitQueue::new();
static THREAD: spin::Once<bool> = spin::Once::new();

fn key(p: &Arc<Process>) -> usize {
    Arc::as_ptr(p) as usize
}

fn now() -> u64 {
    crate::time::since_boot_ns()
}

/// The calling process's timer as (time left, interval) in ns.
fn current(p: &Arc<Process>) -> (u64, u64) {
    let t = now();
    TIMERS.lock().iter().find(|(k, _)| *k == key(p)).map_or((0, 0), |(_, a)| (a.deadline.saturating_sub(t).max(1), a.interval))
}

/// Arms (value > 0) or disarms the calling process's timer; returns the old (left, interval).
fn arm(p: &Arc<Process>, value: u64, interval: u64) -> KResult<(u64, u64)> {
    let old = current(p);
    {
        let mut timers = TIMERS.lock();
        let slot = timers.iter().position(|(k, _)| *k == key(p));
        let armed = Armed { process: Arc::downgrade(p), deadline: now().saturating_add(value), interval };
        match (slot, value) {
            (Some(i), 0) => {
                timers.swap_remove(i);
            }
            (None, 0) => {}
            (Some(i), _) => timers[i].1 = armed,
            (None, _) => {
                timers.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                timers.push((key(p), armed));
            }
        }
    }
    if value != 0 {
        start_thread()?;
    }
    CHANGED.store(true, Ordering::SeqCst);
    WAKE.wake_all();
    Ok(old)
}

fn start_thread() -> KResult<()> {
    let ok = THREAD.call_once(|| crate::sched::spawn("itimer", run).is_ok());
    if *ok {
        Ok(())
    } else {
        Err(Errno::EAGAIN)
    }
}

/// The timer thread: fires what is due, sleeps until the next deadline or a change.
fn run() -> i64 {
    loop {
        CHANGED.store(false, Ordering::SeqCst);
        let t = now();
        let mut due: Vec<Arc<Process>> = Vec::new();
        let mut next = u64::MAX;
        {
            let mut timers = TIMERS.lock();
            timers.retain_mut(|(_, a)| {
                if a.deadline > t {
                    next = next.min(a.deadline);
                    return true;
                }
                let Some(p) = a.process.upgrade() else { return false };
                if due.try_reserve(1).is_ok() {
                    due.push(p);
                }
                if a.interval == 0 {
                    return false;
                }
                // Reload; a timer that fell behind fires once and catches up.
                a.deadline = a.deadline.saturating_add(a.interval).max(t.saturating_add(1));
                next = next.min(a.deadline);
                true
            });
        }
        for p in due {
            crate::process::signal::send_to_process(&p, SIGALRM, SigInfo::new(SIGALRM, SI_KERNEL));
        }
        let deadline = if next == u64::MAX { None } else { Some(next) };
        WAKE.wait_interruptible(|| CHANGED.load(Ordering::SeqCst), || false, deadline);
    }
}

fn me() -> KResult<Arc<Process>> {
    Ok(crate::process::current().ok_or(Errno::ESRCH)?.process.clone())
}

fn to_timeval(ns: u64) -> Timeval {
    Timeval::from_ns(ns)
}

fn sys_alarm(seconds: u32) -> KResult<u64> {
    let p = me()?;
    let (left, _) = arm(&p, u64::from(seconds) * 1_000_000_000, 0)?;
    // Linux rounds the time left to the nearest second, and never reports 0 for an armed one.
    let secs = (left + 500_000_000) / 1_000_000_000;
    Ok(if left > 0 && secs == 0 { 1 } else { secs })
}

fn sys_setitimer(which: i32, new: UserPtr<Itimerval>, old: UserPtr<Itimerval>) -> KResult<u64> {
    if which != ITIMER_REAL {
        return Err(Errno::EINVAL);
    }
    // A null new value disarms (Linux keeps this old behaviour).
    let value = if new.is_null() { Itimerval::default() } else { new.read()? };
    let v = value.it_value.to_ns().ok_or(Errno::EINVAL)?;
    let i = value.it_interval.to_ns().ok_or(Errno::EINVAL)?;
    let p = me()?;
    let (left, interval) = arm(&p, v, i)?;
    if !old.is_null() {
        old.write(&Itimerval { it_interval: to_timeval(interval), it_value: to_timeval(left) })?;
    }
    Ok(0)
}

fn sys_getitimer(which: i32, cur: UserPtr<Itimerval>) -> KResult<u64> {
    if which != ITIMER_REAL {
        return Err(Errno::EINVAL);
    }
    let (left, interval) = current(&me()?);
    cur.write(&Itimerval { it_interval: to_timeval(interval), it_value: to_timeval(left) })?;
    Ok(0)
}
