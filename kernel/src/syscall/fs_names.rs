//! File syscalls on names: mkdir, mknod (FIFOs, regular files, device nodes), rmdir, unlink, rename, symlinks, hard links, readlink,
//! truncate by path, access checks, and the working directory.

use exo_abi::fcntl::*;
use exo_abi::mode::*;
use exo_abi::{nr, Errno, KResult};
use exo_vfs::{permitted, Access, PathRef};

use super::args::{typed, Fd};
use super::fs::{base_dir, with_path};
use super::{task, Handler};
use crate::fs;
use crate::process::Task;
use crate::uaccess::{UserCStr, UserPtr};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full
    t[nr::MKDIR] = typed!(sys_mkdir);
    // full
    t[nr::MKDIRAT] = typed!(sys_mkdirat);
    // full: S_IFIFO, S_IFREG (or 0), S_IFSOCK; S_IFCHR/S_IFBLK root only (EPERM); S_IFDIR EPERM; umask
    t[nr::MKNOD] = typed!(sys_mknod);
    // full: see mknod
    t[nr::MKNODAT] = typed!(sys_mknodat);
    // full
    t[nr::RMDIR] = typed!(sys_rmdir);
    // full
    t[nr::UNLINK] = typed!(sys_unlink);
    // full: AT_REMOVEDIR
    t[nr::UNLINKAT] = typed!(sys_unlinkat);
    // full
    t[nr::RENAME] = typed!(sys_rename);
    // full
    t[nr::RENAMEAT] = typed!(sys_renameat);
    // full: RENAME_NOREPLACE, RENAME_EXCHANGE
    t[nr::RENAMEAT2] = typed!(sys_renameat2);
    // full
    t[nr::SYMLINK] = typed!(sys_symlink);
    // full
    t[nr::SYMLINKAT] = typed!(sys_symlinkat);
    // full
    t[nr::READLINK] = typed!(sys_readlink);
    // full
    t[nr::READLINKAT] = typed!(sys_readlinkat);
    // full
    t[nr::CHDIR] = typed!(sys_chdir);
    // full: root only (EPERM), ENOTDIR, EACCES; the cwd stays
    t[nr::CHROOT] = typed!(sys_chroot);
    // full
    t[nr::FCHDIR] = typed!(sys_fchdir);
    // full: ERANGE, ENOENT when the cwd was removed
    t[nr::GETCWD] = typed!(sys_getcwd);
    // full: real ids unless AT_EACCESS
    t[nr::ACCESS] = typed!(sys_access);
    // full
    t[nr::FACCESSAT] = typed!(sys_faccessat);
    // full: AT_EACCESS, AT_SYMLINK_NOFOLLOW
    t[nr::FACCESSAT2] = typed!(sys_faccessat2);
    // full: EROFS on a read-only mount
    t[nr::TRUNCATE] = typed!(sys_truncate);
    // full
    t[nr::LINK] = typed!(sys_link);
    // full: AT_SYMLINK_FOLLOW
    t[nr::LINKAT] = typed!(sys_linkat);
}

fn mkdir_at(dirfd: i32, path: UserCStr, mode: u32) -> KResult<u64> {
    with_path(dirfd, path, |me, ctx, path| {
        let mode = mode & S_IALLUGO & !me.fs().umask();
        fs::namespace()?.mkdir(&ctx, path, mode).map(|_| 0)
    })
}

fn sys_mkdir(pathname: UserCStr, mode: u32) -> KResult<u64> {
    mkdir_at(AT_FDCWD, pathname, mode)
}

fn sys_mkdirat(dirfd: Fd, pathname: UserCStr, mode: u32) -> KResult<u64> {
    mkdir_at(dirfd.get(), pathname, mode)
}

/// mknod: a FIFO, socket or regular file (type 0 is S_IFREG), or — for root — a device node;
/// the umask applies to the permission bits. `dev` is the 32-bit kernel encoding, which is
/// `makedev`'s for every number it can hold.
fn mknod_at(dirfd: i32, path: UserCStr, mode: u32, dev: u64) -> KResult<u64> {
    with_path(dirfd, path, |me, ctx, path| {
        let mode = (mode & S_IFMT) | (mode & S_IALLUGO & !me.fs().umask());
        let rdev = if matches!(mode & S_IFMT, S_IFCHR | S_IFBLK) { dev as u32 as u64 } else { 0 };
        fs::namespace()?.mknod(&ctx, path, mode, rdev).map(|_| 0)
    })
}

fn sys_mknod(pathname: UserCStr, mode: u32, dev: u64) -> KResult<u64> {
    mknod_at(AT_FDCWD, pathname, mode, dev)
}

fn sys_mknodat(dirfd: Fd, pathname: UserCStr, mode: u32, dev: u64) -> KResult<u64> {
    mknod_at(dirfd.get(), pathname, mode, dev)
}

