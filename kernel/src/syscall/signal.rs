//! Signal syscalls: rt_sigaction, rt_sigprocmask, rt_sigreturn, rt_sigpending, rt_sigsuspend,
//! rt_sigtimedwait, rt_sigqueueinfo, sigaltstack, pause, and sending: kill, tkill, tgkill.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use exo_abi::signal::*;
use exo_abi::{nr, Errno, KResult};

use super::{raw_args, int, task, Handler};
use crate::arch::TrapFrame;
use crate::process::{self, signal, Pid};
use crate::sched::wait::WaitQueue;
use crate::uaccess;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    t[nr::RT_SIGACTION] = Some(sys_rt_sigaction);
    t[nr::RT_SIGPROCMASK] = Some(sys_rt_sigprocmask);
    t[nr::RT_SIGRETURN] = Some(sys_rt_sigreturn);
    t[nr::RT_SIGPENDING] = Some(sys_rt_sigpending);
    t[nr::RT_SIGSUSPEND] = Some(sys_rt_sigsuspend);
    t[nr::SIGALTSTACK] = Some(sys_sigaltstack);
    t[nr::PAUSE] = Some(sys_pause);
    t[nr::RT_SIGTIMEDWAIT] = Some(sys_rt_sigtimedwait);
    t[nr::RT_SIGQUEUEINFO] = Some(sys_rt_sigqueueinfo);
    t[nr::RT_TGSIGQUEUEINFO] = Some(sys_rt_tgsigqueueinfo);
    t[nr::KILL] = Some(sys_kill);
    t[nr::TKILL] = Some(sys_tkill);
    t[nr::TGKILL] = Some(sys_tgkill);
}

/// rt_sigtimedwait(set, info, timeout, sigsetsize): takes a pending signal of `set` (waiting
/// for one, at most `timeout`): returns its number, EAGAIN on timeout, EINTR if another
/// signal is handled meanwhile.
fn sys_rt_sigtimedwait(frame: &mut TrapFrame) -> KResult<u64> {
    let [set, info, timeout, size, ..] = raw_args(frame);
    check_sigset_size(size)?;
    let me = task()?;
    let wanted = SigSet(uaccess::read::<u64>(set)?).difference(SigSet::UNBLOCKABLE);
    let deadline = if timeout != 0 {
        let spec: exo_abi::types::Timespec = uaccess::read(timeout)?;
        Some(crate::time::since_boot_ns().saturating_add(spec.to_ns().ok_or(Errno::EINVAL)?))
    } else {
        None
    };
    let not_wanted = SigSet::full().difference(wanted);
    // While waiting, the wanted signals are unblocked so that sending one wakes this thread.
    let old_mask = {
        let mut signals = me.signals.lock();
        let old = signals.mask;
        signals.mask = old.difference(wanted);
        old
    };
    let result = loop {
        if let Some((sig, siginfo)) = signal::dequeue_from(&me, not_wanted) {
            break Ok((sig, siginfo));
        }
        if me.interrupted() {
            break Err(Errno::EINTR);
        }
        let outcome = NEVER.wait_interruptible(|| false, || me.interrupted(), deadline);
        if outcome == crate::sched::wait::WaitOutcome::TimedOut && !signal::pending(&me).intersection(wanted).is_empty() {
            continue;
        }
        if outcome == crate::sched::wait::WaitOutcome::TimedOut {
            break Err(Errno::EAGAIN);
        }
    };
    me.signals.lock().mask = old_mask;
    let (sig, siginfo) = result?;
    uaccess::write_opt(info, &siginfo)?;
    Ok(u64::from(sig))
}

