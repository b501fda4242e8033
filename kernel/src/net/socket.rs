//! The socket object: what a socket descriptor refers to. [`Socket`] is the open-file kind of
//! every socket (read/write, poll, stat, ioctl) and owns what every family shares — the
//! family/type/protocol triple, SO_RCVTIMEO/SO_SNDTIMEO, SIGPIPE on EPIPE; the family's own
//! behaviour is a [`SocketOps`] (AF_UNIX in `net::unix`, AF_INET/AF_INET6 in `net::inet`).
//!
//! Blocking: a protocol waits itself (interruptibly: ERESTARTSYS on a signal, EAGAIN when the
//! call is non-blocking or its timeout passes), with the `nonblocking` and `timeout_ns` the
//! call carries. It never holds a spin lock across a `MsgData` copy.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::socket::*;
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};

use super::addr::SockAddr;
use super::data::MsgData;
use crate::files::file::{FileOps, OpenFile, PollBits};
use crate::sched::pollwait::PollTable;
use crate::uaccess::{UserArg, UserSlice};

/// One send: the bytes, the destination (sendto/sendmsg's name), the control messages (raw
/// `cmsghdr` bytes, at most [`MAX_CONTROL`]), the MSG_* flags and how to wait.
pub struct SendMsg<'a> {
    pub data: MsgData<'a>,
    pub to: Option<SockAddr>,
    pub control: Vec<u8>,
    pub flags: u32,
    /// O_NONBLOCK on the file or MSG_DONTWAIT.
    pub nonblocking: bool,
    /// SO_SNDTIMEO (None: wait forever).
    pub timeout_ns: Option<u64>,
}

/// One receive: the buffer, flags and how to wait in; what the protocol reports out.
pub struct RecvMsg<'a> {
    pub data: MsgData<'a>,
    pub flags: u32,
    pub nonblocking: bool,
    /// SO_RCVTIMEO (None: wait forever).
    pub timeout_ns: Option<u64>,
    /// The room the caller gave for control messages (recvmsg's msg_controllen; 0 otherwise).
    pub control_space: usize,
    /// Out: the sender's address (datagrams; None: the caller's name buffer is left empty).
    pub from: Option<SockAddr>,
    /// Out: control messages, at most `control_space` bytes (MSG_CTRUNC in `msg_flags` when
    /// some did not fit).
    pub control: Vec<u8>,
    /// Out: recvmsg's msg_flags (MSG_TRUNC, MSG_CTRUNC, MSG_EOR).
    pub msg_flags: u32,
}

