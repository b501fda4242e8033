//! Extended attribute syscalls: `setxattr`, `getxattr`, `listxattr`, `removexattr`, each by
//! path (following symlinks), by path without following (`l*`) and by descriptor (`f*`). The
//! rules are exo_vfs's (`exo_vfs::xattr`: names, flags, permissions); the file system stores
//! (tmpfs: `user.`, `trusted.`, `security.`; the others: `EOPNOTSUPP`). Changes under a
//! read-only mount are `EROFS`, checked before permissions, as Linux's `mnt_want_write`.

use alloc::vec::Vec;

use exo_abi::fcntl::O_PATH;
use exo_abi::xattr::{XATTR_LIST_MAX, XATTR_NAME_MAX, XATTR_SIZE_MAX};
use exo_abi::{nr, Errno, KResult};
use exo_vfs::xattr::{check_access, check_flags, check_name, filter_list};
use exo_vfs::{Metadata, PathRef};

use super::args::{typed, Fd};
use super::{task, Handler};
use crate::fs;
use crate::process::Task;
use crate::uaccess::{UserCStr, UserPtr, UserSlice};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: tmpfs stores user., trusted. (root), security. (root to change); other file systems EOPNOTSUPP
    t[nr::SETXATTR] = typed!(sys_setxattr);
    // full
    t[nr::LSETXATTR] = typed!(sys_lsetxattr);
    // full
    t[nr::FSETXATTR] = typed!(sys_fsetxattr);
    // full: size 0 asks the size; ERANGE for a small buffer
    t[nr::GETXATTR] = typed!(sys_getxattr);
    // full
    t[nr::LGETXATTR] = typed!(sys_lgetxattr);
    // full
    t[nr::FGETXATTR] = typed!(sys_fgetxattr);
    // full: trusted. names listed to root only; empty list for file systems without attributes
    t[nr::LISTXATTR] = typed!(sys_listxattr);
    // full
    t[nr::LLISTXATTR] = typed!(sys_llistxattr);
    // full
    t[nr::FLISTXATTR] = typed!(sys_flistxattr);
    // full
    t[nr::REMOVEXATTR] = typed!(sys_removexattr);
    // full
    t[nr::LREMOVEXATTR] = typed!(sys_lremovexattr);
    // full
    t[nr::FREMOVEXATTR] = typed!(sys_fremovexattr);
}

/// The file a path names (following a final symlink if `follow`).
fn by_path(me: &Task, path: UserCStr, follow: bool) -> KResult<PathRef> {
    let path = path.read_path()?;
    let ctx = fs::lookup_ctx(me, None).follow(follow);
    fs::namespace()?.resolve(&ctx, &path)
}

/// What the call acts on: a file of the namespace, or a descriptor's file outside it (pipe,
/// socket, eventfd …), described by its status: it has no attributes (the permission rules
/// still come first: `user.*` on a FIFO is `ENODATA`/`EPERM`, as Linux).
enum Located {
    Path(PathRef),
    Other(Metadata),
}

impl Located {
    fn metadata(&self) -> Metadata {
        match self {
            Located::Path(p) => p.metadata(),
            Located::Other(m) => *m,
        }
    }
}

/// The file behind a descriptor: `EBADF` for an O_PATH one.
fn by_fd(me: &Task, fd: i32) -> KResult<Located> {
    let file = me.files().get(fd)?;
    if file.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    if let Some(path) = file.ops.path() {
        return Ok(Located::Path(path));
    }
    let st = file.ops.stat()?;
    Ok(Located::Other(Metadata { mode: st.st_mode, uid: st.st_uid, gid: st.st_gid, ..Metadata::default() }))
}

/// Where the target is: a path (followed or not) or a descriptor.
#[derive(Clone, Copy)]
enum Target {
    Path(UserCStr, bool),
    Fd(i32),
}

fn locate(me: &Task, target: Target) -> KResult<Located> {
    match target {
        Target::Path(path, follow) => by_path(me, path, follow).map(Located::Path),
        Target::Fd(fd) => by_fd(me, fd),
    }
}

/// Reads an attribute name: `ERANGE` if empty or longer than 255 bytes.
fn read_name(name: UserCStr) -> KResult<Vec<u8>> {
    let name = match name.read(XATTR_NAME_MAX + 1) {
        Err(Errno::ENAMETOOLONG) => return Err(Errno::ERANGE),
        other => other?,
    };
    check_name(&name)?;
    Ok(name)
}

/// Copies `len` bytes from user memory into a new kernel buffer.
fn read_user(ptr: UserPtr<u8>, len: usize) -> KResult<Vec<u8>> {
    let mut out = Vec::new();
    if len == 0 {
        return Ok(out);
    }
    let slice = UserSlice::new(ptr, len)?;
    out.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    out.resize(len, 0);
    slice.read_into(&mut out)?;
    Ok(out)
}

