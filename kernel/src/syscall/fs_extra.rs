//! Less common file calls: fcntl's owner/signal/pipe-size/seal/lease commands,
//! `memfd_create`, `fallocate`, `fadvise64`, `readahead`, `sync_file_range`, the legacy
//! `getdents`, and `utime`/`utimes`/`futimesat` (through utimensat's code).

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use exo_abi::fcntl::*;
use exo_abi::fileextra::*;
use exo_abi::mode::*;
use exo_abi::types::{Timespec, Timeval};
use exo_abi::{nr, Errno, KResult};

use super::args::{typed, Fd};
use super::{task, Handler};
use crate::fs::memfd;
use crate::fs::pipe::PipeEnd;
use crate::fs::OpenFile;
use crate::process::Task;
use crate::uaccess::{UserArg, UserCStr, UserPtr};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // partial: MFD_CLOEXEC, MFD_ALLOW_SEALING (seals enforced on write/truncate/fallocate/mmap), MFD_NOEXEC_SEAL/MFD_EXEC accepted; MFD_HUGETLB and unknown flags EINVAL; name <= 249 bytes; seals are the open file's (a reopen via /proc/self/fd has none); F_SEAL_WRITE over live writable mappings is not EBUSY
    t[nr::MEMFD_CREATE] = typed!(sys_memfd_create);
    // partial: mode 0 and FALLOC_FL_KEEP_SIZE on tmpfs and ext2 (the size grows, blocks are not reserved ahead), PUNCH_HOLE|KEEP_SIZE on tmpfs (zeroes); other modes/file systems EOPNOTSUPP; EINVAL, EBADF, ESPIPE, ENODEV, EISDIR, EFBIG, memfd seals EPERM
    t[nr::FALLOCATE] = typed!(sys_fallocate);
    // full: advice validated (EINVAL), ESPIPE on pipes, EBADF; the advice is a hint with no effect
    t[nr::FADVISE64] = typed!(sys_fadvise64);
    // full: EBADF unless readable, EINVAL for non-regular files; no read-ahead (a hint)
    t[nr::READAHEAD] = typed!(sys_readahead);
    // full: flags and range validated (EINVAL), ESPIPE for non-regular files; SYNC_FILE_RANGE_WRITE writes back the whole file
    t[nr::SYNC_FILE_RANGE] = typed!(sys_sync_file_range);
    // full: struct linux_dirent with d_type in the last byte
    t[nr::GETDENTS] = typed!(sys_getdents);
    // full: as utimensat (NULL: now)
    t[nr::UTIME] = typed!(sys_utime);
    // full: as utimensat; tv_usec outside [0, 1e6) EINVAL
    t[nr::UTIMES] = typed!(sys_utimes);
    // full: as utimes relative to dirfd
    t[nr::FUTIMESAT] = typed!(sys_futimesat);
}

/// fcntl commands of this file; `None` for a command it does not know.
pub fn fcntl_extra(me: &Task, file: &Arc<OpenFile>, cmd: u32, arg: UserArg) -> Option<KResult<u64>> {
    Some(match cmd {
        F_SETOWN => set_owner(file, if arg.int() < 0 { F_OWNER_PGRP } else { F_OWNER_PID }, arg.int().wrapping_abs()),
        F_GETOWN => {
            let (kind, pid) = owner_of(file);
            Ok(if kind == F_OWNER_PGRP { (-(pid as i64)) as u64 } else { pid as u32 as u64 })
        }
        F_SETOWN_EX => arg.ptr::<FOwnerEx>().read().and_then(|o| set_owner(file, o.kind, o.pid)),
        F_GETOWN_EX => {
            let (kind, pid) = owner_of(file);
            arg.ptr::<FOwnerEx>().write(&FOwnerEx { kind, pid }).map(|()| 0)
        }
        F_SETSIG => {
            if arg.ulong() > u64::from(exo_abi::signal::NSIG) {
                Err(Errno::EINVAL)
            } else {
                file.fcntl.signal.store(arg.uint(), Ordering::Relaxed);
                Ok(0)
            }
        }
        F_GETSIG => Ok(u64::from(file.fcntl.signal.load(Ordering::Relaxed))),
        F_GETPIPE_SZ => PipeEnd::of(file).map(|p| p.capacity() as u64).ok_or(Errno::EBADF),
        F_SETPIPE_SZ => set_pipe_size(me, file, arg.uint()),
        F_ADD_SEALS => memfd::of(file).ok_or(Errno::EINVAL).and_then(|m| m.add_seals(file, arg.uint())).map(|()| 0),
        F_GET_SEALS => memfd::of(file).map(|m| u64::from(m.seals())).ok_or(Errno::EINVAL),
        F_GETLEASE => Ok(match file.fcntl.lease.load(Ordering::Relaxed) {
            0 => F_UNLCK as u64,
            held => u64::from(held - 1),
        }),
        F_SETLEASE => set_lease(me, file, arg.int()),
        _ => return None,
    })
}

