//! AF_INET SOCK_STREAM: a user socket over smoltcp TCP sockets. A socket is idle (maybe
//! bound), listening (`tcp_listen.rs`: a pool of smoltcp listeners per interface and the
//! connections waiting for accept), or one connection (one smoltcp socket in the set of the
//! interface its peer is reached by). Data moves straight between user memory and smoltcp's
//! buffers under the stack lock, and the interface is polled at once (lo: the peer has it
//! when send returns). Closing hands the smoltcp socket to the stack as an orphan that ends
//! the connection (FIN, TIME_WAIT) or, with unread data or SO_LINGER 0, resets it.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;
use core::task::Waker;

use exo_abi::poll::*;
use exo_abi::socket::*;
use exo_abi::{Errno, KResult};
use exo_inet::addr::{self, ConnectTo, Endpoint};
use exo_inet::ANY;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::{self, RecvError, State};
use smoltcp::time::Duration;

use super::opts::{self, Changed, SockOpts};
use super::stack::{self, ip, v4, Stack};
use super::tcp_listen::Listener;
use super::wake::{block, Refresh, Shared, Wait};
use crate::files::file::PollBits;
use crate::net::socket::{put_option, RecvMsg, SendMsg, SocketOps};
use crate::net::SockAddr;
use crate::sched::pollwait::PollTable;
use crate::spinlock::SpinLock;
use crate::uaccess::UserArg;

/// How long a connection waits for its peer (SYN unanswered, data unacknowledged).
const TIMEOUT: Duration = Duration::from_secs(120);
/// Delayed ACK on lo (an answer within it carries the ACK: two packets per round trip
/// instead of four) and on other interfaces.
const LO_ACK_DELAY_US: u64 = 1000;
const ACK_DELAY_US: u64 = 10_000;

/// A connection's smoltcp socket.
pub struct Conn {
    pub iface: usize,
    pub handle: SocketHandle,
    /// It reached ESTABLISHED once.
    pub established: bool,
    /// Its failure or reset was turned into an error already.
    pub failed: bool,
    /// When connect started (ns; to tell a timeout from a refusal).
    pub started: u64,
    /// A connect call reported the connection made (later ones give EISCONN).
    pub reported: bool,
    /// The last call that moved data was a receive.
    pub last_recv: bool,
    /// The application answers what it receives (it sent after a receive): its ACKs wait
    /// to ride on the answer. Cleared by two receives in a row (a bulk reader).
    pub pingpong: bool,
}

impl Conn {
    pub fn new(iface: usize, handle: SocketHandle, established: bool) -> Conn {
        Conn { iface, handle, established, failed: false, started: crate::time::since_boot_ns(), reported: established, last_recv: false, pingpong: false }
    }
}

pub enum Phase {
    Idle,
    Listen(Listener),
    Conn(Conn),
}

pub struct TcpState {
    /// The bound endpoint (port held in the stack's TCP port table under `id`).
    pub local: Option<Endpoint>,
    pub phase: Phase,
    pub opts: SockOpts,
    /// SO_ERROR.
    pub error: Option<Errno>,
    pub shut_rd: bool,
    pub shut_wr: bool,
}

pub struct TcpSocket {
    pub id: u64,
    pub shared: Arc<Shared>,
    pub waker: Waker,
    /// Taken only with the stack lock held, never across a user copy.
    pub st: SpinLock<TcpState>,
}

static NEXT_ID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

