//! System information and identity syscalls: uname, sysinfo, getrandom, umask, the user and
//! group id family, reboot, getcpu.

use core::sync::atomic::Ordering;

use exo_abi::reboot::*;
use exo_abi::types::{Sysinfo, Utsname};
use exo_abi::{nr, Errno, KResult};

use super::args::typed;
use super::{task, Handler};
use crate::uaccess::UserPtr;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: sysname "Linux", release 6.1.0-exo, machine x86_64
    t[nr::UNAME] = typed!(sys_uname);
    // full: uptime, RAM (free = free frames), procs
    t[nr::SYSINFO] = typed!(sys_sysinfo);
    // full: GRND_NONBLOCK/RANDOM/INSECURE
    t[nr::GETRANDOM] = typed!(sys_getrandom);
    // full
    t[nr::UMASK] = typed!(sys_umask);
    // full: POWER_OFF/HALT (QEMU exits), RESTART; magic checked; root only
    t[nr::REBOOT] = typed!(sys_reboot);
    // full: root; up to 64 bytes; uname and /proc show it
    t[nr::SETHOSTNAME] = typed!(sys_sethostname);
    // full
    t[nr::SETDOMAINNAME] = typed!(sys_setdomainname);
    // full: CPU index, node 0; the vDSO answers it without entering the kernel ([vdso.md](vdso.md))
    t[nr::GETCPU] = typed!(sys_getcpu);
}

/// getcpu: the CPU the caller runs on (it may have moved by the time it looks) and its NUMA
/// node (always 0); the third argument (an old cache) is ignored, as on Linux.
fn sys_getcpu(cpu: UserPtr<u32>, node: UserPtr<u32>, _cache: crate::uaccess::UserArg) -> KResult<u64> {
    let index = u32::try_from(crate::arch::cpu_index()).unwrap_or(u32::MAX);
    cpu.write_opt(&index)?;
    node.write_opt(&0)?;
    Ok(0)
}


pub const fn register_creds(t: &mut [Option<Handler>; nr::COUNT]) {
    // full
    t[nr::GETUID] = typed!(sys_getuid);
    // full
    t[nr::GETEUID] = typed!(sys_geteuid);
    // full
    t[nr::GETGID] = typed!(sys_getgid);
    // full
    t[nr::GETEGID] = typed!(sys_getegid);
    // full
    t[nr::GETRESUID] = typed!(sys_getresuid);
    // full
    t[nr::GETRESGID] = typed!(sys_getresgid);
    // full: root sets all three ids; others the effective one to a current id
    t[nr::SETUID] = typed!(sys_setuid);
    // full
    t[nr::SETGID] = typed!(sys_setgid);
    // full
    t[nr::SETREUID] = typed!(sys_setreuid);
    // full
    t[nr::SETREGID] = typed!(sys_setregid);
    // full
    t[nr::SETRESUID] = typed!(sys_setresuid);
    // full
    t[nr::SETRESGID] = typed!(sys_setresgid);
    // full
    t[nr::GETGROUPS] = typed!(sys_getgroups);
    // full: root only
    t[nr::SETGROUPS] = typed!(sys_setgroups);
    // full
    t[nr::SETFSUID] = typed!(sys_setfsuid);
    // full
    t[nr::SETFSGID] = typed!(sys_setfsgid);
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

fn sys_uname(buf: UserPtr<Utsname>) -> KResult<u64> {
    let node = *NODENAME.lock();
    let domain = *DOMAINNAME.lock();
    let uts = Utsname::new("Linux", name_str(&node), "6.1.0-exo", "#1 SMP Exo-OS", "x86_64", name_str(&domain));
    buf.write(&uts)?;
    Ok(0)
}

fn set_name(target: &crate::spinlock::SpinLock<([u8; 64], usize)>, name: UserPtr<u8>, len: usize) -> KResult<u64> {
    if len > 64 {
        return Err(Errno::EINVAL);
    }
    if task()?.process.creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    let mut buf = [0u8; 64];
    name.slice(len)?.read_into(&mut buf[..len])?;
    *target.lock() = (buf, len);
    Ok(0)
}

fn sys_sethostname(name: UserPtr<u8>, len: usize) -> KResult<u64> {
    set_name(&NODENAME, name, len)
}

fn sys_setdomainname(name: UserPtr<u8>, len: usize) -> KResult<u64> {
    set_name(&DOMAINNAME, name, len)
}

fn sys_sysinfo(info_out: UserPtr<Sysinfo>) -> KResult<u64> {
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
    info_out.write(&info)?;
    Ok(0)
}

fn sys_getrandom(buf: UserPtr<u8>, buflen: usize, flags: u32) -> KResult<u64> {
    const GRND_NONBLOCK: u32 = 1;
    const GRND_RANDOM: u32 = 2;
    const GRND_INSECURE: u32 = 4;
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0 || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE) {
        return Err(Errno::EINVAL);
    }
    let len = buflen.min(32 << 20);
    let mut chunk = [0u8; 256];
    let mut done = 0usize;
    while done < len {
        let n = (len - done).min(chunk.len());
        crate::random::fill(&mut chunk[..n]);
        buf.add(done)?.slice(n)?.write_from(&chunk[..n])?;
        done += n;
    }
    Ok(done as u64)
}

