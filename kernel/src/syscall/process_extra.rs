//! Process-level settings: capabilities (`capget`/`capset`: root has the full sets, others
//! none; capset may only drop), `prctl`'s common options, `personality`, `unshare` and
//! `setns` (no namespaces), `membarrier`, `vhangup` and `acct` (root only). The state lives
//! in `process::extra::ProcExtra`.

use core::sync::atomic::Ordering;

use exo_abi::caps::*;
use exo_abi::clone::*;
use exo_abi::{nr, Errno, KResult};

use super::args::{typed, Fd};
use super::{task, Handler};
use crate::process::{self, Pid, Process};
use crate::uaccess::{UserArg, UserCStr, UserPtr};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // partial: v1/v2/v3 headers (EINVAL and the kernel's version written back for another; 0 with NULL data: the probe), pid 0/self/other (ESRCH); root's sets are full (minus what capset dropped), others' empty; no per-capability checks (privilege is euid 0)
    t[nr::CAPGET] = typed!(sys_capget);
    // partial: only the caller (other pid EPERM); may only drop (permitted ⊆ old permitted, effective ⊆ permitted, else EPERM); the dropped bits show in capget but privilege stays euid 0
    t[nr::CAPSET] = typed!(sys_capset);
    // partial: PR_SET/GET_NAME, PDEATHSIG (delivered when the parent exits), DUMPABLE, NO_NEW_PRIVS, CHILD_SUBREAPER (orphans re-parented to it), KEEPCAPS, TIMERSLACK (stored), GET_SECCOMP (0), CAPBSET_READ/DROP, GET_TID_ADDRESS; PR_SET_MM EPERM; others EINVAL
    t[nr::PRCTL] = typed!(sys_prctl);
    // full: stored and inherited (PER_LINUX, ADDR_NO_RANDOMIZE and any other value, as Linux); 0xffffffff queries
    t[nr::PERSONALITY] = typed!(sys_personality);
    // partial: CLONE_FILES, CLONE_FS (private copies), CLONE_SYSVSEM, and CLONE_VM/SIGHAND/THREAD for a single-threaded process; namespace flags EPERM for non-root, EINVAL for root (no namespaces)
    t[nr::UNSHARE] = typed!(sys_unshare);
    // partial: no namespaces: EBADF for a bad descriptor, EINVAL otherwise
    t[nr::SETNS] = typed!(sys_setns);
    // full: QUERY, GLOBAL, GLOBAL_EXPEDITED, PRIVATE_EXPEDITED(_SYNC_CORE) and their REGISTER commands (EPERM unregistered); a serialising interrupt on every CPU
    t[nr::MEMBARRIER] = typed!(sys_membarrier);
    // partial: EPERM for non-root; root: succeeds (no controlling-terminal hang-up)
    t[nr::VHANGUP] = typed!(sys_vhangup);
    // partial: EPERM for non-root; root: turning accounting off succeeds, on gives ENOSYS (no accounting records)
    t[nr::ACCT] = typed!(sys_acct);
}

fn is_root(process: &Process) -> bool {
    process.creds.lock().euid == 0
}

/// Bits of every capability Linux knows.
const ALL_CAPS: u64 = (1u64 << (CAP_LAST_CAP + 1)) - 1;

/// Number of data structs for `version`, or EINVAL (the kernel's version written back).
fn cap_words(header: UserPtr<CapHeader>, version: u32) -> KResult<usize> {
    match version {
        LINUX_CAPABILITY_VERSION_1 => Ok(1),
        LINUX_CAPABILITY_VERSION_2 | LINUX_CAPABILITY_VERSION_3 => Ok(2),
        _ => {
            UserPtr::<u32>::new(header.addr()).write(&LINUX_CAPABILITY_VERSION_3)?;
            Err(Errno::EINVAL)
        }
    }
}

/// (effective, permitted, inheritable) of `process`.
fn cap_sets(process: &Process) -> (u64, u64, u64) {
    if !is_root(process) {
        return (0, 0, 0);
    }
    let (eff, perm) = process.extra.lock().caps_dropped;
    (ALL_CAPS & !eff & !perm, ALL_CAPS & !perm, 0)
}