pub fn new_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl TcpSocket {
    pub fn new(opts: SockOpts, phase: Phase, local: Option<Endpoint>) -> Arc<TcpSocket> {
        Arc::new_cyclic(|me: &alloc::sync::Weak<TcpSocket>| {
            let owner: alloc::sync::Weak<dyn Refresh> = me.clone();
            let shared = Shared::new(owner);
            let waker = shared.waker();
            TcpSocket { id: new_id(), shared, waker, st: SpinLock::new(TcpState { local, phase, opts, error: None, shut_rd: false, shut_wr: false }) }
        })
    }

    fn conn(&self) -> Option<(usize, SocketHandle)> {
        match &self.st.lock().phase {
            Phase::Conn(c) => Some((c.iface, c.handle)),
            _ => None,
        }
    }

    /// A pending error (SO_ERROR), taken.
    fn take_error(&self) -> Option<Errno> {
        self.st.lock().error.take()
    }

    fn register(&self, stack: &mut Stack, iface: usize, handle: SocketHandle) {
        let s = stack.tcp(iface, handle);
        s.register_recv_waker(&self.waker);
        s.register_send_waker(&self.waker);
    }

    /// Starts a connection (Ok(false): one is in progress and the caller waits for it, or it
    /// completed since a non-blocking connect and this call reports it).
    fn start_connect(&self, stack: &mut Stack, to: ConnectTo, nonblocking: bool) -> KResult<bool> {
        let mut st = self.st.lock();
        match &st.phase {
            Phase::Listen(_) => return Err(Errno::EISCONN),
            Phase::Conn(c) => {
                let state = stack.tcp(c.iface, c.handle).state();
                match state {
                    State::SynSent | State::SynReceived if to != ConnectTo::Disconnect => {
                        return if nonblocking { Err(Errno::EALREADY) } else { Ok(false) };
                    }
                    State::Closed if !c.established => {
                        // A failed attempt: the socket may try again.
                        let (i, h) = (c.iface, c.handle);
                        st.phase = Phase::Idle;
                        stack.remove(i, h);
                    }
                    _ if to == ConnectTo::Disconnect => {
                        let (i, h) = (c.iface, c.handle);
                        st.phase = Phase::Idle;
                        stack.tcp(i, h).abort();
                        stack.orphan(i, h, None, self.id);
                        return Ok(true);
                    }
                    State::Established | State::CloseWait if !c.reported => return Ok(false),
                    _ => return Err(Errno::EISCONN),
                }
            }
            Phase::Idle => {}
        }
        let ConnectTo::To(mut to) = to else { return Ok(true) };
        if to.addr == ANY {
            to.addr = [127, 0, 0, 1];
        }
        if to.port == 0 {
            return Err(Errno::ECONNREFUSED);
        }
        let iface = stack.route(to.addr)?;
        let local = match st.local {
            Some(l) => l,
            None => {
                let port = stack.tcp_ports.bind(ANY, 0, self.id, st.opts.reuse()).map_err(|_| Errno::EADDRNOTAVAIL)?;
                let l = Endpoint::new(ANY, port);
                st.local = Some(l);
                l
            }
        };
        let handle = new_smoltcp(stack, iface, &st.opts)?;
        let src = (local.addr != ANY).then(|| ip(local.addr));
        let listen_ep = smoltcp::wire::IpListenEndpoint { addr: src, port: local.port };
        let cx = &mut stack.ifaces[iface];
        let result = cx.sockets.get_mut::<tcp::Socket>(handle).connect(cx.iface.context(), (ip(to.addr), to.port), listen_ep);
        if result.is_err() {
            stack.remove(iface, handle);
            return Err(Errno::EADDRNOTAVAIL);
        }
        st.phase = Phase::Conn(Conn::new(iface, handle, false));
        drop(st);
        self.register(stack, iface, handle);
        self.refresh(stack);
        stack.poll(iface);
        Ok(true)
    }
}

/// A new smoltcp TCP socket in interface `iface`'s set with the options' buffer sizes.
pub fn new_smoltcp(stack: &mut Stack, iface: usize, o: &SockOpts) -> KResult<SocketHandle> {
    stack::reserve(o.rcvbuf + o.sndbuf)?;
    let made = stack::buffer(o.rcvbuf).and_then(|rx| Ok((rx, stack::buffer(o.sndbuf)?)));
    let (rx, tx) = match made {
        Ok(b) => b,
        Err(e) => {
            stack::unreserve(o.rcvbuf + o.sndbuf);
            return Err(e);
        }
    };
    let mut s = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
    configure(&mut s, o, iface == 0);
    stack.add(iface, s).inspect_err(|_| stack::unreserve(o.rcvbuf + o.sndbuf))
}

/// Applies the options to a smoltcp socket (lo: no delayed ACK, it would cost round trips).
pub fn configure(s: &mut tcp::Socket, o: &SockOpts, loopback: bool) {
    s.set_nagle_enabled(!o.nodelay);
    s.set_ack_delay(Some(Duration::from_micros(if loopback { LO_ACK_DELAY_US } else { ACK_DELAY_US })));
    s.set_keep_alive(opts::keepalive(o));
    s.set_timeout(Some(TIMEOUT));
    s.set_hop_limit(o.ttl);
}

