//! System information and identity syscalls: uname, sysinfo, getrandom, umask, the user and
//! group id family, reboot.

use core::sync::atomic::Ordering;

use exo_abi::reboot::*;
use exo_abi::types::{Sysinfo, Utsname};
use exo_abi::{nr, Errno, KResult};

use super::{raw_args, int, task, Handler};
use crate::arch::TrapFrame;
use crate::uaccess;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    t[nr::UNAME] = Some(sys_uname);
    t[nr::SYSINFO] = Some(sys_sysinfo);
    t[nr::GETRANDOM] = Some(sys_getrandom);
    t[nr::UMASK] = Some(sys_umask);
    t[nr::REBOOT] = Some(sys_reboot);
    t[nr::SETHOSTNAME] = Some(sys_sethostname);
    t[nr::SETDOMAINNAME] = Some(sys_setdomainname);
    t[nr::SYNC] = Some(sys_sync);
    t[nr::SYNCFS] = Some(sys_sync);
}

/// sync/syncfs: every file system is in memory; nothing to write back.
fn sys_sync(_: &mut TrapFrame) -> KResult<u64> {
    Ok(0)
}

pub const fn register_creds(t: &mut [Option<Handler>; nr::COUNT]) {
    t[nr::GETUID] = Some(sys_getuid);
    t[nr::GETEUID] = Some(sys_geteuid);
    t[nr::GETGID] = Some(sys_getgid);
    t[nr::GETEGID] = Some(sys_getegid);
    t[nr::GETRESUID] = Some(sys_getresuid);
    t[nr::GETRESGID] = Some(sys_getresgid);
    t[nr::SETUID] = Some(sys_setuid);
    t[nr::SETGID] = Some(sys_setgid);
    t[nr::SETREUID] = Some(sys_setreuid);
    t[nr::SETREGID] = Some(sys_setregid);
    t[nr::SETRESUID] = Some(sys_setresuid);
    t[nr::SETRESGID] = Some(sys_setresgid);
    t[nr::GETGROUPS] = Some(sys_getgroups);
    t[nr::SETGROUPS] = Some(sys_setgroups);
    t[nr::SETFSUID] = Some(sys_setfsuid);
    t[nr::SETFSGID] = Some(sys_setfsgid);
}

/// The host and domain names (sethostname/setdomainname; 64 bytes at most each).
static NODENAME: crate::spinlock::SpinLock<([u8; 64], usize)> = crate::spinlock::SpinLock::new(name64("exo"));
static DOMAINNAME: crate::spinlock::SpinLock<([u8; 64], usize)> = crate::spinlock::SpinLock::new(name64("(none)"));

/// A name buffer holding `s` (at most 64 bytes).
const fn name64(s: &str) -> ([u8; 64], usize) {
    let bytes = s.as_bytes();
    let mut buf = [0u8; 64];
    let mut i = 0;
    while i < bytes.len() && i < 64 {
        buf[i] = bytes[i];
        i += 1;
    }
    (buf, i)
}

fn name_str(name: &([u8; 64], usize)) -> &str {
    core::str::from_utf8(&name.0[..name.1]).unwrap_or("?")
}

fn sys_uname(frame: &mut TrapFrame) -> KResult<u64> {
    let node = *NODENAME.lock();
    let domain = *DOMAINNAME.lock();
    let uts = Utsname::new("Linux", name_str(&node), "6.1.0-exo", "#1 SMP Exo-OS", "x86_64", name_str(&domain));
    uaccess::write(frame.rdi, &uts)?;
    Ok(0)
}

fn set_name(target: &crate::spinlock::SpinLock<([u8; 64], usize)>, addr: u64, len: u64) -> KResult<u64> {
    if len > 64 {
        return Err(Errno::EINVAL);
    }
    if task()?.process.creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    let mut buf = [0u8; 64];
    uaccess::read_bytes(addr, &mut buf[..len as usize])?;
    *target.lock() = (buf, len as usize);
    Ok(0)
}

fn sys_sethostname(frame: &mut TrapFrame) -> KResult<u64> {
    set_name(&NODENAME, frame.rdi, frame.rsi)
}

fn sys_setdomainname(frame: &mut TrapFrame) -> KResult<u64> {
    set_name(&DOMAINNAME, frame.rdi, frame.rsi)
}

