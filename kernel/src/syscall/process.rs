//! Process and thread syscalls: ids, fork/vfork/clone/clone3, execve, exit, wait, process
//! groups and sessions, resource limits, the thread pointer, futexes and scheduling hints.
//! (Sending signals is in `signal.rs`, credentials in `info.rs`.)

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use exo_abi::clone::*;
use exo_abi::resource::*;
use exo_abi::signal::*;
use exo_abi::types::{Rlimit, Timeval};
use exo_abi::wait::*;
use exo_abi::{nr, Errno, KResult};

use super::{raw_args, int, task, Handler};
use crate::arch::TrapFrame;
use crate::process::clone::CloneArgs;
use crate::process::exit::{self, WaitFor};
use crate::process::{self, Pid};
use crate::uaccess;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    t[nr::GETPID] = Some(sys_getpid);
    t[nr::GETPPID] = Some(sys_getppid);
    t[nr::GETTID] = Some(sys_gettid);
    t[nr::FORK] = Some(sys_fork);
    t[nr::VFORK] = Some(sys_vfork);
    t[nr::CLONE] = Some(sys_clone);
    t[nr::CLONE3] = Some(sys_clone3);
    t[nr::EXECVE] = Some(sys_execve);
    t[nr::EXIT] = Some(sys_exit);
    t[nr::EXIT_GROUP] = Some(sys_exit_group);
    t[nr::WAIT4] = Some(sys_wait4);
    t[nr::WAITID] = Some(sys_waitid);
    t[nr::SET_TID_ADDRESS] = Some(sys_set_tid_address);
    t[nr::SETPGID] = Some(sys_setpgid);
    t[nr::GETPGID] = Some(sys_getpgid);
    t[nr::GETPGRP] = Some(sys_getpgrp);
    t[nr::SETSID] = Some(sys_setsid);
    t[nr::GETSID] = Some(sys_getsid);
    t[nr::PRLIMIT64] = Some(sys_prlimit64);
    t[nr::GETRLIMIT] = Some(sys_getrlimit);
    t[nr::SETRLIMIT] = Some(sys_setrlimit);
    t[nr::GETRUSAGE] = Some(sys_getrusage);
    t[nr::ARCH_PRCTL] = Some(sys_arch_prctl);
    t[nr::SET_ROBUST_LIST] = Some(sys_set_robust_list);
    t[nr::GET_ROBUST_LIST] = Some(sys_get_robust_list);
    t[nr::FUTEX] = Some(sys_futex);
    t[nr::SCHED_YIELD] = Some(sys_sched_yield);
    t[nr::SCHED_GETAFFINITY] = Some(sys_sched_getaffinity);
    t[nr::SCHED_SETAFFINITY] = Some(sys_sched_setaffinity);
    t[nr::PRCTL] = Some(sys_prctl);
    crate::syscall::info::register_creds(t);
}

fn sys_getpid(_: &mut TrapFrame) -> KResult<u64> {
    Ok(u64::from(task()?.process.pid))
}

fn sys_getppid(_: &mut TrapFrame) -> KResult<u64> {
    Ok(u64::from(task()?.process.ppid()))
}

fn sys_gettid(_: &mut TrapFrame) -> KResult<u64> {
    Ok(u64::from(task()?.tid))
}

fn sys_fork(frame: &mut TrapFrame) -> KResult<u64> {
    let args = CloneArgs { exit_signal: SIGCHLD, ..CloneArgs::default() };
    process::clone::clone(args, frame).map(u64::from)
}

fn sys_vfork(frame: &mut TrapFrame) -> KResult<u64> {
    let args = CloneArgs { flags: CLONE_VM | CLONE_VFORK, exit_signal: SIGCHLD, ..CloneArgs::default() };
    process::clone::clone(args, frame).map(u64::from)
}

