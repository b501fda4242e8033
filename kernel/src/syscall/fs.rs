//! File syscalls on descriptors: open/close, read/write and their vector and positioned forms,
//! seeking, status, directory reading, descriptor duplication and flags, pipes, ioctl. Calls
//! on names are in `fs_names.rs`, attributes in `fs_attr.rs`.

use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::fcntl::*;
use exo_abi::mode::*;
use exo_abi::{nr, Errno, KResult};
use exo_vfs::{permitted, Access, PathRef};

use super::{raw_args, int, task, Handler};
use crate::arch::TrapFrame;
use crate::fs::{self, inode_file::InodeFile, OpenFile};
use crate::process::Task;
use crate::uaccess;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    t[nr::READ] = Some(sys_read);
    t[nr::WRITE] = Some(sys_write);
    t[nr::OPEN] = Some(sys_open);
    t[nr::OPENAT] = Some(sys_openat);
    t[nr::CREAT] = Some(sys_creat);
    t[nr::CLOSE] = Some(sys_close);
    t[nr::CLOSE_RANGE] = Some(sys_close_range);
    t[nr::PREAD64] = Some(sys_pread64);
    t[nr::PWRITE64] = Some(sys_pwrite64);
    t[nr::LSEEK] = Some(sys_lseek);
    t[nr::FSTAT] = Some(sys_fstat);
    t[nr::STAT] = Some(sys_stat);
    t[nr::LSTAT] = Some(sys_lstat);
    t[nr::NEWFSTATAT] = Some(sys_newfstatat);
    t[nr::GETDENTS64] = Some(sys_getdents64);
    t[nr::DUP] = Some(sys_dup);
    t[nr::DUP2] = Some(sys_dup2);
    t[nr::DUP3] = Some(sys_dup3);
    t[nr::FCNTL] = Some(sys_fcntl);
    t[nr::PIPE] = Some(sys_pipe);
    t[nr::PIPE2] = Some(sys_pipe2);
    t[nr::IOCTL] = Some(sys_ioctl);
    t[nr::FTRUNCATE] = Some(sys_ftruncate);
    t[nr::FSYNC] = Some(sys_fsync);
    t[nr::FDATASYNC] = Some(sys_fsync);
    t[nr::SENDFILE] = Some(sys_sendfile);
    t[nr::COPY_FILE_RANGE] = Some(sys_copy_file_range);
}

/// Largest single transfer (Linux's MAX_RW_COUNT).
const MAX_RW: u64 = 0x7fff_f000;
/// Bounce-buffer chunk between user memory and files.
const CHUNK: usize = 64 * 1024;

pub(super) fn file(fd: u64) -> KResult<Arc<OpenFile>> {
    task()?.files().get(int(fd))
}

fn nofile_limit(me: &Task) -> usize {
    me.process.rlimit(exo_abi::resource::RLIMIT_NOFILE).rlim_cur.min(fs::FD_HARD_MAX as u64) as usize
}

fn install(me: &Task, file: Arc<OpenFile>, cloexec: bool) -> KResult<u64> {
    me.files().insert(file, cloexec, 0, nofile_limit(me)).map(|fd| fd as u64)
}

