//! AF_UNIX sockets: SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET, socketpair, filesystem and
//! abstract names, SCM_RIGHTS and credentials. See docs/net.md.
//!
//! A [`Unix`] is one socket. What a peer sends lands straight in the receiver's queue
//! ([`Rx`]): a byte ring for streams (one copy from the sender's memory into it), a queue of
//! records for datagrams and seqpackets. Files: `conn` (bind, listen, connect, accept,
//! shutdown, release), `names` (the abstract-name and filesystem-binding tables, autobind),
//! `stream` (stream data), `dgram` (datagram and seqpacket data, datagram connect), `scm`
//! (control messages, descriptors in flight, credentials), `opts` (options, ioctls, poll,
//! /proc/net/unix).
//!
//! Locks (docs/locking.md): `Unix::op` (sleeping, one socket's bind/connect/listen), then a
//! socket's `rx` (sleeping: user copies happen under it; never two at once), then the spin
//! locks — a socket's `conn` (never two at once), the name tables `names::ABSTRACT` and
//! `names::PATHS` (leaves, taken without `conn`), the in-flight counters. Nothing is dropped
//! that could release another socket (a passed descriptor) while any of these is held.

mod conn;
mod dgram;
mod names;
mod opts;
mod scm;
mod stream;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use exo_abi::socket::*;
use exo_abi::{Errno, KResult};
use exo_unixsock::addr::Name;
use exo_unixsock::stream::StreamQueue;

use super::socket::{RecvMsg, SendMsg, SocketOps};
use super::{SockAddr, Socket};
use crate::files::file::PollBits;
use crate::ipc::fusion::grant::Flight;
use crate::sched::pollwait::{PollQueue, PollTable};
use crate::sched::sync::Mutex;
use crate::sched::wait::{WaitOutcome, WaitQueue};
use crate::spinlock::SpinLock;
use crate::uaccess::UserArg;

pub use opts::proc_net_unix;
pub use scm::stats;

/// `sk_shutdown` bits.
pub(super) const RCV_SHUTDOWN: u32 = 1;
pub(super) const SEND_SHUTDOWN: u32 = 2;
pub(super) const SHUTDOWN_MASK: u32 = 3;

/// Connection states (`Unix::state`).
pub(super) const UNCONNECTED: u8 = 0;
pub(super) const LISTENING: u8 = 1;
pub(super) const CONNECTED: u8 = 2;
/// Released: the last descriptor is closed (or, for an unaccepted connection, its listener).
pub(super) const CLOSED: u8 = 3;

/// Most bytes a stream queue ever holds (the largest SO_SNDBUF).
const STREAM_MAX: usize = 2 * exo_unixsock::bufsize::MAX_BUF as usize;

/// Sockets alive now (/proc/net/unix_stats).
static LIVE: AtomicUsize = AtomicUsize::new(0);
static NEXT_INO: AtomicU64 = AtomicU64::new(1);

/// One datagram or seqpacket record.
pub(super) struct Record {
    pub data: Vec<u8>,
    /// The sender's name when it sent (None: unbound).
    pub from: Option<Name>,
    pub anc: Option<Box<scm::Anc>>,
    /// Bytes charged to the receiver's queue (data plus a fixed overhead).
    pub charge: usize,
}

/// A socket's receive queue.
pub(super) enum Rx {
    Stream(StreamQueue<Box<scm::Anc>>),
    Records(VecDeque<Record>),
}