fn sys_capget(header: UserPtr<CapHeader>, data: UserPtr<CapData>) -> KResult<u64> {
    let head = header.read()?;
    // A NULL data pointer probes the version: 0 even for another one (written back).
    let words = match cap_words(header, head.version) {
        Err(Errno::EINVAL) if data.is_null() => return Ok(0),
        other => other?,
    };
    if data.is_null() {
        return Ok(0);
    }
    if head.pid < 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let target = if head.pid == 0 { me.process.clone() } else { process::process(head.pid as Pid).ok_or(Errno::ESRCH)? };
    let (eff, perm, inh) = cap_sets(&target);
    let mut out = [CapData::default(); 2];
    for (i, word) in out.iter_mut().enumerate().take(words) {
        let shift = 32 * i as u32;
        *word = CapData { effective: (eff >> shift) as u32, permitted: (perm >> shift) as u32, inheritable: (inh >> shift) as u32 };
    }
    data.slice(words)?.write_from(&out[..words])?;
    Ok(0)
}

fn sys_capset(header: UserPtr<CapHeader>, data: UserPtr<CapData>) -> KResult<u64> {
    let head = header.read()?;
    let words = cap_words(header, head.version)?;
    let me = task()?;
    if head.pid != 0 && head.pid as i64 != i64::from(me.process.pid) {
        return Err(Errno::EPERM);
    }
    let mut input = [CapData::default(); 2];
    data.slice(words)?.read_into(&mut input[..words])?;
    let (mut eff, mut perm, mut inh) = (0u64, 0u64, 0u64);
    for (i, word) in input.iter().enumerate().take(words) {
        let shift = 32 * i as u32;
        eff |= u64::from(word.effective) << shift;
        perm |= u64::from(word.permitted) << shift;
        inh |= u64::from(word.inheritable) << shift;
    }
    let (old_eff, old_perm, old_inh) = cap_sets(&me.process);
    let _ = old_eff;
    // v1 sets only the low 32 bits: the high ones stay as they are.
    if words == 1 {
        eff |= cap_sets(&me.process).0 & !0xffff_ffff;
        perm |= old_perm & !0xffff_ffff;
    }
    if perm & !old_perm != 0 || eff & !perm != 0 || inh & !(old_inh | old_perm) != 0 {
        return Err(Errno::EPERM);
    }
    if is_root(&me.process) {
        me.process.extra.lock().caps_dropped = (ALL_CAPS & !eff, ALL_CAPS & !perm);
    }
    Ok(0)
}

