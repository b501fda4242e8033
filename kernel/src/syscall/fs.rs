//! File syscalls on descriptors: open/close, seeking, status, directory reading, descriptor
//! duplication and flags, pipes, ioctl. read/write and their positioned forms are in
//! `fs_rw.rs` (re-exported here for the vector forms), calls on names in `fs_names.rs`,
//! attributes in `fs_attr.rs`.

use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::fcntl::*;
use exo_abi::mode::*;
use exo_abi::types::Stat;
use exo_abi::{nr, Errno, KResult};
use exo_vfs::{permitted, Access, PathRef};

use super::args::{typed, Fd};
use super::{task, Handler};
use crate::fs::{self, inode_file::InodeFile, OpenFile};
use crate::process::Task;
use crate::uaccess::{UserArg, UserCStr, UserPtr};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: see openat
    t[nr::OPEN] = typed!(sys_open);
    // partial: O_CREAT/EXCL/TRUNC/APPEND/DIRECTORY/NOFOLLOW/CLOEXEC/NONBLOCK/PATH; umask; EACCES/EISDIR/ENOTDIR/ELOOP/EEXIST/EROFS; O_TMPFILE is EOPNOTSUPP; FIFOs (Linux's blocking/ENXIO open rules); sockets ENXIO
    t[nr::OPENAT] = typed!(sys_openat);
    // full: open(O_CREAT|O_WRONLY|O_TRUNC)
    t[nr::CREAT] = typed!(sys_creat);
    // full: EBADF
    t[nr::CLOSE] = typed!(sys_close);
    // partial: CLOSE_RANGE_CLOEXEC; UNSHARE accepted
    t[nr::CLOSE_RANGE] = typed!(sys_close_range);
    // full: SEEK_SET/CUR/END/DATA/HOLE; ESPIPE on pipes; EINVAL for a negative result
    t[nr::LSEEK] = typed!(sys_lseek);
    // full
    t[nr::FSTAT] = typed!(sys_fstat);
    // full
    t[nr::STAT] = typed!(sys_stat);
    // full
    t[nr::LSTAT] = typed!(sys_lstat);
    // full: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH
    t[nr::NEWFSTATAT] = typed!(sys_newfstatat);
    // full: resumable cursors
    t[nr::GETDENTS64] = typed!(sys_getdents64);
    // full
    t[nr::DUP] = typed!(sys_dup);
    // full
    t[nr::DUP2] = typed!(sys_dup2);
    // full: O_CLOEXEC; EINVAL for equal fds
    t[nr::DUP3] = typed!(sys_dup3);
    // partial: F_DUPFD(_CLOEXEC), F_GETFD/SETFD, F_GETFL/SETFL (APPEND, NONBLOCK, ...); record locks: POSIX and OFD F_GETLK/SETLK/SETLKW (split/merge, EDEADLK, EINTR, released on close/exit); F_SETPIPE_SZ/F_GETPIPE_SZ; F_ADD_SEALS/F_GET_SEALS (memfd); F_SETOWN(_EX)/F_GETOWN(_EX)/F_SETSIG/F_GETSIG stored but O_ASYNC sends no SIGIO; F_SETLEASE F_UNLCK/F_RDLCK recorded, never broken, F_WRLCK EAGAIN
    t[nr::FCNTL] = typed!(sys_fcntl);
    // full: 64 KiB
    t[nr::PIPE] = typed!(sys_pipe);
    // full: O_CLOEXEC, O_NONBLOCK (O_DIRECT accepted)
    t[nr::PIPE2] = typed!(sys_pipe2);
    // full: FIOCLEX/FIONCLEX/FIONBIO; console: TCGETS/TCSETS*/TIOCGWINSZ/TIOCSWINSZ/TIOCGPGRP/TIOCSPGRP/FIONREAD; pipes: FIONREAD; sockets: FIONREAD/SIOCINQ/SIOCOUTQ and the interface requests (SIOCGIFCONF, SIOCGIF/SIOCSIF FLAGS, ADDR, NETMASK, BRDADDR, HWADDR, MTU, INDEX, NAME, METRIC, TXQLEN; SIOCADDRT/SIOCDELRT; set requests need root); others ENOTTY
    t[nr::IOCTL] = typed!(sys_ioctl);
    // full: EINVAL unless open for writing; EROFS on a read-only mount
    t[nr::FTRUNCATE] = typed!(sys_ftruncate);
    // full: the file's data and inode on disk (block cache written, device flushed); mapped pages first; EINVAL for pipes, sockets, devices other than disks
    t[nr::FSYNC] = typed!(sys_fsync);
    // full: as fsync
    t[nr::FDATASYNC] = typed!(sys_fdatasync);
    // full: mapped files' dirty pages, every disk file system, every disk (write-back + flush); always 0
    t[nr::SYNC] = typed!(sys_sync);
    // full: the file's file system and its disk; EIO if a write-back failed
    t[nr::SYNCFS] = typed!(sys_syncfs);
    // full: any readable file to any writable one through a kernel buffer; offset pointer (ESPIPE on streams); EINVAL for O_APPEND output
    t[nr::SENDFILE] = typed!(sys_sendfile);
    // full: regular files, both offset pointers; flags must be 0
    t[nr::COPY_FILE_RANGE] = typed!(sys_copy_file_range);
}

