//! read(2), write(2), pread64(2), pwrite64(2) and the transfer helpers the vector forms
//! (`fs_vec.rs`) share: the fd look-up on the borrowed task, the user-buffer check, and the
//! copies between user memory and files — straight for files that take a user slice
//! (`direct`), else through one stack chunk (<= 256 bytes) or a heap chunk. See
//! docs/syscalls.md ("The cheap path of a call").

use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::fcntl::SEEK_CUR;
use exo_abi::{nr, Errno, KResult};

use super::args::{typed, Fd};
use super::Handler;
use crate::fs::OpenFile;
use crate::uaccess::{UserPtr, UserSlice};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: files, console, pipes, devices; EFAULT/EBADF/EISDIR; interruptible (restart)
    t[nr::READ] = typed!(sys_read);
    // full: files (O_APPEND), console, pipes (EPIPE + SIGPIPE, PIPE_BUF atomic), devices
    t[nr::WRITE] = typed!(sys_write);
    // full: EINVAL for negative offsets; ESPIPE on pipes
    t[nr::PREAD64] = typed!(sys_pread64);
    // full
    t[nr::PWRITE64] = typed!(sys_pwrite64);
}

/// Largest single transfer (Linux's MAX_RW_COUNT).
const MAX_RW: u64 = 0x7fff_f000;
/// Bounce-buffer chunk between user memory and files.
const CHUNK: usize = 64 * 1024;
/// Transfers up to this size go through a buffer on the stack instead of the heap.
const SMALL: usize = 256;

/// The open file behind `fd` of the current task (EBADF if none). The task is borrowed (one
/// per-CPU load, `with_syscall_task`) and its table looked up under its slot's lock: one
/// reference count taken, the file's (another thread sharing the table may close the
/// descriptor meanwhile). Inlined: the
/// handlers that call it already save every register, a call would add a frame of its own.
#[inline(always)]
pub(super) fn file(fd: Fd) -> KResult<Arc<OpenFile>> {
    // SAFETY: called by system-call handlers only (`pub(super)` in the syscall layer).
    unsafe { crate::process::with_syscall_task(|task| task.files.lock().get(fd.get())) }.ok_or(Errno::ENOSYS)?
}

/// Whether the current task is being killed: a long transfer stops between chunks.
fn killed() -> bool {
    // SAFETY: called by system-call handlers only (private to the syscall layer).
    unsafe { crate::process::with_syscall_task(|task| task.killed.load(core::sync::atomic::Ordering::Acquire)) }.unwrap_or(false)
}

/// The user buffer of a read or write: `len` bytes at `buf`, at most [`MAX_RW`] of them;
/// EFAULT unless they lie in the user half.
pub(super) fn user_buffer(buf: UserPtr<u8>, len: usize) -> KResult<UserSlice<u8>> {
    buf.slice(len.min(MAX_RW as usize))
}

/// Reads through a bounce buffer into user memory, chunk by chunk; stops at a short read.
/// `read(chunk, done)` reads the next chunk, `done` bytes into the call. `unread(n)` gives
/// back `n` bytes that were read but could not be copied out (a bad user buffer): a seekable
/// file moves its offset back, so nothing is lost.
pub(super) fn read_to_user(
    buf: UserSlice<u8>,
    mut read: impl FnMut(&mut [u8], u64) -> KResult<usize>,
    unread: impl FnOnce(usize),
) -> KResult<u64> {
    let len = buf.len();
    if len == 0 {
        return Ok(0);
    }
    if len <= SMALL {
        // One chunk, on the stack: the same steps as one turn of the loop below.
        if killed() {
            return Err(Errno::EINTR);
        }
        let mut chunk = [0u8; SMALL];
        let chunk = &mut chunk[..len];
        let n = read(chunk, 0)?;
        let data = chunk.get(..n).ok_or(Errno::EIO)?;
        if let Err(e) = buf.sub(0, n).write_from(data) {
            unread(n);
            return Err(e);
        }
        return Ok(n as u64);
    }
    let mut chunk = bounce_buffer(len)?;
    let mut done = 0usize;
    while done < len {
        if killed() {
            return if done > 0 { Ok(done as u64) } else { Err(Errno::EINTR) };
        }
        let want = (len - done).min(chunk.len());
        let n = match read(&mut chunk[..want], done as u64) {
            Ok(n) => n,
            // Bytes already moved are reported, whatever the error (a restart too).
            Err(_) if done > 0 => return Ok(done as u64),
            Err(e) => return Err(e),
        };
        if let Err(e) = buf.sub(done, n).write_from(&chunk[..n]) {
            unread(n);
            return if done > 0 { Ok(done as u64) } else { Err(e) };
        }
        done += n;
        if n < want {
            break;
        }
    }
    Ok(done as u64)
}

