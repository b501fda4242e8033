//! Calls that name or reach into another process: `pidfd_open`, `pidfd_send_signal`,
//! `pidfd_getfd`, `kcmp`, `process_vm_readv`/`process_vm_writev`. Each checks Linux's
//! permission: kill's rules for signals, ptrace-access (same ids and dumpable, or root) for
//! the others.

use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::caps::*;
use exo_abi::signal::{SigInfo, SI_TKILL, SI_USER};
use exo_abi::types::Iovec;
use exo_abi::{nr, Errno, KResult};

use super::args::{typed, Fd};
use super::{task, Handler};
use crate::process::info::{may_inspect, CredMode};
use crate::process::remote_mem::{self, Access};
use crate::process::{self, pidfd, Pid, Process};
use crate::uaccess::{UserPtr, UserSlice};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: PIDFD_NONBLOCK; close-on-exec; readable (POLLIN) once the process has exited; EINVAL for bad flags or pid, ESRCH for no such process
    t[nr::PIDFD_OPEN] = typed!(sys_pidfd_open);
    // full: PIDFD_SIGNAL_THREAD/THREAD_GROUP/PROCESS_GROUP; kill's permission rules (EPERM), ESRCH once reaped, EBADF/EINVAL; a siginfo must name the same signal and, to another process, a negative si_code
    t[nr::PIDFD_SEND_SIGNAL] = typed!(sys_pidfd_send_signal);
    // full: ptrace-access permission (EPERM), EBADF for the target's descriptor, ESRCH once exited (no thread left); the copy is close-on-exec
    t[nr::PIDFD_GETFD] = typed!(sys_pidfd_getfd);
    // partial: KCMP_FILE, KCMP_FILES, KCMP_FS, KCMP_VM, KCMP_SIGHAND, KCMP_IO, KCMP_SYSVSEM (ordering of object addresses); ptrace-access permission; KCMP_EPOLL_TFD EINVAL
    t[nr::KCMP] = typed!(sys_kcmp);
    // full: ptrace-access permission (EPERM), ESRCH, EINVAL (flags, iovcnt > 1024), EFAULT; partial transfers stop at the first inaccessible remote page
    t[nr::PROCESS_VM_READV] = typed!(sys_process_vm_readv);
    // full: as process_vm_readv; writes only where the target may write (copy-on-write broken first)
    t[nr::PROCESS_VM_WRITEV] = typed!(sys_process_vm_writev);
}

fn sys_pidfd_open(pid: i32, flags: u32) -> KResult<u64> {
    if flags & !PIDFD_NONBLOCK != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let target = process::process(pid as Pid).ok_or(Errno::ESRCH)?;
    super::fs::install(&me, pidfd::open(target, flags & PIDFD_NONBLOCK != 0), true)
}

/// The process a pidfd names (EBADF: not a pidfd), ESRCH once it has been reaped (a zombie
/// still takes signals, which it ignores, as on Linux).
fn pidfd_target(fd: Fd) -> KResult<Arc<Process>> {
    let file = task()?.files().get(fd.get())?;
    let target = pidfd::of(&file).ok_or(Errno::EBADF)?;
    match process::process(target.pid) {
        Some(current) if Arc::ptr_eq(&current, &target) => Ok(target),
        _ => Err(Errno::ESRCH),
    }
}

/// pidfd_send_signal's scope flags (Linux 6.9): to the thread, the thread group (the
/// default), or the process group.
const PIDFD_SIGNAL_THREAD: u32 = 1;
const PIDFD_SIGNAL_THREAD_GROUP: u32 = 2;
const PIDFD_SIGNAL_PROCESS_GROUP: u32 = 4;