fn sys_rmdir(pathname: UserCStr) -> KResult<u64> {
    with_path(AT_FDCWD, pathname, |_, ctx, path| fs::namespace()?.rmdir(&ctx, path).map(|_| 0))
}

fn sys_unlink(pathname: UserCStr) -> KResult<u64> {
    with_path(AT_FDCWD, pathname, |_, ctx, path| fs::namespace()?.unlink(&ctx, path).map(|_| 0))
}

fn sys_unlinkat(dirfd: Fd, pathname: UserCStr, flags: u32) -> KResult<u64> {
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    with_path(dirfd.get(), pathname, |_, ctx, path| {
        let ns = fs::namespace()?;
        if flags & AT_REMOVEDIR != 0 { ns.rmdir(&ctx, path) } else { ns.unlink(&ctx, path) }.map(|_| 0)
    })
}

fn rename_at(olddir: i32, old: UserCStr, newdir: i32, new: UserCStr, flags: u32) -> KResult<u64> {
    let me = task()?;
    let old = old.read_path()?;
    let new = new.read_path()?;
    let old_ctx = fs::lookup_ctx(&me, base_dir(&me, olddir, &old)?);
    let new_ctx = fs::lookup_ctx(&me, base_dir(&me, newdir, &new)?);
    fs::namespace()?.rename(&old_ctx, &old, &new_ctx, &new, flags).map(|_| 0)
}

fn sys_rename(oldpath: UserCStr, newpath: UserCStr) -> KResult<u64> {
    rename_at(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0)
}

fn sys_renameat(olddirfd: Fd, oldpath: UserCStr, newdirfd: Fd, newpath: UserCStr) -> KResult<u64> {
    rename_at(olddirfd.get(), oldpath, newdirfd.get(), newpath, 0)
}

fn sys_renameat2(olddirfd: Fd, oldpath: UserCStr, newdirfd: Fd, newpath: UserCStr, flags: u32) -> KResult<u64> {
    rename_at(olddirfd.get(), oldpath, newdirfd.get(), newpath, flags)
}

fn symlink_at(target: UserCStr, dirfd: i32, path: UserCStr) -> KResult<u64> {
    let target = target.read_path()?;
    with_path(dirfd, path, |_, ctx, path| fs::namespace()?.symlink(&ctx, &target, path).map(|_| 0))
}

fn sys_symlink(target: UserCStr, linkpath: UserCStr) -> KResult<u64> {
    symlink_at(target, AT_FDCWD, linkpath)
}

fn sys_symlinkat(target: UserCStr, newdirfd: Fd, linkpath: UserCStr) -> KResult<u64> {
    symlink_at(target, newdirfd.get(), linkpath)
}

/// readlink: `bufsiz` is a C `int` (as Linux's system call takes it); EINVAL unless positive.
fn readlink_at(dirfd: i32, path: UserCStr, buf: UserPtr<u8>, bufsiz: i32) -> KResult<u64> {
    let Ok(size @ 1..) = usize::try_from(bufsiz) else {
        return Err(Errno::EINVAL);
    };
    let target = with_path(dirfd, path, |_, ctx, path| {
        let location = fs::namespace()?.resolve(&ctx.follow(false), path)?;
        location.inode().readlink()
    })?;
    let n = target.len().min(size);
    buf.slice(n)?.write_from(&target[..n])?;
    Ok(n as u64)
}

fn sys_readlink(pathname: UserCStr, buf: UserPtr<u8>, bufsiz: i32) -> KResult<u64> {
    readlink_at(AT_FDCWD, pathname, buf, bufsiz)
}

fn sys_readlinkat(dirfd: Fd, pathname: UserCStr, buf: UserPtr<u8>, bufsiz: i32) -> KResult<u64> {
    readlink_at(dirfd.get(), pathname, buf, bufsiz)
}

fn set_cwd(me: &Task, location: PathRef, cred: &exo_vfs::Cred) -> KResult<u64> {
    let meta = location.metadata();
    if !meta.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !permitted(&meta, cred, Access { read: false, write: false, exec: true }) {
        return Err(Errno::EACCES);
    }
    *me.fs().cwd.lock() = location;
    Ok(0)
}

fn sys_chdir(path: UserCStr) -> KResult<u64> {
    with_path(AT_FDCWD, path, |me, ctx, path| {
        let location = fs::namespace()?.resolve(&ctx.clone().directory(true), path)?;
        set_cwd(me, location, &ctx.cred)
    })
}

