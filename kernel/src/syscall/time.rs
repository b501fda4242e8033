//! Time syscalls: clock_gettime, clock_getres, gettimeofday, time, nanosleep,
//! clock_nanosleep, times, and the real-time interval timer (setitimer, getitimer, alarm:
//! `process::itimer`).

use exo_abi::time::*;
use exo_abi::types::{Itimerval, Timespec, Timeval, Tms};
use exo_abi::{nr, Errno, KResult};

use super::args::typed;
use super::{task, Handler};
use crate::uaccess::UserPtr;
use alloc::sync::Arc;

fn is_root() -> KResult<bool> {
    Ok(task()?.process.creds.lock().euid == 0)
}

fn sys_settimeofday(time: UserPtr<Timeval>, zone: UserPtr<exo_abi::types::Timezone>) -> KResult<u64> {
    let tv = time.read_opt()?;
    let tz = zone.read_opt()?;
    if let Some(tv) = tv {
        if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
            return Err(Errno::EINVAL);
        }
    }
    if let Some(tz) = tz {
        if !(-15 * 60..=15 * 60).contains(&tz.tz_minuteswest) {
            return Err(Errno::EINVAL);
        }
    }
    if !is_root()? {
        return Err(Errno::EPERM);
    }
    if let Some(tv) = tv {
        crate::time::set_realtime_ns(tv.to_ns().ok_or(Errno::EINVAL)?);
        crate::process::ktimer::clock_was_set();
    }
    Ok(0)
}

fn put(buf: &mut [u8], at: usize, value: i64) {
    if let Some(slot) = buf.get_mut(at..at + 8) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

fn get(buf: &[u8], at: usize) -> i64 {
    buf.get(at..at + 8).and_then(|b| b.try_into().ok()).map_or(0, i64::from_le_bytes)
}

/// adjtimex: a query fills the structure (synchronized, 1 ns precision, tick 10 ms); root may
/// step the clock with ADJ_SETOFFSET; other modes are accepted for root without effect.
fn adjtime(user: UserPtr<u8>) -> KResult<u64> {
    use exo_abi::sched_time::*;
    let mut buf = [0u8; TIMEX_SIZE];
    user.slice(TIMEX_SIZE)?.read_into(&mut buf)?;
    let modes = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if modes != 0 && modes != ADJ_OFFSET_SS_READ {
        if !is_root()? {
            return Err(Errno::EPERM);
        }
        if modes & ADJ_SETOFFSET != 0 {
            let (sec, frac) = (get(&buf, TIMEX_TIME), get(&buf, TIMEX_TIME + 8));
            let frac_ns = if modes & ADJ_NANO != 0 { frac } else { frac.checked_mul(1000).ok_or(Errno::EINVAL)? };
            if !(0..1_000_000_000).contains(&frac_ns) {
                return Err(Errno::EINVAL);
            }
            let delta = sec.checked_mul(1_000_000_000).and_then(|n| n.checked_add(frac_ns)).ok_or(Errno::EINVAL)?;
            let now = crate::time::realtime_ns() as i64;
            crate::time::set_realtime_ns(now.saturating_add(delta).max(0) as u64);
            crate::process::ktimer::clock_was_set();
        }
    }
    let now = crate::time::realtime_ns();
    let nano = modes & ADJ_NANO != 0;
    buf[TIMEX_OFFSET..TIMEX_SIZE].fill(0);
    put(&mut buf, TIMEX_CONSTANT, 2);
    put(&mut buf, TIMEX_PRECISION, 1);
    put(&mut buf, TIMEX_TOLERANCE, 32_768_000);
    put(&mut buf, TIMEX_TIME, (now / 1_000_000_000) as i64);
    put(&mut buf, TIMEX_TIME + 8, if nano { (now % 1_000_000_000) as i64 } else { (now % 1_000_000_000 / 1000) as i64 });
    put(&mut buf, TIMEX_TICK, 10_000);
    user.slice(TIMEX_SIZE)?.write_from(&buf)?;
    Ok(TIME_OK)
}

fn sys_adjtimex(user: UserPtr<u8>) -> KResult<u64> {
    adjtime(user)
}

fn sys_clock_adjtime(clock: i32, user: UserPtr<u8>) -> KResult<u64> {
    clock_ns(clock)?;
    if clock != CLOCK_REALTIME {
        return Err(Errno::EOPNOTSUPP);
    }
    adjtime(user)
}

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: REALTIME(_COARSE), MONOTONIC(_RAW/_COARSE), BOOTTIME, TAI, PROCESS_CPUTIME_ID, THREAD_CPUTIME_ID, CPU clocks of other processes/threads (clock_getcpuclockid ids: PROF, VIRT, SCHED); all but the CPU-time clocks also in the vDSO ([vdso.md](vdso.md))
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
    // full: clock ticks at USER_HZ 100; user/system split by tick sampling, children's at wait
    t[nr::TIMES] = typed!(sys_times);
    // full: CLOCK_REALTIME, root only
    t[nr::CLOCK_SETTIME] = typed!(sys_clock_settime);
    // full: ITIMER_REAL (SIGALRM), ITIMER_VIRTUAL (user time, SIGVTALRM), ITIMER_PROF (user+system, SIGPROF; both at tick granularity), periodic re-arm, old value; NULL new value disarms; EINVAL for a bad timeval; kept over execve, not over fork
    t[nr::SETITIMER] = typed!(sys_setitimer);
    // full: ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF
    t[nr::GETITIMER] = typed!(sys_getitimer);
    // full: root only (EPERM), EINVAL for a bad timeval or timezone; the timezone is ignored (as Linux, except for the first call's RTC warp)
    t[nr::SETTIMEOFDAY] = typed!(sys_settimeofday);
    // partial: read-only query (modes 0, ADJ_OFFSET_SS_READ) for everyone, TIME_OK; root: ADJ_SETOFFSET steps the clock, other modes accepted without effect (no frequency discipline); non-root EPERM
    t[nr::ADJTIMEX] = typed!(sys_adjtimex);
    // partial: CLOCK_REALTIME as adjtimex; other valid clocks EOPNOTSUPP, unknown EINVAL
    t[nr::CLOCK_ADJTIME] = typed!(sys_clock_adjtime);
    // full: one-shot ITIMER_REAL; returns the seconds left, rounded, at least 1
    t[nr::ALARM] = typed!(sys_alarm);
}

