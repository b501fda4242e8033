//! Scheduling calls: nice values (`getpriority`, `setpriority`), policies and parameters
//! (`sched_setscheduler` … `sched_getattr`, `sched_rr_get_interval`), I/O priorities
//! (`ioprio_get`/`ioprio_set`) and CPU affinity (`sched_setaffinity`/`sched_getaffinity`),
//! on `process::sched_attr` and the scheduler's affinity masks (`sched::affinity`).

use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::resource::{RLIMIT_NICE, RLIMIT_RTPRIO};
use exo_abi::sched_time::*;
use exo_abi::types::Timespec;
use exo_abi::{nr, Errno, KResult};
use core::sync::atomic::Ordering;

use super::args::typed;
use super::{task, Handler};
use crate::process::sched_attr::*;
use crate::process::{self, Pid, Task};
use crate::uaccess::UserPtr;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: PRIO_PROCESS/PGRP/USER; returns 20 - nice (the raw call's convention)
    t[nr::GETPRIORITY] = typed!(sys_getpriority);
    // partial: PRIO_PROCESS/PGRP/USER, nice clamped to -20..19, lowering below RLIMIT_NICE needs root (EACCES), other users' processes EPERM; recorded (getpriority, /proc stat) but not weighting CPU shares (the scheduler has no weights)
    t[nr::SETPRIORITY] = typed!(sys_setpriority);
    // partial: SCHED_OTHER/BATCH/IDLE; SCHED_FIFO/RR (root or RLIMIT_RTPRIO, else EPERM) run in the realtime queue; SCHED_IDLE in the idle queue; SCHED_RESET_ON_FORK; no SCHED_DEADLINE (EINVAL)
    t[nr::SCHED_SETSCHEDULER] = typed!(sys_sched_setscheduler);
    // full
    t[nr::SCHED_GETSCHEDULER] = typed!(sys_sched_getscheduler);
    // full: as sched_setscheduler with the current policy
    t[nr::SCHED_SETPARAM] = typed!(sys_sched_setparam);
    // full
    t[nr::SCHED_GETPARAM] = typed!(sys_sched_getparam);
    // full
    t[nr::SCHED_GET_PRIORITY_MAX] = typed!(sys_sched_get_priority_max);
    // full
    t[nr::SCHED_GET_PRIORITY_MIN] = typed!(sys_sched_get_priority_min);
    // full: 100 ms for SCHED_RR, 0 for SCHED_FIFO, the scheduler's quantum otherwise
    t[nr::SCHED_RR_GET_INTERVAL] = typed!(sys_sched_rr_get_interval);
    // partial: policies and nice as sched_setscheduler/setpriority, RESET_ON_FORK, KEEP_POLICY/KEEP_PARAMS; E2BIG size rules; no SCHED_DEADLINE or utilization clamps (EINVAL)
    t[nr::SCHED_SETATTR] = typed!(sys_sched_setattr);
    // full: version 0 (48 bytes)
    t[nr::SCHED_GETATTR] = typed!(sys_sched_getattr);
    // partial: IOPRIO_WHO_PROCESS/PGRP/USER, classes NONE/RT (root)/BE/IDLE with Linux's EINVAL/EPERM rules; recorded (no I/O scheduler uses it)
    t[nr::IOPRIO_SET] = typed!(sys_ioprio_set);
    // full: the recorded value (highest of a group)
    t[nr::IOPRIO_GET] = typed!(sys_ioprio_get);
    // full: the thread runs only on the CPUs of the mask (moved at once if its CPU is excluded), inherited by fork/clone; EINVAL for a mask with no online CPU; another user's thread EPERM
    t[nr::SCHED_SETAFFINITY] = typed!(sys_sched_setaffinity);
    // full: the thread's mask of online CPUs; EINVAL for a short or unaligned size
    t[nr::SCHED_GETAFFINITY] = typed!(sys_sched_getaffinity);
}

/// The caller's effective uid.
fn my_euid(me: &Task) -> u32 {
    me.process.creds.lock().euid
}

/// Linux's same-owner rule (`check_same_owner` / `set_one_prio_perm`): the caller's euid is
/// the target's uid or euid, or the caller is root.
fn may_change(me: &Task, target: &Task) -> bool {
    let euid = my_euid(me);
    let (uid, target_euid) = {
        let c = target.process.creds.lock();
        (c.uid, c.euid)
    };
    euid == 0 || euid == uid || euid == target_euid
}

/// The task `pid` names (0: the caller), ESRCH if none; EINVAL for a negative pid.
fn target(me: &Arc<Task>, pid: i32) -> KResult<Arc<Task>> {
    match pid {
        0 => Ok(me.clone()),
        p if p < 0 => Err(Errno::EINVAL),
        p => process::task(p as Pid).ok_or(Errno::ESRCH),
    }
}