/// Reads through a bounce buffer into user memory, chunk by chunk; stops at a short read.
/// `unread(n)` gives back `n` bytes that were read but could not be copied out (a bad user
/// buffer): a seekable file moves its offset back, so nothing is lost.
pub(super) fn read_to_user(
    buf: u64,
    len: u64,
    mut read: impl FnMut(&mut [u8], u64) -> KResult<usize>,
    unread: impl FnOnce(usize),
) -> KResult<u64> {
    let len = len.min(MAX_RW);
    uaccess::check_range(buf, len)?;
    let mut chunk = Vec::new();
    chunk.try_reserve_exact(CHUNK.min(len as usize).max(1)).map_err(|_| Errno::ENOMEM)?;
    chunk.resize(CHUNK.min(len as usize).max(1), 0);
    let mut done = 0u64;
    while done < len {
        if fs::file::fatal_signal_pending() {
            return if done > 0 { Ok(done) } else { Err(Errno::EINTR) };
        }
        let want = ((len - done) as usize).min(chunk.len());
        let n = match read(&mut chunk[..want], done) {
            Ok(n) => n,
            Err(e) if done > 0 && !e.is_restart() => return Ok(done),
            Err(e) if done > 0 && e.is_restart() => return Ok(done),
            Err(e) => return Err(e),
        };
        if let Err(e) = uaccess::write_bytes(buf + done, &chunk[..n]) {
            unread(n);
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        done += n as u64;
        if n < want {
            break;
        }
    }
    Ok(done)
}

/// Gives `n` bytes back to a file read at its offset (see `read_to_user`).
pub(super) fn unread_from(file: &OpenFile) -> impl FnOnce(usize) + '_ {
    move |n| {
        let _ = file.ops.seek(file, -(n as i64), SEEK_CUR);
    }
}

/// Writes from user memory through a bounce buffer; stops at a short write.
pub(super) fn write_from_user(buf: u64, len: u64, mut write: impl FnMut(&[u8], u64) -> KResult<usize>) -> KResult<u64> {
    let len = len.min(MAX_RW);
    uaccess::check_range(buf, len)?;
    let mut chunk = Vec::new();
    chunk.try_reserve_exact(CHUNK.min(len as usize).max(1)).map_err(|_| Errno::ENOMEM)?;
    chunk.resize(CHUNK.min(len as usize).max(1), 0);
    let mut done = 0u64;
    if len == 0 {
        return write(&[], 0).map(|n| n as u64);
    }
    while done < len {
        if fs::file::fatal_signal_pending() {
            return if done > 0 { Ok(done) } else { Err(Errno::EINTR) };
        }
        let want = ((len - done) as usize).min(chunk.len());
        uaccess::read_bytes(buf + done, &mut chunk[..want])?;
        let n = match write(&chunk[..want], done) {
            Ok(n) => n,
            Err(_) if done > 0 => return Ok(done),
            Err(e) => return Err(e),
        };
        done += n as u64;
        if n < want {
            break;
        }
    }
    Ok(done)
}

fn sys_read(frame: &mut TrapFrame) -> KResult<u64> {
    let [fd, buf, len, ..] = raw_args(frame);
    let file = file(fd)?;
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    read_to_user(buf, len, |chunk, _| file.read(chunk), unread_from(&file))
}

fn sys_write(frame: &mut TrapFrame) -> KResult<u64> {
    let [fd, buf, len, ..] = raw_args(frame);
    let file = file(fd)?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    write_from_user(buf, len, |chunk, _| file.write(chunk))
}

