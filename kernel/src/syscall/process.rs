//! Process and thread syscalls: ids, fork/vfork/clone/clone3, execve, exit, wait, process
//! groups and sessions, resource limits, the thread pointer, futexes and scheduling hints.
//! (Sending signals is in `signal.rs`, credentials in `info.rs`.)

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use exo_abi::clone::*;
use exo_abi::resource::*;
use exo_abi::signal::*;
use exo_abi::types::{RobustListHead, Rlimit, Rusage, Timeval};
use exo_abi::wait::*;
use exo_abi::{nr, Errno, KResult};

use super::args::{typed, with_frame};
use super::{task, Handler};
use crate::arch::TrapFrame;
use crate::process::clone::CloneArgs;
use crate::process::exit::{self, WaitFor};
use crate::process::{self, Pid};
use crate::uaccess::{self, UserAddr, UserArg, UserCStr, UserCStrArray, UserPtr};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full
    t[nr::GETPID] = typed!(sys_getpid);
    // full
    t[nr::GETPPID] = typed!(sys_getppid);
    // full
    t[nr::GETTID] = typed!(sys_gettid);
    // full: copy-on-write
    t[nr::FORK] = with_frame!(sys_fork);
    // full: parent waits until exec/exit
    t[nr::VFORK] = with_frame!(sys_vfork);
    // partial: Linux flags: VM, FS, FILES, SIGHAND, THREAD, VFORK, PARENT, SETTLS, PARENT_SETTID, CHILD_SETTID, CHILD_CLEARTID, exit signal; namespaces EINVAL
    t[nr::CLONE] = with_frame!(sys_clone);
    // full: same flags as clone; stack + stack_size
    t[nr::CLONE3] = with_frame!(sys_clone3);
    // partial: ELF64 static, static-PIE and dynamically linked (PT_INTERP loader at Linux's place, AT_BASE/PHDR/ENTRY/EXECFN/RANDOM/SECURE; missing loader ENOENT, short EIO, not ELF ELIBBAD), #! scripts (4 levels); set-user-ID/set-group-ID files (not on nosuid mounts; a script's bits ignored), EACCES on noexec mounts; ENOENT/EACCES/ENOEXEC/E2BIG/EFAULT; no ETXTBSY
    t[nr::EXECVE] = with_frame!(sys_execve);
    // full: relative to a directory descriptor, AT_EMPTY_PATH (the descriptor's own file: fexecve), AT_SYMLINK_NOFOLLOW (ELOOP); AT_EXECFN /dev/fd/N[/path] as Linux; otherwise as execve
    t[nr::EXECVEAT] = with_frame!(sys_execveat);
    // full: thread exit; CLONE_CHILD_CLEARTID futex wake
    t[nr::EXIT] = typed!(sys_exit);
    // full
    t[nr::EXIT_GROUP] = typed!(sys_exit_group);
    // full: pid/-1/0/-pgid, WNOHANG/WUNTRACED/WCONTINUED/__WALL; rusage CPU time
    t[nr::WAIT4] = typed!(sys_wait4);
    // full: P_ALL/P_PID/P_PGID, WEXITED/WSTOPPED/WCONTINUED/WNOWAIT/WNOHANG
    t[nr::WAITID] = typed!(sys_waitid);
    // full
    t[nr::SET_TID_ADDRESS] = typed!(sys_set_tid_address);
    // full: ESRCH/EACCES (after exec)/EPERM rules
    t[nr::SETPGID] = typed!(sys_setpgid);
    // full
    t[nr::GETPGID] = typed!(sys_getpgid);
    // full
    t[nr::GETPGRP] = typed!(sys_getpgrp);
    // full: EPERM for a group leader
    t[nr::SETSID] = typed!(sys_setsid);
    // full
    t[nr::GETSID] = typed!(sys_getsid);
    // full: another process: same uids/gids or root, else EPERM; raising the hard limit needs root
    t[nr::PRLIMIT64] = typed!(sys_prlimit64);
    // full
    t[nr::GETRLIMIT] = typed!(sys_getrlimit);
    // full
    t[nr::SETRLIMIT] = typed!(sys_setrlimit);
    // partial: RUSAGE_SELF/CHILDREN/THREAD (CPU time only)
    t[nr::GETRUSAGE] = typed!(sys_getrusage);
    // full: ARCH_SET_FS/GET_FS/SET_GS/GET_GS
    t[nr::ARCH_PRCTL] = typed!(sys_arch_prctl);
    // full: the list is walked at thread exit and exec: locks still held get FUTEX_OWNER_DIED and one waiter woken (PI entries only marked)
    t[nr::SET_ROBUST_LIST] = typed!(sys_set_robust_list);
    // full: another tid: ptrace read access (same uids/gids or root), else EPERM
    t[nr::GET_ROBUST_LIST] = typed!(sys_get_robust_list);
    // partial: WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAIT_BITSET, WAKE_BITSET, private flag, timeouts, CLOCK_REALTIME; the PI operations (LOCK_PI, UNLOCK_PI, TRYLOCK_PI, WAIT_REQUEUE_PI, CMP_REQUEUE_PI) ENOSYS
    t[nr::FUTEX] = typed!(sys_futex);
    // full
    t[nr::SCHED_YIELD] = typed!(sys_sched_yield);
    // full: all online CPUs; EINVAL for a short mask
    t[nr::SCHED_GETAFFINITY] = typed!(sys_sched_getaffinity);
    // partial: accepted (threads run on any CPU); another user's thread EPERM (Linux's same-owner rule)
    t[nr::SCHED_SETAFFINITY] = typed!(sys_sched_setaffinity);
    // partial: PR_SET_NAME/GET_NAME; PDEATHSIG and CHILD_SUBREAPER accepted (no effect)
    t[nr::PRCTL] = typed!(sys_prctl);
    crate::syscall::info::register_creds(t);
}