fn owner_of(file: &OpenFile) -> (i32, i32) {
    let raw = file.fcntl.owner.load(Ordering::Relaxed);
    ((raw >> 32) as i32, raw as u32 as i32)
}

/// F_SETOWN/F_SETOWN_EX: `ESRCH` for a process/group/thread that does not exist (0: none).
fn set_owner(file: &OpenFile, kind: i32, pid: i32) -> KResult<u64> {
    if !matches!(kind, F_OWNER_TID | F_OWNER_PID | F_OWNER_PGRP) || pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 {
        let pid_t = pid as crate::process::Pid;
        let exists = match kind {
            F_OWNER_TID => crate::process::task(pid_t).is_some(),
            F_OWNER_PID => crate::process::process(pid_t).is_some(),
            _ => crate::process::all_processes().iter().any(|p| p.pgid() == pid_t),
        };
        if !exists {
            return Err(Errno::ESRCH);
        }
    }
    file.fcntl.owner.store((kind as u32 as u64) << 32 | pid as u32 as u64, Ordering::Relaxed);
    Ok(0)
}

/// F_SETPIPE_SZ: the size rounded up to a power-of-two number of pages (at least one);
/// `EINVAL` past 2^31, `EPERM` past pipe-max-size (1 MiB) unless root, `EBUSY` if the bytes
/// held do not fit; returns the new size.
fn set_pipe_size(me: &Task, file: &OpenFile, size: u32) -> KResult<u64> {
    let pipe = PipeEnd::of(file).ok_or(Errno::EBADF)?;
    if size > 1 << 31 {
        return Err(Errno::EINVAL);
    }
    let pages = (size as usize).div_ceil(4096).max(1).next_power_of_two();
    let bytes = pages * 4096;
    if bytes > PIPE_MAX_SIZE && me.process.creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    pipe.set_capacity(bytes)?;
    Ok(bytes as u64)
}

/// F_SETLEASE: `F_UNLCK` always; `F_RDLCK` on a regular file opened read-only by its owner
/// (or root) is recorded (leases are never broken: partial); `F_WRLCK` is `EAGAIN` (Linux
/// refuses it while another open exists, which Exo-OS does not track).
fn set_lease(me: &Task, file: &OpenFile, kind: i32) -> KResult<u64> {
    let kind = i16::try_from(kind).map_err(|_| Errno::EINVAL)?;
    if !matches!(kind, F_RDLCK | F_WRLCK | F_UNLCK) {
        return Err(Errno::EINVAL);
    }
    let path = file.ops.path().ok_or(Errno::EINVAL)?;
    let meta = path.metadata();
    if !meta.is_regular() {
        return Err(Errno::EINVAL);
    }
    let fsuid = me.process.creds.lock().fsuid;
    if fsuid != 0 && fsuid != meta.uid {
        return Err(Errno::EACCES);
    }
    match kind {
        F_UNLCK => file.fcntl.lease.store(0, Ordering::Relaxed),
        F_RDLCK if !file.writable() => file.fcntl.lease.store(F_RDLCK as u32 + 1, Ordering::Relaxed),
        _ => return Err(Errno::EAGAIN),
    }
    Ok(0)
}