/// The readiness of a connection, and the error its end gives (once).
fn conn_state(stack: &mut Stack, c: &mut Conn, st_shut: (bool, bool)) -> (u32, Option<Errno>) {
    let s = stack.tcp(c.iface, c.handle);
    let state = s.state();
    if !matches!(state, State::SynSent | State::SynReceived | State::Closed) {
        c.established = true;
    }
    let mut error = None;
    if state == State::Closed && !c.failed {
        let fin = matches!(s.peek(0), Err(RecvError::Finished));
        if !c.established {
            c.failed = true;
            let elapsed = crate::time::since_boot_ns().saturating_sub(c.started);
            error = Some(if elapsed >= TIMEOUT.total_millis() * 1_000_000 { Errno::ETIMEDOUT } else { Errno::ECONNREFUSED });
        } else if !fin {
            c.failed = true;
            error = Some(Errno::ECONNRESET);
        }
    }
    let (shut_rd, shut_wr) = st_shut;
    let bits = match state {
        State::SynSent | State::SynReceived => 0,
        State::Closed if !c.established => POLLOUT | POLLERR | POLLHUP,
        _ => {
            let mut b = 0;
            let eof = matches!(s.peek(0), Err(RecvError::Finished));
            if s.can_recv() || !s.may_recv() || shut_rd {
                b |= POLLIN | POLLRDNORM;
            }
            if eof || shut_rd {
                b |= POLLRDHUP;
            }
            if (s.may_send() && s.send_queue() < s.send_capacity()) || shut_wr {
                b |= POLLOUT | POLLWRNORM;
            }
            if state == State::Closed || state == State::TimeWait || (shut_rd && shut_wr) {
                b |= POLLHUP;
            }
            if c.failed && c.established && !eof {
                b |= POLLERR;
            }
            b
        }
    };
    (bits as u32, error)
}

impl Refresh for TcpSocket {
    fn refresh(&self, stack: &mut Stack) {
        let mut st = self.st.lock();
        let shut = (st.shut_rd, st.shut_wr);
        let local = st.local.unwrap_or(Endpoint::UNSPECIFIED);
        let o = st.opts;
        let (bits, conn, error) = match &mut st.phase {
            Phase::Idle => ((POLLOUT | POLLHUP) as u32, None, None),
            Phase::Listen(l) => {
                l.replenish(stack, local, &o, &self.waker);
                (if l.ready(stack) { (POLLIN | POLLRDNORM) as u32 } else { 0 }, None, None)
            }
            Phase::Conn(c) => {
                let (bits, error) = conn_state(stack, c, shut);
                (bits, Some((c.iface, c.handle)), error)
            }
        };
        if error.is_some() {
            st.error = error;
        }
        let pending = st.error.is_some();
        drop(st);
        if let Some((i, h)) = conn {
            self.register(stack, i, h);
        }
        self.shared.publish(bits | if pending { POLLERR as u32 } else { 0 });
    }
}

impl TcpSocket {
    fn send_impl(&self, msg: &mut SendMsg) -> KResult<usize> {
        let total = msg.data.len();
        let wait = Wait::new(msg.nonblocking, msg.timeout_ns);
        let result = block(&self.shared, wait, Errno::EAGAIN, |stack| {
            let (i, h) = {
                let mut st = self.st.lock();
                if let Some(e) = st.error.take() {
                    return Some(Err(e));
                }
                if st.shut_wr {
                    return Some(Err(Errno::EPIPE));
                }
                match &mut st.phase {
                    Phase::Conn(c) => {
                        if c.last_recv {
                            c.pingpong = true;
                            c.last_recv = false;
                        }
                        (c.iface, c.handle)
                    }
                    _ => return Some(Err(Errno::EPIPE)),
                }
            };
            let s = stack.tcp(i, h);
            if matches!(s.state(), State::SynSent | State::SynReceived) {
                self.register(stack, i, h);
                return None;
            }
            if !s.may_send() {
                return Some(Err(Errno::EPIPE));
            }
            let before = msg.data.moved();
            let mut fault = None;
            while msg.data.remaining() > 0 {
                let r = s.send(|buf| match msg.data.copy_in(buf) {
                    Ok(n) => (n, n),
                    Err(e) => {
                        fault = Some(e);
                        (0, 0)
                    }
                });
                if !matches!(r, Ok(1..)) {
                    break;
                }
            }
            let moved = msg.data.moved();
            if moved > before {
                stack.poll(i);
            }
            if let Some(e) = fault {
                return Some(if moved > 0 { Ok(moved) } else { Err(e) });
            }
            if moved == total || (moved > 0 && (msg.nonblocking || crate::sched::fatal_signal_pending())) {
                return Some(Ok(moved));
            }
            self.register(stack, i, h);
            None
        });
        match result {
            Err(Errno::EAGAIN | Errno::EINTR | Errno::ERESTARTSYS) if msg.data.moved() > 0 => Ok(msg.data.moved()),
            other => other,
        }
    }