/// Where a bound socket's name lives.
pub(super) enum Binding {
    /// An abstract name (key of `names::ABSTRACT`).
    Abstract,
    /// A filesystem socket node, kept alive so its inode number is not reused (its
    /// (st_dev, st_ino) is the key of `names::PATHS`).
    Path(#[allow(dead_code)] exo_vfs::PathRef, (u64, u64)),
    /// An accepted connection's copy of its listener's name (no table entry).
    Inherited,
}

/// Connection state under `Unix::conn`.
pub(super) struct Conn {
    pub peer: Option<Arc<Unix>>,
    pub name: Option<(Name, Binding)>,
    /// A listener's connections waiting for accept, oldest first.
    pub pending: VecDeque<Arc<Unix>>,
    pub backlog: u32,
    /// An unaccepted connection's listener.
    pub listener: Option<Weak<Unix>>,
    /// SO_PEERCRED: the peer's credentials when the connection was made.
    pub peercred: Option<Ucred>,
    /// A listener's credentials at listen(), given to the sockets that connect to it.
    pub listen_cred: Option<Ucred>,
}

/// One AF_UNIX socket.
pub struct Unix {
    pub kind: u32,
    me: Weak<Unix>,
    pub(super) op: Mutex<()>,
    pub(super) conn: SpinLock<Conn>,
    pub(super) rx: Mutex<Rx>,
    /// Bytes in `rx` (streams: the ring; records: their charges), stored under `rx`.
    pub(super) held: AtomicUsize,
    /// Records in `rx`, or a listener's pending connections.
    pub(super) count: AtomicUsize,
    pub(super) state: AtomicU8,
    pub(super) shut: AtomicU32,
    /// `sk_err` (ECONNRESET when the peer left with unread data), taken by the next call.
    pub(super) err: AtomicI32,
    /// Threads waiting for data, a connection, or a state change of this socket.
    pub(super) rx_wait: WaitQueue,
    /// Threads waiting for room in this socket's queue (its senders, connecters).
    pub(super) space_wait: WaitQueue,
    pub(super) rx_pollers: Arc<PollQueue>,
    pub(super) space_pollers: Arc<PollQueue>,
    pub(super) events: AtomicU64,
    pub(super) sndbuf: AtomicU32,
    pub(super) rcvbuf: AtomicU32,
    pub(super) passcred: AtomicBool,
    /// Descriptors in flight in this socket's queue / this socket in flight (the rule of
    /// `ipc::fusion::grant`, shared).
    pub(super) flight: Arc<Flight>,
    pub(super) ino: u64,
}

impl Unix {
    /// A new socket, listed in /proc/net/unix (ENOMEM when the list cannot grow).
    pub(super) fn new(kind: u32) -> KResult<Arc<Unix>> {
        opts::ALL.lock().try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        LIVE.fetch_add(1, Ordering::Relaxed);
        let rx = if kind == SOCK_STREAM { Rx::Stream(StreamQueue::new(STREAM_MAX)) } else { Rx::Records(VecDeque::new()) };
        let sock = Arc::new_cyclic(|me| Unix {
            kind,
            me: me.clone(),
            op: Mutex::new(()),
            conn: SpinLock::new(Conn { peer: None, name: None, pending: VecDeque::new(), backlog: 0, listener: None, peercred: None, listen_cred: None }),
            rx: Mutex::new(rx),
            held: AtomicUsize::new(0),
            count: AtomicUsize::new(0),
            state: AtomicU8::new(UNCONNECTED),
            shut: AtomicU32::new(0),
            err: AtomicI32::new(0),
            rx_wait: WaitQueue::new(),
            space_wait: WaitQueue::new(),
            rx_pollers: Arc::new(PollQueue::new()),
            space_pollers: Arc::new(PollQueue::new()),
            events: AtomicU64::new(0),
            sndbuf: AtomicU32::new(exo_unixsock::bufsize::DEFAULT_BUF),
            rcvbuf: AtomicU32::new(exo_unixsock::bufsize::DEFAULT_BUF),
            passcred: AtomicBool::new(false),
            flight: Arc::new(Flight::default()),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        });
        let mut all = opts::ALL.lock();
        // Inode numbers grow, so the list stays sorted by them.
        all.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        all.push((sock.ino, Arc::downgrade(&sock)));
        drop(all);
        Ok(sock)
    }