pub(super) use super::fs_rw::{file, read_to_user, unread_from, user_buffer, write_from_user};

fn nofile_limit(me: &Task) -> usize {
    me.process.rlimit(exo_abi::resource::RLIMIT_NOFILE).rlim_cur.min(fs::FD_HARD_MAX as u64) as usize
}

pub(super) fn install(me: &Task, file: Arc<OpenFile>, cloexec: bool) -> KResult<u64> {
    me.files().insert(file, cloexec, 0, nofile_limit(me)).map(|fd| fd as u64)
}

fn sys_lseek(fd: Fd, offset: i64, whence: u32) -> KResult<u64> {
    let file = file(fd)?;
    file.ops.seek(&file, offset, whence)
}

/// The directory a `*at` call starts from: the cwd for AT_FDCWD, else the dirfd's directory.
pub fn base_dir(me: &Task, dirfd: i32, path: &[u8]) -> KResult<Option<PathRef>> {
    if dirfd == AT_FDCWD || path.first() == Some(&b'/') {
        return Ok(None);
    }
    let file = me.files().get(dirfd)?;
    let path = file.ops.path().ok_or(Errno::ENOTDIR)?;
    if !path.metadata().is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(Some(path))
}

/// Opens `path` relative to `dirfd` with open(2) flags and creation mode.
pub fn open_at(me: &Task, dirfd: i32, path: &[u8], flags: u32, mode: u32) -> KResult<Arc<OpenFile>> {
    let base = base_dir(me, dirfd, path)?;
    open_in(me, fs::lookup_ctx(me, base), path, flags, mode)
}

/// Opening a `/proc/<pid>/fd/<n>` link of a pipe: another end of that pipe; a socket is
/// ENXIO, as on Linux. `None` when `path` does not end at such a link (symlinks on the way,
/// like `/dev/stdin` → `/proc/self/fd/0`, are followed, at most 8).
fn reopen_fd_link(ns: &exo_vfs::Namespace, ctx: &exo_vfs::Lookup, path: &[u8], flags: u32) -> Option<KResult<Arc<OpenFile>>> {
    let nofollow = ctx.clone().follow(false);
    let mut path = path.to_vec();
    let mut link = ns.resolve(&nofollow, &path).ok()?;
    for _ in 0..8 {
        if crate::fs::procfs::fd_link_file(&**link.inode()).is_some() || !link.metadata().is_symlink() {
            break;
        }
        let text = link.inode().readlink().ok()?;
        path = if text.first() == Some(&b'/') {
            text
        } else {
            // Relative to the link's directory.
            let dir = path.iter().rposition(|&b| b == b'/').map_or(&path[..0], |i| &path[..=i]);
            let mut joined = Vec::new();
            joined.try_reserve(dir.len() + text.len()).ok()?;
            joined.extend_from_slice(dir);
            joined.extend_from_slice(&text);
            joined
        };
        link = ns.resolve(&nofollow, &path).ok()?;
    }
    let file = match crate::fs::procfs::fd_link_file(&**link.inode())? {
        Ok(file) => file,
        Err(e) => return Some(Err(e)),
    };
    let status = flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
    if let Some(pipe) = crate::fs::pipe::PipeEnd::of(&file) {
        return Some(crate::fs::fifo::reopen(pipe.clone(), status));
    }
    match file.stat() {
        Ok(st) if st.st_mode & S_IFMT == exo_abi::mode::S_IFSOCK => Some(Err(Errno::ENXIO)),
        _ => None,
    }
}