    fn recv_impl(&self, msg: &mut RecvMsg) -> KResult<usize> {
        let wait = Wait::new(msg.nonblocking, msg.timeout_ns);
        let peek = msg.flags & MSG_PEEK != 0;
        let waitall = msg.flags & MSG_WAITALL != 0 && !peek;
        let discard = msg.flags & MSG_TRUNC != 0;
        let result = block(&self.shared, wait, Errno::EAGAIN, |stack| {
            let (i, h) = {
                let mut st = self.st.lock();
                match &st.phase {
                    Phase::Conn(c) => {
                        let ih = (c.iface, c.handle);
                        if st.shut_rd && stack.tcp(ih.0, ih.1).recv_queue() == 0 {
                            return Some(Ok(msg.data.moved()));
                        }
                        ih
                    }
                    _ => {
                        let e = st.error.take();
                        return Some(Err(e.unwrap_or(Errno::ENOTCONN)));
                    }
                }
            };
            let s = stack.tcp(i, h);
            if matches!(s.state(), State::SynSent | State::SynReceived) {
                self.register(stack, i, h);
                return None;
            }
            let queued = s.recv_queue();
            let cap = s.recv_capacity();
            let mut fault = None;
            if peek {
                match s.peek(msg.data.remaining()) {
                    Ok(b) if !b.is_empty() => return Some(msg.data.copy_out(b)),
                    Ok(_) => {}
                    Err(RecvError::Finished) => return Some(Ok(0)),
                    Err(RecvError::InvalidState) => return Some(Err(self.take_error().unwrap_or(Errno::ENOTCONN))),
                }
            } else {
                while msg.data.remaining() > 0 {
                    let r = s.recv(|buf| {
                        if discard {
                            let n = buf.len().min(msg.data.remaining());
                            msg.data.skip(n);
                            return (n, n);
                        }
                        match msg.data.copy_out(buf) {
                            Ok(n) => (n, n),
                            Err(e) => {
                                fault = Some(e);
                                (0, 0)
                            }
                        }
                    });
                    match r {
                        Ok(1..) => {}
                        Ok(0) => break,
                        Err(RecvError::Finished) => return Some(Ok(msg.data.moved())),
                        Err(RecvError::InvalidState) => {
                            let moved = msg.data.moved();
                            if moved > 0 {
                                return Some(Ok(moved));
                            }
                            // A reset connection reports ECONNRESET once, then end of file.
                            return Some(match self.take_error() {
                                Some(e) => Err(e),
                                None => Ok(0),
                            });
                        }
                    }
                }
            }
            let moved = msg.data.moved();
            if moved > 0 && !peek {
                let drained = stack.tcp(i, h).recv_queue() == 0;
                let flush = {
                    let mut st = self.st.lock();
                    match &mut st.phase {
                        Phase::Conn(c) => {
                            if c.last_recv {
                                c.pingpong = false;
                            }
                            c.last_recv = true;
                            drained && !c.pingpong
                        }
                        _ => false,
                    }
                };
                if flush {
                    // A bulk reader drained its buffer: acknowledge now.
                    stack.poll_shifted(i, ACK_DELAY_US as i64);
                } else if queued * 2 >= cap {
                    // Reading made room: tell the peer at once if its window was closing.
                    stack.poll(i);
                }
            }
            if let Some(e) = fault {
                return Some(if moved > 0 { Ok(moved) } else { Err(e) });
            }
            if moved > 0 && (!waitall || msg.data.remaining() == 0 || crate::sched::fatal_signal_pending()) {
                return Some(Ok(moved));
            }
            self.register(stack, i, h);
            None
        });
        match result {
            Err(Errno::EAGAIN | Errno::EINTR | Errno::ERESTARTSYS) if msg.data.moved() > 0 => Ok(msg.data.moved()),
            other => other,
        }
    }
}

/// sockaddr_in of an endpoint.
pub fn sockaddr(e: Endpoint) -> SockAddr {
    SockAddr::from_bytes(&e.encode())
}