    /// This socket as an `Arc`. It always lives in one, and its methods are called through
    /// it; EBADF stands for the impossible case of a socket already being dropped.
    pub(super) fn arc(&self) -> KResult<Arc<Unix>> {
        self.me.upgrade().ok_or(Errno::EBADF)
    }

    pub(super) fn state(&self) -> u8 {
        self.state.load(Ordering::SeqCst)
    }

    pub(super) fn shut(&self) -> u32 {
        self.shut.load(Ordering::SeqCst)
    }

    pub(super) fn connection_oriented(&self) -> bool {
        self.kind != SOCK_DGRAM
    }

    /// The peer, if connected.
    #[inline]
    pub(super) fn peer(&self) -> Option<Arc<Unix>> {
        self.conn.lock().peer.clone()
    }

    /// The socket's own name.
    pub(super) fn name(&self) -> Option<Name> {
        self.conn.lock().name.as_ref().map(|(n, _)| *n)
    }

    /// Takes `sk_err` (0: none).
    pub(super) fn take_error(&self) -> i32 {
        if self.err.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        self.err.swap(0, Ordering::SeqCst)
    }

    /// Something a reader or poller of this socket waits for happened (data, a connection, a
    /// hang-up).
    #[inline]
    pub(super) fn readable_changed(&self) {
        self.events.fetch_add(1, Ordering::SeqCst);
        self.rx_wait.wake_all();
        self.rx_pollers.notify();
    }