fn sys_sysinfo(frame: &mut TrapFrame) -> KResult<u64> {
    // Free memory counts what the kernel heap keeps cached as free: hand it back first.
    crate::memory::heap::trim();
    let stats = crate::memory::frames::stats();
    let info = Sysinfo {
        uptime: (crate::time::since_boot_ns() / 1_000_000_000) as i64,
        totalram: stats.managed_frames.saturating_sub(stats.reserved_frames) as u64 * 4096,
        freeram: crate::memory::frames::free_frames() as u64 * 4096,
        procs: crate::process::process_count().min(u16::MAX as usize) as u16,
        mem_unit: 1,
        ..Sysinfo::default()
    };
    uaccess::write(frame.rdi, &info)?;
    Ok(0)
}

fn sys_getrandom(frame: &mut TrapFrame) -> KResult<u64> {
    const GRND_NONBLOCK: u64 = 1;
    const GRND_RANDOM: u64 = 2;
    const GRND_INSECURE: u64 = 4;
    let [buf, len, flags, ..] = raw_args(frame);
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0 || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE) {
        return Err(Errno::EINVAL);
    }
    let len = len.min(32 << 20);
    let mut chunk = [0u8; 256];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(chunk.len() as u64) as usize;
        crate::random::fill(&mut chunk[..n]);
        uaccess::write_bytes(buf + done, &chunk[..n])?;
        done += n as u64;
    }
    Ok(done)
}

fn sys_umask(frame: &mut TrapFrame) -> KResult<u64> {
    let me = task()?;
    Ok(u64::from(me.fs().swap_umask(frame.rdi as u32 & 0o777)))
}

