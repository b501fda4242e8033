//! Socket options of AF_INET sockets that TCP, UDP and ICMP share (SOL_SOCKET and IPPROTO_IP
//! ones), and the buffer sizes they give. SO_RCVBUF/SO_SNDBUF follow Linux: the value is
//! clamped, doubled when stored, and getsockopt returns the doubled value; smoltcp's buffers
//! get the undoubled size, fixed when the connection (or bound datagram socket) is made.

use exo_abi::socket::*;
use exo_abi::{Errno, KResult};

use crate::net::socket::{put_option, read_int_option, read_option};

/// Default buffer sizes (bytes of payload smoltcp keeps each way).
pub const TCP_DEFAULT_BUF: usize = 64 * 1024;
pub const UDP_DEFAULT_BUF: usize = 64 * 1024;
/// Linux's SOCK_MIN_RCVBUF/SOCK_MIN_SNDBUF (halved) and our ceiling (Linux rmem_max-like).
const MIN_BUF: usize = 2048;
const MAX_BUF: usize = 1024 * 1024;

/// Options shared by every AF_INET socket.
#[derive(Clone, Copy)]
pub struct SockOpts {
    pub reuse_addr: bool,
    pub reuse_port: bool,
    pub keepalive: bool,
    pub broadcast: bool,
    pub nodelay: bool,
    pub linger: Linger,
    /// Payload bytes of the receive and send buffers.
    pub rcvbuf: usize,
    pub sndbuf: usize,
    pub ttl: Option<u8>,
    pub tos: i32,
    pub keep_idle: i32,
    pub keep_intvl: i32,
    pub keep_cnt: i32,
    pub rcvlowat: i32,
}

impl SockOpts {
    pub fn new(default_buf: usize) -> SockOpts {
        SockOpts {
            reuse_addr: false,
            reuse_port: false,
            keepalive: false,
            broadcast: false,
            nodelay: false,
            linger: Linger::default(),
            rcvbuf: default_buf,
            sndbuf: default_buf,
            ttl: None,
            tos: 0,
            keep_idle: 7200,
            keep_intvl: 75,
            keep_cnt: 9,
            rcvlowat: 1,
        }
    }

    /// Whether the new binding may share a port (SO_REUSEADDR or SO_REUSEPORT).
    pub fn reuse(&self) -> bool {
        self.reuse_addr || self.reuse_port
    }
}

/// What a setsockopt changed that a live smoltcp socket must be told.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Nothing,
    Reuse,
    Nodelay,
    Keepalive,
    Ttl,
}

fn flag(value: &[u8]) -> KResult<bool> {
    Ok(read_int_option(value)? != 0)
}