fn sys_pread64(frame: &mut TrapFrame) -> KResult<u64> {
    let [fd, buf, len, offset, ..] = raw_args(frame);
    let file = file(fd)?;
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    if (offset as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    read_to_user(buf, len, |chunk, at| file.ops.read_at(chunk, offset + at), |_| {})
}

fn sys_pwrite64(frame: &mut TrapFrame) -> KResult<u64> {
    let [fd, buf, len, offset, ..] = raw_args(frame);
    let file = file(fd)?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    if (offset as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    write_from_user(buf, len, |chunk, at| file.ops.write_at(chunk, offset + at))
}

fn sys_lseek(frame: &mut TrapFrame) -> KResult<u64> {
    let [fd, offset, whence, ..] = raw_args(frame);
    let file = file(fd)?;
    file.ops.seek(&file, offset as i64, whence as u32)
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
    let ns = fs::namespace()?;
    let base = base_dir(me, dirfd, path)?;
    let ctx = fs::lookup_ctx(me, base)
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
        ns.create(&ctx, path, mode, flags & O_EXCL != 0)?
    } else {
        (ns.resolve(&ctx, path)?, false)
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
    crate::fs::procfs::check_open(&**location.inode())?;
    let status = flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
    match meta.file_type() {
        // O_NOCTTY goes along: a session leader opening a terminal without it acquires it.
        S_IFCHR => crate::fs::devices::open(meta.rdev, status | (flags & O_NOCTTY)),
        S_IFIFO => crate::fs::fifo::open(location, status),
        S_IFSOCK => Err(Errno::ENXIO),
        _ => {
            if flags & O_TRUNC != 0 && meta.is_regular() && accmode != O_RDONLY {
                location.inode().truncate(0)?;
            }
            Ok(InodeFile::open(location, status))
        }
    }
}

fn do_open(dirfd: i32, path: u64, flags: u32, mode: u32) -> KResult<u64> {
    let me = task()?;
    let path = uaccess::read_path(path)?;
    let file = open_at(&me, dirfd, &path, flags, mode)?;
    install(&me, file, flags & O_CLOEXEC != 0)
}

fn sys_open(frame: &mut TrapFrame) -> KResult<u64> {
    do_open(AT_FDCWD, frame.rdi, frame.rsi as u32, frame.rdx as u32)
}

fn sys_openat(frame: &mut TrapFrame) -> KResult<u64> {
    do_open(int(frame.rdi), frame.rsi, frame.rdx as u32, frame.r10 as u32)
}

fn sys_creat(frame: &mut TrapFrame) -> KResult<u64> {
    do_open(AT_FDCWD, frame.rdi, O_CREAT | O_WRONLY | O_TRUNC, frame.rsi as u32)
}

fn sys_close(frame: &mut TrapFrame) -> KResult<u64> {
    task()?.files().close(int(frame.rdi)).map(|_| 0)
}

fn sys_close_range(frame: &mut TrapFrame) -> KResult<u64> {
    let [first, last, flags, ..] = raw_args(frame);
    let flags = flags as u32;
    if first as u32 > last as u32 || flags & !(exo_abi::fcntl::CLOSE_RANGE_CLOEXEC | exo_abi::fcntl::CLOSE_RANGE_UNSHARE) != 0 {
        return Err(Errno::EINVAL);
    }
    task()?.files().close_range(first as u32 as usize, last as u32 as usize, flags & exo_abi::fcntl::CLOSE_RANGE_CLOEXEC != 0);
    Ok(0)
}

fn sys_fstat(frame: &mut TrapFrame) -> KResult<u64> {
    let stat = file(frame.rdi)?.ops.stat()?;
    uaccess::write(frame.rsi, &stat)?;
    Ok(0)
}

fn stat_path(dirfd: i32, path: u64, buf: u64, flags: u32) -> KResult<u64> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let path = match uaccess::read_path(path) {
        Err(Errno::ENOENT) if flags & AT_EMPTY_PATH != 0 => {
            let stat = if dirfd == AT_FDCWD {
                fs::stat_of(&me.fs().cwd.lock().metadata())
            } else {
                me.files().get(dirfd)?.ops.stat()?
            };
            uaccess::write(buf, &stat)?;
            return Ok(0);
        }
        other => other?,
    };
    uaccess::check_range(buf, core::mem::size_of::<exo_abi::types::Stat>() as u64)?;
    let base = base_dir(&me, dirfd, &path)?;
    let ctx = fs::lookup_ctx(&me, base).follow(flags & AT_SYMLINK_NOFOLLOW == 0);
    let location = fs::namespace()?.resolve(&ctx, &path)?;
    uaccess::write(buf, &fs::stat_of(&location.metadata()))?;
    Ok(0)
}

fn sys_stat(frame: &mut TrapFrame) -> KResult<u64> {
    stat_path(AT_FDCWD, frame.rdi, frame.rsi, 0)
}

fn sys_lstat(frame: &mut TrapFrame) -> KResult<u64> {
    stat_path(AT_FDCWD, frame.rdi, frame.rsi, AT_SYMLINK_NOFOLLOW)
}

fn sys_newfstatat(frame: &mut TrapFrame) -> KResult<u64> {
    stat_path(int(frame.rdi), frame.rsi, frame.rdx, frame.r10 as u32)
}

fn sys_getdents64(frame: &mut TrapFrame) -> KResult<u64> {
    let [fd, buf, len, ..] = raw_args(frame);
    let file = file(fd)?;
    let space = (len as usize).min(1 << 20);
    uaccess::check_range(buf, space as u64)?;
    let mut out = Vec::new();
    file.ops.read_dir(&file, &mut out, space)?;
    uaccess::write_bytes(buf, &out)?;
    Ok(out.len() as u64)
}

pub fn with_path<R>(dirfd: i32, path: u64, f: impl FnOnce(&Task, exo_vfs::Lookup, &[u8]) -> KResult<R>) -> KResult<R> {
    let me = task()?;
    let path = uaccess::read_path(path)?;
    let base = base_dir(&me, dirfd, &path)?;
    let ctx = fs::lookup_ctx(&me, base);
    f(&me, ctx, &path)
}

fn sys_dup(frame: &mut TrapFrame) -> KResult<u64> {
    let me = task()?;
    let file = me.files().get(int(frame.rdi))?;
    install(&me, file, false)
}

fn dup_to(old: i32, new: i32, cloexec: bool) -> KResult<u64> {
    let me = task()?;
    let file = me.files().get(old)?;
    let replaced = me.files().insert_at(new, file, cloexec, nofile_limit(&me))?;
    drop(replaced);
    Ok(new as u64)
}

fn sys_dup2(frame: &mut TrapFrame) -> KResult<u64> {
    let (old, new) = (int(frame.rdi), int(frame.rsi));
    if old == new {
        task()?.files().get(old)?;
        return Ok(new as u64);
    }
    dup_to(old, new, false)
}

fn sys_dup3(frame: &mut TrapFrame) -> KResult<u64> {
    let (old, new, flags) = (int(frame.rdi), int(frame.rsi), frame.rdx as u32);
    if old == new || flags & !O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    dup_to(old, new, flags & O_CLOEXEC != 0)
}

fn sys_fcntl(frame: &mut TrapFrame) -> KResult<u64> {
    let [fd, cmd, arg, ..] = raw_args(frame);
    let me = task()?;
    let files = me.files();
    let fd = int(fd);
    let file = files.get(fd)?;
    match cmd as u32 {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let min = usize::try_from(int(arg)).map_err(|_| Errno::EINVAL)?;
            let limit = nofile_limit(&me);
            if min >= limit {
                return Err(Errno::EINVAL);
            }
            files.insert(file, cmd as u32 == F_DUPFD_CLOEXEC, min, limit).map(|fd| fd as u64)
        }
        F_GETFD => Ok(if files.cloexec(fd)? { u64::from(FD_CLOEXEC) } else { 0 }),
        F_SETFD => files.set_cloexec(fd, arg as u32 & FD_CLOEXEC != 0).map(|_| 0),
        F_GETFL => Ok(u64::from(file.flags())),
        F_SETFL => {
            let changeable = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | exo_abi::fcntl::O_ASYNC;
            let old = file.flags();
            file.flags.store((old & !changeable) | (arg as u32 & changeable), core::sync::atomic::Ordering::Relaxed);
            Ok(0)
        }
        F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW => {
            // Advisory record locks always succeed (one user, no other lockers to respect).
            Ok(0)
        }
        F_GETOWN | F_SETOWN => Ok(0),
        F_GETPIPE_SZ => Ok(crate::fs::pipe::PIPE_CAPACITY as u64),
        _ => Err(Errno::EINVAL),
    }
}