impl<'a> RecvMsg<'a> {
    pub fn new(data: MsgData<'a>, flags: u32, nonblocking: bool, timeout_ns: Option<u64>, control_space: usize) -> RecvMsg<'a> {
        RecvMsg { data, flags, nonblocking, timeout_ns, control_space, from: None, control: Vec::new(), msg_flags: 0 }
    }
}

/// Most control-message bytes one sendmsg may carry (Linux's optmem_max is 20 KiB; 253
/// descriptors take 1,028).
pub const MAX_CONTROL: usize = 20 * 1024;

/// What a socket family implements. Every method has Linux's errno for a socket kind that does
/// not support it.
pub trait SocketOps: Send + Sync {
    fn bind(&self, _addr: &SockAddr) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    fn connect(&self, _addr: &SockAddr, _nonblocking: bool, _timeout_ns: Option<u64>) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    fn listen(&self, _backlog: u32) -> KResult<()> {
        Err(Errno::EOPNOTSUPP)
    }
    /// The next connection and the peer's address.
    fn accept(&self, _nonblocking: bool, _timeout_ns: Option<u64>) -> KResult<(Arc<dyn SocketOps>, SockAddr)> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Returns the bytes sent. EPIPE is returned, not signalled: [`Socket`] raises SIGPIPE.
    fn send(&self, msg: &mut SendMsg) -> KResult<usize>;
    /// Returns what recvmsg returns (a datagram's full length with MSG_TRUNC).
    fn recv(&self, msg: &mut RecvMsg) -> KResult<usize>;
    fn shutdown(&self, _how: u32) -> KResult<()> {
        Err(Errno::ENOTCONN)
    }
    fn local_addr(&self) -> KResult<SockAddr>;
    fn peer_addr(&self) -> KResult<SockAddr> {
        Err(Errno::ENOTCONN)
    }
    /// An option outside what [`Socket`] answers itself.
    fn setsockopt(&self, _level: i32, _name: i32, _value: &[u8]) -> KResult<()> {
        Err(Errno::ENOPROTOOPT)
    }
    /// Writes the option's value into `out` (already sized to the caller's room, at most 256
    /// bytes) and returns its length.
    fn getsockopt(&self, _level: i32, _name: i32, _out: &mut [u8]) -> KResult<usize> {
        Err(Errno::ENOPROTOOPT)
    }
    fn poll(&self) -> PollBits;
    fn poll_register(&self, table: &mut PollTable) -> KResult<()>;
    fn poll_events(&self) -> u64 {
        0
    }
    /// A socket ioctl (FIONREAD, SIOCOUTQ, ...); ENOTTY lets the interface requests (SIOCGIF*)
    /// be tried.
    fn ioctl(&self, _request: u32, _arg: UserArg) -> KResult<u64> {
        Err(Errno::ENOTTY)
    }
    /// The last descriptor is closed.
    fn release(&self) {}
    /// The family-specific value behind `Any` (SCM_RIGHTS needs to recognise AF_UNIX sockets).
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        None
    }
    /// The inode number the socket shows in fstat and /proc (None: the socket layer picks
    /// one). AF_UNIX gives its own, so that /proc/net/unix and `socket:[N]` agree.
    fn ino(&self) -> Option<u64> {
        None
    }
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

/// A socket: the open-file kind behind every socket descriptor.
pub struct Socket {
    pub ops: Arc<dyn SocketOps>,
    pub domain: u16,
    /// SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET or SOCK_RAW.
    pub kind: u32,
    pub protocol: u32,
    ino: u64,
    /// SO_RCVTIMEO and SO_SNDTIMEO in nanoseconds (0: none).
    rcv_timeout: AtomicU64,
    snd_timeout: AtomicU64,
}

impl Socket {
    pub fn new(ops: Arc<dyn SocketOps>, domain: u16, kind: u32, protocol: u32) -> Socket {
        let ino = ops.ino().unwrap_or_else(|| NEXT_INO.fetch_add(1, Ordering::Relaxed));
        Socket {
            ops,
            domain,
            kind,
            protocol,
            ino,
            rcv_timeout: AtomicU64::new(0),
            snd_timeout: AtomicU64::new(0),
        }
    }

    /// A new open file for the socket, with O_RDWR and `flags` (O_NONBLOCK).
    pub fn open(self, flags: u32) -> Arc<OpenFile> {
        OpenFile::new(Arc::new(self), exo_abi::fcntl::O_RDWR | flags)
    }

    pub fn rcv_timeout(&self) -> Option<u64> {
        Some(self.rcv_timeout.load(Ordering::Relaxed)).filter(|&t| t != 0)
    }

    pub fn snd_timeout(&self) -> Option<u64> {
        Some(self.snd_timeout.load(Ordering::Relaxed)).filter(|&t| t != 0)
    }

    /// Sends, raising SIGPIPE on EPIPE unless MSG_NOSIGNAL — on stream sockets only: Linux's
    /// datagram and seqpacket sends return EPIPE without the signal.
    pub fn send(&self, msg: &mut SendMsg) -> KResult<usize> {
        let result = self.ops.send(msg);
        if result == Err(Errno::EPIPE) && msg.flags & MSG_NOSIGNAL == 0 && self.kind == SOCK_STREAM {
            if let Some(task) = crate::process::current() {
                let info = exo_abi::signal::SigInfo::new(exo_abi::signal::SIGPIPE, exo_abi::signal::SI_USER);
                crate::process::signal::send_to_task(&task, exo_abi::signal::SIGPIPE, info);
            }
        }
        result
    }

    pub fn recv(&self, msg: &mut RecvMsg) -> KResult<usize> {
        self.ops.recv(msg)
    }

    /// setsockopt: the options every family shares here, the rest by the family.
    pub fn setsockopt(&self, level: i32, name: i32, value: &[u8]) -> KResult<()> {
        if level == SOL_SOCKET {
            match name {
                SO_RCVTIMEO | SO_SNDTIMEO => {
                    let tv: exo_abi::types::Timeval = read_option(value)?;
                    if tv.tv_usec < 0 || tv.tv_usec >= 1_000_000 {
                        return Err(Errno::EDOM);
                    }
                    // A negative time means "no timeout", as in Linux.
                    let ns = if tv.tv_sec < 0 { 0 } else { tv.to_ns().unwrap_or(u64::MAX) };
                    let slot = if name == SO_RCVTIMEO { &self.rcv_timeout } else { &self.snd_timeout };
                    slot.store(ns, Ordering::Relaxed);
                    return Ok(());
                }
                SO_TYPE | SO_DOMAIN | SO_PROTOCOL | SO_ACCEPTCONN | SO_PEERCRED => return Err(Errno::ENOPROTOOPT),
                _ => {}
            }
        }
        self.ops.setsockopt(level, name, value)
    }