/// A timer's state as `struct itimerval`.
fn itimerval(t: crate::process::itimer::RealTimer) -> Itimerval {
    Itimerval { it_interval: Timeval::from_ns(t.interval), it_value: Timeval::from_ns(t.remaining) }
}

/// The CPU-time interval timer `which` names (None: ITIMER_REAL), EINVAL for an unknown one.
fn cpu_timer(which: i32, process: &crate::process::Process) -> KResult<Option<&crate::process::cputime::CpuItimer>> {
    match which {
        ITIMER_REAL => Ok(None),
        ITIMER_VIRTUAL => Ok(Some(&process.times.virtual_timer)),
        ITIMER_PROF => Ok(Some(&process.times.prof_timer)),
        _ => Err(Errno::EINVAL),
    }
}

fn cpu_itimerval((left, interval): (u64, u64)) -> Itimerval {
    Itimerval { it_interval: Timeval::from_ns(interval), it_value: Timeval::from_ns(left) }
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
    let me = task()?;
    let cpu = cpu_timer(which, &me.process)?;
    // A null new value disarms, as Linux still accepts.
    let new = new.read_opt()?.unwrap_or_default();
    let (value, interval) = (timeval_ns(&new.it_value)?, timeval_ns(&new.it_interval)?);
    if let Some(timer) = cpu {
        if !old.is_null() {
            old.write(&cpu_itimerval(timer.get()))?;
        }
        let previous = timer.set(value, interval);
        old.write_opt(&cpu_itimerval(previous))?;
        return Ok(0);
    }
    if !old.is_null() {
        // Fault before changing anything.
        old.write(&itimerval(crate::process::itimer::get(me.process.pid)))?;
    }
    let previous = crate::process::itimer::set(&me.process, value, interval)?;
    old.write_opt(&itimerval(previous))?;
    Ok(0)
}