/// Opens `path` looked up in `ctx` (its root and start directory) with open(2) flags and
/// creation mode (openat2 passes its own root for RESOLVE_IN_ROOT).
pub fn open_in(me: &Task, ctx: exo_vfs::Lookup, path: &[u8], flags: u32, mode: u32) -> KResult<Arc<OpenFile>> {
    let ns = fs::namespace()?;
    let ctx = ctx
        .follow(flags & O_NOFOLLOW == 0)
        .directory(flags & O_DIRECTORY != 0);
    let accmode = flags & O_ACCMODE;
    if accmode == 3 {
        return Err(Errno::EINVAL);
    }
    if flags & O_TMPFILE == O_TMPFILE {
        return Err(Errno::EOPNOTSUPP);
    }
    let (location, created) = if flags & O_CREAT != 0 {
        let mode = (mode & S_IALLUGO & !me.fs().umask()) | S_IFREG;
        match ns.create(&ctx, path, mode, flags & O_EXCL != 0) {
            Ok(made) => made,
            // `tee >(…)` opens /dev/fd/63 with O_CREAT: the link's pipe, as on Linux.
            Err(e) if flags & (O_NOFOLLOW | O_EXCL) == 0 => return reopen_fd_link(&ns, &ctx, path, flags).unwrap_or(Err(e)),
            Err(e) => return Err(e),
        }
    } else {
        match ns.resolve(&ctx, path) {
            Ok(location) => (location, false),
            // A `/proc/<pid>/fd/<n>` link whose text names no path (a pipe): opened as the
            // file it stands for, as Linux's magic links are.
            Err(Errno::ENOENT) if flags & O_NOFOLLOW == 0 => return reopen_fd_link(&ns, &ctx, path, flags).unwrap_or(Err(Errno::ENOENT)),
            Err(e) => return Err(e),
        }
    };
    let meta = location.metadata();
    if meta.is_symlink() && flags & O_PATH == 0 {
        return Err(Errno::ELOOP);
    }
    if flags & O_DIRECTORY != 0 && !meta.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if flags & O_PATH != 0 {
        return Ok(InodeFile::open(location, O_PATH | (flags & O_CLOEXEC)));
    }
    let write = accmode != O_RDONLY || flags & O_TRUNC != 0;
    if meta.is_dir() && (accmode != O_RDONLY || flags & O_CREAT != 0) {
        return Err(Errno::EISDIR);
    }
    if !created {
        let want = Access { read: accmode != O_WRONLY, write, exec: false };
        if !permitted(&meta, &ctx.cred, want) {
            return Err(Errno::EACCES);
        }
    }
    if write && location.is_readonly() {
        return Err(Errno::EROFS);
    }
    crate::fs::procfs::check_open(&**location.inode(), write)?;
    crate::fs::sysfs::check_open(&**location.inode(), write)?;
    let status = flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
    match meta.file_type() {
        // O_NOCTTY goes along: a session leader opening a terminal without it acquires it.
        S_IFCHR | S_IFBLK => {
            let file = if meta.file_type() == S_IFCHR {
                crate::fs::devices::open(meta.rdev, status | (flags & O_NOCTTY))?
            } else {
                crate::fs::devices::open_block(meta.rdev, status)?
            };
            file.node.call_once(|| location.clone());
            Ok(file)
        }
        S_IFIFO => crate::fs::fifo::open(location, status),
        S_IFSOCK => Err(Errno::ENXIO),
        _ => {
            if flags & O_TRUNC != 0 && meta.is_regular() && accmode != O_RDONLY {
                crate::fs::filemap_io::truncate(location.inode(), 0)?;
            }
            Ok(InodeFile::open(location, status))
        }
    }
}

fn do_open(dirfd: i32, path: UserCStr, flags: u32, mode: u32) -> KResult<u64> {
    let me = task()?;
    let path = path.read_path()?;
    let file = open_at(&me, dirfd, &path, flags, mode)?;
    install(&me, file, flags & O_CLOEXEC != 0)
}

fn sys_open(pathname: UserCStr, flags: u32, mode: u32) -> KResult<u64> {
    do_open(AT_FDCWD, pathname, flags, mode)
}

fn sys_openat(dirfd: Fd, pathname: UserCStr, flags: u32, mode: u32) -> KResult<u64> {
    do_open(dirfd.get(), pathname, flags, mode)
}