fn pipe_with(fds: u64, flags: u32) -> KResult<u64> {
    if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    uaccess::check_range(fds, 8)?;
    let me = task()?;
    let (read, write) = crate::fs::pipe::new_pipe(flags & O_NONBLOCK);
    let cloexec = flags & O_CLOEXEC != 0;
    let r = install(&me, read, cloexec)?;
    let w = match install(&me, write, cloexec) {
        Ok(w) => w,
        Err(e) => {
            let _ = me.files().close(r as i32);
            return Err(e);
        }
    };
    if let Err(e) = uaccess::write(fds, &[r as i32, w as i32]) {
        let _ = me.files().close(r as i32);
        let _ = me.files().close(w as i32);
        return Err(e);
    }
    Ok(0)
}

fn sys_pipe(frame: &mut TrapFrame) -> KResult<u64> {
    pipe_with(frame.rdi, 0)
}

fn sys_pipe2(frame: &mut TrapFrame) -> KResult<u64> {
    pipe_with(frame.rdi, frame.rsi as u32)
}

fn sys_ioctl(frame: &mut TrapFrame) -> KResult<u64> {
    let [fd, request, arg, ..] = raw_args(frame);
    let file = file(fd)?;
    match request as u32 {
        exo_abi::ioctl::FIOCLEX => task()?.files().set_cloexec(int(fd), true).map(|_| 0),
        exo_abi::ioctl::FIONCLEX => task()?.files().set_cloexec(int(fd), false).map(|_| 0),
        exo_abi::ioctl::FIONBIO => {
            let on: i32 = uaccess::read(arg)?;
            let flags = file.flags();
            file.flags.store(if on != 0 { flags | O_NONBLOCK } else { flags & !O_NONBLOCK }, core::sync::atomic::Ordering::Relaxed);
            Ok(0)
        }
        request => file.ops.ioctl(&file, request, crate::uaccess::UserArg::new(arg)),
    }
}

