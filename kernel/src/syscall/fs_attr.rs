//! File attribute syscalls: chmod/chown families, utimensat, statx, statfs/fstatfs. Changes
//! under a read-only mount are `EROFS`, checked before the caller's permission (Linux's
//! `mnt_want_write` comes first).

use exo_abi::fcntl::*;
use exo_abi::types::{Statfs, Statx, StatxTimestamp, Timespec, UTIME_NOW, UTIME_OMIT};
use exo_abi::{nr, Errno, KResult};
use exo_vfs::{PathRef, SetAttr, Time};

use super::args::{typed, Fd};
use super::fs::{base_dir, with_path};
use super::{task, Handler};
use crate::fs;
use crate::process::Task;
use crate::uaccess::{UserCStr, UserPtr};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: owner or root; setgid dropped for non-members
    t[nr::CHMOD] = typed!(sys_chmod);
    // full
    t[nr::FCHMOD] = typed!(sys_fchmod);
    // full
    t[nr::FCHMODAT] = typed!(sys_fchmodat);
    // full: root, or owner to own groups; clears setuid/setgid; EROFS on a read-only mount
    t[nr::CHOWN] = typed!(sys_chown);
    // full
    t[nr::LCHOWN] = typed!(sys_lchown);
    // full
    t[nr::FCHOWN] = typed!(sys_fchown);
    // full: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH
    t[nr::FCHOWNAT] = typed!(sys_fchownat);
    // full: UTIME_NOW/UTIME_OMIT, NULL times, owner rules
    t[nr::UTIMENSAT] = typed!(sys_utimensat);
    // partial: STATX_BASIC_STATS and STATX_MNT_ID, stx_blksize, dev/rdev major:minor, STATX_ATTR_MOUNT_ROOT in attributes(_mask); AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, AT_STATX_* sync flags accepted; EINVAL for STATX__RESERVED; no btime (no file system keeps one)
    t[nr::STATX] = typed!(sys_statx);
    // full
    t[nr::STATFS] = typed!(sys_statfs);
    // full
    t[nr::FSTATFS] = typed!(sys_fstatfs);
}

/// The file an empty path with AT_EMPTY_PATH names: `dirfd`'s, or the cwd for AT_FDCWD.
fn empty_path_target(me: &Task, dirfd: i32) -> KResult<PathRef> {
    if dirfd == AT_FDCWD {
        return Ok(me.fs().cwd.lock().clone());
    }
    me.files().get(dirfd)?.ops.path().ok_or(Errno::EBADF)
}

/// The path behind a descriptor for fchmod/fchown: EBADF for O_PATH descriptors (Linux) and
/// files that have none.
fn fd_path(me: &Task, fd: i32) -> KResult<PathRef> {
    let file = me.files().get(fd)?;
    if file.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    file.ops.path().ok_or(Errno::EINVAL)
}

/// Resolves `path` (or, with AT_EMPTY_PATH and "", the file `dirfd`).
pub(super) fn locate(me: &Task, dirfd: i32, path: UserCStr, flags: u32) -> KResult<PathRef> {
    let path = match path.read_path() {
        Err(Errno::ENOENT) if flags & AT_EMPTY_PATH != 0 => return empty_path_target(me, dirfd),
        other => other?,
    };
    let base = base_dir(me, dirfd, &path)?;
    let ctx = fs::lookup_ctx(me, base).follow(flags & AT_SYMLINK_NOFOLLOW == 0);
    fs::namespace()?.resolve(&ctx, &path)
}

/// `EROFS` for a file under a read-only mount.
fn writable_mount(location: &PathRef) -> KResult<()> {
    if location.is_readonly() {
        return Err(Errno::EROFS);
    }
    Ok(())
}

pub(super) fn chmod(me: &Task, location: &PathRef, mode: u32) -> KResult<u64> {
    writable_mount(location)?;
    let meta = location.metadata();
    let creds = me.process.creds.lock().clone();
    if creds.fsuid != 0 && creds.fsuid != meta.uid {
        return Err(Errno::EPERM);
    }
    let mut mode = mode & exo_abi::mode::S_IALLUGO;
    if creds.fsuid != 0 && meta.gid != creds.fsgid && !creds.groups.contains(&meta.gid) {
        mode &= !exo_abi::mode::S_ISGID;
    }
    location.inode().set_attr(&SetAttr { mode: Some(mode), ..SetAttr::default() })?;
    fs::inotify::attrib_changed(location);
    Ok(0)
}

fn sys_chmod(pathname: UserCStr, mode: u32) -> KResult<u64> {
    let me = task()?;
    let location = locate(&me, AT_FDCWD, pathname, 0)?;
    chmod(&me, &location, mode)
}

fn sys_fchmod(fd: Fd, mode: u32) -> KResult<u64> {
    let me = task()?;
    let location = fd_path(&me, fd.get())?;
    chmod(&me, &location, mode)
}