fn sys_creat(pathname: UserCStr, mode: u32) -> KResult<u64> {
    do_open(AT_FDCWD, pathname, O_CREAT | O_WRONLY | O_TRUNC, mode)
}

fn sys_close(fd: Fd) -> KResult<u64> {
    task()?.files().close(fd.get()).map(|_| 0)
}

fn sys_close_range(first: u32, last: u32, flags: u32) -> KResult<u64> {
    if first > last || flags & !(exo_abi::fcntl::CLOSE_RANGE_CLOEXEC | exo_abi::fcntl::CLOSE_RANGE_UNSHARE) != 0 {
        return Err(Errno::EINVAL);
    }
    task()?.files().close_range(first as usize, last as usize, flags & exo_abi::fcntl::CLOSE_RANGE_CLOEXEC != 0);
    Ok(0)
}

fn sys_fstat(fd: Fd, statbuf: UserPtr<Stat>) -> KResult<u64> {
    let stat = file(fd)?.stat()?;
    statbuf.write(&stat)?;
    Ok(0)
}

fn stat_path(dirfd: i32, path: UserCStr, buf: UserPtr<Stat>, flags: u32) -> KResult<u64> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let path = match path.read_path() {
        Err(Errno::ENOENT) if flags & AT_EMPTY_PATH != 0 => {
            let stat = if dirfd == AT_FDCWD {
                fs::stat_of(&me.fs().cwd.lock().metadata())
            } else {
                me.files().get(dirfd)?.stat()?
            };
            buf.write(&stat)?;
            return Ok(0);
        }
        other => other?,
    };
    buf.check(1)?;
    let base = base_dir(&me, dirfd, &path)?;
    let ctx = fs::lookup_ctx(&me, base).follow(flags & AT_SYMLINK_NOFOLLOW == 0);
    let location = fs::namespace()?.resolve(&ctx, &path)?;
    buf.write(&fs::stat_of(&location.metadata()))?;
    Ok(0)
}

fn sys_stat(pathname: UserCStr, statbuf: UserPtr<Stat>) -> KResult<u64> {
    stat_path(AT_FDCWD, pathname, statbuf, 0)
}

fn sys_lstat(pathname: UserCStr, statbuf: UserPtr<Stat>) -> KResult<u64> {
    stat_path(AT_FDCWD, pathname, statbuf, AT_SYMLINK_NOFOLLOW)
}

fn sys_newfstatat(dirfd: Fd, pathname: UserCStr, statbuf: UserPtr<Stat>, flags: u32) -> KResult<u64> {
    stat_path(dirfd.get(), pathname, statbuf, flags)
}

/// getdents64(fd, dirp, count): `dirp` receives variable-length `linux_dirent64` records.
fn sys_getdents64(fd: Fd, dirp: UserPtr<u8>, count: usize) -> KResult<u64> {
    let file = file(fd)?;
    let space = count.min(1 << 20);
    dirp.check(space)?;
    let mut out = Vec::new();
    file.ops.read_dir(&file, &mut out, space)?;
    dirp.slice(out.len())?.write_from(&out)?;
    Ok(out.len() as u64)
}

/// Reads `path`, then runs `f` with the lookup context of the directory it starts from
/// (`dirfd`'s, see [`base_dir`]).
pub fn with_path<R>(dirfd: i32, path: UserCStr, f: impl FnOnce(&Task, exo_vfs::Lookup, &[u8]) -> KResult<R>) -> KResult<R> {
    let me = task()?;
    let path = path.read_path()?;
    let base = base_dir(&me, dirfd, &path)?;
    let ctx = fs::lookup_ctx(&me, base);
    f(&me, ctx, &path)
}

fn sys_dup(oldfd: Fd) -> KResult<u64> {
    let me = task()?;
    me.files().dup(oldfd.get(), nofile_limit(&me)).map(|fd| fd as u64)
}

fn sys_dup2(oldfd: Fd, newfd: Fd) -> KResult<u64> {
    let me = task()?;
    me.files().dup2(oldfd.get(), newfd.get(), nofile_limit(&me)).map(|fd| fd as u64)
}

fn sys_dup3(oldfd: Fd, newfd: Fd, flags: u32) -> KResult<u64> {
    let me = task()?;
    me.files().dup3(oldfd.get(), newfd.get(), flags, nofile_limit(&me)).map(|fd| fd as u64)
}