fn sys_pidfd_send_signal(fd: Fd, sig: i32, info: UserPtr<SigInfo>, flags: u32) -> KResult<u64> {
    let scopes = PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP;
    if flags & !scopes != 0 || flags.count_ones() > 1 {
        return Err(Errno::EINVAL);
    }
    let sig = u32::try_from(sig).map_err(|_| Errno::EINVAL)?;
    if sig != 0 && !process::signal::valid(sig) {
        return Err(Errno::EINVAL);
    }
    let target = pidfd_target(fd)?;
    let me = task()?;
    let mut siginfo = SigInfo::user(sig, SI_USER, me.process.pid as i32, me.process.creds.lock().uid);
    if let Some(given) = info.read_opt()? {
        if given.si_signo as u32 != sig {
            return Err(Errno::EINVAL);
        }
        if target.pid != me.process.pid && (given.si_code >= 0 || given.si_code == SI_TKILL) {
            return Err(Errno::EPERM);
        }
        siginfo = given;
    }
    if flags == PIDFD_SIGNAL_PROCESS_GROUP {
        let pgid = target.pgid();
        let group: Vec<Arc<Process>> = process::all_processes().into_iter().filter(|p| p.pgid() == pgid).collect();
        let mut sent = false;
        for member in group.iter().filter(|p| process::signal::may_send(&me.process, p, sig)) {
            sent = true;
            if sig != 0 {
                process::signal::send_to_process(member, sig, siginfo);
            }
        }
        return if sent { Ok(0) } else { Err(Errno::EPERM) };
    }
    if !process::signal::may_send(&me.process, &target, sig) {
        return Err(Errno::EPERM);
    }
    if sig != 0 {
        match crate::process::info::main_task(&target) {
            Some(thread) if flags == PIDFD_SIGNAL_THREAD => process::signal::send_to_task(&thread, sig, siginfo),
            _ => process::signal::send_to_process(&target, sig, siginfo),
        }
    }
    Ok(0)
}

/// Linux's ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS) for reaching into `target`.
fn may_reach(me: &Process, target: &Process) -> bool {
    may_inspect(me, target, CredMode::Real)
}

fn sys_pidfd_getfd(fd: Fd, targetfd: i32, flags: u32) -> KResult<u64> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let target = pidfd_target(fd)?;
    let me = task()?;
    if !may_reach(&me.process, &target) {
        return Err(Errno::EPERM);
    }
    let holder = crate::process::info::main_task(&target).ok_or(Errno::ESRCH)?;
    let file = holder.files().get(targetfd)?;
    super::fs::install(&me, file, true)
}

/// kcmp's answer for two object addresses: 0 equal, 1 less, 2 greater (Linux orders
/// obfuscated pointers; the order here is the addresses').
fn order(a: usize, b: usize) -> u64 {
    match a.cmp(&b) {
        core::cmp::Ordering::Equal => 0,
        core::cmp::Ordering::Less => 1,
        core::cmp::Ordering::Greater => 2,
    }
}

fn sys_kcmp(pid1: i32, pid2: i32, kind: i32, idx1: u64, idx2: u64) -> KResult<u64> {
    let me = task()?;
    let find = |pid: i32| -> KResult<Arc<crate::process::Task>> {
        if pid <= 0 {
            return Err(Errno::ESRCH);
        }
        process::task(pid as Pid).ok_or(Errno::ESRCH)
    };
    let (a, b) = (find(pid1)?, find(pid2)?);
    if !may_reach(&me.process, &a.process) || !may_reach(&me.process, &b.process) {
        return Err(Errno::EPERM);
    }
    match kind {
        KCMP_FILE => {
            let fa = a.files().get(i32::try_from(idx1).map_err(|_| Errno::EBADF)?)?;
            let fb = b.files().get(i32::try_from(idx2).map_err(|_| Errno::EBADF)?)?;
            Ok(order(Arc::as_ptr(&fa) as usize, Arc::as_ptr(&fb) as usize))
        }
        KCMP_FILES => Ok(order(Arc::as_ptr(&a.files()) as usize, Arc::as_ptr(&b.files()) as usize)),
        KCMP_FS => Ok(order(Arc::as_ptr(&a.fs()) as usize, Arc::as_ptr(&b.fs()) as usize)),
        KCMP_VM => Ok(order(Arc::as_ptr(&a.mm()) as usize, Arc::as_ptr(&b.mm()) as usize)),
        KCMP_SIGHAND => Ok(order(Arc::as_ptr(&a.sighand()) as usize, Arc::as_ptr(&b.sighand()) as usize)),
        // One I/O context and one System V undo list per process here.
        KCMP_IO | KCMP_SYSVSEM => Ok(order(Arc::as_ptr(&a.process) as usize, Arc::as_ptr(&b.process) as usize)),
        _ => Err(Errno::EINVAL),
    }
}

