//! The socket data calls: sendto, recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg. They read
//! the user's `msghdr`, iovecs, name and control bytes, run the socket's send or receive, and
//! write back the name, control messages, lengths and flags as Linux does.

use alloc::vec::Vec;

use exo_abi::socket::*;
use exo_abi::types::{Iovec, Timespec};
use exo_abi::{nr, Errno, KResult};

use super::args::{typed, Fd};
use super::socket::with_socket;
use super::Handler;
use crate::files::file::OpenFile;
use crate::net::socket::MAX_CONTROL;
use crate::net::{MsgData, RecvMsg, SendMsg, SockAddr, Socket};
use crate::uaccess::{UserPtr, UserSlice};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: MSG_DONTWAIT/NOSIGNAL/MORE; EPIPE + SIGPIPE on streams; MSG_OOB EOPNOTSUPP
    t[nr::SENDTO] = typed!(sys_sendto);
    // full: MSG_PEEK/DONTWAIT/WAITALL/TRUNC; sender address for datagrams, length 0 for streams
    t[nr::RECVFROM] = typed!(sys_recvfrom);
    // full: iovecs (EMSGSIZE past 1,024), name, SCM_RIGHTS (at most 253 fds, cycles refused with ETOOMANYREFS) and SCM_CREDENTIALS (checked), ≤ 20 KiB of control
    t[nr::SENDMSG] = typed!(sys_sendmsg);
    // full: name, control messages cut to the caller's room (MSG_CTRUNC, descriptors that do not fit closed), MSG_CMSG_CLOEXEC, msg_flags
    t[nr::RECVMSG] = typed!(sys_recvmsg);
    // full: at most 1,024 messages
    t[nr::SENDMMSG] = typed!(sys_sendmmsg);
    // full: at most 1,024 messages; MSG_WAITFORONE; the timeout is checked after each message (as Linux)
    t[nr::RECVMMSG] = typed!(sys_recvmmsg);
}

/// Flags the send calls accept (others: EOPNOTSUPP would be Linux for some; we ignore the
/// harmless ones and refuse MSG_OOB, which no family here supports).
fn send_flags(flags: u32) -> KResult<u32> {
    if flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(flags)
}

fn user_buffer(buf: UserPtr<u8>, len: usize) -> KResult<UserSlice<u8>> {
    // Linux caps one transfer at INT_MAX bytes.
    UserSlice::new(buf, len.min(i32::MAX as usize & !4095))
}

fn sys_sendto(fd: Fd, buf: UserPtr<u8>, len: usize, flags: u32, to: UserPtr<u8>, to_len: u32) -> KResult<u64> {
    let flags = send_flags(flags)?;
    with_socket(fd, |open, socket| {
        let to = if to.is_null() { None } else { Some(SockAddr::read_user(to, to_len)?) };
        let mut msg = SendMsg { data: MsgData::user(user_buffer(buf, len)?), to, control: Vec::new(), flags, nonblocking: nonblocking(open, flags), timeout_ns: socket.snd_timeout() };
        socket.send(&mut msg).map(|n| n as u64)
    })
}

fn sys_recvfrom(fd: Fd, buf: UserPtr<u8>, len: usize, flags: u32, from: UserPtr<u8>, from_len: UserPtr<u32>) -> KResult<u64> {
    with_socket(fd, |open, socket| {
        let mut msg = RecvMsg::new(MsgData::user(user_buffer(buf, len)?), flags, nonblocking(open, flags), socket.rcv_timeout(), 0);
        let n = socket.recv(&mut msg)?;
        if let Some(addr) = msg.from {
            addr.write_user(from, from_len)?;
        } else if !from.is_null() && !from_len.is_null() {
            // A connected stream has no sender address: the length becomes 0.
            from_len.write(&0)?;
        }
        Ok(n as u64)
    })
}

fn nonblocking(open: &OpenFile, flags: u32) -> bool {
    open.nonblocking() || flags & MSG_DONTWAIT != 0
}

/// Most iovecs one message may have (Linux's UIO_MAXIOV; more is EMSGSIZE for the msg calls).
const MAX_IOV: u64 = 1024;

fn read_msghdr(ptr: UserPtr<MsgHdr>) -> KResult<(MsgHdr, MsgData<'static>)> {
    let hdr = ptr.read()?;
    if hdr.iovlen > MAX_IOV {
        return Err(Errno::EMSGSIZE);
    }
    let vecs: Vec<Iovec> = super::fs_vec::read_iovecs(UserPtr::new(hdr.iov), hdr.iovlen as usize)?;
    Ok((hdr, MsgData::user_vectors(vecs)))
}

