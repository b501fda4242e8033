//! POSIX timer calls (`timer_create`, `timer_settime`, `timer_gettime`, `timer_getoverrun`,
//! `timer_delete`) on `process::posix_timer`, and the timerfd calls on `fs::timerfd`.

use exo_abi::signal::SIGALRM;
use exo_abi::time::*;
use exo_abi::types::{Itimerspec, Timespec};
use exo_abi::{nr, Errno, KResult};

use super::args::{typed, Fd};
use super::{task, Handler};
use crate::process::posix_timer::{self, Notify};
use crate::uaccess::UserPtr;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: CLOCK_REALTIME, MONOTONIC, BOOTTIME, TAI, *_ALARM (root, else EPERM), PROCESS/THREAD_CPUTIME_ID and clock_getcpuclockid clocks; SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD (as SIGEV_SIGNAL, as Linux), SIGEV_THREAD_ID; SI_TIMER with si_timerid/si_overrun/si_value; RLIMIT_SIGPENDING timers per process (EAGAIN); deleted at exec/exit, not inherited
    t[nr::TIMER_CREATE] = typed!(sys_timer_create);
    // partial: relative, TIMER_ABSTIME, interval, old value; CPU-clock timers expire at tick granularity; a CLOCK_REALTIME deadline does not follow clock_settime
    t[nr::TIMER_SETTIME] = typed!(sys_timer_settime);
    // full
    t[nr::TIMER_GETTIME] = typed!(sys_timer_gettime);
    // full: expiries counted while the previous signal was pending
    t[nr::TIMER_GETOVERRUN] = typed!(sys_timer_getoverrun);
    // full
    t[nr::TIMER_DELETE] = typed!(sys_timer_delete);
    // full: CLOCK_REALTIME, MONOTONIC, BOOTTIME, *_ALARM (root, else EPERM); TFD_NONBLOCK, TFD_CLOEXEC
    t[nr::TIMERFD_CREATE] = typed!(sys_timerfd_create);
    // full: relative, TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET (ECANCELED after the wall clock is set), interval, old value; a CLOCK_REALTIME timer follows clock changes
    t[nr::TIMERFD_SETTIME] = typed!(sys_timerfd_settime);
    // full
    t[nr::TIMERFD_GETTIME] = typed!(sys_timerfd_gettime);
    // full: as signalfd4 without flags
    t[nr::SIGNALFD] = typed!(sys_signalfd);
    // full: new descriptor or new mask of an existing one (EINVAL if not a signalfd), SFD_NONBLOCK/SFD_CLOEXEC; reads take pending signals of the mask as signalfd_siginfo; poll/select/epoll readiness
    t[nr::SIGNALFD4] = typed!(sys_signalfd4);
}

fn sys_signalfd(fd: Fd, mask: UserPtr<u64>, size: usize) -> KResult<u64> {
    sys_signalfd4(fd, mask, size, 0)
}

fn sys_signalfd4(fd: Fd, mask: UserPtr<u64>, size: usize, flags: u32) -> KResult<u64> {
    use exo_abi::sched_time::{SFD_CLOEXEC, SFD_NONBLOCK};
    if flags & !(SFD_CLOEXEC | SFD_NONBLOCK) != 0 || size != 8 {
        return Err(Errno::EINVAL);
    }
    let set = exo_abi::signal::SigSet(mask.read()?);
    if fd.get() == -1 {
        let me = task()?;
        let file = crate::fs::signalfd::new(set, flags & SFD_NONBLOCK)?;
        return super::fs::install(&me, file, flags & SFD_CLOEXEC != 0);
    }
    let file = super::fs_rw::file(fd)?;
    crate::fs::signalfd::of(&file)?.set_mask(set);
    Ok(fd.get() as u64)
}

