//! Time syscalls: clock_gettime, clock_getres, gettimeofday, time, nanosleep,
//! clock_nanosleep, times.

use exo_abi::time::*;
use exo_abi::types::{Timespec, Timeval, Tms};
use exo_abi::{nr, Errno, KResult};

use super::{args, int, task, Handler};
use crate::arch::TrapFrame;
use crate::uaccess;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    t[nr::CLOCK_GETTIME] = Some(sys_clock_gettime);
    t[nr::CLOCK_GETRES] = Some(sys_clock_getres);
    t[nr::GETTIMEOFDAY] = Some(sys_gettimeofday);
    t[nr::TIME] = Some(sys_time);
    t[nr::NANOSLEEP] = Some(sys_nanosleep);
    t[nr::CLOCK_NANOSLEEP] = Some(sys_clock_nanosleep);
    t[nr::TIMES] = Some(sys_times);
    t[nr::CLOCK_SETTIME] = Some(sys_clock_settime);
}

fn sys_clock_settime(frame: &mut TrapFrame) -> KResult<u64> {
    let clock = int(frame.rdi);
    clock_ns(clock)?;
    let ns = read_timespec(frame.rsi)?;
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

fn sys_clock_gettime(frame: &mut TrapFrame) -> KResult<u64> {
    let ns = clock_ns(int(frame.rdi))?;
    uaccess::write(frame.rsi, &Timespec::from_ns(ns))?;
    Ok(0)
}

fn sys_clock_getres(frame: &mut TrapFrame) -> KResult<u64> {
    let id = int(frame.rdi);
    clock_ns(id)?;
    let res = match id {
        CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => crate::sched::tick_ns().max(1),
        _ => 1,
    };
    uaccess::write_opt(frame.rsi, &Timespec::from_ns(res))?;
    Ok(0)
}

fn sys_gettimeofday(frame: &mut TrapFrame) -> KResult<u64> {
    let ns = crate::time::realtime_ns();
    uaccess::write_opt(frame.rdi, &Timeval::from_ns(ns))?;
    uaccess::write_opt(frame.rsi, &exo_abi::types::Timezone::default())?;
    Ok(0)
}

fn sys_time(frame: &mut TrapFrame) -> KResult<u64> {
    let secs = crate::time::realtime_ns() / 1_000_000_000;
    uaccess::write_opt(frame.rdi, &(secs as i64))?;
    Ok(secs)
}

/// Sleeps until `deadline` (ns since boot). On a signal, writes the time left to `remain`
/// (when given) and returns EINTR (restartable for clock_nanosleep's absolute form).
fn sleep_until(deadline: u64, remain: u64) -> KResult<u64> {
    let me = task()?;
    if crate::sched::sleep_until_interruptible(deadline, || me.interrupted()) {
        return Ok(0);
    }
    let left = deadline.saturating_sub(crate::time::since_boot_ns());
    uaccess::write_opt(remain, &Timespec::from_ns(left))?;
    Err(Errno::EINTR)
}

fn read_timespec(addr: u64) -> KResult<u64> {
    let spec: Timespec = uaccess::read(addr)?;
    spec.to_ns().ok_or(Errno::EINVAL)
}

fn sys_nanosleep(frame: &mut TrapFrame) -> KResult<u64> {
    let ns = read_timespec(frame.rdi)?;
    sleep_until(crate::time::since_boot_ns().saturating_add(ns), frame.rsi)
}

fn sys_clock_nanosleep(frame: &mut TrapFrame) -> KResult<u64> {
    let [clock, flags, request, remain, ..] = args(frame);
    let clock = int(clock);
    if matches!(clock, CLOCK_THREAD_CPUTIME_ID) {
        return Err(Errno::EOPNOTSUPP);
    }
    let now = clock_ns(clock)?;
    let ns = read_timespec(request)?;
    let absolute = flags as u32 & TIMER_ABSTIME != 0;
    let delay = if absolute { ns.saturating_sub(now) } else { ns };
    match sleep_until(crate::time::since_boot_ns().saturating_add(delay), if absolute { 0 } else { remain }) {
        Err(Errno::EINTR) if absolute => Err(Errno::ERESTARTNOHAND),
        other => other,
    }
}

/// Clock ticks (USER_HZ = 100 per second) for times().
fn ticks(ns: u64) -> i64 {
    (ns / 10_000_000) as i64
}

fn sys_times(frame: &mut TrapFrame) -> KResult<u64> {
    let me = task()?;
    let children = me.process.state.lock().children_time_ns;
    let tms = Tms { tms_utime: ticks(me.process.cpu_time_ns()), tms_stime: 0, tms_cutime: ticks(children.0), tms_cstime: ticks(children.1) };
    uaccess::write_opt(frame.rdi, &tms)?;
    Ok(ticks(crate::time::since_boot_ns()) as u64 + 1)
}