fn send_one(open: &OpenFile, socket: &Socket, ptr: UserPtr<MsgHdr>, flags: u32) -> KResult<usize> {
    let flags = send_flags(flags)?;
    let (hdr, data) = read_msghdr(ptr)?;
    let to = if hdr.name == 0 { None } else { Some(SockAddr::read_user(UserPtr::new(hdr.name), hdr.namelen)?) };
    let mut control = Vec::new();
    if hdr.controllen > 0 {
        let len = usize::try_from(hdr.controllen).ok().filter(|&l| l <= MAX_CONTROL).ok_or(Errno::ENOBUFS)?;
        control.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
        control.resize(len, 0);
        UserSlice::new(UserPtr::new(hdr.control), len)?.read_into(&mut control)?;
    }
    let mut msg = SendMsg { data, to, control, flags, nonblocking: nonblocking(open, flags), timeout_ns: socket.snd_timeout() };
    socket.send(&mut msg)
}

fn recv_one(open: &OpenFile, socket: &Socket, ptr: UserPtr<MsgHdr>, flags: u32) -> KResult<usize> {
    let (hdr, data) = read_msghdr(ptr)?;
    let space = usize::try_from(hdr.controllen).unwrap_or(usize::MAX).min(MAX_CONTROL);
    let space = if hdr.control == 0 { 0 } else { space };
    let mut msg = RecvMsg::new(data, flags, nonblocking(open, flags), socket.rcv_timeout(), space);
    let n = socket.recv(&mut msg)?;
    let mut out = hdr;
    // The name: stored and its length updated (0 when the protocol reported none).
    if hdr.name != 0 {
        match msg.from {
            Some(addr) => {
                let room = (hdr.namelen as i32).max(0) as usize;
                let k = addr.len().min(room);
                if k > 0 {
                    UserSlice::new(UserPtr::new(hdr.name), k)?.write_from(&addr.bytes()[..k])?;
                }
                out.namelen = addr.len() as u32;
            }
            None => out.namelen = 0,
        }
    }
    let k = msg.control.len().min(space);
    if k > 0 {
        UserSlice::new(UserPtr::new(hdr.control), k)?.write_from(&msg.control[..k])?;
    }
    out.controllen = k as u64;
    out.flags = msg.msg_flags | if k < msg.control.len() { MSG_CTRUNC } else { 0 };
    ptr.write(&out)?;
    Ok(n)
}

fn sys_sendmsg(fd: Fd, msg: UserPtr<MsgHdr>, flags: u32) -> KResult<u64> {
    with_socket(fd, |open, socket| send_one(open, socket, msg, flags).map(|n| n as u64))
}

fn sys_recvmsg(fd: Fd, msg: UserPtr<MsgHdr>, flags: u32) -> KResult<u64> {
    with_socket(fd, |open, socket| recv_one(open, socket, msg, flags).map(|n| n as u64))
}

/// Most messages one sendmmsg/recvmmsg handles (Linux's UIO_MAXIOV).
const MAX_MMSG: u32 = 1024;

fn sys_sendmmsg(fd: Fd, vec: UserPtr<MMsgHdr>, count: u32, flags: u32) -> KResult<u64> {
    let count = count.min(MAX_MMSG) as usize;
    with_socket(fd, |open, socket| {
        let mut sent = 0;
        while sent < count {
            let entry = vec.add(sent)?;
            let hdr_ptr: UserPtr<MsgHdr> = UserPtr::new(entry.addr());
            match send_one(open, socket, hdr_ptr, flags) {
                Ok(n) => {
                    UserPtr::<u32>::new(entry.addr() + core::mem::size_of::<MsgHdr>() as u64).write(&(n as u32))?;
                    sent += 1;
                }
                Err(e) if sent == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(sent as u64)
    })
}

fn sys_recvmmsg(fd: Fd, vec: UserPtr<MMsgHdr>, count: u32, flags: u32, timeout: UserPtr<Timespec>) -> KResult<u64> {
    let count = count.min(MAX_MMSG) as usize;
    let deadline = if timeout.is_null() {
        None
    } else {
        let ns = timeout.read()?.to_ns().ok_or(Errno::EINVAL)?;
        Some(crate::time::since_boot_ns().saturating_add(ns))
    };
    with_socket(fd, |open, socket| {
        let mut got = 0;
        let mut flags = flags;
        while got < count {
            let entry = vec.add(got)?;
            match recv_one(open, socket, UserPtr::new(entry.addr()), flags) {
                Ok(n) => {
                    UserPtr::<u32>::new(entry.addr() + core::mem::size_of::<MsgHdr>() as u64).write(&(n as u32))?;
                    got += 1;
                }
                Err(e) if got == 0 => return Err(e),
                Err(_) => break,
            }
            if flags & MSG_WAITFORONE != 0 {
                flags |= MSG_DONTWAIT;
            }
            // Linux checks the timeout only after each datagram.
            if deadline.is_some_and(|d| crate::time::since_boot_ns() >= d) {
                break;
            }
        }
        Ok(got as u64)
    })
}