/// chroot: the directory becomes the process's root (shared with `CLONE_FS` threads, as the
/// cwd); the cwd is left where it is, as on Linux. Root only (`EPERM`; Linux: CAP_SYS_CHROOT),
/// then `ENOTDIR`/`EACCES` as chdir.
fn sys_chroot(path: UserCStr) -> KResult<u64> {
    with_path(AT_FDCWD, path, |me, ctx, path| {
        let location = fs::namespace()?.resolve(&ctx.clone().directory(true), path)?;
        let meta = location.metadata();
        if !meta.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !permitted(&meta, &ctx.cred, Access { read: false, write: false, exec: true }) {
            return Err(Errno::EACCES);
        }
        if me.process.creds.lock().euid != 0 {
            return Err(Errno::EPERM);
        }
        *me.fs().root.lock() = location;
        Ok(0)
    })
}

fn sys_fchdir(fd: Fd) -> KResult<u64> {
    let me = task()?;
    let location = me.files().get(fd.get())?.ops.path().ok_or(Errno::ENOTDIR)?;
    set_cwd(&me, location, &fs::cred_of(&me))
}

fn sys_getcwd(buf: UserPtr<u8>, size: usize) -> KResult<u64> {
    let me = task()?;
    let fs_ctx = me.fs();
    let cwd = fs_ctx.cwd.lock().clone();
    let root = fs_ctx.root.lock().clone();
    if cwd.is_deleted() {
        return Err(Errno::ENOENT);
    }
    let mut path = fs::namespace()?.path_of(&cwd, &root);
    path.push(0);
    if size < path.len() {
        return Err(Errno::ERANGE);
    }
    buf.slice(path.len())?.write_from(&path)?;
    Ok(path.len() as u64)
}

fn access_at(dirfd: i32, path: UserCStr, mode: u32, flags: u32) -> KResult<u64> {
    if mode & !(R_OK | W_OK | X_OK) != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    with_path(dirfd, path, |me, ctx, path| {
        let location = fs::namespace()?.resolve(&ctx.clone().follow(flags & AT_SYMLINK_NOFOLLOW == 0), path)?;
        let meta = location.metadata();
        // access() checks with the real ids (unless AT_EACCESS).
        let cred = if flags & AT_EACCESS != 0 {
            ctx.cred.clone()
        } else {
            let creds = me.process.creds.lock();
            exo_vfs::Cred::new(creds.uid, creds.gid, creds.groups.clone())
        };
        let want = Access { read: mode & R_OK != 0, write: mode & W_OK != 0, exec: mode & X_OK != 0 };
        if !permitted(&meta, &cred, want) {
            return Err(Errno::EACCES);
        }
        if want.write && location.is_readonly() {
            return Err(Errno::EROFS);
        }
        Ok(0)
    })
}

fn sys_access(pathname: UserCStr, mode: u32) -> KResult<u64> {
    access_at(AT_FDCWD, pathname, mode, 0)
}

fn sys_faccessat(dirfd: Fd, pathname: UserCStr, mode: u32) -> KResult<u64> {
    access_at(dirfd.get(), pathname, mode, 0)
}

fn sys_faccessat2(dirfd: Fd, pathname: UserCStr, mode: u32, flags: u32) -> KResult<u64> {
    access_at(dirfd.get(), pathname, mode, flags)
}

fn sys_truncate(path: UserCStr, length: i64) -> KResult<u64> {
    let Ok(len) = u64::try_from(length) else {
        return Err(Errno::EINVAL);
    };
    with_path(AT_FDCWD, path, |_, ctx, path| {
        let location = fs::namespace()?.resolve(&ctx, path)?;
        let meta = location.metadata();
        if meta.is_dir() {
            return Err(Errno::EISDIR);
        }
        if location.is_readonly() {
            return Err(Errno::EROFS);
        }
        if !permitted(&meta, &ctx.cred, Access { read: false, write: true, exec: false }) {
            return Err(Errno::EACCES);
        }
        crate::fs::filemap_io::truncate(location.inode(), len).map(|_| 0)
    })
}

fn link_at(olddir: i32, old: UserCStr, newdir: i32, new: UserCStr, flags: u32) -> KResult<u64> {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let old = old.read_path()?;
    let new = new.read_path()?;
    let old_ctx = fs::lookup_ctx(&me, base_dir(&me, olddir, &old)?).follow(flags & AT_SYMLINK_FOLLOW != 0);
    let new_ctx = fs::lookup_ctx(&me, base_dir(&me, newdir, &new)?);
    fs::namespace()?.link(&old_ctx, &old, &new_ctx, &new).map(|_| 0)
}

fn sys_link(oldpath: UserCStr, newpath: UserCStr) -> KResult<u64> {
    link_at(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0)
}

fn sys_linkat(olddirfd: Fd, oldpath: UserCStr, newdirfd: Fd, newpath: UserCStr, flags: u32) -> KResult<u64> {
    link_at(olddirfd.get(), oldpath, newdirfd.get(), newpath, flags)
}