/// clone(flags, stack, parent_tid, child_tid, tls) — x86-64 argument order.
fn sys_clone(frame: &mut TrapFrame) -> KResult<u64> {
    let [flags, stack, parent_tid, child_tid, tls, _] = raw_args(frame);
    let args = CloneArgs {
        flags: flags & !CSIGNAL,
        stack,
        parent_tid,
        child_tid,
        tls,
        exit_signal: (flags & CSIGNAL) as u32,
    };
    process::clone::clone(args, frame).map(u64::from)
}

fn sys_clone3(frame: &mut TrapFrame) -> KResult<u64> {
    let [addr, size, ..] = raw_args(frame);
    if size < 64 || size > 4096 {
        return Err(Errno::EINVAL);
    }
    let raw: exo_abi::clone::CloneArgs = uaccess::read(addr)?;
    if raw.exit_signal > u64::from(NSIG) || raw.flags & CSIGNAL != 0 {
        return Err(Errno::EINVAL);
    }
    let stack = if raw.stack != 0 { raw.stack.checked_add(raw.stack_size).ok_or(Errno::EINVAL)? } else { 0 };
    let args = CloneArgs {
        flags: raw.flags,
        stack,
        parent_tid: raw.parent_tid,
        child_tid: raw.child_tid,
        tls: raw.tls,
        exit_signal: raw.exit_signal as u32,
    };
    process::clone::clone(args, frame).map(u64::from)
}

fn sys_execve(frame: &mut TrapFrame) -> KResult<u64> {
    let [path, argv, envp, ..] = raw_args(frame);
    let path = uaccess::read_path(path)?;
    let argv = uaccess::read_cstr_array(argv, 0x7fff_ffff, process::exec::ARG_MAX)?;
    let envp = uaccess::read_cstr_array(envp, 0x7fff_ffff, process::exec::ARG_MAX)?;
    process::exec::execve(path, argv, envp, frame)
}

fn sys_exit(frame: &mut TrapFrame) -> KResult<u64> {
    let code = int(frame.rdi);
    exit::exit_current(exit_status(code), false)
}

fn sys_exit_group(frame: &mut TrapFrame) -> KResult<u64> {
    let code = int(frame.rdi);
    exit::exit_current(exit_status(code), true)
}

fn wait_target(pid: i32, me: &process::Process) -> WaitFor {
    match pid {
        -1 => WaitFor::Any,
        0 => WaitFor::Group(me.pgid()),
        p if p < -1 => WaitFor::Group(p.unsigned_abs()),
        p => WaitFor::Pid(p as Pid),
    }
}

fn rusage_of(cpu_ns: u64) -> exo_abi::types::Rusage {
    let utime = Timeval { tv_sec: (cpu_ns / 1_000_000_000) as i64, tv_usec: (cpu_ns % 1_000_000_000 / 1000) as i64 };
    exo_abi::types::Rusage { ru_utime: utime, ..Default::default() }
}

fn sys_wait4(frame: &mut TrapFrame) -> KResult<u64> {
    let [pid, status, options, rusage, ..] = raw_args(frame);
    let options = options as u32;
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let spec = wait_target(int(pid), &me.process);
    match exit::wait(spec, options | WEXITED)? {
        None => Ok(0),
        Some(reaped) => {
            uaccess::write_opt(status, &exit::status_word(reaped.event))?;
            uaccess::write_opt(rusage, &rusage_of(reaped.cpu_ns))?;
            Ok(u64::from(reaped.pid))
        }
    }
}