/// The kernel buffer a long transfer goes through, `CHUNK` bytes at most (ENOMEM, never an
/// abort, when the heap cannot give it).
fn bounce_buffer(len: usize) -> KResult<Vec<u8>> {
    let mut chunk = Vec::new();
    chunk.try_reserve_exact(CHUNK.min(len)).map_err(|_| Errno::ENOMEM)?;
    chunk.resize(CHUNK.min(len), 0);
    Ok(chunk)
}

/// Gives `n` bytes back to a file read at its offset (see `read_to_user`).
pub(super) fn unread_from(file: &OpenFile) -> impl FnOnce(usize) + '_ {
    move |n| {
        let _ = file.ops.seek(file, -(n as i64), SEEK_CUR);
    }
}

/// Writes from user memory through a bounce buffer; stops at a short write. `write(chunk,
/// done)` writes the next chunk, `done` bytes into the call.
pub(super) fn write_from_user(buf: UserSlice<u8>, mut write: impl FnMut(&[u8], u64) -> KResult<usize>) -> KResult<u64> {
    let len = buf.len();
    if len == 0 {
        return write(&[], 0).map(|n| n as u64);
    }
    if len <= SMALL {
        // One chunk, on the stack: the same steps as one turn of the loop below.
        if killed() {
            return Err(Errno::EINTR);
        }
        let mut chunk = [0u8; SMALL];
        let chunk = &mut chunk[..len];
        buf.read_into(chunk)?;
        return write(chunk, 0).map(|n| n as u64);
    }
    let mut chunk = bounce_buffer(len)?;
    let mut done = 0usize;
    while done < len {
        if killed() {
            return if done > 0 { Ok(done as u64) } else { Err(Errno::EINTR) };
        }
        let want = (len - done).min(chunk.len());
        buf.sub(done, want).read_into(&mut chunk[..want])?;
        let n = match write(&chunk[..want], done as u64) {
            Ok(n) => n,
            Err(_) if done > 0 => return Ok(done as u64),
            Err(e) => return Err(e),
        };
        done += n;
        if n < want {
            break;
        }
    }
    Ok(done as u64)
}

fn sys_read(fd: Fd, buf: UserPtr<u8>, count: usize) -> KResult<u64> {
    let file = file(fd)?;
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    let buf = user_buffer(buf, count)?;
    if file.direct {
        return file.ops.read_user(&file, buf).map(|n| n as u64);
    }
    read_to_user(buf, |chunk, _| file.read(chunk), unread_from(&file))
}

fn sys_write(fd: Fd, buf: UserPtr<u8>, count: usize) -> KResult<u64> {
    let file = file(fd)?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    let buf = user_buffer(buf, count)?;
    if file.direct {
        return file.ops.write_user(&file, buf).map(|n| n as u64);
    }
    write_from_user(buf, |chunk, _| file.write(chunk))
}

fn sys_pread64(fd: Fd, buf: UserPtr<u8>, count: usize, offset: i64) -> KResult<u64> {
    let file = file(fd)?;
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    let Ok(offset) = u64::try_from(offset) else {
        return Err(Errno::EINVAL);
    };
    read_to_user(user_buffer(buf, count)?, |chunk, at| file.ops.read_at(chunk, offset + at), |_| {})
}

fn sys_pwrite64(fd: Fd, buf: UserPtr<u8>, count: usize, offset: i64) -> KResult<u64> {
    let file = file(fd)?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    let Ok(offset) = u64::try_from(offset) else {
        return Err(Errno::EINVAL);
    };
    write_from_user(user_buffer(buf, count)?, |chunk, at| file.ops.write_at(chunk, offset + at))
}