fn sys_getitimer(which: i32, value: UserPtr<Itimerval>) -> KResult<u64> {
    let me = task()?;
    if let Some(timer) = cpu_timer(which, &me.process)? {
        value.write(&cpu_itimerval(timer.get()))?;
        return Ok(0);
    }
    let pid = me.process.pid;
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
    crate::process::ktimer::clock_was_set();
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
        _ => cpu_clock_ns(id),
    }
}

/// The value of a `clock_getcpuclockid`/`pthread_getcpuclockid` clock: `(~pid << 3) | type`
/// (PROF: user + system, VIRT: user, SCHED: exact run time), pid 0 being the caller. A thread
/// clock must name a thread of the caller's process (EINVAL otherwise, as Linux).
fn cpu_clock_ns(id: i32) -> KResult<u64> {
    use exo_abi::sched_time::{decode_cpuclock, CPUCLOCK_PROF, CPUCLOCK_VIRT};
    let (pid, per_thread, kind) = decode_cpuclock(id).ok_or(Errno::EINVAL)?;
    let me = task()?;
    let pid = if pid == 0 { if per_thread { me.tid } else { me.process.pid } } else { pid as crate::process::Pid };
    let (user, system, exact) = if per_thread {
        let target = crate::process::task(pid).ok_or(Errno::EINVAL)?;
        if !Arc::ptr_eq(&target.process, &me.process) {
            return Err(Errno::EINVAL);
        }
        let thread = crate::sched::lookup(target.thread_id()).ok_or(Errno::EINVAL)?;
        let (u, s) = thread.cpu_times();
        (u, s, thread.runtime_ns())
    } else {
        let process = crate::process::process(pid).ok_or(Errno::EINVAL)?;
        let (u, s) = crate::process::cputime::process_times(&process);
        (u, s, process.cpu_time_ns())
    };
    Ok(match kind {
        CPUCLOCK_PROF => user + system,
        CPUCLOCK_VIRT => user,
        _ => exact,
    })
}

/// The clock a POSIX timer may use (`timer_create`): EINVAL for an unknown one, EPERM for the
/// alarm clocks without root (CAP_WAKE_ALARM), ESRCH-like EINVAL for a CPU clock of another
/// process that does not exist.
pub(super) fn timer_clock(id: i32) -> KResult<crate::process::posix_timer::TimerClock> {
    use crate::process::posix_timer::TimerClock;
    let me = task()?;
    Ok(match id {
        CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM if me.process.creds.lock().euid != 0 => return Err(Errno::EPERM),
        CLOCK_REALTIME | CLOCK_REALTIME_ALARM | CLOCK_TAI => TimerClock::Realtime,
        CLOCK_MONOTONIC | CLOCK_BOOTTIME | CLOCK_BOOTTIME_ALARM => TimerClock::Monotonic,
        CLOCK_PROCESS_CPUTIME_ID => TimerClock::ProcessCpu(me.process.pid),
        CLOCK_THREAD_CPUTIME_ID => TimerClock::ThreadCpu(me.tid),
        _ => {
            let (pid, per_thread, _) = exo_abi::sched_time::decode_cpuclock(id).ok_or(Errno::EINVAL)?;
            let pid = pid as crate::process::Pid;
            match (pid, per_thread) {
                (0, false) => TimerClock::ProcessCpu(me.process.pid),
                (0, true) => TimerClock::ThreadCpu(me.tid),
                (pid, false) => TimerClock::ProcessCpu(crate::process::process(pid).ok_or(Errno::EINVAL)?.pid),
                (tid, true) => {
                    let target = crate::process::task(tid).ok_or(Errno::EINVAL)?;
                    if !Arc::ptr_eq(&target.process, &me.process) {
                        return Err(Errno::EINVAL);
                    }
                    TimerClock::ThreadCpu(tid)
                }
            }
        }
    })
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
    let (user, system) = crate::process::cputime::process_times(&me.process);
    let tms = Tms { tms_utime: ticks(user), tms_stime: ticks(system), tms_cutime: ticks(children.0), tms_cstime: ticks(children.1) };
    out.write_opt(&tms)?;
    Ok(ticks(crate::time::since_boot_ns()) as u64 + 1)
}