/// The tasks `which`/`who` select for the priority calls (ESRCH if none, EINVAL for a bad
/// `which`).
fn prio_targets(me: &Arc<Task>, which: i32, who: i32) -> KResult<Vec<Arc<Task>>> {
    let tasks: Vec<Arc<Task>> = match which {
        PRIO_PROCESS => {
            return match who {
                0 => Ok(alloc::vec![me.clone()]),
                w if w < 0 => Err(Errno::ESRCH),
                w => process::task(w as Pid).map(|t| alloc::vec![t]).ok_or(Errno::ESRCH),
            };
        }
        PRIO_PGRP => {
            let pgid = if who == 0 { me.process.pgid() } else { who as Pid };
            process::all_processes().iter().filter(|p| p.pgid() == pgid).flat_map(|p| p.threads()).collect()
        }
        PRIO_USER => {
            let uid = if who == 0 { my_euid(me) } else { who as u32 };
            process::all_processes().iter().filter(|p| p.creds.lock().uid == uid).flat_map(|p| p.threads()).collect()
        }
        _ => return Err(Errno::EINVAL),
    };
    if tasks.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(tasks)
}

fn sys_getpriority(which: i32, who: i32) -> KResult<u64> {
    let me = task()?;
    let targets = prio_targets(&me, which, who)?;
    let best = targets.iter().map(|t| 20 - t.sched_attr.nice()).max().unwrap_or(20);
    Ok(best as u64)
}

/// Whether the caller may give `target` nice `nice`: raising is free, lowering needs root or
/// RLIMIT_NICE (`20 - nice <= limit`, Linux's can_nice).
fn can_nice(me: &Task, nice: i32) -> bool {
    my_euid(me) == 0 || (20 - nice) as u64 <= me.process.rlimit(RLIMIT_NICE).rlim_cur
}

fn sys_setpriority(which: i32, who: i32, nice: i32) -> KResult<u64> {
    let me = task()?;
    let nice = nice.clamp(-20, 19);
    let targets = prio_targets(&me, which, who)?;
    let mut result = Ok(0);
    for t in &targets {
        if !may_change(&me, t) {
            result = Err(Errno::EPERM);
            continue;
        }
        if nice < t.sched_attr.nice() && !can_nice(&me, nice) {
            result = Err(Errno::EACCES);
            continue;
        }
        t.sched_attr.nice.store(nice, Ordering::Relaxed);
    }
    result
}

/// Applies `policy` (with flags stripped), realtime `priority` and `nice` (None: keep) to
/// `target` with Linux's checks: EINVAL for an unknown policy or a priority out of range,
/// EPERM for realtime without root/RLIMIT_RTPRIO, for lowering nice without permission, or
/// for another user's task.
fn set_sched(me: &Task, target: &Task, policy: u32, priority: u32, nice: Option<i32>, reset_on_fork: Option<bool>) -> KResult<()> {
    let realtime = matches!(policy, SCHED_FIFO | SCHED_RR);
    match policy {
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE if priority == 0 => {}
        SCHED_FIFO | SCHED_RR if (1..=99).contains(&priority) => {}
        _ => return Err(Errno::EINVAL),
    }
    let root = my_euid(me) == 0;
    if !may_change(me, target) {
        return Err(Errno::EPERM);
    }
    if realtime && !root {
        let limit = me.process.rlimit(RLIMIT_RTPRIO).rlim_cur;
        let old = target.sched_attr.rt_priority.load(Ordering::Relaxed);
        if limit == 0 || u64::from(priority) > limit.max(u64::from(old)) {
            return Err(Errno::EPERM);
        }
    }
    if let Some(nice) = nice {
        if nice < target.sched_attr.nice() && !can_nice(me, nice) {
            return Err(Errno::EPERM);
        }
        target.sched_attr.nice.store(nice, Ordering::Relaxed);
    }
    let attr = &target.sched_attr;
    attr.policy.store(policy, Ordering::Relaxed);
    attr.rt_priority.store(priority, Ordering::Relaxed);
    if let Some(reset) = reset_on_fork {
        attr.reset_on_fork.store(reset, Ordering::Relaxed);
    }
    if let Some(thread) = crate::sched::lookup(target.thread_id()) {
        crate::sched::set_priority(&thread, priority_of(policy));
    }
    Ok(())
}

fn sys_sched_setscheduler(pid: i32, policy: i32, param: UserPtr<i32>) -> KResult<u64> {
    if param.is_null() || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let priority = param.read()?;
    let me = task()?;
    let target = target(&me, pid)?;
    let policy = u32::try_from(policy).map_err(|_| Errno::EINVAL)?;
    let reset = policy & SCHED_RESET_ON_FORK != 0;
    let priority = u32::try_from(priority).map_err(|_| Errno::EINVAL)?;
    set_sched(&me, &target, policy & !SCHED_RESET_ON_FORK, priority, None, Some(reset))?;
    Ok(0)
}