/// setsockopt of a shared option; ENOPROTOOPT when it is not one (the protocol may know it).
pub fn set(opts: &mut SockOpts, level: i32, name: i32, value: &[u8]) -> KResult<Changed> {
    match (level, name) {
        (SOL_SOCKET, SO_REUSEADDR) => opts.reuse_addr = flag(value)?,
        (SOL_SOCKET, SO_REUSEPORT) => opts.reuse_port = flag(value)?,
        (SOL_SOCKET, SO_KEEPALIVE) => {
            opts.keepalive = flag(value)?;
            return Ok(Changed::Keepalive);
        }
        (SOL_SOCKET, SO_BROADCAST) => opts.broadcast = flag(value)?,
        (SOL_SOCKET, SO_RCVBUF | SO_RCVBUFFORCE) => opts.rcvbuf = (read_int_option(value)?.max(0) as usize).clamp(MIN_BUF, MAX_BUF),
        (SOL_SOCKET, SO_SNDBUF | SO_SNDBUFFORCE) => opts.sndbuf = (read_int_option(value)?.max(0) as usize).clamp(MIN_BUF, MAX_BUF),
        (SOL_SOCKET, SO_LINGER) => opts.linger = read_option::<Linger>(value)?,
        (SOL_SOCKET, SO_RCVLOWAT) => opts.rcvlowat = read_int_option(value)?.max(1),
        (SOL_SOCKET, SO_SNDLOWAT) => return Err(Errno::ENOPROTOOPT),
        (SOL_SOCKET, SO_OOBINLINE | SO_DONTROUTE | SO_PRIORITY | SO_DEBUG | SO_TIMESTAMP | SO_NO_CHECK | SO_PASSCRED | SO_BSDCOMPAT) => {
            read_int_option(value)?;
        }
        (SOL_IP, IP_TTL) => {
            let ttl = read_int_option(value)?;
            opts.ttl = match ttl {
                -1 => None,
                1..=255 => Some(ttl as u8),
                _ => return Err(Errno::EINVAL),
            };
            return Ok(Changed::Ttl);
        }
        (SOL_IP, IP_TOS) => opts.tos = read_int_option(value)? & 0xff,
        (SOL_IP, IP_RECVERR | IP_MTU_DISCOVER | IP_MULTICAST_TTL | IP_MULTICAST_LOOP) => {
            read_int_option(value)?;
        }
        (SOL_TCP, TCP_NODELAY) => {
            opts.nodelay = flag(value)?;
            return Ok(Changed::Nodelay);
        }
        (SOL_TCP, TCP_KEEPIDLE | TCP_KEEPINTVL | TCP_KEEPCNT) => {
            let v = read_int_option(value)?;
            if !(1..=32767).contains(&v) {
                return Err(Errno::EINVAL);
            }
            match name {
                TCP_KEEPIDLE => opts.keep_idle = v,
                TCP_KEEPINTVL => opts.keep_intvl = v,
                _ => opts.keep_cnt = v,
            }
            return Ok(Changed::Keepalive);
        }
        (SOL_TCP, TCP_CORK | TCP_QUICKACK | TCP_MAXSEG) => {
            read_int_option(value)?;
        }
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(if matches!(name, SO_REUSEADDR | SO_REUSEPORT) && level == SOL_SOCKET { Changed::Reuse } else { Changed::Nothing })
}

/// getsockopt of a shared option (ENOPROTOOPT: not one).
pub fn get(opts: &SockOpts, level: i32, name: i32, out: &mut [u8]) -> KResult<usize> {
    let int = |v: i32, out: &mut [u8]| put_option(out, &v);
    match (level, name) {
        (SOL_SOCKET, SO_REUSEADDR) => int(opts.reuse_addr as i32, out),
        (SOL_SOCKET, SO_REUSEPORT) => int(opts.reuse_port as i32, out),
        (SOL_SOCKET, SO_KEEPALIVE) => int(opts.keepalive as i32, out),
        (SOL_SOCKET, SO_BROADCAST) => int(opts.broadcast as i32, out),
        (SOL_SOCKET, SO_RCVBUF) => int((opts.rcvbuf * 2) as i32, out),
        (SOL_SOCKET, SO_SNDBUF) => int((opts.sndbuf * 2) as i32, out),
        (SOL_SOCKET, SO_LINGER) => put_option(out, &opts.linger),
        (SOL_SOCKET, SO_RCVLOWAT) => int(opts.rcvlowat, out),
        (SOL_SOCKET, SO_SNDLOWAT) => int(1, out),
        (SOL_SOCKET, SO_OOBINLINE | SO_DONTROUTE | SO_DEBUG | SO_PRIORITY | SO_TIMESTAMP) => int(0, out),
        (SOL_IP, IP_TTL) => int(i32::from(opts.ttl.unwrap_or(64)), out),
        (SOL_IP, IP_TOS) => int(opts.tos, out),
        (SOL_TCP, TCP_NODELAY) => int(opts.nodelay as i32, out),
        (SOL_TCP, TCP_KEEPIDLE) => int(opts.keep_idle, out),
        (SOL_TCP, TCP_KEEPINTVL) => int(opts.keep_intvl, out),
        (SOL_TCP, TCP_KEEPCNT) => int(opts.keep_cnt, out),
        (SOL_TCP, TCP_CORK | TCP_QUICKACK) => int(0, out),
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// The keep-alive interval smoltcp gets (None: off).
pub fn keepalive(opts: &SockOpts) -> Option<smoltcp::time::Duration> {
    opts.keepalive.then(|| smoltcp::time::Duration::from_secs(opts.keep_idle.max(1) as u64))
}