    /// getsockopt into `out` (sized to the caller's room); returns the value's length.
    pub fn getsockopt(&self, level: i32, name: i32, out: &mut [u8]) -> KResult<usize> {
        if level == SOL_SOCKET {
            match name {
                SO_TYPE => return put_option(out, &(self.kind as i32)),
                SO_DOMAIN => return put_option(out, &(self.domain as i32)),
                SO_PROTOCOL => return put_option(out, &(self.protocol as i32)),
                SO_RCVTIMEO | SO_SNDTIMEO => {
                    let ns = if name == SO_RCVTIMEO { self.rcv_timeout.load(Ordering::Relaxed) } else { self.snd_timeout.load(Ordering::Relaxed) };
                    return put_option(out, &exo_abi::types::Timeval::from_ns(ns));
                }
                _ => {}
            }
        }
        self.ops.getsockopt(level, name, out)
    }
}

/// An option value of type `T` from setsockopt's bytes (EINVAL when shorter; an `int` option
/// may be given in fewer bytes only as Linux allows — callers of `read_int_option` handle that).
pub fn read_option<T: bytemuck::AnyBitPattern>(value: &[u8]) -> KResult<T> {
    let size = core::mem::size_of::<T>();
    if value.len() < size {
        return Err(Errno::EINVAL);
    }
    Ok(bytemuck::pod_read_unaligned(&value[..size]))
}

/// An `int` option (Linux takes an `int` when optlen ≥ 4, and EINVAL below).
pub fn read_int_option(value: &[u8]) -> KResult<i32> {
    read_option::<i32>(value)
}

/// Stores `value` into getsockopt's `out`, cut to its room; returns the length stored.
pub fn put_option<T: bytemuck::NoUninit>(out: &mut [u8], value: &T) -> KResult<usize> {
    let bytes = bytemuck::bytes_of(value);
    let n = bytes.len().min(out.len());
    out[..n].copy_from_slice(&bytes[..n]);
    Ok(n)
}

/// The socket behind an open file (None: ENOTSOCK).
pub fn of(file: &OpenFile) -> Option<&Socket> {
    file.ops.as_any()?.downcast_ref::<Socket>()
}

impl FileOps for Socket {
    fn direct_user_io(&self) -> bool {
        true
    }

    fn read_user(&self, file: &OpenFile, buf: UserSlice<u8>) -> KResult<usize> {
        let mut msg = RecvMsg::new(MsgData::user(buf), 0, file.nonblocking(), self.rcv_timeout(), 0);
        self.recv(&mut msg)
    }

    fn write_user(&self, file: &OpenFile, buf: UserSlice<u8>) -> KResult<usize> {
        let mut msg = SendMsg { data: MsgData::user(buf), to: None, control: Vec::new(), flags: 0, nonblocking: file.nonblocking(), timeout_ns: self.snd_timeout() };
        self.send(&mut msg)
    }

    fn read(&self, file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        let mut msg = RecvMsg::new(MsgData::kernel_out(buf), 0, file.nonblocking(), self.rcv_timeout(), 0);
        self.recv(&mut msg)
    }

    fn write(&self, file: &OpenFile, buf: &[u8]) -> KResult<usize> {
        let mut msg = SendMsg { data: MsgData::kernel_in(buf), to: None, control: Vec::new(), flags: 0, nonblocking: file.nonblocking(), timeout_ns: self.snd_timeout() };
        self.send(&mut msg)
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(Stat { st_mode: exo_abi::mode::S_IFSOCK | 0o777, st_ino: self.ino, st_nlink: 1, st_blksize: 4096, ..Stat::default() })
    }

    fn ioctl(&self, _file: &OpenFile, request: u32, arg: UserArg) -> KResult<u64> {
        match self.ops.ioctl(request, arg) {
            Err(Errno::ENOTTY) => super::inet::interface_ioctl(request, arg),
            other => other,
        }
    }

    fn poll(&self) -> PollBits {
        self.ops.poll()
    }

    fn poll_register(&self, table: &mut PollTable) -> KResult<()> {
        self.ops.poll_register(table)
    }

    fn poll_events(&self) -> u64 {
        self.ops.poll_events()
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    fn release(&self) {
        self.ops.release();
    }
}