/// fcntl(fd, cmd, arg): `arg` is an `int` for the commands Exo-OS reads it for.
fn sys_fcntl(fd: Fd, cmd: u32, arg: UserArg) -> KResult<u64> {
    let me = task()?;
    let files = me.files();
    let fd = fd.get();
    let file = files.get(fd)?;
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            files.dup_min(fd, arg.int(), cmd == F_DUPFD_CLOEXEC, nofile_limit(&me)).map(|fd| fd as u64)
        }
        F_GETFD => Ok(if files.cloexec(fd)? { u64::from(FD_CLOEXEC) } else { 0 }),
        F_SETFD => files.set_cloexec(fd, arg.uint() & FD_CLOEXEC != 0).map(|_| 0),
        F_GETFL => Ok(u64::from(file.flags())),
        F_SETFL => {
            let changeable = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | exo_abi::fcntl::O_ASYNC;
            let old = file.flags();
            file.flags.store((old & !changeable) | (arg.uint() & changeable), core::sync::atomic::Ordering::Relaxed);
            Ok(0)
        }
        F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW => {
            super::fs_lock::fcntl_lock(&me, &file, cmd, arg)
        }
        _ => super::fs_extra::fcntl_extra(&me, &file, cmd, arg).unwrap_or(Err(Errno::EINVAL)),
    }
}

fn pipe_with(fds: UserPtr<[i32; 2]>, flags: u32) -> KResult<u64> {
    if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    fds.check(1)?;
    let (read, write) = crate::fs::pipe::new_pipe(flags & O_NONBLOCK);
    install_pair(read, write, flags & O_CLOEXEC != 0, fds)
}

/// Installs two new open files (a pipe's ends, a Fusion Ring's ends) and stores their
/// descriptors at `fds`; on any failure neither stays installed.
pub(super) fn install_pair(a: Arc<OpenFile>, b: Arc<OpenFile>, cloexec: bool, fds: UserPtr<[i32; 2]>) -> KResult<u64> {
    let me = task()?;
    let fa = install(&me, a, cloexec)?;
    let fb = match install(&me, b, cloexec) {
        Ok(fb) => fb,
        Err(e) => {
            let _ = me.files().close(fa as i32);
            return Err(e);
        }
    };
    if let Err(e) = fds.write(&[fa as i32, fb as i32]) {
        let _ = me.files().close(fa as i32);
        let _ = me.files().close(fb as i32);
        return Err(e);
    }
    Ok(0)
}

fn sys_pipe(pipefd: UserPtr<[i32; 2]>) -> KResult<u64> {
    pipe_with(pipefd, 0)
}

fn sys_pipe2(pipefd: UserPtr<[i32; 2]>, flags: u32) -> KResult<u64> {
    pipe_with(pipefd, flags)
}

/// ioctl(fd, request, arg): the generic requests here, the others by the file.
fn sys_ioctl(fd: Fd, request: u32, arg: UserArg) -> KResult<u64> {
    let file = file(fd)?;
    match request {
        exo_abi::ioctl::FIOCLEX => task()?.files().set_cloexec(fd.get(), true).map(|_| 0),
        exo_abi::ioctl::FIONCLEX => task()?.files().set_cloexec(fd.get(), false).map(|_| 0),
        exo_abi::ioctl::FIONBIO => {
            let on = arg.ptr::<i32>().read()?;
            let flags = file.flags();
            file.flags.store(if on != 0 { flags | O_NONBLOCK } else { flags & !O_NONBLOCK }, core::sync::atomic::Ordering::Relaxed);
            Ok(0)
        }
        request => file.ops.ioctl(&file, request, arg),
    }
}

fn sys_ftruncate(fd: Fd, length: i64) -> KResult<u64> {
    let file = file(fd)?;
    let Ok(length) = u64::try_from(length) else {
        return Err(Errno::EINVAL);
    };
    if !file.writable() {
        return Err(Errno::EINVAL);
    }
    if file.ops.path().is_some_and(|p| p.is_readonly()) {
        return Err(Errno::EROFS);
    }
    file.ops.truncate(length).map(|_| 0)
}

