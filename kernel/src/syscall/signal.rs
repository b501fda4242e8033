//! Signal syscalls: rt_sigaction, rt_sigprocmask, rt_sigreturn, rt_sigpending, rt_sigsuspend,
//! rt_sigtimedwait, rt_sigqueueinfo, sigaltstack, pause, and sending: kill, tkill, tgkill.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use exo_abi::signal::*;
use exo_abi::types::Timespec;
use exo_abi::{nr, Errno, KResult};

use super::args::{typed, with_frame};
use super::{task, Handler};
use crate::arch::TrapFrame;
use crate::process::{self, signal, Pid};
use crate::sched::wait::WaitQueue;
use crate::uaccess::UserPtr;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: SA_SIGINFO/ONSTACK/RESTART/NODEFER/RESETHAND/NOCLDSTOP/NOCLDWAIT/RESTORER; EINVAL for SIGKILL/SIGSTOP and bad numbers
    t[nr::RT_SIGACTION] = typed!(sys_rt_sigaction);
    // full: SIG_BLOCK/UNBLOCK/SETMASK; SIGKILL/SIGSTOP never blocked
    t[nr::RT_SIGPROCMASK] = typed!(sys_rt_sigprocmask);
    // full: restores registers, mask, altstack, FXSAVE state
    t[nr::RT_SIGRETURN] = with_frame!(sys_rt_sigreturn);
    // full
    t[nr::RT_SIGPENDING] = typed!(sys_rt_sigpending);
    // full
    t[nr::RT_SIGSUSPEND] = typed!(sys_rt_sigsuspend);
    // full: SS_DISABLE, SS_AUTODISARM accepted; ENOMEM below MINSIGSTKSZ; EPERM while on it
    t[nr::SIGALTSTACK] = with_frame!(sys_sigaltstack);
    // full
    t[nr::PAUSE] = typed!(sys_pause);
    // full: waits for a signal of the set (unblocked while waiting); EAGAIN on timeout
    t[nr::RT_SIGTIMEDWAIT] = typed!(sys_rt_sigtimedwait);
    // full: caller-made siginfo (negative si_code unless to itself); kill's permission rule
    t[nr::RT_SIGQUEUEINFO] = typed!(sys_rt_sigqueueinfo);
    // full: EINVAL for a tgid or tid <= 0; as rt_sigqueueinfo
    t[nr::RT_TGSIGQUEUEINFO] = typed!(sys_rt_tgsigqueueinfo);
    // full: pid, process group, -1; permission by uid (SIGCONT within the session); default-action signals to PID 1 dropped; sig 0 probes
    t[nr::KILL] = typed!(sys_kill);
    // full
    t[nr::TKILL] = typed!(sys_tkill);
    // full
    t[nr::TGKILL] = typed!(sys_tgkill);
}