fn sys_memfd_create(name: UserCStr, flags: u32) -> KResult<u64> {
    if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL | MFD_EXEC) != 0
        || flags & (MFD_NOEXEC_SEAL | MFD_EXEC) == (MFD_NOEXEC_SEAL | MFD_EXEC)
    {
        return Err(Errno::EINVAL);
    }
    let name = name.read(MFD_NAME_MAX + 1).map_err(|e| if e == Errno::ENAMETOOLONG { Errno::EINVAL } else { e })?;
    let me = task()?;
    let (uid, gid) = {
        let creds = me.process.creds.lock();
        (creds.fsuid, creds.fsgid)
    };
    // MFD_NOEXEC_SEAL implies sealing, with F_SEAL_EXEC set.
    let file = memfd::create(&name, flags & (MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL) != 0, uid, gid)?;
    if flags & MFD_NOEXEC_SEAL != 0 {
        if let Some(m) = memfd::of(&file) {
            m.add_seals(&file, F_SEAL_EXEC)?;
        }
    }
    super::fs::install(&me, file, flags & MFD_CLOEXEC != 0)
}

/// The file-type checks shared by fallocate: `ESPIPE` for pipes, `EISDIR`, `ENODEV` for other
/// non-regular files.
fn regular_or(file: &OpenFile) -> KResult<()> {
    match file.ops.stat()?.st_mode & S_IFMT {
        S_IFREG => Ok(()),
        S_IFIFO => Err(Errno::ESPIPE),
        S_IFDIR => Err(Errno::EISDIR),
        _ => Err(Errno::ENODEV),
    }
}

