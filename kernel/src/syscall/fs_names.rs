//! File syscalls on names: mkdir, mknod (FIFOs, regular files, device nodes), rmdir, unlink, rename, symlinks, hard links, readlink,
//! truncate by path, access checks, and the working directory.

use exo_abi::fcntl::*;
use exo_abi::mode::*;
use exo_abi::{nr, Errno, KResult};
use exo_vfs::{permitted, Access, PathRef};

use super::fs::{base_dir, with_path};
use super::{int, task, Handler};
use crate::arch::TrapFrame;
use crate::fs;
use crate::process::Task;
use crate::uaccess;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    t[nr::MKDIR] = Some(sys_mkdir);
    t[nr::MKDIRAT] = Some(sys_mkdirat);
    t[nr::MKNOD] = Some(sys_mknod);
    t[nr::MKNODAT] = Some(sys_mknodat);
    t[nr::RMDIR] = Some(sys_rmdir);
    t[nr::UNLINK] = Some(sys_unlink);
    t[nr::UNLINKAT] = Some(sys_unlinkat);
    t[nr::RENAME] = Some(sys_rename);
    t[nr::RENAMEAT] = Some(sys_renameat);
    t[nr::RENAMEAT2] = Some(sys_renameat2);
    t[nr::SYMLINK] = Some(sys_symlink);
    t[nr::SYMLINKAT] = Some(sys_symlinkat);
    t[nr::READLINK] = Some(sys_readlink);
    t[nr::READLINKAT] = Some(sys_readlinkat);
    t[nr::CHDIR] = Some(sys_chdir);
    t[nr::FCHDIR] = Some(sys_fchdir);
    t[nr::GETCWD] = Some(sys_getcwd);
    t[nr::ACCESS] = Some(sys_access);
    t[nr::FACCESSAT] = Some(sys_faccessat);
    t[nr::FACCESSAT2] = Some(sys_faccessat2);
    t[nr::TRUNCATE] = Some(sys_truncate);
    t[nr::LINK] = Some(sys_link);
    t[nr::LINKAT] = Some(sys_linkat);
}

fn mkdir_at(dirfd: i32, path: u64, mode: u32) -> KResult<u64> {
    with_path(dirfd, path, |me, ctx, path| {
        let mode = mode & S_IALLUGO & !me.fs().umask();
        fs::namespace()?.mkdir(&ctx, path, mode).map(|_| 0)
    })
}

fn sys_mkdir(frame: &mut TrapFrame) -> KResult<u64> {
    mkdir_at(AT_FDCWD, frame.rdi, frame.rsi as u32)
}

fn sys_mkdirat(frame: &mut TrapFrame) -> KResult<u64> {
    mkdir_at(int(frame.rdi), frame.rsi, frame.rdx as u32)
}

/// mknod: a FIFO, socket or regular file (type 0 is S_IFREG), or — for root — a device node;
/// the umask applies to the permission bits. `dev` is the 32-bit kernel encoding, which is
/// `makedev`'s for every number it can hold.
fn mknod_at(dirfd: i32, path: u64, mode: u32, dev: u64) -> KResult<u64> {
    with_path(dirfd, path, |me, ctx, path| {
        let mode = (mode & S_IFMT) | (mode & S_IALLUGO & !me.fs().umask());
        let rdev = if matches!(mode & S_IFMT, S_IFCHR | S_IFBLK) { dev as u32 as u64 } else { 0 };
        fs::namespace()?.mknod(&ctx, path, mode, rdev).map(|_| 0)
    })
}

fn sys_mknod(frame: &mut TrapFrame) -> KResult<u64> {
    mknod_at(AT_FDCWD, frame.rdi, frame.rsi as u32, frame.rdx)
}

fn sys_mknodat(frame: &mut TrapFrame) -> KResult<u64> {
    mknod_at(int(frame.rdi), frame.rsi, frame.rdx as u32, frame.r10)
}

fn sys_rmdir(frame: &mut TrapFrame) -> KResult<u64> {
    with_path(AT_FDCWD, frame.rdi, |_, ctx, path| fs::namespace()?.rmdir(&ctx, path).map(|_| 0))
}

fn sys_unlink(frame: &mut TrapFrame) -> KResult<u64> {
    with_path(AT_FDCWD, frame.rdi, |_, ctx, path| fs::namespace()?.unlink(&ctx, path).map(|_| 0))
}

fn sys_unlinkat(frame: &mut TrapFrame) -> KResult<u64> {
    let flags = frame.rdx as u32;
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    with_path(int(frame.rdi), frame.rsi, |_, ctx, path| {
        let ns = fs::namespace()?;
        if flags & AT_REMOVEDIR != 0 { ns.rmdir(&ctx, path) } else { ns.unlink(&ctx, path) }.map(|_| 0)
    })
}

fn rename_at(olddir: i32, old: u64, newdir: i32, new: u64, flags: u32) -> KResult<u64> {
    let me = task()?;
    let old = uaccess::read_path(old)?;
    let new = uaccess::read_path(new)?;
    let old_ctx = fs::lookup_ctx(&me, base_dir(&me, olddir, &old)?);
    let new_ctx = fs::lookup_ctx(&me, base_dir(&me, newdir, &new)?);
    fs::namespace()?.rename(&old_ctx, &old, &new_ctx, &new, flags).map(|_| 0)
}