/// rt_sigtimedwait(set, info, timeout, sigsetsize): takes a pending signal of `set` (waiting
/// for one, at most `timeout`): returns its number, EAGAIN on timeout, EINTR if another
/// signal is handled meanwhile.
fn sys_rt_sigtimedwait(
    set: UserPtr<u64>,
    info: UserPtr<SigInfo>,
    timeout: UserPtr<Timespec>,
    sigsetsize: usize,
) -> KResult<u64> {
    check_sigset_size(sigsetsize)?;
    let me = task()?;
    let wanted = SigSet(set.read()?).difference(SigSet::UNBLOCKABLE);
    let deadline = match timeout.read_opt()? {
        Some(spec) => Some(crate::time::since_boot_ns().saturating_add(spec.to_ns().ok_or(Errno::EINVAL)?)),
        None => None,
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
    info.write_opt(&siginfo)?;
    Ok(u64::from(sig))
}

/// rt_sigqueueinfo / rt_tgsigqueueinfo: sends a signal (0: only checks) with a caller-made
/// siginfo. Only to itself may a process claim a kernel or tkill si_code; to others the kill
/// permission rule applies (`signal::may_send`), as Linux does.
fn queue_info(tgid: i32, tid: Option<i32>, sig: i32, uinfo: UserPtr<SigInfo>) -> KResult<u64> {
    let sig = signal_number(sig)?;
    let mut info = uinfo.read()?;
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

fn sys_rt_sigqueueinfo(tgid: i32, sig: i32, info: UserPtr<SigInfo>) -> KResult<u64> {
    queue_info(tgid, None, sig, info)
}

fn sys_rt_tgsigqueueinfo(tgid: i32, tid: i32, sig: i32, info: UserPtr<SigInfo>) -> KResult<u64> {
    queue_info(tgid, Some(tid), sig, info)
}

/// A signal number argument (a C int; 0 is the permission check): EINVAL when negative or
/// past NSIG.
fn signal_number(sig: i32) -> KResult<u32> {
    match u32::try_from(sig) {
        Ok(sig) if sig <= NSIG => Ok(sig),
        _ => Err(Errno::EINVAL),
    }
}

fn check_sigset_size(size: usize) -> KResult<()> {
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

fn sys_rt_sigaction(signum: i32, act: UserPtr<SigAction>, oldact: UserPtr<SigAction>, sigsetsize: usize) -> KResult<u64> {
    check_sigset_size(sigsetsize)?;
    let me = task()?;
    let new = act.read_opt()?;
    // Negative numbers become large ones, which `set_action` refuses (EINVAL).
    let old = signal::set_action(&me, signum as u32, new)?;
    oldact.write_opt(&old)?;
    Ok(0)
}

fn sys_rt_sigprocmask(how: i32, set: UserPtr<u64>, oldset: UserPtr<u64>, sigsetsize: usize) -> KResult<u64> {
    check_sigset_size(sigsetsize)?;
    let me = task()?;
    let new = set.read_opt()?.map(SigSet);
    let old = signal::set_mask(&me, how, new)?;
    oldset.write_opt(&old.0)?;
    Ok(0)
}

fn sys_rt_sigreturn(frame: &mut TrapFrame) -> KResult<u64> {
    let me = task()?;
    crate::process::signal_frame_return(&me, frame)
}

fn sys_rt_sigpending(set: UserPtr<u64>, sigsetsize: usize) -> KResult<u64> {
    check_sigset_size(sigsetsize)?;
    let me = task()?;
    let pending = signal::pending(&me).intersection(me.signals.lock().mask);
    set.write(&pending.0)?;
    Ok(0)
}

/// Nobody ever wakes this queue: waits on it end only by a signal.
static NEVER: WaitQueue = WaitQueue::new();

fn wait_for_signal() -> KResult<u64> {
    let me = task()?;
    NEVER.wait_interruptible(|| false, || me.interrupted(), None);
    Err(Errno::ERESTARTNOHAND)
}

fn sys_rt_sigsuspend(mask: UserPtr<u64>, sigsetsize: usize) -> KResult<u64> {
    check_sigset_size(sigsetsize)?;
    let me = task()?;
    let mask = SigSet(mask.read()?);
    {
        let mut signals = me.signals.lock();
        signals.saved_mask = Some(signals.mask);
        signals.mask = mask.difference(SigSet::UNBLOCKABLE);
    }
    me.attention.store(true, Ordering::SeqCst);
    NEVER.wait_interruptible(|| false, || me.interrupted(), None);
    Err(Errno::ERESTARTNOHAND)
}

fn sys_pause() -> KResult<u64> {
    wait_for_signal()
}

/// sigaltstack(ss, old_ss): the frame gives the stack pointer (whether the thread runs on its
/// alternate stack).
fn sys_sigaltstack(frame: &mut TrapFrame, ss: UserPtr<StackT>, old_ss: UserPtr<StackT>) -> KResult<u64> {
    let me = task()?;
    let new = ss.read_opt()?;
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
    old_ss.write_opt(&old)?;
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

fn sys_kill(pid: i32, sig: i32) -> KResult<u64> {
    let sig = signal_number(sig)?;
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

fn signal_thread(tgid: Option<Pid>, tid: i32, sig: i32) -> KResult<u64> {
    let sig = signal_number(sig)?;
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

fn sys_tkill(tid: i32, sig: i32) -> KResult<u64> {
    signal_thread(None, tid, sig)
}

fn sys_tgkill(tgid: i32, tid: i32, sig: i32) -> KResult<u64> {
    if tgid <= 0 {
        return Err(Errno::EINVAL);
    }
    signal_thread(Some(tgid as Pid), tid, sig)
}