/// rt_sigqueueinfo / rt_tgsigqueueinfo: sends a signal (0: only checks) with a caller-made
/// siginfo. Only to itself may a process claim a kernel or tkill si_code; to others the kill
/// permission rule applies (`signal::may_send`), as Linux does.
fn queue_info(tgid: i32, tid: Option<i32>, sig: u64, uinfo: u64) -> KResult<u64> {
    // The argument is a C int: the upper half is ignored, a negative one is out of range.
    let sig = sig as u32;
    if sig > NSIG {
        return Err(Errno::EINVAL);
    }
    let mut info: SigInfo = uaccess::read(uinfo)?;
    if tid.is_some_and(|t| t <= 0 || tgid <= 0) {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    // Checked before the target is looked up, as Linux does.
    if (info.si_code >= 0 || info.si_code == SI_TKILL) && i64::from(tgid) != i64::from(me.process.pid) {
        return Err(Errno::EPERM);
    }
    let process = crate::process::process(u32::try_from(tgid).map_err(|_| Errno::ESRCH)?).ok_or(Errno::ESRCH)?;
    let target = match tid {
        None => None,
        Some(tid) => {
            let target = crate::process::task(u32::try_from(tid).map_err(|_| Errno::ESRCH)?).ok_or(Errno::ESRCH)?;
            if target.process.pid != process.pid {
                return Err(Errno::ESRCH);
            }
            Some(target)
        }
    };
    if !signal::may_send(&me.process, &process, sig) {
        return Err(Errno::EPERM);
    }
    if sig == 0 {
        return Ok(0);
    }
    info.si_signo = sig as i32;
    match target {
        None => signal::send_to_process(&process, sig, info),
        Some(target) => signal::send_to_task(&target, sig, info),
    }
    Ok(0)
}

fn sys_rt_sigqueueinfo(frame: &mut TrapFrame) -> KResult<u64> {
    queue_info(int(frame.rdi), None, frame.rsi, frame.rdx)
}

fn sys_rt_tgsigqueueinfo(frame: &mut TrapFrame) -> KResult<u64> {
    queue_info(int(frame.rdi), Some(int(frame.rsi)), frame.rdx, frame.r10)
}

fn check_sigset_size(size: u64) -> KResult<()> {
    if size as usize != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

fn sys_rt_sigaction(frame: &mut TrapFrame) -> KResult<u64> {
    let [sig, act, oldact, size, ..] = raw_args(frame);
    check_sigset_size(size)?;
    let me = task()?;
    let new = if act != 0 { Some(uaccess::read::<SigAction>(act)?) } else { None };
    let old = signal::set_action(&me, int(sig) as u32, new)?;
    uaccess::write_opt(oldact, &old)?;
    Ok(0)
}

fn sys_rt_sigprocmask(frame: &mut TrapFrame) -> KResult<u64> {
    let [how, set, oldset, size, ..] = raw_args(frame);
    check_sigset_size(size)?;
    let me = task()?;
    let new = if set != 0 { Some(SigSet(uaccess::read::<u64>(set)?)) } else { None };
    let old = signal::set_mask(&me, int(how), new)?;
    uaccess::write_opt(oldset, &old.0)?;
    Ok(0)
}

fn sys_rt_sigreturn(frame: &mut TrapFrame) -> KResult<u64> {
    let me = task()?;
    crate::process::signal_frame_return(&me, frame)
}

fn sys_rt_sigpending(frame: &mut TrapFrame) -> KResult<u64> {
    check_sigset_size(frame.rsi)?;
    let me = task()?;
    let pending = signal::pending(&me).intersection(me.signals.lock().mask);
    uaccess::write(frame.rdi, &pending.0)?;
    Ok(0)
}

/// Nobody ever wakes this queue: waits on it end only by a signal.
static NEVER: WaitQueue = WaitQueue::new();

fn wait_for_signal() -> KResult<u64> {
    let me = task()?;
    NEVER.wait_interruptible(|| false, || me.interrupted(), None);
    Err(Errno::ERESTARTNOHAND)
}

fn sys_rt_sigsuspend(frame: &mut TrapFrame) -> KResult<u64> {
    check_sigset_size(frame.rsi)?;
    let me = task()?;
    let mask = SigSet(uaccess::read::<u64>(frame.rdi)?);
    {
        let mut signals = me.signals.lock();
        signals.saved_mask = Some(signals.mask);
        signals.mask = mask.difference(SigSet::UNBLOCKABLE);
    }
    me.attention.store(true, Ordering::SeqCst);
    NEVER.wait_interruptible(|| false, || me.interrupted(), None);
    Err(Errno::ERESTARTNOHAND)
}

fn sys_pause(_: &mut TrapFrame) -> KResult<u64> {
    wait_for_signal()
}

fn sys_sigaltstack(frame: &mut TrapFrame) -> KResult<u64> {
    let [ss, old_ss, ..] = raw_args(frame);
    let me = task()?;
    let new = if ss != 0 { Some(uaccess::read::<StackT>(ss)?) } else { None };
    let sp = frame.rsp;
    let current = me.signals.lock().altstack;
    let flags = crate::process::altstack_flags(&current, sp);
    if let Some(new) = new {
        if flags == SS_ONSTACK {
            return Err(Errno::EPERM);
        }
        let mode = new.ss_flags & !SS_AUTODISARM;
        if mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK {
            return Err(Errno::EINVAL);
        }
        if mode != SS_DISABLE && (new.ss_size as usize) < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        }
    }
    let old = StackT { ss_flags: flags, ..current };
    uaccess::write_opt(old_ss, &old)?;
    if let Some(new) = new {
        let mut signals = me.signals.lock();
        signals.altstack = if new.ss_flags & SS_DISABLE != 0 {
            StackT { ss_sp: 0, ss_flags: SS_DISABLE, _pad: 0, ss_size: 0 }
        } else {
            StackT { ss_flags: 0, ..new }
        };
    }
    Ok(0)
}

fn user_info(sig: u32, code: i32) -> KResult<SigInfo> {
    let me = task()?;
    let uid = me.process.creds.lock().uid;
    Ok(SigInfo::user(sig, code, me.process.pid as i32, uid))
}

fn sys_kill(frame: &mut TrapFrame) -> KResult<u64> {
    let pid = int(frame.rdi);
    let sig = frame.rsi as u32;
    if sig > NSIG {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let targets: alloc::vec::Vec<Arc<process::Process>> = match pid {
        p if p > 0 => alloc::vec![process::process(p as Pid).ok_or(Errno::ESRCH)?],
        0 => {
            let pgid = me.process.pgid();
            process::all_processes().into_iter().filter(|p| p.pgid() == pgid).collect()
        }
        -1 => process::all_processes().into_iter().filter(|p| p.pid != 1 && p.pid != me.process.pid).collect(),
        p => {
            let pgid = p.unsigned_abs();
            process::all_processes().into_iter().filter(|p| p.pgid() == pgid).collect()
        }
    };
    let targets: alloc::vec::Vec<_> = targets.into_iter().filter(|p| !p.state.lock().zombie || pid > 0).collect();
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    let mut sent = false;
    for target in &targets {
        if !signal::may_send(&me.process, target, sig) {
            continue;
        }
        sent = true;
        if sig != 0 {
            process::signal::send_to_process(target, sig, user_info(sig, SI_USER)?);
        }
    }
    if sent { Ok(0) } else { Err(Errno::EPERM) }
}

fn signal_thread(tgid: Option<Pid>, tid: i32, sig: u32) -> KResult<u64> {
    if sig > NSIG {
        return Err(Errno::EINVAL);
    }
    if tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let target = process::task(tid as Pid).ok_or(Errno::ESRCH)?;
    if tgid.is_some_and(|g| g != target.process.pid) {
        return Err(Errno::ESRCH);
    }
    let me = task()?;
    if !signal::may_send(&me.process, &target.process, sig) {
        return Err(Errno::EPERM);
    }
    if sig != 0 {
        process::signal::send_to_task(&target, sig, user_info(sig, SI_TKILL)?);
    }
    Ok(0)
}

fn sys_tkill(frame: &mut TrapFrame) -> KResult<u64> {
    signal_thread(None, int(frame.rdi), frame.rsi as u32)
}

fn sys_tgkill(frame: &mut TrapFrame) -> KResult<u64> {
    let tgid = int(frame.rdi);
    if tgid <= 0 {
        return Err(Errno::EINVAL);
    }
    signal_thread(Some(tgid as Pid), int(frame.rsi), frame.rdx as u32)
}