fn sys_rename(frame: &mut TrapFrame) -> KResult<u64> {
    rename_at(AT_FDCWD, frame.rdi, AT_FDCWD, frame.rsi, 0)
}

fn sys_renameat(frame: &mut TrapFrame) -> KResult<u64> {
    rename_at(int(frame.rdi), frame.rsi, int(frame.rdx), frame.r10, 0)
}

fn sys_renameat2(frame: &mut TrapFrame) -> KResult<u64> {
    rename_at(int(frame.rdi), frame.rsi, int(frame.rdx), frame.r10, frame.r8 as u32)
}

fn symlink_at(target: u64, dirfd: i32, path: u64) -> KResult<u64> {
    let target = uaccess::read_path(target)?;
    with_path(dirfd, path, |_, ctx, path| fs::namespace()?.symlink(&ctx, &target, path).map(|_| 0))
}

fn sys_symlink(frame: &mut TrapFrame) -> KResult<u64> {
    symlink_at(frame.rdi, AT_FDCWD, frame.rsi)
}

fn sys_symlinkat(frame: &mut TrapFrame) -> KResult<u64> {
    symlink_at(frame.rdi, int(frame.rsi), frame.rdx)
}

fn readlink_at(dirfd: i32, path: u64, buf: u64, size: u64) -> KResult<u64> {
    if int(size) <= 0 {
        return Err(Errno::EINVAL);
    }
    let target = with_path(dirfd, path, |_, ctx, path| {
        let location = fs::namespace()?.resolve(&ctx.follow(false), path)?;
        location.inode().readlink()
    })?;
    let n = target.len().min(size as usize);
    uaccess::write_bytes(buf, &target[..n])?;
    Ok(n as u64)
}

fn sys_readlink(frame: &mut TrapFrame) -> KResult<u64> {
    readlink_at(AT_FDCWD, frame.rdi, frame.rsi, frame.rdx)
}

fn sys_readlinkat(frame: &mut TrapFrame) -> KResult<u64> {
    readlink_at(int(frame.rdi), frame.rsi, frame.rdx, frame.r10)
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

fn sys_chdir(frame: &mut TrapFrame) -> KResult<u64> {
    with_path(AT_FDCWD, frame.rdi, |me, ctx, path| {
        let location = fs::namespace()?.resolve(&ctx.clone().directory(true), path)?;
        set_cwd(me, location, &ctx.cred)
    })
}

fn sys_fchdir(frame: &mut TrapFrame) -> KResult<u64> {
    let me = task()?;
    let location = me.files().get(int(frame.rdi))?.ops.path().ok_or(Errno::ENOTDIR)?;
    set_cwd(&me, location, &fs::cred_of(&me))
}

fn sys_getcwd(frame: &mut TrapFrame) -> KResult<u64> {
    let me = task()?;
    let fs_ctx = me.fs();
    let cwd = fs_ctx.cwd.lock().clone();
    let root = fs_ctx.root.lock().clone();
    if cwd.is_deleted() {
        return Err(Errno::ENOENT);
    }
    let mut path = fs::namespace()?.path_of(&cwd, &root);
    path.push(0);
    if (frame.rsi as usize) < path.len() {
        return Err(Errno::ERANGE);
    }
    uaccess::write_bytes(frame.rdi, &path)?;
    Ok(path.len() as u64)
}

fn access_at(dirfd: i32, path: u64, mode: u32, flags: u32) -> KResult<u64> {
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

fn sys_access(frame: &mut TrapFrame) -> KResult<u64> {
    access_at(AT_FDCWD, frame.rdi, frame.rsi as u32, 0)
}

fn sys_faccessat(frame: &mut TrapFrame) -> KResult<u64> {
    access_at(int(frame.rdi), frame.rsi, frame.rdx as u32, 0)
}

fn sys_faccessat2(frame: &mut TrapFrame) -> KResult<u64> {
    access_at(int(frame.rdi), frame.rsi, frame.rdx as u32, frame.r10 as u32)
}

fn sys_truncate(frame: &mut TrapFrame) -> KResult<u64> {
    if (frame.rsi as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let len = frame.rsi;
    with_path(AT_FDCWD, frame.rdi, |_, ctx, path| {
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
        location.inode().truncate(len).map(|_| 0)
    })
}

fn link_at(olddir: i32, old: u64, newdir: i32, new: u64, flags: u32) -> KResult<u64> {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let old = uaccess::read_path(old)?;
    let new = uaccess::read_path(new)?;
    let old_ctx = fs::lookup_ctx(&me, base_dir(&me, olddir, &old)?).follow(flags & AT_SYMLINK_FOLLOW != 0);
    let new_ctx = fs::lookup_ctx(&me, base_dir(&me, newdir, &new)?);
    fs::namespace()?.link(&old_ctx, &old, &new_ctx, &new).map(|_| 0)
}

fn sys_link(frame: &mut TrapFrame) -> KResult<u64> {
    link_at(AT_FDCWD, frame.rdi, AT_FDCWD, frame.rsi, 0)
}

fn sys_linkat(frame: &mut TrapFrame) -> KResult<u64> {
    link_at(int(frame.rdi), frame.rsi, int(frame.rdx), frame.r10, frame.r8 as u32)
}