fn sys_ftruncate(frame: &mut TrapFrame) -> KResult<u64> {
    let file = file(frame.rdi)?;
    if (frame.rsi as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if !file.writable() {
        return Err(Errno::EINVAL);
    }
    if file.ops.path().is_some_and(|p| p.is_readonly()) {
        return Err(Errno::EROFS);
    }
    file.ops.truncate(frame.rsi).map(|_| 0)
}

/// fsync/fdatasync: files in the namespace are in memory (nothing to write back); pipes,
/// sockets and terminals cannot be synced (EINVAL, as Linux).
fn sys_fsync(frame: &mut TrapFrame) -> KResult<u64> {
    let file = file(frame.rdi)?;
    match file.ops.path() {
        Some(_) if file.flags() & O_PATH == 0 => Ok(0),
        Some(_) => Err(Errno::EBADF),
        None => Err(Errno::EINVAL),
    }
}

/// Reads an optional `loff_t` offset argument (negative: EINVAL).
fn read_offset(ptr: u64) -> KResult<Option<u64>> {
    if ptr == 0 {
        return Ok(None);
    }
    let offset: i64 = uaccess::read(ptr)?;
    u64::try_from(offset).map(Some).map_err(|_| Errno::EINVAL)
}

/// sendfile(out_fd, in_fd, offset, count): with `offset`, reads from there (the file offset
/// stays, the new offset is written back); without, from the file offset, which advances by
/// what was sent.
fn sys_sendfile(frame: &mut TrapFrame) -> KResult<u64> {
    let [out_fd, in_fd, offset, count, ..] = raw_args(frame);
    let input = file(in_fd)?;
    let output = file(out_fd)?;
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    if output.flags() & O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let mut out_pos = None;
    if offset != 0 {
        let mut in_pos = read_offset(offset)?;
        let result = crate::fs::file::copy_between(&input, &mut in_pos, &output, &mut out_pos, count);
        if let Some(pos) = in_pos {
            uaccess::write(offset, &(pos as i64))?;
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
fn sys_copy_file_range(frame: &mut TrapFrame) -> KResult<u64> {
    let [in_fd, in_off, out_fd, out_off, len, flags] = raw_args(frame);
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
        if ptr != 0 {
            uaccess::write(ptr, &(pos as i64))?;
        } else {
            *file.offset.lock() = pos;
        }
    }
    Ok(result)
}
