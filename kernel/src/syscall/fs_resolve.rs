//! `openat2`: `struct open_how` (size rules: `EINVAL`/`E2BIG`), strict flag and mode checks,
//! and the `RESOLVE_*` restrictions on the path walk. The restrictions are checked by walking
//! the path one prefix at a time through the namespace before the ordinary open (`open_in`):
//! `RESOLVE_NO_SYMLINKS`/`RESOLVE_NO_MAGICLINKS` (`ELOOP`), `RESOLVE_BENEATH` (`EXDEV` for an
//! absolute path, an absolute symlink or any step outside the start directory),
//! `RESOLVE_NO_XDEV` (`EXDEV` on a mount crossing); `RESOLVE_IN_ROOT` makes the start directory
//! the lookup's root. `RESOLVE_CACHED` is always `EAGAIN` (there is no cached-only walk; the
//! caller retries without it, as Linux allows).

use alloc::vec::Vec;

use exo_abi::fcntl::*;
use exo_abi::types::OpenHow;
use exo_abi::{nr, Errno, KResult};
use exo_vfs::{Lookup, PathRef};

use super::args::{typed, Fd};
use super::{task, Handler};
use crate::fs;
use crate::uaccess::{UserCStr, UserPtr};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // partial: open_how size rules (EINVAL/E2BIG), strict flags/mode/O_PATH checks; RESOLVE_NO_SYMLINKS, NO_MAGICLINKS, BENEATH, IN_ROOT, NO_XDEV (checked by a walk before the open, not atomic with it); RESOLVE_CACHED always EAGAIN
    t[nr::OPENAT2] = typed!(sys_openat2);
    // partial: flags and path checked (EINVAL, ENOENT, ...); no file system exports handles: EOPNOTSUPP
    t[nr::NAME_TO_HANDLE_AT] = typed!(sys_name_to_handle_at);
    // partial: EPERM unless root, EBADF, EINVAL for a bad handle size; no handle is ever valid: ESTALE
    t[nr::OPEN_BY_HANDLE_AT] = typed!(sys_open_by_handle_at);
}

const AT_HANDLE_FID: u32 = 0x200;
const MAX_HANDLE_SZ: u32 = 128;

/// name_to_handle_at(dirfd, path, handle, mount_id, flags): the path is resolved, then
/// `EOPNOTSUPP` (Linux's answer for a file system without export operations).
fn sys_name_to_handle_at(dirfd: Fd, pathname: UserCStr, _handle: UserPtr<u8>, _mount_id: UserPtr<i32>, flags: u32) -> KResult<u64> {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH | AT_HANDLE_FID) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    match pathname.read_path() {
        Err(Errno::ENOENT) if flags & AT_EMPTY_PATH != 0 => {
            if dirfd.get() != AT_FDCWD {
                me.files().get(dirfd.get())?;
            }
        }
        Err(e) => return Err(e),
        Ok(path) => {
            let base = super::fs::base_dir(&me, dirfd.get(), &path)?;
            let ctx = fs::lookup_ctx(&me, base).follow(flags & AT_SYMLINK_FOLLOW != 0);
            fs::namespace()?.resolve(&ctx, &path)?;
        }
    }
    Err(Errno::EOPNOTSUPP)
}

/// open_by_handle_at(mount_fd, handle, flags): root only (`EPERM`, Linux's
/// CAP_DAC_READ_SEARCH); a well-formed handle is `ESTALE`, as none was ever issued.
fn sys_open_by_handle_at(mount_fd: Fd, handle: UserPtr<u32>, _flags: u32) -> KResult<u64> {
    let me = task()?;
    if me.process.creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    let bytes = handle.read()?;
    if bytes == 0 || bytes > MAX_HANDLE_SZ {
        return Err(Errno::EINVAL);
    }
    if mount_fd.get() != AT_FDCWD {
        me.files().get(mount_fd.get())?;
    }
    Err(Errno::ESTALE)
}

const OPEN_HOW_SIZE: usize = 24;
const VALID_OPEN_FLAGS: u64 = (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | __O_SYNC | O_DSYNC
    | FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | __O_TMPFILE) as u64;
const VALID_RESOLVE: u64 = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_IN_ROOT | RESOLVE_CACHED;

