//! The socket calls that set sockets up: socket, socketpair, bind, connect, listen, accept,
//! accept4, shutdown, getsockname, getpeername, setsockopt, getsockopt. They decode and check
//! user arguments and run `net`'s operations; the data calls are in `socket_msg.rs`.

use exo_abi::fcntl::O_NONBLOCK;
use exo_abi::socket::*;
use exo_abi::{nr, Errno, KResult};

use super::args::{typed, Fd};
use super::fs_rw::file;
use super::{task, Handler};
use crate::files::file::OpenFile;
use crate::net::{self, SockAddr, Socket};
use crate::uaccess::{UserPtr, UserSlice};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // partial: AF_UNIX (stream, dgram, seqpacket), AF_INET (TCP, UDP, raw ICMP for root, ICMP ping sockets); SOCK_NONBLOCK/SOCK_CLOEXEC; AF_INET6 and others EAFNOSUPPORT ([net.md](net.md))
    t[nr::SOCKET] = typed!(sys_socket);
    // full: AF_UNIX only (EOPNOTSUPP for AF_INET, as Linux)
    t[nr::SOCKETPAIR] = typed!(sys_socketpair);
    // full: unix paths (socket inode with the umask, EADDRINUSE), abstract and autobind names; inet addresses and ports (EADDRINUSE, EADDRNOTAVAIL, SO_REUSEADDR, ephemeral ports)
    t[nr::BIND] = typed!(sys_bind);
    // full: blocking and non-blocking (EINPROGRESS then SO_ERROR), SO_SNDTIMEO; unix paths need write permission; datagram connect filters senders
    t[nr::CONNECT] = typed!(sys_connect);
    // full: backlog clamped to 4,096
    t[nr::LISTEN] = typed!(sys_listen);
    // full: see accept4
    t[nr::ACCEPT] = typed!(sys_accept);
    // full: SOCK_NONBLOCK, SOCK_CLOEXEC; peer address with Linux's length rule
    t[nr::ACCEPT4] = typed!(sys_accept4);
    // full: SHUT_RD/WR/RDWR; POLLRDHUP/POLLHUP
    t[nr::SHUTDOWN] = typed!(sys_shutdown);
    // full
    t[nr::GETSOCKNAME] = typed!(sys_getsockname);
    // full: ENOTCONN when not connected
    t[nr::GETPEERNAME] = typed!(sys_getpeername);
    // full: SOL_SOCKET (REUSEADDR, KEEPALIVE, SNDBUF, RCVBUF, RCVTIMEO, SNDTIMEO, PASSCRED, LINGER, BROADCAST, …), TCP_NODELAY and TCP keep-alive options; ENOPROTOOPT otherwise
    t[nr::SETSOCKOPT] = typed!(sys_setsockopt);
    // full: also SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ERROR, SO_ACCEPTCONN, SO_PEERCRED
    t[nr::GETSOCKOPT] = typed!(sys_getsockopt);
}

/// Runs `f` with the socket behind `fd` and its open file (EBADF: not open; ENOTSOCK: not a
/// socket).
pub(super) fn with_socket<R>(fd: Fd, f: impl FnOnce(&OpenFile, &Socket) -> KResult<R>) -> KResult<R> {
    let open = file(fd)?;
    let socket = net::socket::of(&open).ok_or(Errno::ENOTSOCK)?;
    f(&open, socket)
}