impl SocketOps for TcpSocket {
    fn bind(&self, a: &SockAddr) -> KResult<()> {
        let ep = addr::parse_bind(a.bytes())?;
        stack::with(|stack| {
            let mut st = self.st.lock();
            if st.local.is_some() || !matches!(st.phase, Phase::Idle) {
                return Err(Errno::EINVAL);
            }
            if ep.addr != ANY && !stack.is_local(ep.addr) {
                return Err(Errno::EADDRNOTAVAIL);
            }
            if ep.port != 0 && ep.port < 1024 && !super::is_root() {
                return Err(Errno::EACCES);
            }
            let port = stack.tcp_ports.bind(ep.addr, ep.port, self.id, st.opts.reuse())?;
            st.local = Some(Endpoint::new(ep.addr, port));
            Ok(())
        })
    }

    fn connect(&self, a: &SockAddr, nonblocking: bool, timeout_ns: Option<u64>) -> KResult<()> {
        let to = addr::parse_connect(a.bytes())?;
        let started = stack::with(|stack| self.start_connect(stack, to, nonblocking))?;
        if to == ConnectTo::Disconnect {
            return Ok(());
        }
        if nonblocking && started {
            // Linux reports EINPROGRESS even when the handshake (lo) already finished.
            return Err(Errno::EINPROGRESS);
        }
        let wait = Wait::new(nonblocking, timeout_ns);
        block(&self.shared, wait, Errno::EINPROGRESS, |stack| {
            let (i, h) = self.conn()?;
            match stack.tcp(i, h).state() {
                State::SynSent | State::SynReceived => {
                    self.register(stack, i, h);
                    None
                }
                State::Closed => {
                    self.refresh(stack);
                    Some(Err(self.take_error().unwrap_or(Errno::ECONNREFUSED)))
                }
                _ => {
                    if let Phase::Conn(c) = &mut self.st.lock().phase {
                        c.reported = true;
                    }
                    Some(Ok(()))
                }
            }
        })
    }

    fn listen(&self, backlog: u32) -> KResult<()> {
        stack::with(|stack| super::tcp_listen::listen(self, stack, backlog as usize))
    }

    fn accept(&self, nonblocking: bool, timeout_ns: Option<u64>) -> KResult<(Arc<dyn SocketOps>, SockAddr)> {
        super::tcp_listen::accept(self, Wait::new(nonblocking, timeout_ns))
    }

    fn send(&self, msg: &mut SendMsg) -> KResult<usize> {
        if msg.data.len() == 0 {
            return stack::with(|_| match &self.st.lock().phase {
                Phase::Conn(_) => Ok(0),
                _ => Err(Errno::EPIPE),
            });
        }
        self.send_impl(msg)
    }

    fn recv(&self, msg: &mut RecvMsg) -> KResult<usize> {
        if msg.flags & MSG_OOB != 0 {
            return Err(Errno::EINVAL);
        }
        if msg.data.len() == 0 {
            return Ok(0);
        }
        self.recv_impl(msg)
    }

    fn shutdown(&self, how: u32) -> KResult<()> {
        stack::with(|stack| {
            let mut st = self.st.lock();
            let (i, h) = match &st.phase {
                Phase::Conn(c) if c.established || stack.tcp(c.iface, c.handle).state() != State::Closed => (c.iface, c.handle),
                Phase::Listen(_) if how != SHUT_WR => {
                    drop(st);
                    super::tcp_listen::close(self, stack);
                    return Ok(());
                }
                _ => return Err(Errno::ENOTCONN),
            };
            if how != SHUT_WR {
                st.shut_rd = true;
            }
            if how != SHUT_RD && !st.shut_wr {
                st.shut_wr = true;
                stack.tcp(i, h).close();
            }
            drop(st);
            self.refresh(stack);
            stack.poll(i);
            Ok(())
        })
    }

    fn local_addr(&self) -> KResult<SockAddr> {
        stack::with(|stack| {
            let st = self.st.lock();
            if let Phase::Conn(c) = &st.phase {
                if let Some(ep) = stack.tcp(c.iface, c.handle).local_endpoint() {
                    return Ok(sockaddr(Endpoint::new(v4(ep.addr), ep.port)));
                }
            }
            Ok(sockaddr(st.local.unwrap_or(Endpoint::UNSPECIFIED)))
        })
    }

    fn peer_addr(&self) -> KResult<SockAddr> {
        stack::with(|stack| {
            let st = self.st.lock();
            match &st.phase {
                Phase::Conn(c) if c.established => {
                    let ep = stack.tcp(c.iface, c.handle).remote_endpoint().ok_or(Errno::ENOTCONN)?;
                    Ok(sockaddr(Endpoint::new(v4(ep.addr), ep.port)))
                }
                _ => Err(Errno::ENOTCONN),
            }
        })
    }