fn sys_reboot(frame: &mut TrapFrame) -> KResult<u64> {
    let [magic1, magic2, cmd, ..] = raw_args(frame);
    if !magic_valid(magic1 as u32, magic2 as u32) {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    if me.process.creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    match cmd as u32 {
        LINUX_REBOOT_CMD_POWER_OFF | LINUX_REBOOT_CMD_HALT => {
            log::info!("reboot: power off requested by pid {}", me.process.pid);
            crate::power::power_off()
        }
        LINUX_REBOOT_CMD_RESTART | LINUX_REBOOT_CMD_RESTART2 => {
            log::info!("reboot: restart requested by pid {}", me.process.pid);
            crate::power::reboot()
        }
        LINUX_REBOOT_CMD_CAD_ON | LINUX_REBOOT_CMD_CAD_OFF => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

fn creds() -> KResult<crate::process::Creds> {
    Ok(task()?.process.creds.lock().clone())
}

fn sys_getuid(_: &mut TrapFrame) -> KResult<u64> {
    Ok(u64::from(creds()?.uid))
}

fn sys_geteuid(_: &mut TrapFrame) -> KResult<u64> {
    Ok(u64::from(creds()?.euid))
}

fn sys_getgid(_: &mut TrapFrame) -> KResult<u64> {
    Ok(u64::from(creds()?.gid))
}

fn sys_getegid(_: &mut TrapFrame) -> KResult<u64> {
    Ok(u64::from(creds()?.egid))
}

fn sys_getresuid(frame: &mut TrapFrame) -> KResult<u64> {
    let c = creds()?;
    uaccess::write(frame.rdi, &c.uid)?;
    uaccess::write(frame.rsi, &c.euid)?;
    uaccess::write(frame.rdx, &c.suid)?;
    Ok(0)
}

fn sys_getresgid(frame: &mut TrapFrame) -> KResult<u64> {
    let c = creds()?;
    uaccess::write(frame.rdi, &c.gid)?;
    uaccess::write(frame.rsi, &c.egid)?;
    uaccess::write(frame.rdx, &c.sgid)?;
    Ok(0)
}

/// An id argument: -1 (as u32) means "unchanged".
fn id_arg(value: u64) -> Option<u32> {
    let id = value as u32;
    (id != u32::MAX).then_some(id)
}

/// setres[ug]id logic: root may set anything; others only to one of their current ids.
fn set_ids(ids: [&mut u32; 3], fs: &mut u32, new: [Option<u32>; 3], root: bool) -> KResult<()> {
    let current = [*ids[0], *ids[1], *ids[2]];
    for id in new.iter().flatten() {
        if !root && !current.contains(id) {
            return Err(Errno::EPERM);
        }
    }
    for (slot, value) in ids.into_iter().zip(new) {
        if let Some(value) = value {
            *slot = value;
        }
    }
    *fs = current[1].max(0);
    Ok(())
}

fn change_uids(new: [Option<u32>; 3]) -> KResult<u64> {
    let me = task()?;
    let mut c = me.process.creds.lock();
    let root = c.euid == 0;
    let c = &mut *c;
    let before = (c.euid, c.fsuid);
    set_ids([&mut c.uid, &mut c.euid, &mut c.suid], &mut c.fsuid, new, root)?;
    c.fsuid = c.euid;
    if (c.euid, c.fsuid) != before {
        me.process.dumpable.store(false, Ordering::Relaxed);
    }
    Ok(0)
}

fn change_gids(new: [Option<u32>; 3]) -> KResult<u64> {
    let me = task()?;
    let mut c = me.process.creds.lock();
    let root = c.euid == 0;
    let c = &mut *c;
    let before = (c.egid, c.fsgid);
    set_ids([&mut c.gid, &mut c.egid, &mut c.sgid], &mut c.fsgid, new, root)?;
    c.fsgid = c.egid;
    if (c.egid, c.fsgid) != before {
        me.process.dumpable.store(false, Ordering::Relaxed);
    }
    Ok(0)
}

fn sys_setuid(frame: &mut TrapFrame) -> KResult<u64> {
    let uid = id_arg(frame.rdi).ok_or(Errno::EINVAL)?;
    let root = creds()?.euid == 0;
    if root { change_uids([Some(uid), Some(uid), Some(uid)]) } else { change_uids([None, Some(uid), None]) }
}

fn sys_setgid(frame: &mut TrapFrame) -> KResult<u64> {
    let gid = id_arg(frame.rdi).ok_or(Errno::EINVAL)?;
    let root = creds()?.euid == 0;
    if root { change_gids([Some(gid), Some(gid), Some(gid)]) } else { change_gids([None, Some(gid), None]) }
}

fn sys_setreuid(frame: &mut TrapFrame) -> KResult<u64> {
    change_uids([id_arg(frame.rdi), id_arg(frame.rsi), None])
}

fn sys_setregid(frame: &mut TrapFrame) -> KResult<u64> {
    change_gids([id_arg(frame.rdi), id_arg(frame.rsi), None])
}

fn sys_setresuid(frame: &mut TrapFrame) -> KResult<u64> {
    change_uids([id_arg(frame.rdi), id_arg(frame.rsi), id_arg(frame.rdx)])
}

fn sys_setresgid(frame: &mut TrapFrame) -> KResult<u64> {
    change_gids([id_arg(frame.rdi), id_arg(frame.rsi), id_arg(frame.rdx)])
}

fn sys_getgroups(frame: &mut TrapFrame) -> KResult<u64> {
    let size = int(frame.rdi);
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let groups = creds()?.groups;
    if size == 0 {
        return Ok(groups.len() as u64);
    }
    if (size as usize) < groups.len() {
        return Err(Errno::EINVAL);
    }
    for (i, gid) in groups.iter().enumerate() {
        uaccess::write(frame.rsi + i as u64 * 4, gid)?;
    }
    Ok(groups.len() as u64)
}

fn sys_setgroups(frame: &mut TrapFrame) -> KResult<u64> {
    let size = frame.rdi as usize;
    if size > 65536 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    if me.process.creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    let mut groups = alloc::vec::Vec::new();
    groups.try_reserve(size).map_err(|_| Errno::ENOMEM)?;
    for i in 0..size {
        groups.push(uaccess::read::<u32>(frame.rsi + i as u64 * 4)?);
    }
    me.process.creds.lock().groups = groups;
    Ok(0)
}

fn sys_setfsuid(frame: &mut TrapFrame) -> KResult<u64> {
    let me = task()?;
    let mut c = me.process.creds.lock();
    let old = c.fsuid;
    let new = frame.rdi as u32;
    if c.euid == 0 || [c.uid, c.euid, c.suid, c.fsuid].contains(&new) {
        if new != old {
            me.process.dumpable.store(false, Ordering::Relaxed);
        }
        c.fsuid = new;
    }
    Ok(u64::from(old))
}

fn sys_setfsgid(frame: &mut TrapFrame) -> KResult<u64> {
    let me = task()?;
    let mut c = me.process.creds.lock();
    let old = c.fsgid;
    let new = frame.rdi as u32;
    if c.euid == 0 || [c.gid, c.egid, c.sgid, c.fsgid].contains(&new) {
        if new != old {
            me.process.dumpable.store(false, Ordering::Relaxed);
        }
        c.fsgid = new;
    }
    Ok(u64::from(old))
}