fn sys_timerfd_create(clock: i32, flags: u32) -> KResult<u64> {
    if flags & !(TFD_CLOEXEC | TFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let realtime = match clock {
        CLOCK_REALTIME => true,
        CLOCK_MONOTONIC | CLOCK_BOOTTIME => false,
        CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM => {
            if me.process.creds.lock().euid != 0 {
                return Err(Errno::EPERM);
            }
            clock == CLOCK_REALTIME_ALARM
        }
        _ => return Err(Errno::EINVAL),
    };
    let file = crate::fs::timerfd::new(realtime, flags & TFD_NONBLOCK);
    super::fs::install(&me, file, flags & TFD_CLOEXEC != 0)
}

fn sys_timerfd_settime(fd: Fd, flags: u32, new: UserPtr<Itimerspec>, old: UserPtr<Itimerspec>) -> KResult<u64> {
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let new = new.read()?;
    let value = new.it_value.to_ns().ok_or(Errno::EINVAL)?;
    let interval = new.it_interval.to_ns().ok_or(Errno::EINVAL)?;
    let file = super::fs_rw::file(fd)?;
    let timer = crate::fs::timerfd::of(&file)?;
    if !old.is_null() {
        old.write(&spec_of(timer.get()))?;
    }
    let previous = timer.set(value, interval, flags & TFD_TIMER_ABSTIME != 0, flags & TFD_TIMER_CANCEL_ON_SET != 0)?;
    old.write_opt(&spec_of(previous))?;
    Ok(0)
}

fn sys_timerfd_gettime(fd: Fd, out: UserPtr<Itimerspec>) -> KResult<u64> {
    let file = super::fs_rw::file(fd)?;
    let timer = crate::fs::timerfd::of(&file)?;
    out.write(&spec_of(timer.get()))?;
    Ok(0)
}

fn sys_timer_create(clock: i32, event: UserPtr<SigEvent>, out: UserPtr<i32>) -> KResult<u64> {
    let me = task()?;
    let timer_clock = super::time::timer_clock(clock)?;
    let notify = match event.read_opt()? {
        None => Notify { signo: SIGALRM, tid: None, value: 0 },
        Some(ev) => {
            let signo = u32::try_from(ev.sigev_signo).map_err(|_| Errno::EINVAL)?;
            match ev.sigev_notify {
                SIGEV_NONE => Notify { signo: 0, tid: None, value: ev.sigev_value },
                SIGEV_SIGNAL | SIGEV_THREAD if crate::process::signal::valid(signo) && signo != 0 => {
                    Notify { signo, tid: None, value: ev.sigev_value }
                }
                SIGEV_THREAD_ID if crate::process::signal::valid(signo) && signo != 0 => {
                    let tid = u32::try_from(ev.sigev_notify_thread_id).map_err(|_| Errno::EINVAL)?;
                    let target = crate::process::task(tid).ok_or(Errno::EINVAL)?;
                    if !alloc::sync::Arc::ptr_eq(&target.process, &me.process) {
                        return Err(Errno::EINVAL);
                    }
                    Notify { signo, tid: Some(tid), value: ev.sigev_value }
                }
                _ => return Err(Errno::EINVAL),
            }
        }
    };
    // Fault before creating anything.
    out.write(&0)?;
    let id = posix_timer::create(&me.process, timer_clock, notify)?;
    // No sigevent: si_value is the timer id (Linux's default).
    let value_set = if event.is_null() { posix_timer::set_notify_value(me.process.pid, id, id as u64) } else { Ok(()) };
    if let Err(e) = value_set.and_then(|_| out.write(&id)) {
        let _ = posix_timer::delete(&me.process, id);
        return Err(e);
    }
    Ok(0)
}

fn spec_of((left, interval): (u64, u64)) -> Itimerspec {
    Itimerspec { it_interval: Timespec::from_ns(interval), it_value: Timespec::from_ns(left) }
}

fn sys_timer_settime(id: i32, flags: u32, new: UserPtr<Itimerspec>, old: UserPtr<Itimerspec>) -> KResult<u64> {
    let me = task()?;
    let new = new.read()?;
    let timer = posix_timer::get(me.process.pid, id)?;
    let value = new.it_value.to_ns().ok_or(Errno::EINVAL)?;
    let interval = new.it_interval.to_ns().ok_or(Errno::EINVAL)?;
    if !old.is_null() {
        old.write(&spec_of(timer.get()))?;
    }
    let previous = timer.set(value, interval, flags & TIMER_ABSTIME != 0)?;
    old.write_opt(&spec_of(previous))?;
    Ok(0)
}

fn sys_timer_gettime(id: i32, out: UserPtr<Itimerspec>) -> KResult<u64> {
    let timer = posix_timer::get(task()?.process.pid, id)?;
    out.write(&spec_of(timer.get()))?;
    Ok(0)
}

fn sys_timer_getoverrun(id: i32) -> KResult<u64> {
    Ok(posix_timer::get(task()?.process.pid, id)?.overrun())
}

fn sys_timer_delete(id: i32) -> KResult<u64> {
    posix_timer::delete(&task()?.process, id)?;
    Ok(0)
}