/// Bytes moved per bounce (a kernel buffer between the two address spaces).
const CHUNK: usize = 4096;

fn read_iovecs(iov: UserPtr<Iovec>, count: u64) -> KResult<Vec<Iovec>> {
    super::fs_vec::read_iovecs(iov, usize::try_from(count).map_err(|_| Errno::EINVAL)?)
}

/// process_vm_readv/writev: local and remote iovecs walked in step through a bounce buffer.
fn process_vm(pid: i32, local: UserPtr<Iovec>, liovcnt: u64, remote: UserPtr<Iovec>, riovcnt: u64, flags: u64, write: bool) -> KResult<u64> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let locals = read_iovecs(local, liovcnt)?;
    let remotes = read_iovecs(remote, riovcnt)?;
    let me = task()?;
    if pid <= 0 {
        return Err(Errno::ESRCH);
    }
    let target = process::process(pid as Pid).ok_or(Errno::ESRCH)?;
    let holder = crate::process::info::main_task(&target).ok_or(Errno::ESRCH)?;
    if !may_reach(&me.process, &target) {
        return Err(Errno::EPERM);
    }
    let mm = holder.mm();
    let mut buf: Vec<u8> = Vec::new();
    buf.try_reserve_exact(CHUNK).map_err(|_| Errno::ENOMEM)?;
    buf.resize(CHUNK, 0);
    let mut moved: u64 = 0;
    let (mut li, mut loff, mut ri, mut roff) = (0usize, 0u64, 0usize, 0u64);
    loop {
        while li < locals.len() && loff >= locals[li].len {
            li += 1;
            loff = 0;
        }
        while ri < remotes.len() && roff >= remotes[ri].len {
            ri += 1;
            roff = 0;
        }
        let (Some(l), Some(r)) = (locals.get(li), remotes.get(ri)) else { break };
        let n = ((l.len - loff).min(r.len - roff) as usize).min(CHUNK);
        let local_at = UserSlice::new(UserPtr::<u8>::new(l.base.wrapping_add(loff)), n);
        let remote_at = r.base.wrapping_add(roff);
        let step = if write {
            let local_at = local_at?;
            if let Err(e) = local_at.read_into(&mut buf[..n]) {
                if moved == 0 {
                    return Err(e);
                }
                break;
            }
            remote_mem::access(&mm, remote_at, Access::Write(&buf[..n]))
        } else {
            match remote_mem::access(&mm, remote_at, Access::Read(&mut buf[..n])) {
                Ok(got) => {
                    let result = local_at.and_then(|s| s.sub(0, got).write_from(&buf[..got]));
                    if let Err(e) = result {
                        if moved == 0 {
                            return Err(e);
                        }
                        break;
                    }
                    Ok(got)
                }
                Err(e) => Err(e),
            }
        };
        // Linux stops at the first remote page it cannot reach: the bytes moved so far, or
        // the error when there are none.
        match step {
            Ok(got) => {
                moved += got as u64;
                loff += got as u64;
                roff += got as u64;
                if got < n {
                    break;
                }
            }
            Err(e) => {
                if moved == 0 {
                    return Err(e);
                }
                break;
            }
        }
    }
    Ok(moved)
}

fn sys_process_vm_readv(pid: i32, local: UserPtr<Iovec>, liovcnt: u64, remote: UserPtr<Iovec>, riovcnt: u64, flags: u64) -> KResult<u64> {
    process_vm(pid, local, liovcnt, remote, riovcnt, flags, false)
}

fn sys_process_vm_writev(pid: i32, local: UserPtr<Iovec>, liovcnt: u64, remote: UserPtr<Iovec>, riovcnt: u64, flags: u64) -> KResult<u64> {
    process_vm(pid, local, liovcnt, remote, riovcnt, flags, true)
}