fn sys_sched_getscheduler(pid: i32) -> KResult<u64> {
    let me = task()?;
    let target = target(&me, pid)?;
    let reset = if target.sched_attr.reset_on_fork.load(Ordering::Relaxed) { SCHED_RESET_ON_FORK } else { 0 };
    Ok(u64::from(target.sched_attr.policy.load(Ordering::Relaxed) | reset))
}

fn sys_sched_setparam(pid: i32, param: UserPtr<i32>) -> KResult<u64> {
    if param.is_null() || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let priority = param.read()?;
    let me = task()?;
    let target = target(&me, pid)?;
    let priority = u32::try_from(priority).map_err(|_| Errno::EINVAL)?;
    let policy = target.sched_attr.policy.load(Ordering::Relaxed);
    set_sched(&me, &target, policy, priority, None, None)?;
    Ok(0)
}

fn sys_sched_getparam(pid: i32, param: UserPtr<i32>) -> KResult<u64> {
    if param.is_null() || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let target = target(&me, pid)?;
    param.write(&(target.sched_attr.rt_priority.load(Ordering::Relaxed) as i32))?;
    Ok(0)
}

fn sys_sched_get_priority_max(policy: i32) -> KResult<u64> {
    match policy as u32 {
        SCHED_FIFO | SCHED_RR => Ok(99),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

fn sys_sched_get_priority_min(policy: i32) -> KResult<u64> {
    match policy as u32 {
        SCHED_FIFO | SCHED_RR => Ok(1),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

fn sys_sched_rr_get_interval(pid: i32, out: UserPtr<Timespec>) -> KResult<u64> {
    let me = task()?;
    let target = target(&me, pid)?;
    let ns = match target.sched_attr.policy.load(Ordering::Relaxed) {
        SCHED_RR => 100_000_000,
        SCHED_FIFO => 0,
        _ => exo_sched::SchedConfig::default().quantum_ns,
    };
    out.write(&Timespec::from_ns(ns))?;
    Ok(0)
}

/// sched_setattr flags handled.
const SCHED_FLAG_KEEP_POLICY: u64 = 0x08;
const SCHED_FLAG_KEEP_PARAMS: u64 = 0x10;

fn sys_sched_setattr(pid: i32, attr: UserPtr<u8>, flags: u32) -> KResult<u64> {
    if attr.is_null() || pid < 0 || flags != 0 {
        return Err(Errno::EINVAL);
    }
    // The size field first: 0 means version 0; smaller than version 0 or larger than a page
    // is E2BIG with the size Linux supports written back; bytes past it must be zero.
    let size_ptr: UserPtr<u32> = UserPtr::new(attr.addr());
    let size = match size_ptr.read()? {
        0 => SCHED_ATTR_SIZE_VER0,
        s => s,
    };
    if !(SCHED_ATTR_SIZE_VER0..=4096).contains(&size) {
        size_ptr.write(&SCHED_ATTR_SIZE_VER0)?;
        return Err(Errno::E2BIG);
    }
    let mut raw = [0u8; 4096];
    let raw = &mut raw[..size as usize];
    attr.slice(raw.len())?.read_into(raw)?;
    if raw[SCHED_ATTR_SIZE_VER0 as usize..].iter().any(|&b| b != 0) {
        size_ptr.write(&SCHED_ATTR_SIZE_VER0)?;
        return Err(Errno::E2BIG);
    }
    let a: SchedAttr = bytemuck::pod_read_unaligned(&raw[..SCHED_ATTR_SIZE_VER0 as usize]);
    if a.sched_flags & !(SCHED_FLAG_RESET_ON_FORK | SCHED_FLAG_KEEP_POLICY | SCHED_FLAG_KEEP_PARAMS) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let target = target(&me, pid)?;
    let keep_policy = a.sched_flags & SCHED_FLAG_KEEP_POLICY != 0;
    let policy = if keep_policy { target.sched_attr.policy.load(Ordering::Relaxed) } else { a.sched_policy };
    let keep_params = a.sched_flags & SCHED_FLAG_KEEP_PARAMS != 0;
    let priority = if keep_params { target.sched_attr.rt_priority.load(Ordering::Relaxed) } else { a.sched_priority };
    let nice = (!keep_params && matches!(policy, SCHED_OTHER | SCHED_BATCH)).then(|| a.sched_nice.clamp(-20, 19));
    set_sched(&me, &target, policy, priority, nice, Some(a.sched_flags & SCHED_FLAG_RESET_ON_FORK != 0))?;
    Ok(0)
}

fn sys_sched_getattr(pid: i32, attr: UserPtr<SchedAttr>, size: u32, flags: u32) -> KResult<u64> {
    if attr.is_null() || pid < 0 || flags != 0 || !(SCHED_ATTR_SIZE_VER0..=4096).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let target = target(&me, pid)?;
    let s = &target.sched_attr;
    let out = SchedAttr {
        size: SCHED_ATTR_SIZE_VER0,
        sched_policy: s.policy.load(Ordering::Relaxed),
        sched_flags: if s.reset_on_fork.load(Ordering::Relaxed) { SCHED_FLAG_RESET_ON_FORK } else { 0 },
        sched_nice: s.nice(),
        sched_priority: s.rt_priority.load(Ordering::Relaxed),
        ..SchedAttr::default()
    };
    attr.write(&out)?;
    Ok(0)
}

/// The tasks an ioprio call selects (ESRCH if none; EINVAL for a bad `which`).
fn ioprio_targets(me: &Arc<Task>, which: i32, who: i32) -> KResult<Vec<Arc<Task>>> {
    let which = match which {
        IOPRIO_WHO_PROCESS => PRIO_PROCESS,
        IOPRIO_WHO_PGRP => PRIO_PGRP,
        IOPRIO_WHO_USER => PRIO_USER,
        _ => return Err(Errno::EINVAL),
    };
    prio_targets(me, which, who)
}

fn sys_ioprio_set(which: i32, who: i32, ioprio: u32) -> KResult<u64> {
    let class = ioprio >> IOPRIO_CLASS_SHIFT;
    let data = ioprio & ((1 << IOPRIO_CLASS_SHIFT) - 1);
    let me = task()?;
    match class {
        IOPRIO_CLASS_RT if data < 8 => {
            if my_euid(&me) != 0 {
                return Err(Errno::EPERM);
            }
        }
        IOPRIO_CLASS_BE if data < 8 => {}
        IOPRIO_CLASS_IDLE | IOPRIO_CLASS_NONE => {}
        _ => return Err(Errno::EINVAL),
    }
    if class == IOPRIO_CLASS_NONE && data != 0 {
        return Err(Errno::EINVAL);
    }
    let targets = ioprio_targets(&me, which, who)?;
    let euid = my_euid(&me);
    for t in &targets {
        let uid = t.process.creds.lock().uid;
        if euid != 0 && uid != euid && uid != me.process.creds.lock().uid {
            return Err(Errno::EPERM);
        }
        t.sched_attr.ioprio.store(ioprio, Ordering::Relaxed);
    }
    Ok(0)
}

fn sys_ioprio_get(which: i32, who: i32) -> KResult<u64> {
    let me = task()?;
    let targets = ioprio_targets(&me, which, who)?;
    Ok(targets.iter().map(|t| t.sched_attr.ioprio.load(Ordering::Relaxed)).max().map_or(0, u64::from))
}

/// The thread (and its task) `pid` names for the affinity calls (0: the caller).
fn affinity_target(me: &Arc<Task>, pid: i32) -> KResult<(Arc<Task>, Arc<crate::sched::Thread>)> {
    let t = if pid == 0 { me.clone() } else { process::task(u32::try_from(pid).map_err(|_| Errno::ESRCH)?).ok_or(Errno::ESRCH)? };
    let thread = crate::sched::lookup(t.thread_id()).ok_or(Errno::ESRCH)?;
    Ok((t, thread))
}

fn sys_sched_getaffinity(pid: i32, cpusetsize: usize, mask: UserPtr<u8>) -> KResult<u64> {
    let me = task()?;
    let (_, thread) = affinity_target(&me, pid)?;
    let bytes = crate::arch::cpu_count().div_ceil(64) * 8;
    if cpusetsize < bytes || cpusetsize % 8 != 0 {
        return Err(Errno::EINVAL);
    }
    let mut out = [0u8; 8];
    exo_sched::affinity::to_user(thread.affinity(), crate::sched::affinity::online_mask(), &mut out);
    mask.slice(bytes)?.write_from(&out[..bytes.min(8)])?;
    Ok(bytes as u64)
}

fn sys_sched_setaffinity(pid: i32, cpusetsize: usize, mask: UserPtr<u8>) -> KResult<u64> {
    let mut first = [0u8; 8];
    let n = cpusetsize.min(8);
    mask.slice(n)?.read_into(&mut first[..n])?;
    let me = task()?;
    let (target, thread) = affinity_target(&me, pid)?;
    if !may_change(&me, &target) {
        return Err(Errno::EPERM);
    }
    let online = crate::sched::affinity::online_mask();
    let wanted = exo_sched::affinity::from_user(&first[..n], online).ok_or(Errno::EINVAL)?;
    crate::sched::affinity::set_affinity(&thread, wanted).map_err(|_| Errno::EINVAL)?;
    Ok(0)
}
