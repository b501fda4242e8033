//! Vectored and positioned I/O: readv, writev, preadv, pwritev, preadv2, pwritev2.

use alloc::vec::Vec;

use exo_abi::types::Iovec;
use exo_abi::{nr, Errno, KResult};

use super::args::{typed, Fd};
use super::fs::{file, read_to_user, unread_from, user_buffer, write_from_user};
use super::Handler;
use crate::uaccess::UserPtr;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: UIO_MAXIOV
    t[nr::READV] = typed!(sys_readv);
    // full
    t[nr::WRITEV] = typed!(sys_writev);
    // full
    t[nr::PREADV] = typed!(sys_preadv);
    // full
    t[nr::PWRITEV] = typed!(sys_pwritev);
    // full: RWF_HIPRI/DSYNC/SYNC accepted; offset -1 = file offset
    t[nr::PREADV2] = typed!(sys_preadv2);
    // full
    t[nr::PWRITEV2] = typed!(sys_pwritev2);
}

/// Reads the `count` iovecs at `iov` one by one (EINVAL past UIO_MAXIOV or when their lengths
/// add up past `i64::MAX`).
pub(super) fn read_iovecs(iov: UserPtr<Iovec>, count: usize) -> KResult<Vec<Iovec>> {
    if count > exo_abi::types::UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut vecs = Vec::new();
    vecs.try_reserve_exact(count).map_err(|_| Errno::ENOMEM)?;
    let mut total: u64 = 0;
    for i in 0..count {
        let v = iov.add(i)?.read()?;
        total = total.checked_add(v.len).filter(|&t| t <= i64::MAX as u64).ok_or(Errno::EINVAL)?;
        vecs.push(v);
    }
    Ok(vecs)
}

/// Runs `transfer(base, len, offset_into_the_call)` over the iovecs at `iov`, stopping at a
/// short transfer; an error after some bytes ends the call with what was done (Linux).
fn each_iovec(
    iov: UserPtr<Iovec>,
    count: usize,
    mut transfer: impl FnMut(UserPtr<u8>, usize, u64) -> KResult<u64>,
) -> KResult<u64> {
    let mut total = 0u64;
    for v in read_iovecs(iov, count)? {
        let n = match transfer(UserPtr::new(v.base), v.len as usize, total) {
            Ok(n) => n,
            Err(_) if total > 0 => break,
            Err(e) => return Err(e),
        };
        total += n;
        if n < v.len {
            break;
        }
    }
    Ok(total)
}

fn sys_readv(fd: Fd, iov: UserPtr<Iovec>, iovcnt: usize) -> KResult<u64> {
    let file = file(fd)?;
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    each_iovec(iov, iovcnt, |base, len, _| {
        read_to_user(user_buffer(base, len)?, |chunk, _| file.read(chunk), unread_from(&file))
    })
}

fn sys_writev(fd: Fd, iov: UserPtr<Iovec>, iovcnt: usize) -> KResult<u64> {
    let file = file(fd)?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    each_iovec(iov, iovcnt, |base, len, _| write_from_user(user_buffer(base, len)?, |chunk, _| file.write(chunk)))
}

/// The offset argument of preadv/pwritev (one 64-bit register on x86-64); -1 with the *v2
/// forms means "the file offset".
fn positioned(offset: i64) -> KResult<u64> {
    u64::try_from(offset).map_err(|_| Errno::EINVAL)
}

fn preadv_at(fd: Fd, iov: UserPtr<Iovec>, count: usize, offset: u64) -> KResult<u64> {
    let file = file(fd)?;
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    each_iovec(iov, count, |base, len, done| {
        read_to_user(user_buffer(base, len)?, |chunk, at| file.ops.read_at(chunk, offset + done + at), |_| {})
    })
}

fn pwritev_at(fd: Fd, iov: UserPtr<Iovec>, count: usize, offset: u64) -> KResult<u64> {
    let file = file(fd)?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    each_iovec(iov, count, |base, len, done| {
        write_from_user(user_buffer(base, len)?, |chunk, at| file.ops.write_at(chunk, offset + done + at))
    })
}

fn sys_preadv(fd: Fd, iov: UserPtr<Iovec>, iovcnt: usize, offset: i64) -> KResult<u64> {
    preadv_at(fd, iov, iovcnt, positioned(offset)?)
}

fn sys_pwritev(fd: Fd, iov: UserPtr<Iovec>, iovcnt: usize, offset: i64) -> KResult<u64> {
    pwritev_at(fd, iov, iovcnt, positioned(offset)?)
}

/// Flags of preadv2/pwritev2 (RWF_*): accepted when they ask for nothing special.
fn check_rwf(flags: u32) -> KResult<()> {
    const RWF_HIPRI: u32 = 1;
    const RWF_DSYNC: u32 = 2;
    const RWF_SYNC: u32 = 4;
    if flags & !(RWF_HIPRI | RWF_DSYNC | RWF_SYNC) != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(())
}

/// preadv2(fd, iov, iovcnt, offset, offset_high, flags): the offset is the 64-bit register
/// `offset` (`offset_high` is not used on x86-64); -1 reads at the file offset, as readv.
fn sys_preadv2(fd: Fd, iov: UserPtr<Iovec>, iovcnt: usize, offset: i64, _offset_high: u64, flags: u32) -> KResult<u64> {
    check_rwf(flags)?;
    if offset == -1 {
        return sys_readv(fd, iov, iovcnt);
    }
    preadv_at(fd, iov, iovcnt, positioned(offset)?)
}

/// pwritev2(fd, iov, iovcnt, offset, offset_high, flags): as preadv2, for writing.
fn sys_pwritev2(fd: Fd, iov: UserPtr<Iovec>, iovcnt: usize, offset: i64, _offset_high: u64, flags: u32) -> KResult<u64> {
    check_rwf(flags)?;
    if offset == -1 {
        return sys_writev(fd, iov, iovcnt);
    }
    pwritev_at(fd, iov, iovcnt, positioned(offset)?)
}