/// Copies `data` to the user's buffer of `size` bytes, or only reports its length when `size`
/// is 0; `ERANGE` if it does not fit.
fn answer(data: &[u8], buf: UserPtr<u8>, size: usize) -> KResult<u64> {
    if size == 0 {
        return Ok(data.len() as u64);
    }
    if data.len() > size {
        return Err(Errno::ERANGE);
    }
    UserSlice::new(buf, data.len())?.write_from(data)?;
    Ok(data.len() as u64)
}

fn set(target: Target, name: UserCStr, value: UserPtr<u8>, size: usize, flags: u32) -> KResult<u64> {
    check_flags(flags)?;
    let name = read_name(name)?;
    if size > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let value = read_user(value, size)?;
    let me = task()?;
    let location = locate(&me, target)?;
    if matches!(&location, Located::Path(p) if p.is_readonly()) {
        return Err(Errno::EROFS);
    }
    check_access(&location.metadata(), &fs::cred_of(&me), &name, true)?;
    let Located::Path(path) = location else { return Err(Errno::EOPNOTSUPP) };
    path.inode().set_xattr(&name, &value, flags)?;
    crate::fs::inotify::attrib_changed(&path);
    Ok(0)
}

fn get(target: Target, name: UserCStr, buf: UserPtr<u8>, size: usize) -> KResult<u64> {
    let me = task()?;
    let location = locate(&me, target)?;
    let name = read_name(name)?;
    check_access(&location.metadata(), &fs::cred_of(&me), &name, false)?;
    let Located::Path(path) = location else { return Err(Errno::EOPNOTSUPP) };
    let value = path.inode().get_xattr(&name)?;
    answer(&value, buf, size.min(XATTR_SIZE_MAX))
}

fn list(target: Target, buf: UserPtr<u8>, size: usize) -> KResult<u64> {
    let me = task()?;
    let location = locate(&me, target)?;
    let mut names = Vec::new();
    if let Located::Path(path) = &location {
        path.inode().list_xattr(&mut names)?;
    }
    filter_list(&mut names, fs::cred_of(&me).is_root());
    if names.len() > XATTR_LIST_MAX && (size == 0 || size >= XATTR_LIST_MAX) {
        return Err(Errno::E2BIG);
    }
    answer(&names, buf, size.min(XATTR_LIST_MAX))
}

fn remove(target: Target, name: UserCStr) -> KResult<u64> {
    let name = read_name(name)?;
    let me = task()?;
    let location = locate(&me, target)?;
    if matches!(&location, Located::Path(p) if p.is_readonly()) {
        return Err(Errno::EROFS);
    }
    check_access(&location.metadata(), &fs::cred_of(&me), &name, true)?;
    let Located::Path(path) = location else { return Err(Errno::EOPNOTSUPP) };
    path.inode().remove_xattr(&name)?;
    crate::fs::inotify::attrib_changed(&path);
    Ok(0)
}

fn sys_setxattr(path: UserCStr, name: UserCStr, value: UserPtr<u8>, size: usize, flags: u32) -> KResult<u64> {
    set(Target::Path(path, true), name, value, size, flags)
}

fn sys_lsetxattr(path: UserCStr, name: UserCStr, value: UserPtr<u8>, size: usize, flags: u32) -> KResult<u64> {
    set(Target::Path(path, false), name, value, size, flags)
}

fn sys_fsetxattr(fd: Fd, name: UserCStr, value: UserPtr<u8>, size: usize, flags: u32) -> KResult<u64> {
    set(Target::Fd(fd.get()), name, value, size, flags)
}

fn sys_getxattr(path: UserCStr, name: UserCStr, buf: UserPtr<u8>, size: usize) -> KResult<u64> {
    get(Target::Path(path, true), name, buf, size)
}

fn sys_lgetxattr(path: UserCStr, name: UserCStr, buf: UserPtr<u8>, size: usize) -> KResult<u64> {
    get(Target::Path(path, false), name, buf, size)
}

fn sys_fgetxattr(fd: Fd, name: UserCStr, buf: UserPtr<u8>, size: usize) -> KResult<u64> {
    get(Target::Fd(fd.get()), name, buf, size)
}

fn sys_listxattr(path: UserCStr, buf: UserPtr<u8>, size: usize) -> KResult<u64> {
    list(Target::Path(path, true), buf, size)
}

fn sys_llistxattr(path: UserCStr, buf: UserPtr<u8>, size: usize) -> KResult<u64> {
    list(Target::Path(path, false), buf, size)
}

fn sys_flistxattr(fd: Fd, buf: UserPtr<u8>, size: usize) -> KResult<u64> {
    list(Target::Fd(fd.get()), buf, size)
}

fn sys_removexattr(path: UserCStr, name: UserCStr) -> KResult<u64> {
    remove(Target::Path(path, true), name)
}

fn sys_lremovexattr(path: UserCStr, name: UserCStr) -> KResult<u64> {
    remove(Target::Path(path, false), name)
}

fn sys_fremovexattr(fd: Fd, name: UserCStr) -> KResult<u64> {
    remove(Target::Fd(fd.get()), name)
}
