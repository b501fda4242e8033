//! Time syscalls: clock_gettime, clock_getres, gettimeofday, time, nanosleep,
//! clock_nanosleep, times, and the real-time interval timer (setitimer, getitimer, alarm:
//! `process::itimer`).

use exo_abi::time::*;
use exo_abi::types::{Itimerval, Timespec, Timeval, Tms};
use exo_abi::{nr, Errno, KResult};

use super::args::typed;
use super::{task, Handler};
use crate::uaccess::UserPtr;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: REALTIME(_COARSE), MONOTONIC(_RAW/_COARSE), BOOTTIME, TAI, PROCESS_CPUTIME_ID, THREAD_CPUTIME_ID; all but the CPU-time clocks also in the vDSO ([vdso.md](vdso.md))
    t[nr::CLOCK_GETTIME] = typed!(sys_clock_gettime);
    // full: 1 ns (coarse clocks: the tick); also in the vDSO
    t[nr::CLOCK_GETRES] = typed!(sys_clock_getres);
    // full: also in the vDSO ([vdso.md](vdso.md))
    t[nr::GETTIMEOFDAY] = typed!(sys_gettimeofday);
    // full: also in the vDSO
    t[nr::TIME] = typed!(sys_time);
    // full: EINTR with the time left
    t[nr::NANOSLEEP] = typed!(sys_nanosleep);
    // full: relative and TIMER_ABSTIME
    t[nr::CLOCK_NANOSLEEP] = typed!(sys_clock_nanosleep);
    // full: clock ticks at USER_HZ 100
    t[nr::TIMES] = typed!(sys_times);
    // full: CLOCK_REALTIME, root only
    t[nr::CLOCK_SETTIME] = typed!(sys_clock_settime);
    // full: ITIMER_REAL: SIGALRM (SI_KERNEL), periodic re-arm, old value; NULL new value disarms; EINVAL for a bad timeval; kept over execve, not over fork
    t[nr::SETITIMER] = typed!(sys_setitimer);
    // partial: ITIMER_REAL; ITIMER_VIRTUAL/ITIMER_PROF EINVAL (no per-process user/system time split yet)
    t[nr::GETITIMER] = typed!(sys_getitimer);
    // full: one-shot ITIMER_REAL; returns the seconds left, rounded, at least 1
    t[nr::ALARM] = typed!(sys_alarm);
}

/// A timer's state as `struct itimerval`.
fn itimerval(t: crate::process::itimer::RealTimer) -> Itimerval {
    Itimerval { it_interval: Timeval::from_ns(t.interval), it_value: Timeval::from_ns(t.remaining) }
}

/// Only ITIMER_REAL exists: ITIMER_VIRTUAL and ITIMER_PROF need per-process user/system CPU
/// time, which the kernel does not split yet (EINVAL, as for an unknown timer).
fn real_timer_only(which: i32) -> KResult<()> {
    if which == ITIMER_REAL {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// A timeval of setitimer in ns (EINVAL for a negative or out-of-range field). Linux rounds
/// a non-zero value below the timer's resolution up; ns already keeps every microsecond.
fn timeval_ns(tv: &Timeval) -> KResult<u64> {
    if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno::EINVAL);
    }
    Ok(tv.to_ns().unwrap_or(u64::MAX))
}

fn sys_setitimer(which: i32, new: UserPtr<Itimerval>, old: UserPtr<Itimerval>) -> KResult<u64> {
    real_timer_only(which)?;
    // A null new value disarms, as Linux still accepts.
    let new = new.read_opt()?.unwrap_or_default();
    let (value, interval) = (timeval_ns(&new.it_value)?, timeval_ns(&new.it_interval)?);
    let me = task()?;
    if !old.is_null() {
        // Fault before changing anything.
        old.write(&itimerval(crate::process::itimer::get(me.process.pid)))?;
    }
    let previous = crate::process::itimer::set(&me.process, value, interval)?;
    old.write_opt(&itimerval(previous))?;
    Ok(0)
}

fn sys_getitimer(which: i32, value: UserPtr<Itimerval>) -> KResult<u64> {
    real_timer_only(which)?;
    let pid = task()?.process.pid;
    value.write(&itimerval(crate::process::itimer::get(pid)))?;
    Ok(0)
}

/// alarm(seconds): a one-shot ITIMER_REAL; returns the seconds left of the previous one,
/// rounded to the nearest second and at least 1 when one was armed (Linux's rule).
fn sys_alarm(seconds: u32) -> KResult<u64> {
    let me = task()?;
    let previous = crate::process::itimer::set(&me.process, u64::from(seconds) * 1_000_000_000, 0)?;
    if previous.remaining == 0 {
        return Ok(0);
    }
    Ok(((previous.remaining + 500_000_000) / 1_000_000_000).max(1))
}