fn sys_waitid(frame: &mut TrapFrame) -> KResult<u64> {
    let [idtype, id, infop, options, rusage, _] = raw_args(frame);
    let options = options as u32;
    if options & !(WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WALL | __WCLONE) != 0
        || options & (WEXITED | WSTOPPED | WCONTINUED) == 0
    {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let spec = match idtype as u32 {
        P_ALL => WaitFor::Any,
        P_PID if int(id) > 0 => WaitFor::Pid(id as Pid),
        P_PGID if int(id) >= 0 => WaitFor::Group(if id == 0 { me.process.pgid() } else { id as Pid }),
        _ => return Err(Errno::EINVAL),
    };
    let reaped = exit::wait(spec, options)?;
    let info = match &reaped {
        None => SigInfo::default(),
        Some(r) => {
            let (code, status) = match r.event {
                process::ChildEvent::Exited(s) if s & 0x7f == 0 => (CLD_EXITED, (s >> 8) & 0xff),
                process::ChildEvent::Exited(s) if s & 0x80 != 0 => (CLD_DUMPED, s & 0x7f),
                process::ChildEvent::Exited(s) => (CLD_KILLED, s & 0x7f),
                process::ChildEvent::Stopped(sig) => (CLD_STOPPED, sig as i32),
                process::ChildEvent::Continued => (CLD_CONTINUED, SIGCONT as i32),
            };
            SigInfo::child(code, r.pid as i32, r.uid, status, 0, 0)
        }
    };
    uaccess::write_opt(infop, &info)?;
    if let Some(r) = &reaped {
        uaccess::write_opt(rusage, &rusage_of(r.cpu_ns))?;
    }
    Ok(0)
}

fn sys_set_tid_address(frame: &mut TrapFrame) -> KResult<u64> {
    let me = task()?;
    me.clear_child_tid.store(frame.rdi, Ordering::SeqCst);
    Ok(u64::from(me.tid))
}

fn sys_setpgid(frame: &mut TrapFrame) -> KResult<u64> {
    let pid = int(frame.rdi);
    let pgid = int(frame.rsi);
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let target = if pid == 0 { me.process.clone() } else { process::process(pid as Pid).ok_or(Errno::ESRCH)? };
    let is_self = Arc::ptr_eq(&target, &me.process);
    if !is_self {
        if target.ppid() != me.process.pid {
            return Err(Errno::ESRCH);
        }
        if target.did_exec.load(Ordering::Relaxed) {
            return Err(Errno::EACCES);
        }
        if target.sid() != me.process.sid() {
            return Err(Errno::EPERM);
        }
    }
    let new_pgid = if pgid == 0 { target.pid } else { pgid as Pid };
    if target.sid() == target.pid {
        return Err(Errno::EPERM); // a session leader cannot change its group
    }
    if new_pgid != target.pid {
        let sid = target.sid();
        let exists = process::all_processes().iter().any(|p| p.pgid() == new_pgid && p.sid() == sid);
        if !exists {
            return Err(Errno::EPERM);
        }
    }
    target.state.lock().pgid = new_pgid;
    Ok(0)
}

fn sys_getpgid(frame: &mut TrapFrame) -> KResult<u64> {
    let pid = int(frame.rdi);
    let me = task()?;
    let target = if pid == 0 { me.process.clone() } else { process::process(pid as Pid).ok_or(Errno::ESRCH)? };
    Ok(u64::from(target.pgid()))
}

fn sys_getpgrp(_: &mut TrapFrame) -> KResult<u64> {
    Ok(u64::from(task()?.process.pgid()))
}

fn sys_setsid(_: &mut TrapFrame) -> KResult<u64> {
    let me = task()?;
    let pid = me.process.pid;
    if process::all_processes().iter().any(|p| p.pgid() == pid) {
        return Err(Errno::EPERM);
    }
    let mut state = me.process.state.lock();
    state.sid = pid;
    state.pgid = pid;
    Ok(u64::from(pid))
}

fn sys_getsid(frame: &mut TrapFrame) -> KResult<u64> {
    let pid = int(frame.rdi);
    let me = task()?;
    let target = if pid == 0 { me.process.clone() } else { process::process(pid as Pid).ok_or(Errno::ESRCH)? };
    Ok(u64::from(target.sid()))
}

fn prlimit(pid: i32, resource: u32, new: u64, old: u64) -> KResult<u64> {
    if resource >= RLIM_NLIMITS {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let new_limit = if new != 0 { Some(uaccess::read::<Rlimit>(new)?) } else { None };
    let target = if pid == 0 { me.process.clone() } else { process::process(pid as Pid).ok_or(Errno::ESRCH)? };
    // Another process's limits (Linux's check_prlimit_permission): root (CAP_SYS_RESOURCE),
    // or the caller's uid and gid equal the target's real, effective and saved ones — the
    // same rule as reading it with the real ids.
    if !process::info::same_owner(&me.process, &target, process::info::CredMode::Real) {
        return Err(Errno::EPERM);
    }
    if let Some(limit) = new_limit {
        if limit.rlim_cur > limit.rlim_max {
            return Err(Errno::EINVAL);
        }
    }
    let previous = target.rlimit(resource);
    if let Some(limit) = new_limit {
        let root = me.process.creds.lock().euid == 0;
        if limit.rlim_max > previous.rlim_max && !root {
            return Err(Errno::EPERM);
        }
        if resource == RLIMIT_NOFILE && limit.rlim_max > crate::fs::FD_HARD_MAX as u64 {
            return Err(Errno::EPERM);
        }
    }
    uaccess::write_opt(old, &previous)?;
    if let Some(limit) = new_limit {
        if let Some(slot) = target.rlimits.lock().get_mut(resource as usize) {
            *slot = limit;
        }
    }
    Ok(0)
}

fn sys_prlimit64(frame: &mut TrapFrame) -> KResult<u64> {
    let [pid, resource, new, old, ..] = raw_args(frame);
    prlimit(int(pid), resource as u32, new, old)
}

fn sys_getrlimit(frame: &mut TrapFrame) -> KResult<u64> {
    if frame.rsi == 0 {
        return Err(Errno::EFAULT);
    }
    prlimit(0, frame.rdi as u32, 0, frame.rsi)
}

fn sys_setrlimit(frame: &mut TrapFrame) -> KResult<u64> {
    if frame.rsi == 0 {
        return Err(Errno::EFAULT);
    }
    prlimit(0, frame.rdi as u32, frame.rsi, 0)
}

fn sys_getrusage(frame: &mut TrapFrame) -> KResult<u64> {
    let who = int(frame.rdi);
    let me = task()?;
    let ns = match who {
        RUSAGE_SELF => me.process.cpu_time_ns(),
        RUSAGE_CHILDREN => me.process.state.lock().children_time_ns.0,
        RUSAGE_THREAD => crate::sched::current().runtime_ns(),
        _ => return Err(Errno::EINVAL),
    };
    uaccess::write(frame.rsi, &rusage_of(ns))?;
    Ok(0)
}

fn sys_arch_prctl(frame: &mut TrapFrame) -> KResult<u64> {
    use exo_abi::arch_prctl::*;
    let me = task()?;
    let addr = frame.rsi;
    match frame.rdi as u32 {
        ARCH_SET_FS | ARCH_SET_GS => {
            if addr >= uaccess::USER_END {
                return Err(Errno::EPERM);
            }
            if frame.rdi as u32 == ARCH_SET_FS {
                me.fs_base.store(addr, Ordering::Relaxed);
            } else {
                me.gs_base.store(addr, Ordering::Relaxed);
            }
            me.switch_in();
            Ok(0)
        }
        ARCH_GET_FS => uaccess::write(addr, &me.fs_base.load(Ordering::Relaxed)).map(|_| 0),
        ARCH_GET_GS => uaccess::write(addr, &me.gs_base.load(Ordering::Relaxed)).map(|_| 0),
        _ => Err(Errno::EINVAL),
    }
}

fn sys_set_robust_list(frame: &mut TrapFrame) -> KResult<u64> {
    if frame.rsi as usize != core::mem::size_of::<exo_abi::types::RobustListHead>() {
        return Err(Errno::EINVAL);
    }
    task()?.robust_list.store(frame.rdi, Ordering::Relaxed);
    Ok(0)
}

fn sys_get_robust_list(frame: &mut TrapFrame) -> KResult<u64> {
    let [pid, head, len, ..] = raw_args(frame);
    let me = task()?;
    let target = if int(pid) == 0 { me.clone() } else { process::task(pid as Pid).ok_or(Errno::ESRCH)? };
    // Another user's thread: ptrace read access with the real ids, else EPERM (Linux).
    if !process::info::may_inspect(&me.process, &target.process, process::info::CredMode::Real) {
        return Err(Errno::EPERM);
    }
    uaccess::write(len, &(core::mem::size_of::<exo_abi::types::RobustListHead>() as u64))?;
    uaccess::write(head, &target.robust_list.load(Ordering::Relaxed))?;
    Ok(0)
}

fn sys_futex(frame: &mut TrapFrame) -> KResult<u64> {
    let [addr, op, val, timeout, addr2, val3] = raw_args(frame);
    let me = task()?;
    process::futex::futex(&me, addr, op as u32, val as u32, timeout, addr2, val3 as u32)
}

fn sys_sched_yield(_: &mut TrapFrame) -> KResult<u64> {
    crate::sched::yield_now();
    Ok(0)
}

fn sys_sched_getaffinity(frame: &mut TrapFrame) -> KResult<u64> {
    let [pid, size, mask, ..] = raw_args(frame);
    if int(pid) != 0 && process::task(pid as Pid).is_none() {
        return Err(Errno::ESRCH);
    }
    let cpus = crate::arch::cpu_count();
    let bytes = cpus.div_ceil(64) * 8;
    if (size as usize) < bytes || size % 8 != 0 {
        return Err(Errno::EINVAL);
    }
    let mut out = [0u8; 128];
    for cpu in 0..cpus.min(1024) {
        out[cpu / 8] |= 1 << (cpu % 8);
    }
    uaccess::write_bytes(mask, &out[..bytes])?;
    Ok(bytes as u64)
}

fn sys_sched_setaffinity(frame: &mut TrapFrame) -> KResult<u64> {
    let [pid, size, mask, ..] = raw_args(frame);
    let mut first = [0u8; 8];
    let n = (size as usize).min(8);
    uaccess::read_bytes(mask, &mut first[..n])?;
    if int(pid) != 0 {
        let target = process::task(pid as Pid).ok_or(Errno::ESRCH)?;
        // Linux's check_same_owner: the caller's euid is the target's uid or euid, or root
        // (CAP_SYS_NICE); the credential locks are taken one after the other.
        let euid = task()?.process.creds.lock().euid;
        let (uid, target_euid) = {
            let c = target.process.creds.lock();
            (c.uid, c.euid)
        };
        if euid != 0 && euid != uid && euid != target_euid {
            return Err(Errno::EPERM);
        }
    }
    if u64::from_le_bytes(first) & ((1u64 << crate::arch::cpu_count().min(63)) - 1) == 0 {
        return Err(Errno::EINVAL);
    }
    // Accepted; the scheduler balances threads over all CPUs.
    Ok(0)
}

fn sys_prctl(frame: &mut TrapFrame) -> KResult<u64> {
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_GET_PDEATHSIG: u64 = 2;
    const PR_GET_DUMPABLE: u64 = 3;
    const PR_SET_DUMPABLE: u64 = 4;
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    const PR_SET_CHILD_SUBREAPER: u64 = 36;
    let me = task()?;
    match frame.rdi {
        PR_SET_NAME => {
            let name = uaccess::read_cstr(frame.rsi, 4096).or_else(|e| if e == Errno::ENAMETOOLONG { Ok(alloc::vec::Vec::new()) } else { Err(e) })?;
            me.process.set_comm(&name);
            Ok(0)
        }
        PR_GET_NAME => {
            let comm = *me.process.comm.lock();
            uaccess::write_bytes(frame.rsi, &comm)?;
            Ok(0)
        }
        PR_GET_DUMPABLE => Ok(u64::from(me.process.dumpable.load(Ordering::Relaxed))),
        PR_SET_DUMPABLE => match frame.rsi {
            0 | 1 => {
                me.process.dumpable.store(frame.rsi == 1, Ordering::Relaxed);
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        },
        PR_SET_PDEATHSIG | PR_SET_CHILD_SUBREAPER => Ok(0),
        PR_GET_PDEATHSIG => uaccess::write(frame.rsi, &0i32).map(|_| 0),
        _ => Err(Errno::EINVAL),
    }
}
