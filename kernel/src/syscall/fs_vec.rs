//! Vectored and positioned I/O: readv, writev, preadv, pwritev, preadv2, pwritev2.

use alloc::vec::Vec;

use exo_abi::types::Iovec;
use exo_abi::{nr, Errno, KResult};

use super::fs::{file, read_to_user, unread_from, write_from_user};
use super::{raw_args, Handler};
use crate::arch::TrapFrame;
use crate::uaccess;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    t[nr::READV] = Some(sys_readv);
    t[nr::WRITEV] = Some(sys_writev);
    t[nr::PREADV] = Some(sys_preadv);
    t[nr::PWRITEV] = Some(sys_pwritev);
    t[nr::PREADV2] = Some(sys_preadv2);
    t[nr::PWRITEV2] = Some(sys_pwritev2);
}

fn read_iovecs(iov: u64, count: u64) -> KResult<Vec<Iovec>> {
    if count > exo_abi::types::UIO_MAXIOV as u64 {
        return Err(Errno::EINVAL);
    }
    let mut vecs = Vec::new();
    vecs.try_reserve_exact(count as usize).map_err(|_| Errno::ENOMEM)?;
    let mut total: u64 = 0;
    for i in 0..count {
        let v: Iovec = uaccess::read(iov + i * 16)?;
        total = total.checked_add(v.len).filter(|&t| t <= i64::MAX as u64).ok_or(Errno::EINVAL)?;
        vecs.push(v);
    }
    Ok(vecs)
}

/// Runs `transfer(base, len, offset_into_the_call)` over the iovecs at `iov`, stopping at a
/// short transfer; an error after some bytes ends the call with what was done (Linux).
fn each_iovec(iov: u64, count: u64, mut transfer: impl FnMut(u64, u64, u64) -> KResult<u64>) -> KResult<u64> {
    let mut total = 0u64;
    for v in read_iovecs(iov, count)? {
        let n = match transfer(v.base, v.len, total) {
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

fn sys_readv(frame: &mut TrapFrame) -> KResult<u64> {
    let [fd, iov, count, ..] = raw_args(frame);
    let file = file(fd)?;
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    each_iovec(iov, count, |base, len, _| read_to_user(base, len, |chunk, _| file.read(chunk), unread_from(&file)))
}

fn sys_writev(frame: &mut TrapFrame) -> KResult<u64> {
    let [fd, iov, count, ..] = raw_args(frame);
    let file = file(fd)?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    each_iovec(iov, count, |base, len, _| write_from_user(base, len, |chunk, _| file.write(chunk)))
}

/// The offset argument of preadv/pwritev (one 64-bit register on x86-64); -1 with the *v2
/// forms means "the file offset".
fn positioned(offset: u64) -> KResult<u64> {
    if (offset as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(offset)
}

fn preadv_at(fd: u64, iov: u64, count: u64, offset: u64) -> KResult<u64> {
    let file = file(fd)?;
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    each_iovec(iov, count, |base, len, done| {
        read_to_user(base, len, |chunk, at| file.ops.read_at(chunk, offset + done + at), |_| {})
    })
}

fn pwritev_at(fd: u64, iov: u64, count: u64, offset: u64) -> KResult<u64> {
    let file = file(fd)?;
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    each_iovec(iov, count, |base, len, done| {
        write_from_user(base, len, |chunk, at| file.ops.write_at(chunk, offset + done + at))
    })
}

fn sys_preadv(frame: &mut TrapFrame) -> KResult<u64> {
    let [fd, iov, count, offset, ..] = raw_args(frame);
    preadv_at(fd, iov, count, positioned(offset)?)
}

fn sys_pwritev(frame: &mut TrapFrame) -> KResult<u64> {
    let [fd, iov, count, offset, ..] = raw_args(frame);
    pwritev_at(fd, iov, count, positioned(offset)?)
}

/// Flags of preadv2/pwritev2 (RWF_*): accepted when they ask for nothing special.
fn check_rwf(flags: u64) -> KResult<()> {
    const RWF_HIPRI: u64 = 1;
    const RWF_DSYNC: u64 = 2;
    const RWF_SYNC: u64 = 4;
    if flags & !(RWF_HIPRI | RWF_DSYNC | RWF_SYNC) != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(())
}

fn sys_preadv2(frame: &mut TrapFrame) -> KResult<u64> {
    let [fd, iov, count, offset, _, flags] = raw_args(frame);
    check_rwf(flags)?;
    if offset as i64 == -1 {
        return sys_readv(frame);
    }
    preadv_at(fd, iov, count, positioned(offset)?)
}

fn sys_pwritev2(frame: &mut TrapFrame) -> KResult<u64> {
    let [fd, iov, count, offset, _, flags] = raw_args(frame);
    check_rwf(flags)?;
    if offset as i64 == -1 {
        return sys_writev(frame);
    }
    pwritev_at(fd, iov, count, positioned(offset)?)
}