fn sys_clock_settime(clock: i32, time: UserPtr<Timespec>) -> KResult<u64> {
    clock_ns(clock)?;
    let ns = read_timespec(time)?;
    if clock != CLOCK_REALTIME {
        return Err(Errno::EINVAL);
    }
    if task()?.process.creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    crate::time::set_realtime_ns(ns);
    Ok(0)
}

/// The value of clock `id` in ns.
fn clock_ns(id: i32) -> KResult<u64> {
    match id {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_TAI | CLOCK_REALTIME_ALARM => Ok(crate::time::realtime_ns()),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME | CLOCK_BOOTTIME_ALARM => {
            Ok(crate::time::since_boot_ns())
        }
        CLOCK_PROCESS_CPUTIME_ID => Ok(task()?.process.cpu_time_ns()),
        CLOCK_THREAD_CPUTIME_ID => Ok(crate::sched::current().runtime_ns()),
        _ => Err(Errno::EINVAL),
    }
}

fn sys_clock_gettime(clock: i32, time: UserPtr<Timespec>) -> KResult<u64> {
    let ns = clock_ns(clock)?;
    time.write(&Timespec::from_ns(ns))?;
    Ok(0)
}

fn sys_clock_getres(id: i32, resolution: UserPtr<Timespec>) -> KResult<u64> {
    clock_ns(id)?;
    let res = match id {
        CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => crate::sched::tick_ns().max(1),
        _ => 1,
    };
    resolution.write_opt(&Timespec::from_ns(res))?;
    Ok(0)
}

fn sys_gettimeofday(time: UserPtr<Timeval>, zone: UserPtr<exo_abi::types::Timezone>) -> KResult<u64> {
    let ns = crate::time::realtime_ns();
    time.write_opt(&Timeval::from_ns(ns))?;
    zone.write_opt(&exo_abi::types::Timezone::default())?;
    Ok(0)
}

fn sys_time(out: UserPtr<i64>) -> KResult<u64> {
    let secs = crate::time::realtime_ns() / 1_000_000_000;
    out.write_opt(&(secs as i64))?;
    Ok(secs)
}

/// Sleeps until `deadline` (ns since boot). On a signal, writes the time left to `remain`
/// (when given) and returns EINTR (restartable for clock_nanosleep's absolute form).
fn sleep_until(deadline: u64, remain: UserPtr<Timespec>) -> KResult<u64> {
    let me = task()?;
    if crate::sched::sleep_until_interruptible(deadline, || me.interrupted()) {
        return Ok(0);
    }
    let left = deadline.saturating_sub(crate::time::since_boot_ns());
    remain.write_opt(&Timespec::from_ns(left))?;
    Err(Errno::EINTR)
}

fn read_timespec(spec: UserPtr<Timespec>) -> KResult<u64> {
    let spec = spec.read()?;
    spec.to_ns().ok_or(Errno::EINVAL)
}

fn sys_nanosleep(request: UserPtr<Timespec>, remain: UserPtr<Timespec>) -> KResult<u64> {
    let ns = read_timespec(request)?;
    sleep_until(crate::time::since_boot_ns().saturating_add(ns), remain)
}

fn sys_clock_nanosleep(clock: i32, flags: u32, request: UserPtr<Timespec>, remain: UserPtr<Timespec>) -> KResult<u64> {
    if matches!(clock, CLOCK_THREAD_CPUTIME_ID) {
        return Err(Errno::EOPNOTSUPP);
    }
    let now = clock_ns(clock)?;
    let ns = read_timespec(request)?;
    let absolute = flags & TIMER_ABSTIME != 0;
    let delay = if absolute { ns.saturating_sub(now) } else { ns };
    match sleep_until(crate::time::since_boot_ns().saturating_add(delay), if absolute { UserPtr::null() } else { remain }) {
        Err(Errno::EINTR) if absolute => Err(Errno::ERESTARTNOHAND),
        other => other,
    }
}

/// Clock ticks (USER_HZ = 100 per second) for times().
fn ticks(ns: u64) -> i64 {
    (ns / 10_000_000) as i64
}

fn sys_times(out: UserPtr<Tms>) -> KResult<u64> {
    let me = task()?;
    let children = me.process.state.lock().children_time_ns;
    let tms = Tms { tms_utime: ticks(me.process.cpu_time_ns()), tms_stime: 0, tms_cutime: ticks(children.0), tms_cstime: ticks(children.1) };
    out.write_opt(&tms)?;
    Ok(ticks(crate::time::since_boot_ns()) as u64 + 1)
}
