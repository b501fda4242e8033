//! splice, tee and vmsplice: moving bytes between a pipe and a file, socket or another pipe
//! without passing through user memory (through the pipe's ring and, from a file, one kernel
//! buffer). The pipe side is `fs::pipe::splice`. Linux's checks in Linux's order: `len` 0 is 0,
//! unknown flags EINVAL, descriptors EBADF (and their access modes), neither side a pipe
//! EINVAL, an offset for a pipe ESPIPE, an offset for a file without positioned I/O EINVAL,
//! O_APPEND output EINVAL, the same pipe on both sides EINVAL. SPLICE_F_NONBLOCK (or an
//! O_NONBLOCK pipe) gives EAGAIN instead of waiting; SPLICE_F_MOVE/MORE/GIFT are accepted.

use alloc::sync::Arc;

use exo_abi::fcntl::{O_APPEND, O_NONBLOCK, SPLICE_F_ALL, SPLICE_F_NONBLOCK};
use exo_abi::types::Iovec;
use exo_abi::{nr, Errno, KResult};

use super::args::{typed, Fd};
use super::{task, Handler};
use crate::fs::pipe::splice::{end_of, pipe_to_pipe};
use crate::fs::OpenFile;
use crate::uaccess::{UserPtr, UserSlice};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: pipe to pipe, pipe to file/socket, file/socket to pipe; offsets; SPLICE_F_NONBLOCK (copies through the pipe's ring: no page gifting)
    t[nr::SPLICE] = typed!(sys_splice);
    // full
    t[nr::TEE] = typed!(sys_tee);
    // full: user memory to a pipe (copied) or from a pipe
    t[nr::VMSPLICE] = typed!(sys_vmsplice);
}

/// Largest transfer of one call (Linux's MAX_RW_COUNT).
const MAX_RW: usize = 0x7fff_f000;

fn file(fd: Fd) -> KResult<Arc<OpenFile>> {
    task()?.files().get(fd.get())
}

/// An offset argument: None for NULL, EINVAL if negative.
fn offset_of(ptr: UserPtr<i64>) -> KResult<Option<u64>> {
    match ptr.read_opt()? {
        None => Ok(None),
        Some(offset) => u64::try_from(offset).map(Some).map_err(|_| Errno::EINVAL),
    }
}

/// Whether the file supports positioned reads (pread) / writes (pwrite).
fn positional(file: &OpenFile, write: bool) -> bool {
    if write {
        file.ops.write_at(&[], 0).is_ok()
    } else {
        file.ops.read_at(&mut [], 0).is_ok()
    }
}

fn sys_splice(fd_in: Fd, off_in: UserPtr<i64>, fd_out: Fd, off_out: UserPtr<i64>, len: usize, flags: u32) -> KResult<u64> {
    if len == 0 {
        return Ok(0);
    }
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let input = file(fd_in)?;
    let output = file(fd_out)?;
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    let len = len.min(MAX_RW);
    let nonblocking = flags & SPLICE_F_NONBLOCK != 0;
    match (end_of(&input), end_of(&output)) {
        (Some(i), Some(o)) => {
            if !off_in.is_null() || !off_out.is_null() {
                return Err(Errno::ESPIPE);
            }
            if Arc::ptr_eq(i.pipe(), o.pipe()) {
                return Err(Errno::EINVAL);
            }
            let nonblocking = nonblocking || (input.flags() | output.flags()) & O_NONBLOCK != 0;
            pipe_to_pipe(i.pipe(), o.pipe(), len, nonblocking, true).map(|n| n as u64)
        }
        (Some(i), None) => {
            if !off_in.is_null() {
                return Err(Errno::ESPIPE);
            }
            if !off_out.is_null() && !positional(&output, true) {
                return Err(Errno::EINVAL);
            }
            let start = offset_of(off_out)?;
            if output.flags() & O_APPEND != 0 {
                return Err(Errno::EINVAL);
            }
            let nonblocking = nonblocking || input.flags() & O_NONBLOCK != 0;
            let mut at = start;
            let n = i.pipe().splice_out(len, nonblocking, |part| match &mut at {
                Some(pos) => {
                    let n = output.ops.write_at(part, *pos)?;
                    *pos += n as u64;
                    Ok(n)
                }
                None => output.write(part),
            })?;
            if let Some(pos) = at {
                off_out.write(&(pos as i64))?;
            }
            Ok(n as u64)
        }
        (None, Some(o)) => {
            if !off_out.is_null() {
                return Err(Errno::ESPIPE);
            }
            if !off_in.is_null() && !positional(&input, false) {
                return Err(Errno::EINVAL);
            }
            let start = offset_of(off_in)?;
            let nonblocking = nonblocking || output.flags() & O_NONBLOCK != 0;
            let n = o.pipe().splice_in(len, nonblocking, |buf| match start {
                Some(pos) => input.ops.read_at(buf, pos),
                None => input.read(buf),
            })?;
            if let Some(pos) = start {
                off_in.write(&((pos + n as u64) as i64))?;
            }
            Ok(n as u64)
        }
        (None, None) => Err(Errno::EINVAL),
    }
}

fn sys_tee(fd_in: Fd, fd_out: Fd, len: usize, flags: u32) -> KResult<u64> {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let input = file(fd_in)?;
    let output = file(fd_out)?;
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    match (end_of(&input), end_of(&output)) {
        (Some(i), Some(o)) if !Arc::ptr_eq(i.pipe(), o.pipe()) => {
            let nonblocking = flags & SPLICE_F_NONBLOCK != 0 || (input.flags() | output.flags()) & O_NONBLOCK != 0;
            pipe_to_pipe(i.pipe(), o.pipe(), len.min(MAX_RW), nonblocking, false).map(|n| n as u64)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// vmsplice(fd, iov, nr_segs, flags): a pipe open for writing takes the user's bytes (copied),
/// one open for reading gives its bytes to them. Not a pipe: EBADF. After the first segment
/// moved bytes, the others do not wait.
fn sys_vmsplice(fd: Fd, iov: UserPtr<Iovec>, nr_segs: usize, flags: u32) -> KResult<u64> {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let file = file(fd)?;
    let write = if file.writable() {
        true
    } else if file.readable() {
        false
    } else {
        return Err(Errno::EBADF);
    };
    let end = end_of(&file).ok_or(Errno::EBADF)?;
    let vecs = super::fs_vec::read_iovecs(iov, nr_segs)?;
    let mut nonblocking = flags & SPLICE_F_NONBLOCK != 0 || file.nonblocking();
    let mut total = 0usize;
    for v in vecs {
        if v.len == 0 {
            continue;
        }
        let len = (v.len as usize).min(MAX_RW - total);
        let buf = UserSlice::new(UserPtr::new(v.base), len)?;
        let moved = if write { end.pipe().vmsplice_in(buf, nonblocking) } else { end.pipe().vmsplice_out(buf, nonblocking) };
        let n = match moved {
            Ok(n) => n,
            Err(_) if total > 0 => break,
            Err(e) => return Err(e),
        };
        total += n;
        nonblocking = true;
        if n < len || n == 0 || total >= MAX_RW {
            break;
        }
    }
    Ok(total as u64)
}