/// Splits socket()'s `type` into the kind and the open flags (EINVAL for unknown flags).
fn split_type(kind: u32) -> KResult<(u32, u32, bool)> {
    if kind & !(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = if kind & SOCK_NONBLOCK != 0 { O_NONBLOCK } else { 0 };
    Ok((kind & SOCK_TYPE_MASK, flags, kind & SOCK_CLOEXEC != 0))
}

/// The domain argument: an `int` whose family must fit `sa_family_t`.
fn domain(domain: i32) -> KResult<u16> {
    u16::try_from(domain).map_err(|_| Errno::EAFNOSUPPORT)
}

fn sys_socket(dom: i32, kind: u32, protocol: i32) -> KResult<u64> {
    let (kind, flags, cloexec) = split_type(kind)?;
    let protocol = u32::try_from(protocol).map_err(|_| Errno::EINVAL)?;
    let socket = net::create(domain(dom)?, kind, protocol)?;
    super::fs::install(&*task()?, socket.open(flags), cloexec)
}

fn sys_socketpair(dom: i32, kind: u32, protocol: i32, fds: UserPtr<[i32; 2]>) -> KResult<u64> {
    let (kind, flags, cloexec) = split_type(kind)?;
    let protocol = u32::try_from(protocol).map_err(|_| Errno::EINVAL)?;
    fds.check(1)?;
    let (a, b) = net::create_pair(domain(dom)?, kind, protocol)?;
    super::fs::install_pair(a.open(flags), b.open(flags), cloexec, fds)
}

fn sys_bind(fd: Fd, addr: UserPtr<u8>, len: u32) -> KResult<u64> {
    with_socket(fd, |_, socket| {
        let addr = SockAddr::read_user(addr, len)?;
        socket.ops.bind(&addr).map(|_| 0)
    })
}

fn sys_connect(fd: Fd, addr: UserPtr<u8>, len: u32) -> KResult<u64> {
    // Linux reads the address (EFAULT, EINVAL) before it checks that `fd` is a socket.
    let open = file(fd)?;
    let addr = SockAddr::read_user(addr, len)?;
    let socket = net::socket::of(&open).ok_or(Errno::ENOTSOCK)?;
    socket.ops.connect(&addr, open.nonblocking(), socket.snd_timeout()).map(|_| 0)
}

fn sys_listen(fd: Fd, backlog: i32) -> KResult<u64> {
    // Linux clamps the backlog to somaxconn; a negative one means "the most".
    let backlog = if backlog < 0 { SOMAXCONN } else { (backlog as u32).min(SOMAXCONN) };
    with_socket(fd, |_, socket| socket.ops.listen(backlog).map(|_| 0))
}

fn sys_accept(fd: Fd, addr: UserPtr<u8>, len: UserPtr<u32>) -> KResult<u64> {
    accept(fd, addr, len, 0)
}

fn sys_accept4(fd: Fd, addr: UserPtr<u8>, len: UserPtr<u32>, flags: u32) -> KResult<u64> {
    accept(fd, addr, len, flags)
}

fn accept(fd: Fd, addr: UserPtr<u8>, len: UserPtr<u32>, flags: u32) -> KResult<u64> {
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if !addr.is_null() {
        // Linux checks the length word before it waits.
        if (len.read()? as i32) < 0 {
            return Err(Errno::EINVAL);
        }
    }
    let me = task()?;
    let (new, peer) = with_socket(fd, |open, socket| {
        let (ops, peer) = socket.ops.accept(open.nonblocking(), socket.rcv_timeout())?;
        Ok((net::accepted(socket, ops), peer))
    })?;
    let open_flags = if flags & SOCK_NONBLOCK != 0 { O_NONBLOCK } else { 0 };
    let new_fd = super::fs::install(&me, new.open(open_flags), flags & SOCK_CLOEXEC != 0)?;
    if let Err(e) = peer.write_user(addr, len) {
        // Linux keeps the connection but fails the call: the descriptor is closed again.
        let _ = me.files().close(new_fd as i32);
        return Err(e);
    }
    Ok(new_fd)
}

fn sys_shutdown(fd: Fd, how: i32) -> KResult<u64> {
    if !(0..=2).contains(&how) {
        return Err(Errno::EINVAL);
    }
    with_socket(fd, |_, socket| socket.ops.shutdown(how as u32).map(|_| 0))
}

fn sys_getsockname(fd: Fd, addr: UserPtr<u8>, len: UserPtr<u32>) -> KResult<u64> {
    let name = with_socket(fd, |_, socket| socket.ops.local_addr())?;
    write_name(&name, addr, len)
}

fn sys_getpeername(fd: Fd, addr: UserPtr<u8>, len: UserPtr<u32>) -> KResult<u64> {
    let name = with_socket(fd, |_, socket| socket.ops.peer_addr())?;
    write_name(&name, addr, len)
}

/// getsockname/getpeername store the name with EFAULT for a null pointer (unlike accept).
fn write_name(name: &SockAddr, addr: UserPtr<u8>, len: UserPtr<u32>) -> KResult<u64> {
    if len.is_null() || addr.is_null() {
        return Err(Errno::EFAULT);
    }
    name.write_user(addr, len).map(|_| 0)
}

/// Largest option value setsockopt/getsockopt move (every option Exo-OS has is smaller).
const MAX_OPTION: usize = 256;

fn sys_setsockopt(fd: Fd, level: i32, name: i32, value: UserPtr<u8>, len: u32) -> KResult<u64> {
    let len = len as i32;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let mut buf = [0u8; MAX_OPTION];
    let n = (len as usize).min(MAX_OPTION);
    if n > 0 {
        UserSlice::new(value, n)?.read_into(&mut buf[..n])?;
    }
    with_socket(fd, |_, socket| socket.setsockopt(level, name, &buf[..n]).map(|_| 0))
}

fn sys_getsockopt(fd: Fd, level: i32, name: i32, value: UserPtr<u8>, len: UserPtr<u32>) -> KResult<u64> {
    let room = len.read()? as i32;
    if room < 0 {
        return Err(Errno::EINVAL);
    }
    let mut buf = [0u8; MAX_OPTION];
    let room = (room as usize).min(MAX_OPTION);
    let n = with_socket(fd, |_, socket| socket.getsockopt(level, name, &mut buf[..room]))?;
    let n = n.min(room);
    if n > 0 {
        UserSlice::new(value, n)?.write_from(&buf[..n])?;
    }
    len.write(&(n as u32)).map(|_| 0)
}