/// fchmodat(dirfd, pathname, mode): the flags argument is not read (as Linux's fchmodat).
fn sys_fchmodat(dirfd: Fd, pathname: UserCStr, mode: u32) -> KResult<u64> {
    let me = task()?;
    let location = locate(&me, dirfd.get(), pathname, 0)?;
    chmod(&me, &location, mode)
}

fn chown(me: &Task, location: &PathRef, uid: u32, gid: u32) -> KResult<u64> {
    writable_mount(location)?;
    let meta = location.metadata();
    let creds = me.process.creds.lock().clone();
    let uid = (uid != u32::MAX).then_some(uid);
    let gid = (gid != u32::MAX).then_some(gid);
    if creds.fsuid != 0 {
        let owner = creds.fsuid == meta.uid;
        let uid_ok = uid.is_none_or(|u| u == meta.uid);
        let gid_ok = gid.is_none_or(|g| g == meta.gid || g == creds.fsgid || creds.groups.contains(&g));
        if !(owner && uid_ok && gid_ok) {
            return Err(Errno::EPERM);
        }
    }
    let mut attr = SetAttr { uid, gid, ..SetAttr::default() };
    // Changing the owner of a non-directory clears setuid, and setgid when group-executable.
    if (uid.is_some() || gid.is_some()) && !meta.is_dir() && meta.mode & 0o6000 != 0 {
        let mut mode = meta.mode & exo_abi::mode::S_IALLUGO & !exo_abi::mode::S_ISUID;
        if meta.mode & 0o010 != 0 {
            mode &= !exo_abi::mode::S_ISGID;
        }
        attr.mode = Some(mode);
    }
    location.inode().set_attr(&attr)?;
    fs::inotify::attrib_changed(location);
    Ok(0)
}

fn sys_chown(pathname: UserCStr, owner: u32, group: u32) -> KResult<u64> {
    let me = task()?;
    let location = locate(&me, AT_FDCWD, pathname, 0)?;
    chown(&me, &location, owner, group)
}

fn sys_lchown(pathname: UserCStr, owner: u32, group: u32) -> KResult<u64> {
    let me = task()?;
    let location = locate(&me, AT_FDCWD, pathname, AT_SYMLINK_NOFOLLOW)?;
    chown(&me, &location, owner, group)
}

fn sys_fchown(fd: Fd, owner: u32, group: u32) -> KResult<u64> {
    let me = task()?;
    let location = fd_path(&me, fd.get())?;
    chown(&me, &location, owner, group)
}

fn sys_fchownat(dirfd: Fd, pathname: UserCStr, owner: u32, group: u32, flags: u32) -> KResult<u64> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let location = locate(&me, dirfd.get(), pathname, flags)?;
    chown(&me, &location, owner, group)
}

fn time_of(spec: &Timespec, now: Time) -> KResult<Option<Time>> {
    match spec.tv_nsec {
        n if n == UTIME_OMIT => Ok(None),
        n if n == UTIME_NOW => Ok(Some(now)),
        _ => {
            spec.to_ns().ok_or(Errno::EINVAL)?;
            Ok(Some(Time::new(spec.tv_sec, spec.tv_nsec as u32)))
        }
    }
}

/// utimensat(dirfd, pathname, times, flags); a NULL `pathname` names `dirfd` itself (the
/// system call's form of futimens).
fn sys_utimensat(dirfd: Fd, pathname: UserCStr, times: UserPtr<[Timespec; 2]>, flags: u32) -> KResult<u64> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let times = if times.is_null() { None } else { Some(times.read()?) };
    set_times(dirfd, pathname, times, flags)
}

/// utimensat's work, shared with utime/utimes/futimesat (`times` None: both now).
pub(super) fn set_times(dirfd: Fd, pathname: UserCStr, times: Option<[Timespec; 2]>, flags: u32) -> KResult<u64> {
    let me = task()?;
    let location = if pathname.is_null() {
        me.files().get(dirfd.get())?.ops.path().ok_or(Errno::EBADF)?
    } else {
        locate(&me, dirfd.get(), pathname, flags)?
    };
    let now = fs::now();
    let (atime, mtime) = match &times {
        None => (Some(now), Some(now)),
        Some(specs) => (time_of(&specs[0], now)?, time_of(&specs[1], now)?),
    };
    writable_mount(&location)?;
    let meta = location.metadata();
    let creds = me.process.creds.lock().clone();
    let explicit = times.is_some() && !(matches!(atime, Some(t) if t == now) && matches!(mtime, Some(t) if t == now));
    if creds.fsuid != 0 && creds.fsuid != meta.uid {
        let writable = exo_vfs::permitted(&meta, &fs::cred_of(&me), exo_vfs::Access { read: false, write: true, exec: false });
        if explicit || !writable {
            return Err(if explicit { Errno::EPERM } else { Errno::EACCES });
        }
    }
    location.inode().set_attr(&SetAttr { atime, mtime, ..SetAttr::default() })?;
    fs::inotify::attrib_changed(&location);
    Ok(0)
}