/// prctl(option, arg2, arg3, arg4, arg5).
fn sys_prctl(option: i32, arg2: UserArg, arg3: u64, arg4: u64, arg5: u64) -> KResult<u64> {
    let me = task()?;
    let process = &me.process;
    let flag = |v: u64| match v {
        0 | 1 => Ok(v == 1),
        _ => Err(Errno::EINVAL),
    };
    match option {
        PR_SET_NAME => {
            let name = UserCStr::new(arg2.ptr())
                .read(4096)
                .or_else(|e| if e == Errno::ENAMETOOLONG { Ok(alloc::vec::Vec::new()) } else { Err(e) })?;
            process.set_comm(&name);
            Ok(0)
        }
        PR_GET_NAME => {
            let comm = *process.comm.lock();
            arg2.ptr::<[u8; 16]>().write(&comm).map(|_| 0)
        }
        PR_GET_DUMPABLE => Ok(u64::from(process.dumpable.load(Ordering::Relaxed))),
        PR_SET_DUMPABLE => {
            process.dumpable.store(flag(arg2.ulong())?, Ordering::Relaxed);
            Ok(0)
        }
        PR_SET_PDEATHSIG => {
            let sig = arg2.ulong();
            if sig != 0 && !(sig <= u64::from(exo_abi::signal::NSIG)) {
                return Err(Errno::EINVAL);
            }
            process.extra.lock().pdeathsig = sig as u32;
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            let sig = process.extra.lock().pdeathsig as i32;
            arg2.ptr::<i32>().write(&sig).map(|_| 0)
        }
        PR_SET_CHILD_SUBREAPER => {
            process.extra.lock().subreaper = arg2.ulong() != 0;
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let value = i32::from(process.extra.lock().subreaper);
            arg2.ptr::<i32>().write(&value).map(|_| 0)
        }
        PR_SET_NO_NEW_PRIVS => {
            if arg2.ulong() != 1 || arg3 != 0 || arg4 != 0 || arg5 != 0 {
                return Err(Errno::EINVAL);
            }
            process.extra.lock().no_new_privs = true;
            Ok(0)
        }
        PR_GET_NO_NEW_PRIVS => {
            if arg2.ulong() != 0 || arg3 != 0 || arg4 != 0 || arg5 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(u64::from(process.extra.lock().no_new_privs))
        }
        PR_SET_KEEPCAPS => {
            process.extra.lock().keepcaps = flag(arg2.ulong())?;
            Ok(0)
        }
        PR_GET_KEEPCAPS => Ok(u64::from(process.extra.lock().keepcaps)),
        PR_GET_SECCOMP => Ok(0),
        PR_CAPBSET_READ => {
            if arg2.ulong() > u64::from(CAP_LAST_CAP) {
                return Err(Errno::EINVAL);
            }
            Ok(1)
        }
        PR_CAPBSET_DROP => {
            if !is_root(process) {
                return Err(Errno::EPERM);
            }
            if arg2.ulong() > u64::from(CAP_LAST_CAP) {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        PR_SET_TIMERSLACK => {
            let slack = arg2.ulong();
            process.extra.lock().timer_slack_ns = if slack == 0 { process::extra::DEFAULT_TIMER_SLACK_NS } else { slack };
            Ok(0)
        }
        PR_GET_TIMERSLACK => Ok(process.extra.lock().timer_slack_ns),
        PR_GET_TID_ADDRESS => {
            let address = me.clear_child_tid.load(Ordering::SeqCst);
            arg2.ptr::<u64>().write(&address).map(|_| 0)
        }
        PR_SET_MM => Err(if is_root(process) { Errno::EINVAL } else { Errno::EPERM }),
        _ => Err(Errno::EINVAL),
    }
}

fn sys_personality(persona: u32) -> KResult<u64> {
    let me = task()?;
    let mut extra = me.process.extra.lock();
    let old = extra.personality;
    if persona != PERSONALITY_QUERY {
        extra.personality = persona;
    }
    Ok(u64::from(old))
}

/// Namespace flags (no namespaces in Exo-OS).
const NAMESPACES: u64 = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | 0x80;

fn sys_unshare(flags: u64) -> KResult<u64> {
    let known = CLONE_FILES | CLONE_FS | CLONE_SYSVSEM | CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | NAMESPACES;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    if flags & NAMESPACES != 0 {
        return Err(if is_root(&me.process) { Errno::EINVAL } else { Errno::EPERM });
    }
    if flags & (CLONE_VM | CLONE_SIGHAND | CLONE_THREAD) != 0 && me.process.threads().len() > 1 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_FILES != 0 {
        let copy = alloc::sync::Arc::new(me.files().duplicate()?);
        *me.files.lock() = copy;
    }
    if flags & CLONE_FS != 0 {
        let copy = alloc::sync::Arc::new(me.fs().duplicate());
        *me.fs.lock() = copy;
    }
    Ok(0)
}

fn sys_setns(fd: Fd, _nstype: i32) -> KResult<u64> {
    task()?.files().get(fd.get())?;
    Err(Errno::EINVAL)
}

const MEMBARRIER_SUPPORTED: i32 = MEMBARRIER_CMD_GLOBAL
    | MEMBARRIER_CMD_GLOBAL_EXPEDITED
    | MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED
    | MEMBARRIER_CMD_PRIVATE_EXPEDITED
    | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
    | MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE
    | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE;

/// A memory barrier on every CPU, each serialised by an interrupt (the TLB shootdown IPI of an
/// empty range: every other CPU takes it, acknowledges, and returns with `iretq`).
fn barrier_all_cpus() {
    core::sync::atomic::fence(Ordering::SeqCst);
    crate::memory::paging::shootdown(0, 0);
    core::sync::atomic::fence(Ordering::SeqCst);
}

fn sys_membarrier(cmd: i32, flags: u32, _cpu_id: i32) -> KResult<u64> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let mut extra = me.process.extra.lock();
    match cmd {
        MEMBARRIER_CMD_QUERY => return Ok(MEMBARRIER_SUPPORTED as u64),
        MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED => extra.membarrier_global = true,
        MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED => extra.membarrier_private = true,
        MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE => extra.membarrier_sync_core = true,
        MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_GLOBAL_EXPEDITED => {
            drop(extra);
            barrier_all_cpus();
        }
        MEMBARRIER_CMD_PRIVATE_EXPEDITED | MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE => {
            let registered = if cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED { extra.membarrier_private } else { extra.membarrier_sync_core };
            drop(extra);
            if !registered {
                return Err(Errno::EPERM);
            }
            barrier_all_cpus();
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

fn sys_vhangup() -> KResult<u64> {
    if !is_root(&task()?.process) {
        return Err(Errno::EPERM);
    }
    Ok(0)
}

fn sys_acct(filename: UserPtr<u8>) -> KResult<u64> {
    if !is_root(&task()?.process) {
        return Err(Errno::EPERM);
    }
    if filename.is_null() {
        return Ok(0);
    }
    Err(Errno::ENOSYS)
}