    /// Room appeared in this socket's queue (or it went away): its senders may go on.
    #[inline]
    pub(super) fn space_changed(&self) {
        self.space_wait.wake_all();
        self.space_pollers.notify();
    }
}

impl Drop for Unix {
    fn drop(&mut self) {
        let mut all = opts::ALL.lock();
        if let Ok(i) = all.binary_search_by(|(ino, _)| ino.cmp(&self.ino)) {
            all.remove(i);
        }
        drop(all);
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Sockets alive now.
pub fn live_sockets() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Waits on `queue` until `ready()`: EAGAIN when `nonblocking` or the deadline passed,
/// ERESTARTSYS on a signal (EINTR with a timeout set, as Linux's `sock_intr_errno`).
pub(super) fn wait(queue: &WaitQueue, nonblocking: bool, timeout_ns: Option<u64>, ready: impl FnMut() -> bool) -> KResult<()> {
    if nonblocking {
        return Err(Errno::EAGAIN);
    }
    let deadline = timeout_ns.map(|t| crate::time::since_boot_ns().saturating_add(t));
    match queue.wait_interruptible(ready, crate::sched::signal_check(), deadline) {
        WaitOutcome::Ready => Ok(()),
        WaitOutcome::Interrupted => Err(if timeout_ns.is_some() { Errno::EINTR } else { Errno::ERESTARTSYS }),
        WaitOutcome::TimedOut => Err(Errno::EAGAIN),
    }
}

/// The address of an optional name (unnamed: the family alone).
pub(super) fn sockaddr(name: Option<Name>) -> SockAddr {
    match name {
        Some(name) => {
            let (bytes, len) = name.sockaddr();
            SockAddr::from_bytes(&bytes[..len])
        }
        None => SockAddr::unnamed(AF_UNIX),
    }
}

fn check_kind(kind: u32, protocol: u32) -> KResult<u32> {
    if protocol != 0 && protocol != u32::from(AF_UNIX) {
        return Err(Errno::EPROTONOSUPPORT);
    }
    match kind {
        SOCK_STREAM | SOCK_DGRAM | SOCK_SEQPACKET => Ok(kind),
        // Linux turns an AF_UNIX SOCK_RAW into a datagram socket.
        SOCK_RAW => Ok(SOCK_DGRAM),
        _ => Err(Errno::ESOCKTNOSUPPORT),
    }
}

/// socket(AF_UNIX, kind, protocol).
pub fn create(kind: u32, protocol: u32) -> KResult<Socket> {
    let kind = check_kind(kind, protocol)?;
    Ok(Socket::new(Unix::new(kind)?, AF_UNIX, kind, protocol))
}

/// socketpair(AF_UNIX, kind, protocol): two sockets connected to each other, each with the
/// caller's credentials as SO_PEERCRED.
pub fn create_pair(kind: u32, protocol: u32) -> KResult<(Socket, Socket)> {
    let kind = check_kind(kind, protocol)?;
    let (a, b) = (Unix::new(kind)?, Unix::new(kind)?);
    let cred = scm::current_peercred();
    for (x, y) in [(&a, &b), (&b, &a)] {
        let mut conn = x.conn.lock();
        conn.peer = Some(y.clone());
        conn.peercred = cred;
        drop(conn);
        x.state.store(CONNECTED, Ordering::SeqCst);
    }
    Ok((Socket::new(a, AF_UNIX, kind, protocol), Socket::new(b, AF_UNIX, kind, protocol)))
}

impl SocketOps for Unix {
    fn bind(&self, addr: &SockAddr) -> KResult<()> {
        conn::bind(self, addr)
    }

    fn connect(&self, addr: &SockAddr, nonblocking: bool, timeout_ns: Option<u64>) -> KResult<()> {
        if self.kind == SOCK_DGRAM {
            dgram::connect(self, addr)
        } else {
            conn::connect(self, addr, nonblocking, timeout_ns)
        }
    }

    fn listen(&self, backlog: u32) -> KResult<()> {
        conn::listen(self, backlog)
    }

    fn accept(&self, nonblocking: bool, timeout_ns: Option<u64>) -> KResult<(Arc<dyn SocketOps>, SockAddr)> {
        conn::accept(self, nonblocking, timeout_ns)
    }

    #[inline]
    fn send(&self, msg: &mut SendMsg) -> KResult<usize> {
        if self.kind == SOCK_STREAM {
            stream::send(self, msg)
        } else {
            dgram::send(self, msg)
        }
    }

    #[inline]
    fn recv(&self, msg: &mut RecvMsg) -> KResult<usize> {
        if self.kind == SOCK_STREAM {
            stream::recv(self, msg)
        } else {
            dgram::recv(self, msg)
        }
    }

    fn shutdown(&self, how: u32) -> KResult<()> {
        conn::shutdown(self, how)
    }

    fn local_addr(&self) -> KResult<SockAddr> {
        Ok(sockaddr(self.name()))
    }

    fn peer_addr(&self) -> KResult<SockAddr> {
        let peer = self.peer().ok_or(Errno::ENOTCONN)?;
        Ok(sockaddr(peer.name()))
    }

    fn setsockopt(&self, level: i32, name: i32, value: &[u8]) -> KResult<()> {
        opts::setsockopt(self, level, name, value)
    }

    fn getsockopt(&self, level: i32, name: i32, out: &mut [u8]) -> KResult<usize> {
        opts::getsockopt(self, level, name, out)
    }

    fn poll(&self) -> PollBits {
        opts::poll(self)
    }

    fn poll_register(&self, table: &mut PollTable) -> KResult<()> {
        table.add_shared(&self.rx_pollers)?;
        if let Some(peer) = self.peer() {
            table.add_shared(&peer.space_pollers)?;
        }
        Ok(())
    }

    fn poll_events(&self) -> u64 {
        self.events.load(Ordering::SeqCst)
    }

    fn ioctl(&self, request: u32, arg: UserArg) -> KResult<u64> {
        opts::ioctl(self, request, arg)
    }

    fn release(&self) {
        conn::release(self);
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    fn ino(&self) -> Option<u64> {
        Some(self.ino)
    }
}

/// The AF_UNIX socket behind an open file, if it is one.
pub(super) fn of(file: &crate::files::file::OpenFile) -> Option<Arc<Unix>> {
    let socket = super::socket::of(file)?;
    socket.ops.as_any()?.downcast_ref::<Unix>().and_then(|u| u.arc().ok())
}