    fn setsockopt(&self, level: i32, name: i32, value: &[u8]) -> KResult<()> {
        stack::with(|stack| {
            let mut st = self.st.lock();
            let changed = opts::set(&mut st.opts, level, name, value)?;
            let o = st.opts;
            if changed == Changed::Reuse {
                if let Some(l) = st.local {
                    let listening = matches!(st.phase, Phase::Listen(_));
                    stack.tcp_ports.update(l.port, self.id, o.reuse(), listening);
                }
            }
            if let Phase::Conn(c) = &st.phase {
                if changed != Changed::Nothing {
                    configure(stack.tcp(c.iface, c.handle), &o, c.iface == 0);
                }
            }
            Ok(())
        })
    }

    fn getsockopt(&self, level: i32, name: i32, out: &mut [u8]) -> KResult<usize> {
        stack::with(|stack| {
            let mut st = self.st.lock();
            match (level, name) {
                (SOL_SOCKET, SO_ERROR) => {
                    let e = st.error.take().map_or(0, |e| e.0);
                    put_option(out, &e)
                }
                (SOL_SOCKET, SO_ACCEPTCONN) => put_option(out, &(matches!(st.phase, Phase::Listen(_)) as i32)),
                (SOL_TCP, TCP_MAXSEG) => {
                    let mtu = match &st.phase {
                        Phase::Conn(c) => stack.ifaces[c.iface].mtu,
                        _ => 576,
                    };
                    put_option(out, &(mtu.min(65535) as i32 - 40))
                }
                _ => opts::get(&st.opts, level, name, out),
            }
        })
    }

    fn poll(&self) -> PollBits {
        self.shared.ready.load(Ordering::SeqCst)
    }

    fn poll_register(&self, table: &mut PollTable) -> KResult<()> {
        table.add_shared(&self.shared.pollers).map(|_| ())
    }

    fn poll_events(&self) -> u64 {
        self.shared.events.load(Ordering::SeqCst)
    }

    fn ioctl(&self, request: u32, arg: UserArg) -> KResult<u64> {
        let (inq, outq) = stack::with(|stack| match &self.st.lock().phase {
            Phase::Conn(c) => {
                let s = stack.tcp(c.iface, c.handle);
                (Some(s.recv_queue()), Some(s.send_queue()))
            }
            Phase::Listen(_) => (None, None),
            Phase::Idle => (Some(0), Some(0)),
        });
        let v = match request {
            exo_inet::ifreq::SIOCINQ => inq.ok_or(Errno::EINVAL)?,
            exo_inet::ifreq::SIOCOUTQ => outq.ok_or(Errno::EINVAL)?,
            _ => return Err(Errno::ENOTTY),
        };
        arg.ptr::<i32>().write(&(v.min(i32::MAX as usize) as i32))?;
        Ok(0)
    }

    fn release(&self) {
        let mut st = self.st.lock();
        let phase = core::mem::replace(&mut st.phase, Phase::Idle);
        let local = st.local.take();
        let linger0 = st.opts.linger.onoff != 0 && st.opts.linger.linger == 0;
        drop(st);
        stack::release(stack::Released::Tcp { phase, local, id: self.id, linger0 });
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}

/// Ends what a closed TCP socket held (under the stack lock; `stack::release`).
pub fn finish_release(stack: &mut Stack, phase: Phase, local: Option<Endpoint>, id: u64, linger0: bool) {
    match phase {
        Phase::Idle => {
            if let Some(l) = local {
                stack.tcp_ports.release(l.port, id);
            }
        }
        Phase::Listen(l) => {
            l.close(stack);
            if let Some(ep) = local {
                stack.tcp_ports.release(ep.port, id);
            }
        }
        Phase::Conn(c) => {
            let s = stack.tcp(c.iface, c.handle);
            if s.state() == State::Closed {
                stack.remove(c.iface, c.handle);
                if let Some(l) = local {
                    stack.tcp_ports.release(l.port, id);
                }
                return;
            }
            // Unread data or SO_LINGER 0: reset, as Linux does; else an orderly close.
            if linger0 || s.recv_queue() > 0 {
                s.abort();
            } else {
                s.close();
            }
            stack.orphan(c.iface, c.handle, local.map(|l| l.port), id);
            stack.poll(c.iface);
        }
    }
}