// The id calls borrow the task (no reference-count round trip): they are the null syscalls.
fn sys_getpid() -> KResult<u64> {
    // SAFETY: a system call's handler.
    unsafe { process::with_syscall_task(|task| u64::from(task.process.pid)) }.ok_or(Errno::ENOSYS)
}

fn sys_getppid() -> KResult<u64> {
    // SAFETY: a system call's handler.
    unsafe { process::with_syscall_task(|task| u64::from(task.process.ppid())) }.ok_or(Errno::ENOSYS)
}

fn sys_gettid() -> KResult<u64> {
    // SAFETY: a system call's handler.
    unsafe { process::with_syscall_task(|task| u64::from(task.tid)) }.ok_or(Errno::ENOSYS)
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
fn sys_clone(
    frame: &mut TrapFrame,
    flags: u64,
    stack: UserAddr,
    parent_tid: UserPtr<Pid>,
    child_tid: UserPtr<Pid>,
    tls: UserAddr,
) -> KResult<u64> {
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

fn sys_clone3(frame: &mut TrapFrame, cl_args: UserPtr<exo_abi::clone::CloneArgs>, size: usize) -> KResult<u64> {
    if size < 64 || size > 4096 {
        return Err(Errno::EINVAL);
    }
    let raw = cl_args.read()?;
    if raw.exit_signal > u64::from(NSIG) || raw.flags & CSIGNAL != 0 {
        return Err(Errno::EINVAL);
    }
    let stack = if raw.stack != 0 { raw.stack.checked_add(raw.stack_size).ok_or(Errno::EINVAL)? } else { 0 };
    let args = CloneArgs {
        flags: raw.flags,
        stack: UserAddr::new(stack),
        parent_tid: UserPtr::new(raw.parent_tid),
        child_tid: UserPtr::new(raw.child_tid),
        tls: UserAddr::new(raw.tls),
        exit_signal: raw.exit_signal as u32,
    };
    process::clone::clone(args, frame).map(u64::from)
}

fn sys_execve(frame: &mut TrapFrame, pathname: UserCStr, argv: UserCStrArray, envp: UserCStrArray) -> KResult<u64> {
    let path = pathname.read_path()?;
    let argv = argv.read(0x7fff_ffff, process::exec::ARG_MAX)?;
    let envp = envp.read(0x7fff_ffff, process::exec::ARG_MAX)?;
    process::exec::execve(path, argv, envp, frame)
}

fn sys_execveat(frame: &mut TrapFrame, dirfd: i32, pathname: UserCStr, argv: UserCStrArray, envp: UserCStrArray, flags: u32) -> KResult<u64> {
    use exo_abi::fcntl::{AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW};
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let path = match pathname.read_path() {
        Err(Errno::ENOENT) if flags & AT_EMPTY_PATH != 0 => alloc::vec::Vec::new(),
        other => other?,
    };
    let argv = argv.read(0x7fff_ffff, process::exec::ARG_MAX)?;
    let envp = envp.read(0x7fff_ffff, process::exec::ARG_MAX)?;
    if dirfd == AT_FDCWD && !path.is_empty() && flags & AT_SYMLINK_NOFOLLOW == 0 {
        return process::exec::execve(path, argv, envp, frame);
    }
    let file = if path.is_empty() && dirfd == AT_FDCWD {
        me.fs().cwd.lock().clone()
    } else if path.is_empty() {
        me.files().get(dirfd)?.ops.path().ok_or(Errno::EACCES)?
    } else {
        let base = super::fs::base_dir(&me, dirfd, &path)?;
        let ctx = crate::fs::lookup_ctx(&me, base).follow(flags & AT_SYMLINK_NOFOLLOW == 0);
        let file = crate::fs::namespace()?.resolve(&ctx, &path)?;
        if file.metadata().is_symlink() {
            return Err(Errno::ELOOP);
        }
        file
    };
    // The name the program gets (AT_EXECFN, a script's argument), as Linux makes it.
    let name = if path.first() == Some(&b'/') || dirfd == AT_FDCWD {
        path
    } else if path.is_empty() {
        alloc::format!("/dev/fd/{dirfd}").into_bytes()
    } else {
        let mut name = alloc::format!("/dev/fd/{dirfd}/").into_bytes();
        name.try_reserve(path.len()).map_err(|_| Errno::ENOMEM)?;
        name.extend_from_slice(&path);
        name
    };
    drop(me);
    process::exec::execve_file(Some(file), name, argv, envp, frame)
}

fn sys_exit(status: i32) -> KResult<u64> {
    exit::exit_current(exit_status(status), false)
}

fn sys_exit_group(status: i32) -> KResult<u64> {
    exit::exit_current(exit_status(status), true)
}

fn wait_target(pid: i32, me: &process::Process) -> WaitFor {
    match pid {
        -1 => WaitFor::Any,
        0 => WaitFor::Group(me.pgid()),
        p if p < -1 => WaitFor::Group(p.unsigned_abs()),
        p => WaitFor::Pid(p as Pid),
    }
}

fn rusage_of(cpu_ns: u64) -> Rusage {
    let utime = Timeval { tv_sec: (cpu_ns / 1_000_000_000) as i64, tv_usec: (cpu_ns % 1_000_000_000 / 1000) as i64 };
    Rusage { ru_utime: utime, ..Default::default() }
}

fn sys_wait4(pid: i32, wstatus: UserPtr<i32>, options: u32, rusage: UserPtr<Rusage>) -> KResult<u64> {
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let spec = wait_target(pid, &me.process);
    match exit::wait(spec, options | WEXITED)? {
        None => Ok(0),
        Some(reaped) => {
            wstatus.write_opt(&exit::status_word(reaped.event))?;
            rusage.write_opt(&rusage_of(reaped.cpu_ns))?;
            Ok(u64::from(reaped.pid))
        }
    }
}

fn sys_waitid(idtype: u32, id: i32, infop: UserPtr<SigInfo>, options: u32, rusage: UserPtr<Rusage>) -> KResult<u64> {
    if options & !(WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WALL | __WCLONE) != 0
        || options & (WEXITED | WSTOPPED | WCONTINUED) == 0
    {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let spec = match idtype {
        P_ALL => WaitFor::Any,
        P_PID if id > 0 => WaitFor::Pid(id as Pid),
        P_PGID if id >= 0 => WaitFor::Group(if id == 0 { me.process.pgid() } else { id as Pid }),
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
    infop.write_opt(&info)?;
    if let Some(r) = &reaped {
        rusage.write_opt(&rusage_of(r.cpu_ns))?;
    }
    Ok(0)
}

fn sys_set_tid_address(tidptr: UserPtr<Pid>) -> KResult<u64> {
    let me = task()?;
    me.clear_child_tid.store(tidptr.addr(), Ordering::SeqCst);
    Ok(u64::from(me.tid))
}

fn sys_setpgid(pid: i32, pgid: i32) -> KResult<u64> {
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

fn sys_getpgid(pid: i32) -> KResult<u64> {
    let me = task()?;
    let target = if pid == 0 { me.process.clone() } else { process::process(pid as Pid).ok_or(Errno::ESRCH)? };
    Ok(u64::from(target.pgid()))
}

fn sys_getpgrp() -> KResult<u64> {
    Ok(u64::from(task()?.process.pgid()))
}

fn sys_setsid() -> KResult<u64> {
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

fn sys_getsid(pid: i32) -> KResult<u64> {
    let me = task()?;
    let target = if pid == 0 { me.process.clone() } else { process::process(pid as Pid).ok_or(Errno::ESRCH)? };
    Ok(u64::from(target.sid()))
}

fn prlimit(pid: i32, resource: u32, new: UserPtr<Rlimit>, old: UserPtr<Rlimit>) -> KResult<u64> {
    if resource >= RLIM_NLIMITS {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let new_limit = new.read_opt()?;
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
    old.write_opt(&previous)?;
    if let Some(limit) = new_limit {
        if let Some(slot) = target.rlimits.lock().get_mut(resource as usize) {
            *slot = limit;
        }
    }
    Ok(0)
}

fn sys_prlimit64(pid: i32, resource: u32, new_limit: UserPtr<Rlimit>, old_limit: UserPtr<Rlimit>) -> KResult<u64> {
    prlimit(pid, resource, new_limit, old_limit)
}

fn sys_getrlimit(resource: u32, rlim: UserPtr<Rlimit>) -> KResult<u64> {
    if rlim.is_null() {
        return Err(Errno::EFAULT);
    }
    prlimit(0, resource, UserPtr::null(), rlim)
}

fn sys_setrlimit(resource: u32, rlim: UserPtr<Rlimit>) -> KResult<u64> {
    if rlim.is_null() {
        return Err(Errno::EFAULT);
    }
    prlimit(0, resource, rlim, UserPtr::null())
}

fn sys_getrusage(who: i32, usage: UserPtr<Rusage>) -> KResult<u64> {
    let me = task()?;
    // Context switches: the live threads' (RUSAGE_SELF) or this thread's; not kept for
    // threads that ended or for children (reported as 0).
    let (ns, (nvcsw, nivcsw)) = match who {
        RUSAGE_SELF => (me.process.cpu_time_ns(), me.process.context_switches()),
        RUSAGE_CHILDREN => (me.process.state.lock().children_time_ns.0, (0, 0)),
        RUSAGE_THREAD => {
            let thread = crate::sched::current();
            (thread.runtime_ns(), thread.context_switches())
        }
        _ => return Err(Errno::EINVAL),
    };
    let mut result = rusage_of(ns);
    result.ru_nvcsw = nvcsw as i64;
    result.ru_nivcsw = nivcsw as i64;
    usage.write(&result)?;
    Ok(0)
}

fn sys_arch_prctl(code: u32, addr: UserArg) -> KResult<u64> {
    use exo_abi::arch_prctl::*;
    let me = task()?;
    match code {
        ARCH_SET_FS | ARCH_SET_GS => {
            // A base the program's own code will use: an address, never dereferenced here.
            let base = addr.ulong();
            if base >= uaccess::USER_END {
                return Err(Errno::EPERM);
            }
            if code == ARCH_SET_FS {
                me.fs_base.store(base, Ordering::Relaxed);
            } else {
                me.gs_base.store(base, Ordering::Relaxed);
            }
            me.switch_in();
            Ok(0)
        }
        ARCH_GET_FS => addr.ptr::<u64>().write(&me.fs_base.load(Ordering::Relaxed)).map(|_| 0),
        ARCH_GET_GS => addr.ptr::<u64>().write(&me.gs_base.load(Ordering::Relaxed)).map(|_| 0),
        _ => Err(Errno::EINVAL),
    }
}

/// set_robust_list(head, len): the head is recorded; the list is walked when the thread exits
/// or execs (`process::futex_ops::release_robust_list`).
fn sys_set_robust_list(head: UserPtr<RobustListHead>, len: usize) -> KResult<u64> {
    if len != core::mem::size_of::<RobustListHead>() {
        return Err(Errno::EINVAL);
    }
    task()?.robust_list.store(head.addr(), Ordering::Relaxed);
    Ok(0)
}

fn sys_get_robust_list(pid: i32, head_ptr: UserPtr<u64>, len_ptr: UserPtr<u64>) -> KResult<u64> {
    let me = task()?;
    let target = if pid == 0 { me.clone() } else { process::task(pid as Pid).ok_or(Errno::ESRCH)? };
    // Another user's thread: ptrace read access with the real ids, else EPERM (Linux).
    if !process::info::may_inspect(&me.process, &target.process, process::info::CredMode::Real) {
        return Err(Errno::EPERM);
    }
    len_ptr.write(&(core::mem::size_of::<RobustListHead>() as u64))?;
    head_ptr.write(&target.robust_list.load(Ordering::Relaxed))?;
    Ok(0)
}

/// futex(uaddr, futex_op, val, timeout or val2, uaddr2, val3). The futex implementation takes
/// the addresses as plain values (they are keys; it reads the words through `uaccess`) and the
/// fourth argument raw (a timespec pointer or a count, depending on the operation).
fn sys_futex(uaddr: UserPtr<u32>, futex_op: u32, val: u32, timeout: UserArg, uaddr2: UserPtr<u32>, val3: u32) -> KResult<u64> {
    let me = task()?;
    process::futex::futex(&me, uaddr, futex_op, val, timeout, uaddr2, val3)
}

fn sys_sched_yield() -> KResult<u64> {
    crate::sched::yield_now();
    Ok(0)
}

fn sys_sched_getaffinity(pid: i32, cpusetsize: usize, mask: UserPtr<u8>) -> KResult<u64> {
    if pid != 0 && process::task(pid as Pid).is_none() {
        return Err(Errno::ESRCH);
    }
    let cpus = crate::arch::cpu_count();
    let bytes = cpus.div_ceil(64) * 8;
    if cpusetsize < bytes || cpusetsize % 8 != 0 {
        return Err(Errno::EINVAL);
    }
    let mut out = [0u8; 128];
    for cpu in 0..cpus.min(1024) {
        out[cpu / 8] |= 1 << (cpu % 8);
    }
    mask.slice(bytes)?.write_from(&out[..bytes])?;
    Ok(bytes as u64)
}

fn sys_sched_setaffinity(pid: i32, cpusetsize: usize, mask: UserPtr<u8>) -> KResult<u64> {
    let mut first = [0u8; 8];
    let n = cpusetsize.min(8);
    mask.slice(n)?.read_into(&mut first[..n])?;
    if pid != 0 {
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

/// prctl(option, arg2, ...): what `arg2` is depends on the option.
fn sys_prctl(option: i32, arg2: UserArg) -> KResult<u64> {
    const PR_SET_PDEATHSIG: i32 = 1;
    const PR_GET_PDEATHSIG: i32 = 2;
    const PR_GET_DUMPABLE: i32 = 3;
    const PR_SET_DUMPABLE: i32 = 4;
    const PR_SET_NAME: i32 = 15;
    const PR_GET_NAME: i32 = 16;
    const PR_SET_CHILD_SUBREAPER: i32 = 36;
    let me = task()?;
    match option {
        PR_SET_NAME => {
            let name = UserCStr::new(arg2.ptr())
                .read(4096)
                .or_else(|e| if e == Errno::ENAMETOOLONG { Ok(alloc::vec::Vec::new()) } else { Err(e) })?;
            me.process.set_comm(&name);
            Ok(0)
        }
        PR_GET_NAME => {
            let comm = *me.process.comm.lock();
            arg2.ptr::<[u8; 16]>().write(&comm)?;
            Ok(0)
        }
        PR_GET_DUMPABLE => Ok(u64::from(me.process.dumpable.load(Ordering::Relaxed))),
        PR_SET_DUMPABLE => match arg2.ulong() {
            value @ (0 | 1) => {
                me.process.dumpable.store(value == 1, Ordering::Relaxed);
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        },
        PR_SET_PDEATHSIG | PR_SET_CHILD_SUBREAPER => Ok(0),
        PR_GET_PDEATHSIG => arg2.ptr::<i32>().write(&0).map(|_| 0),
        _ => Err(Errno::EINVAL),
    }
}