fn sys_fallocate(fd: Fd, mode: u32, offset: i64, len: i64) -> KResult<u64> {
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    const KNOWN: u32 = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_NO_HIDE_STALE | FALLOC_FL_COLLAPSE_RANGE
        | FALLOC_FL_ZERO_RANGE | FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE;
    if mode & !KNOWN != 0 || (mode & FALLOC_FL_PUNCH_HOLE != 0 && mode & FALLOC_FL_KEEP_SIZE == 0) {
        return Err(Errno::EOPNOTSUPP);
    }
    let file = super::fs::file(fd)?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    if file.ops.path().is_some_and(|p| p.is_readonly()) {
        return Err(Errno::EROFS);
    }
    regular_or(&file)?;
    let end = offset.checked_add(len).ok_or(Errno::EFBIG)? as u64;
    let path = file.ops.path().ok_or(Errno::EOPNOTSUPP)?;
    let fs_name = path.mount.fs().name();
    let tmpfs = fs_name == "tmpfs";
    if !(tmpfs || fs_name == "ext2") || (mode & !FALLOC_FL_KEEP_SIZE != 0 && !(tmpfs && mode == FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
        return Err(Errno::EOPNOTSUPP);
    }
    let size = path.metadata().size;
    if mode & FALLOC_FL_PUNCH_HOLE != 0 {
        if let Some(m) = memfd::of(&file) {
            m.check_overwrite()?;
        }
        return punch_hole(&file, offset as u64, end.min(size)).map(|()| 0);
    }
    if mode & FALLOC_FL_KEEP_SIZE == 0 && end > size {
        // The ordinary truncate path (memfd: against its grow seal).
        file.ops.truncate(end)?;
    }
    Ok(0)
}

/// Zeroes `[from, to)` of the file (a tmpfs hole reads as zeros; the pages stay).
fn punch_hole(file: &OpenFile, mut from: u64, to: u64) -> KResult<()> {
    let zeros = [0u8; 512];
    while from < to {
        if crate::fs::file::fatal_signal_pending() {
            return Err(Errno::EINTR);
        }
        let n = ((to - from) as usize).min(zeros.len());
        let written = file.ops.write_at(&zeros[..n], from)?;
        if written == 0 {
            break;
        }
        from += written as u64;
    }
    Ok(())
}

/// fadvise64(fd, offset, len, advice): `len` is a `size_t` on x86-64 (never negative).
fn sys_fadvise64(fd: Fd, offset: i64, len: u64, advice: u32) -> KResult<u64> {
    let file = super::fs::file(fd)?;
    if file.ops.stat()?.st_mode & S_IFMT == S_IFIFO {
        return Err(Errno::ESPIPE);
    }
    let _ = (offset, len);
    if advice > POSIX_FADV_NOREUSE {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

fn sys_readahead(fd: Fd, offset: i64, count: u64) -> KResult<u64> {
    let file = super::fs::file(fd)?;
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    let _ = (offset, count);
    if file.ops.stat()?.st_mode & S_IFMT != S_IFREG {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

fn sys_sync_file_range(fd: Fd, offset: i64, nbytes: i64, flags: u32) -> KResult<u64> {
    if flags & !(SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) != 0
        || offset < 0
        || nbytes < 0
        || offset.checked_add(nbytes).is_none()
    {
        return Err(Errno::EINVAL);
    }
    let file = super::fs::file(fd)?;
    match file.ops.stat()?.st_mode & S_IFMT {
        S_IFREG | S_IFDIR | S_IFLNK | S_IFBLK => {}
        _ => return Err(Errno::ESPIPE),
    }
    if flags & SYNC_FILE_RANGE_WRITE != 0 {
        file.ops.fsync(true)?;
    }
    Ok(0)
}

/// getdents(fd, dirp, count): `linux_dirent64` records rewritten in place as the legacy
/// `linux_dirent` (same record length: 18 header bytes + name + NUL + `d_type` byte, padded).
fn sys_getdents(fd: Fd, dirp: UserPtr<u8>, count: usize) -> KResult<u64> {
    let file = super::fs::file(fd)?;
    let space = count.min(1 << 20);
    dirp.check(space)?;
    let mut out = alloc::vec::Vec::new();
    file.ops.read_dir(&file, &mut out, space)?;
    let mut at = 0;
    while at + 19 <= out.len() {
        let reclen = u16::from_ne_bytes([out[at + 16], out[at + 17]]) as usize;
        if reclen < 20 || at + reclen > out.len() {
            return Err(Errno::EIO);
        }
        let d_type = out[at + 18];
        // The name moves one byte down over d_type; d_type goes to the last byte.
        out.copy_within(at + 19..at + reclen, at + LINUX_DIRENT_HEADER);
        out[at + reclen - 1] = d_type;
        at += reclen;
    }
    dirp.slice(out.len())?.write_from(&out)?;
    Ok(out.len() as u64)
}

fn timeval_pair(times: UserPtr<[Timeval; 2]>) -> KResult<Option<[Timespec; 2]>> {
    if times.is_null() {
        return Ok(None);
    }
    let tv = times.read()?;
    let mut out = [Timespec::default(); 2];
    for (spec, val) in out.iter_mut().zip(tv.iter()) {
        if !(0..1_000_000).contains(&val.tv_usec) {
            return Err(Errno::EINVAL);
        }
        *spec = Timespec { tv_sec: val.tv_sec, tv_nsec: val.tv_usec * 1000 };
    }
    Ok(Some(out))
}

/// `struct utimbuf` of utime(2).
fn sys_utime(pathname: UserCStr, times: UserPtr<[i64; 2]>) -> KResult<u64> {
    let times = if times.is_null() {
        None
    } else {
        let [actime, modtime] = times.read()?;
        Some([Timespec { tv_sec: actime, tv_nsec: 0 }, Timespec { tv_sec: modtime, tv_nsec: 0 }])
    };
    super::fs_attr::set_times(Fd(AT_FDCWD), pathname, times, 0)
}

fn sys_utimes(pathname: UserCStr, times: UserPtr<[Timeval; 2]>) -> KResult<u64> {
    super::fs_attr::set_times(Fd(AT_FDCWD), pathname, timeval_pair(times)?, 0)
}

fn sys_futimesat(dirfd: Fd, pathname: UserCStr, times: UserPtr<[Timeval; 2]>) -> KResult<u64> {
    super::fs_attr::set_times(dirfd, pathname, timeval_pair(times)?, 0)
}