fn sys_umask(mask: u32) -> KResult<u64> {
    let me = task()?;
    Ok(u64::from(me.fs().swap_umask(mask & 0o777)))
}

fn sys_reboot(magic: u32, magic2: u32, cmd: u32) -> KResult<u64> {
    if !magic_valid(magic, magic2) {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    if me.process.creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    match cmd {
        LINUX_REBOOT_CMD_POWER_OFF | LINUX_REBOOT_CMD_HALT => {
            log::info!("reboot: power off requested by pid {}", me.process.pid);
            super::enosys_report();
            crate::fs::shutdown();
            crate::power::power_off()
        }
        LINUX_REBOOT_CMD_RESTART | LINUX_REBOOT_CMD_RESTART2 => {
            log::info!("reboot: restart requested by pid {}", me.process.pid);
            super::enosys_report();
            crate::fs::shutdown();
            crate::power::reboot()
        }
        LINUX_REBOOT_CMD_CAD_ON | LINUX_REBOOT_CMD_CAD_OFF => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

fn creds() -> KResult<crate::process::Creds> {
    Ok(task()?.process.creds.lock().clone())
}

fn sys_getuid() -> KResult<u64> {
    Ok(u64::from(creds()?.uid))
}

fn sys_geteuid() -> KResult<u64> {
    Ok(u64::from(creds()?.euid))
}

fn sys_getgid() -> KResult<u64> {
    Ok(u64::from(creds()?.gid))
}

fn sys_getegid() -> KResult<u64> {
    Ok(u64::from(creds()?.egid))
}

fn sys_getresuid(ruid: UserPtr<u32>, euid: UserPtr<u32>, suid: UserPtr<u32>) -> KResult<u64> {
    let c = creds()?;
    ruid.write(&c.uid)?;
    euid.write(&c.euid)?;
    suid.write(&c.suid)?;
    Ok(0)
}

fn sys_getresgid(rgid: UserPtr<u32>, egid: UserPtr<u32>, sgid: UserPtr<u32>) -> KResult<u64> {
    let c = creds()?;
    rgid.write(&c.gid)?;
    egid.write(&c.egid)?;
    sgid.write(&c.sgid)?;
    Ok(0)
}

/// An id argument: -1 (as u32) means "unchanged".
fn id_arg(id: u32) -> Option<u32> {
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

fn sys_setuid(uid: u32) -> KResult<u64> {
    let uid = id_arg(uid).ok_or(Errno::EINVAL)?;
    let root = creds()?.euid == 0;
    if root { change_uids([Some(uid), Some(uid), Some(uid)]) } else { change_uids([None, Some(uid), None]) }
}

fn sys_setgid(gid: u32) -> KResult<u64> {
    let gid = id_arg(gid).ok_or(Errno::EINVAL)?;
    let root = creds()?.euid == 0;
    if root { change_gids([Some(gid), Some(gid), Some(gid)]) } else { change_gids([None, Some(gid), None]) }
}

fn sys_setreuid(ruid: u32, euid: u32) -> KResult<u64> {
    change_uids([id_arg(ruid), id_arg(euid), None])
}

fn sys_setregid(rgid: u32, egid: u32) -> KResult<u64> {
    change_gids([id_arg(rgid), id_arg(egid), None])
}

fn sys_setresuid(ruid: u32, euid: u32, suid: u32) -> KResult<u64> {
    change_uids([id_arg(ruid), id_arg(euid), id_arg(suid)])
}

fn sys_setresgid(rgid: u32, egid: u32, sgid: u32) -> KResult<u64> {
    change_gids([id_arg(rgid), id_arg(egid), id_arg(sgid)])
}

fn sys_getgroups(size: i32, list: UserPtr<u32>) -> KResult<u64> {
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
        list.add(i)?.write(gid)?;
    }
    Ok(groups.len() as u64)
}

fn sys_setgroups(size: usize, list: UserPtr<u32>) -> KResult<u64> {
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
        groups.push(list.add(i)?.read()?);
    }
    me.process.creds.lock().groups = groups;
    Ok(0)
}

fn sys_setfsuid(fsuid: u32) -> KResult<u64> {
    let me = task()?;
    let mut c = me.process.creds.lock();
    let old = c.fsuid;
    let new = fsuid;
    if c.euid == 0 || [c.uid, c.euid, c.suid, c.fsuid].contains(&new) {
        if new != old {
            me.process.dumpable.store(false, Ordering::Relaxed);
        }
        c.fsuid = new;
    }
    Ok(u64::from(old))
}

fn sys_setfsgid(fsgid: u32) -> KResult<u64> {
    let me = task()?;
    let mut c = me.process.creds.lock();
    let old = c.fsgid;
    let new = fsgid;
    if c.euid == 0 || [c.gid, c.egid, c.sgid, c.fsgid].contains(&new) {
        if new != old {
            me.process.dumpable.store(false, Ordering::Relaxed);
        }
        c.fsgid = new;
    }
    Ok(u64::from(old))
}