fn ts(time: Time) -> StatxTimestamp {
    StatxTimestamp { tv_sec: time.sec, tv_nsec: time.nsec, ..StatxTimestamp::default() }
}

/// `statx` bits Linux defines beyond the basic stats.
const STATX_MNT_ID: u32 = 0x1000;
const STATX_ATTR_MOUNT_ROOT: u64 = 0x2000;

fn sys_statx(dirfd: Fd, pathname: UserCStr, flags: u32, mask: u32, statxbuf: UserPtr<Statx>) -> KResult<u64> {
    const STATX_RESERVED: u32 = 0x8000_0000;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | exo_abi::types::AT_STATX_SYNC_TYPE) != 0
        || flags & exo_abi::types::AT_STATX_SYNC_TYPE == exo_abi::types::AT_STATX_SYNC_TYPE
        || mask & STATX_RESERVED != 0
    {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let dirfd = dirfd.get();
    let location = match pathname.read_path() {
        Err(Errno::ENOENT) if flags & AT_EMPTY_PATH != 0 && dirfd == AT_FDCWD => Ok(me.fs().cwd.lock().clone()),
        Err(Errno::ENOENT) if flags & AT_EMPTY_PATH != 0 => {
            let file = me.files().get(dirfd)?;
            match file.node.get().cloned().or_else(|| file.ops.path()) {
                Some(p) => Ok(p),
                None => {
                    let st = file.ops.stat()?;
                    Err(exo_vfs::Metadata { ino: st.st_ino, mode: st.st_mode, nlink: st.st_nlink, uid: st.st_uid, gid: st.st_gid, size: st.st_size as u64, rdev: st.st_rdev, blksize: st.st_blksize as u64, dev: st.st_dev, blocks: st.st_blocks as u64, ..Default::default() })
                }
            }
        }
        Err(e) => return Err(e),
        Ok(p) => {
            let base = base_dir(&me, dirfd, &p)?;
            let ctx = fs::lookup_ctx(&me, base).follow(flags & AT_SYMLINK_NOFOLLOW == 0);
            Ok(fs::namespace()?.resolve(&ctx, &p)?)
        }
    };
    // Files outside the namespace (pipes, sockets) have no mount: no STATX_MNT_ID, as Linux's
    // internal mounts are not visible either.
    let (meta, mnt_id, mount_root) = match &location {
        Ok(path) => (path.metadata(), Some(path.mount.id()), path.is_mount_root()),
        Err(meta) => (meta.clone(), None, false),
    };
    let (rmaj, rmin) = exo_abi::mode::major_minor(meta.rdev);
    let (dmaj, dmin) = exo_abi::mode::major_minor(meta.dev);
    let statx = Statx {
        stx_mask: exo_abi::types::STATX_BASIC_STATS | if mnt_id.is_some() { STATX_MNT_ID } else { 0 },
        stx_mnt_id: mnt_id.unwrap_or(0),
        stx_attributes_mask: STATX_ATTR_MOUNT_ROOT,
        stx_attributes: if mount_root { STATX_ATTR_MOUNT_ROOT } else { 0 },
        stx_blksize: meta.blksize as u32,
        stx_nlink: meta.nlink as u32,
        stx_uid: meta.uid,
        stx_gid: meta.gid,
        stx_mode: meta.mode as u16,
        stx_ino: meta.ino,
        stx_size: meta.size,
        stx_blocks: meta.blocks,
        stx_atime: ts(meta.atime),
        stx_ctime: ts(meta.ctime),
        stx_mtime: ts(meta.mtime),
        stx_rdev_major: rmaj,
        stx_rdev_minor: rmin,
        stx_dev_major: dmaj,
        stx_dev_minor: dmin,
        ..Statx::default()
    };
    statxbuf.write(&statx)?;
    Ok(0)
}

fn statfs_of(location: &PathRef) -> KResult<Statfs> {
    let s = location.inode().statfs()?;
    Ok(Statfs {
        f_type: s.fs_type as i64,
        f_bsize: s.bsize as i64,
        f_blocks: s.blocks,
        f_bfree: s.bfree,
        f_bavail: s.bavail,
        f_files: s.files,
        f_ffree: s.ffree,
        f_fsid: [s.fsid as i32, (s.fsid >> 32) as i32],
        f_namelen: s.namelen as i64,
        f_frsize: s.frsize as i64,
        f_flags: if location.is_readonly() { 1 } else { 0 },
        ..Statfs::default()
    })
}

fn sys_statfs(path: UserCStr, buf: UserPtr<Statfs>) -> KResult<u64> {
    let st = with_path(AT_FDCWD, path, |_, ctx, path| statfs_of(&fs::namespace()?.resolve(&ctx, path)?))?;
    buf.write(&st)?;
    Ok(0)
}

fn sys_fstatfs(fd: Fd, buf: UserPtr<Statfs>) -> KResult<u64> {
    let location = task()?.files().get(fd.get())?.ops.path().ok_or(Errno::ENOSYS)?;
    buf.write(&statfs_of(&location)?)?;
    Ok(0)
}