/// fsync/fdatasync: files in the namespace are in memory (nothing to write back); pipes,
/// sockets and terminals cannot be synced (EINVAL, as Linux).
/// sync: writes back every file system and flushes every disk. Always succeeds, as on Linux
/// (write-back errors are reported by fsync and syncfs).
fn sys_sync() -> KResult<u64> {
    if let Err(error) = fs::sync_all() {
        log::warn!("sync: {}", error.name());
    }
    Ok(0)
}

/// syncfs: writes back the file system holding the file (`EIO` if that failed); files outside
/// the namespace (pipes, sockets) succeed with nothing to do.
fn sys_syncfs(fd: Fd) -> KResult<u64> {
    let file = file(fd)?;
    if let Some(path) = file.ops.path() {
        fs::sync_fs(path.mount.fs().id())?;
    }
    Ok(0)
}

fn sys_fsync(fd: Fd) -> KResult<u64> {
    sync_file(fd, false)
}

fn sys_fdatasync(fd: Fd) -> KResult<u64> {
    sync_file(fd, true)
}

/// fsync/fdatasync: `EBADF` for an `O_PATH` descriptor, else the file's own rule
/// ([`FileOps::fsync`](crate::files::FileOps::fsync)).
fn sync_file(fd: Fd, datasync: bool) -> KResult<u64> {
    let file = file(fd)?;
    if file.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    file.ops.fsync(datasync).map(|()| 0)
}

/// Reads an optional `loff_t` offset argument (negative: EINVAL).
fn read_offset(ptr: UserPtr<i64>) -> KResult<Option<u64>> {
    match ptr.read_opt()? {
        None => Ok(None),
        Some(offset) => u64::try_from(offset).map(Some).map_err(|_| Errno::EINVAL),
    }
}

/// sendfile(out_fd, in_fd, offset, count): with `offset`, reads from there (the file offset
/// stays, the new offset is written back); without, from the file offset, which advances by
/// what was sent.
fn sys_sendfile(out_fd: Fd, in_fd: Fd, offset: UserPtr<i64>, count: u64) -> KResult<u64> {
    let input = file(in_fd)?;
    let output = file(out_fd)?;
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    if output.flags() & O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let mut out_pos = None;
    if !offset.is_null() {
        let mut in_pos = read_offset(offset)?;
        let result = crate::fs::file::copy_between(&input, &mut in_pos, &output, &mut out_pos, count);
        if let Some(pos) = in_pos {
            offset.write(&(pos as i64))?;
        }
        return result;
    }
    // Seekable input: copy at the file offset, then move it by what was sent (so bytes read
    // but not written are not lost). Streams are read as they come.
    let start = *input.offset.lock();
    let mut in_pos = match input.ops.read_at(&mut [], start) {
        Ok(_) => Some(start),
        Err(_) => None,
    };
    let seekable = in_pos.is_some();
    let result = crate::fs::file::copy_between(&input, &mut in_pos, &output, &mut out_pos, count);
    if let (true, Some(pos)) = (seekable, in_pos) {
        *input.offset.lock() = pos;
    }
    result
}

/// copy_file_range(fd_in, off_in, fd_out, off_out, len, flags) between regular files.
fn sys_copy_file_range(in_fd: Fd, in_off: UserPtr<i64>, out_fd: Fd, out_off: UserPtr<i64>, len: u64, flags: u32) -> KResult<u64> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let input = file(in_fd)?;
    let output = file(out_fd)?;
    if !input.readable() || !output.writable() || output.flags() & O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    let (in_mode, out_mode) = (input.ops.stat()?.st_mode & S_IFMT, output.ops.stat()?.st_mode & S_IFMT);
    if in_mode == S_IFDIR || out_mode == S_IFDIR {
        return Err(Errno::EISDIR);
    }
    if in_mode != S_IFREG || out_mode != S_IFREG {
        return Err(Errno::EINVAL);
    }
    let mut in_pos = Some(read_offset(in_off)?.unwrap_or(*input.offset.lock()));
    let mut out_pos = Some(read_offset(out_off)?.unwrap_or(*output.offset.lock()));
    let result = crate::fs::file::copy_between(&input, &mut in_pos, &output, &mut out_pos, len)?;
    for (ptr, file, pos) in [(in_off, &input, in_pos), (out_off, &output, out_pos)] {
        let pos = pos.unwrap_or(0);
        if !ptr.is_null() {
            ptr.write(&(pos as i64))?;
        } else {
            *file.offset.lock() = pos;
        }
    }
    Ok(result)
}