/// Reads `struct open_how` of `size` bytes: smaller than version 0 is `EINVAL`, larger than a
/// page `E2BIG`, and bytes past the known struct must be zero (`E2BIG`).
fn read_how(how: UserPtr<u8>, size: usize) -> KResult<OpenHow> {
    if size < OPEN_HOW_SIZE {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let mut head = [0u8; OPEN_HOW_SIZE];
    how.slice(OPEN_HOW_SIZE)?.read_into(&mut head)?;
    let mut chunk = [0u8; 64];
    let mut at = OPEN_HOW_SIZE;
    while at < size {
        let n = (size - at).min(chunk.len());
        how.add(at)?.slice(n)?.read_into(&mut chunk[..n])?;
        if chunk[..n].iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
        at += n;
    }
    Ok(bytemuck::pod_read_unaligned(&head))
}

fn check_how(how: &OpenHow) -> KResult<u32> {
    if how.flags & !VALID_OPEN_FLAGS != 0 || how.resolve & !VALID_RESOLVE != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = how.flags as u32;
    if flags & (O_CREAT | __O_TMPFILE) != 0 {
        if how.mode & !0o7777 != 0 {
            return Err(Errno::EINVAL);
        }
    } else if how.mode != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & O_PATH != 0 && flags & !(O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if how.resolve & RESOLVE_BENEATH != 0 && how.resolve & RESOLVE_IN_ROOT != 0 {
        return Err(Errno::EINVAL);
    }
    if how.resolve & RESOLVE_CACHED != 0 {
        return Err(Errno::EAGAIN);
    }
    Ok(flags)
}

/// Whether `location` is `base` or below it, across mounts.
fn within(location: &PathRef, base: &PathRef) -> bool {
    let mut mount = location.mount.clone();
    let mut dentry = location.dentry.clone();
    // Climb mounts until base's (a bounded walk: mount chains are finite and acyclic).
    for _ in 0..64 {
        if alloc::sync::Arc::ptr_eq(&mount, &base.mount) {
            return dentry.is_within(&base.dentry);
        }
        match (mount.parent(), mount.mountpoint()) {
            (Some(parent), Some(point)) => {
                mount = parent;
                dentry = point;
            }
            _ => return false,
        }
    }
    false
}

/// A magic link: a procfs symlink other than `self` and `thread-self`.
fn is_magic(location: &PathRef) -> bool {
    location.mount.fs().name() == "proc" && !matches!(&location.dentry.name()[..], b"self" | b"thread-self")
}

/// Walks `path` prefix by prefix and applies the `resolve` restrictions (see the file docs).
fn check_walk(ctx: &Lookup, path: &[u8], resolve: u64, follow_final: bool) -> KResult<()> {
    let ns = fs::namespace()?;
    let absolute = path.first() == Some(&b'/');
    if absolute && resolve & RESOLVE_BENEATH != 0 {
        return Err(Errno::EXDEV);
    }
    let start = if absolute { ctx.root.clone() } else { ctx.cwd.clone() };
    let parts: Vec<&[u8]> = path.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
    let mut prefix = Vec::new();
    prefix.try_reserve(path.len() + 1).map_err(|_| Errno::ENOMEM)?;
    if absolute {
        prefix.push(b'/');
    }
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if i > 0 {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(part);
        let link = match ns.resolve(&ctx.clone().follow(false), &prefix) {
            Ok(location) => location,
            Err(Errno::ENOENT) if last => return Ok(()),
            Err(e) => return Err(e),
        };
        let followed = !last || follow_final;
        if link.metadata().is_symlink() && followed {
            if resolve & RESOLVE_NO_SYMLINKS != 0 || (resolve & RESOLVE_NO_MAGICLINKS != 0 && is_magic(&link)) {
                return Err(Errno::ELOOP);
            }
            if resolve & RESOLVE_BENEATH != 0 && link.inode().readlink()?.first() == Some(&b'/') {
                return Err(Errno::EXDEV);
            }
        }
        let location = if followed {
            match ns.resolve(&ctx.clone().follow(true), &prefix) {
                Ok(location) => location,
                Err(Errno::ENOENT) if last => return Ok(()),
                Err(e) => return Err(e),
            }
        } else {
            link
        };
        if resolve & RESOLVE_BENEATH != 0 && !within(&location, &start) {
            return Err(Errno::EXDEV);
        }
        if resolve & RESOLVE_NO_XDEV != 0 && !alloc::sync::Arc::ptr_eq(&location.mount, &start.mount) {
            return Err(Errno::EXDEV);
        }
    }
    Ok(())
}

/// openat2(dirfd, how, size).
fn sys_openat2(dirfd: Fd, pathname: UserCStr, how: UserPtr<u8>, size: usize) -> KResult<u64> {
    let how = read_how(how, size)?;
    let flags = check_how(&how)?;
    let me = task()?;
    let path = pathname.read_path()?;
    let dirfd = dirfd.get();
    // RESOLVE_IN_ROOT and RESOLVE_BENEATH start at the dirfd even for absolute paths.
    let base = if how.resolve & (RESOLVE_IN_ROOT | RESOLVE_BENEATH) != 0 && dirfd != AT_FDCWD {
        let file = me.files().get(dirfd)?;
        let dir = file.ops.path().ok_or(Errno::ENOTDIR)?;
        if !dir.metadata().is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Some(dir)
    } else {
        super::fs::base_dir(&me, dirfd, &path)?
    };
    let mut ctx = fs::lookup_ctx(&me, base);
    if how.resolve & RESOLVE_IN_ROOT != 0 {
        ctx.root = ctx.cwd.clone();
    }
    let restricted = how.resolve & (RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH | RESOLVE_NO_XDEV) != 0;
    if restricted {
        check_walk(&ctx, &path, how.resolve, flags & O_NOFOLLOW == 0)?;
    }
    let file = super::fs::open_in(&me, ctx, &path, flags, how.mode as u32)?;
    super::fs::install(&me, file, flags & O_CLOEXEC != 0)
}
