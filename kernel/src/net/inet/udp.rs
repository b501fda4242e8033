//! AF_INET SOCK_DGRAM (UDP). A bound socket has one smoltcp UDP socket in each interface it
//! receives on (INADDR_ANY: all). A datagram is copied whole into the stack's staging buffer
//! before smoltcp sees it (a fault sends nothing), then the interface is polled. Receive
//! buffers are bounded in bytes and datagrams: a flood beyond them is dropped. A connected
//! socket sends to its peer by default and drops datagrams from anyone else.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use core::task::Waker;

use exo_abi::poll::*;
use exo_abi::socket::*;
use exo_abi::{Errno, KResult};
use exo_inet::addr::{self, ConnectTo, Endpoint};
use exo_inet::ANY;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp;
use smoltcp::wire::{IpEndpoint, IpListenEndpoint};

use super::opts::{self, SockOpts};
use super::stack::{self, ip, v4, Stack};
use super::tcp::{new_id, sockaddr};
use super::wake::{block, Refresh, Shared, Wait};
use crate::files::file::PollBits;
use crate::net::socket::{put_option, RecvMsg, SendMsg, SocketOps};
use crate::net::SockAddr;
use crate::sched::pollwait::PollTable;
use crate::spinlock::SpinLock;
use crate::uaccess::UserArg;

/// Datagrams a receive buffer holds (besides its byte limit), and a send buffer.
const RX_SLOTS: usize = 256;
const TX_SLOTS: usize = 64;
/// Largest UDP payload over IPv4.
const MAX_DATAGRAM: usize = 65507;

struct UdpState {
    local: Option<Endpoint>,
    handles: Vec<(usize, SocketHandle)>,
    peer: Option<Endpoint>,
    opts: SockOpts,
    shut_rd: bool,
}

pub struct UdpSocket {
    id: u64,
    shared: Arc<Shared>,
    waker: Waker,
    st: SpinLock<UdpState>,
}

fn meta_vec(n: usize) -> KResult<Vec<udp::PacketMetadata>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Errno::ENOBUFS)?;
    v.resize(n, udp::PacketMetadata::EMPTY);
    Ok(v)
}

/// A new smoltcp UDP socket bound to `local` in interface `i`.
fn new_smoltcp(stack: &mut Stack, i: usize, local: Endpoint, o: &SockOpts, waker: &Waker) -> KResult<SocketHandle> {
    let (rx, tx) = (o.rcvbuf.max(MAX_DATAGRAM + 1), o.sndbuf.max(MAX_DATAGRAM + 1));
    stack::reserve(rx + tx)?;
    let made = (|| Ok((meta_vec(RX_SLOTS)?, stack::buffer(rx)?, meta_vec(TX_SLOTS)?, stack::buffer(tx)?)))();
    let (rm, rb, tm, tb) = match made {
        Ok(v) => v,
        Err(e) => {
            stack::unreserve(rx + tx);
            return Err(e);
        }
    };
    let mut s = udp::Socket::new(udp::PacketBuffer::new(rm, rb), udp::PacketBuffer::new(tm, tb));
    let ep = IpListenEndpoint { addr: (local.addr != ANY).then(|| ip(local.addr)), port: local.port };
    if s.bind(ep).is_err() {
        stack::unreserve(rx + tx);
        return Err(Errno::EINVAL);
    }
    s.set_hop_limit(o.ttl);
    s.register_recv_waker(waker);
    s.register_send_waker(waker);
    stack.add(i, s).inspect_err(|_| stack::unreserve(rx + tx))
}

impl UdpSocket {
    pub fn new() -> Arc<UdpSocket> {
        Arc::new_cyclic(|me: &alloc::sync::Weak<UdpSocket>| {
            let owner: alloc::sync::Weak<dyn Refresh> = me.clone();
            let shared = Shared::new(owner);
            let waker = shared.waker();
            shared.ready.store((POLLOUT | POLLWRNORM) as u32, Ordering::SeqCst);
            let st = UdpState { local: None, handles: Vec::new(), peer: None, opts: SockOpts::new(opts::UDP_DEFAULT_BUF), shut_rd: false };
            UdpSocket { id: new_id(), shared, waker, st: SpinLock::new(st) }
        })
    }

    /// Binds to `ep` (port 0: ephemeral) and makes the smoltcp sockets.
    fn bind_locked(&self, stack: &mut Stack, st: &mut UdpState, ep: Endpoint) -> KResult<()> {
        if ep.addr != ANY && !stack.is_local(ep.addr) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let port = stack.udp_ports.bind(ep.addr, ep.port, self.id, st.opts.reuse())?;
        let local = Endpoint::new(ep.addr, port);
        let mut handles = Vec::new();
        for i in stack.ifaces_for(ep.addr) {
            let made = handles.try_reserve(1).map_err(|_| Errno::ENOBUFS).and_then(|_| new_smoltcp(stack, i, local, &st.opts, &self.waker));
            match made {
                Ok(h) => handles.push((i, h)),
                Err(e) => {
                    for (i, h) in handles {
                        stack.remove(i, h);
                    }
                    stack.udp_ports.release(port, self.id);
                    return Err(e);
                }
            }
        }
        st.local = Some(local);
        st.handles = handles;
        Ok(())
    }

    fn ensure_bound(&self, stack: &mut Stack, st: &mut UdpState) -> KResult<()> {
        if st.local.is_none() {
            self.bind_locked(stack, st, Endpoint::UNSPECIFIED)?;
        }
        Ok(())
    }

    fn send_impl(&self, msg: &mut SendMsg) -> KResult<usize> {
        let to = match &msg.to {
            Some(a) => Some(addr::parse_sendto(a.bytes())?),
            None => None,
        };
        let len = msg.data.len();
        if len > MAX_DATAGRAM {
            return Err(Errno::EMSGSIZE);
        }
        block(&self.shared, Wait::new(msg.nonblocking, msg.timeout_ns), Errno::EAGAIN, |stack| {
            let mut st = self.st.lock();
            let Some(mut dest) = to.or(st.peer) else { return Some(Err(Errno::EDESTADDRREQ)) };
            if dest.port == 0 {
                return Some(Err(Errno::EINVAL));
            }
            if dest.addr == ANY {
                dest.addr = [127, 0, 0, 1];
            }
            if dest.addr == [255; 4] && !st.opts.broadcast {
                return Some(Err(Errno::EACCES));
            }
            if let Err(e) = self.ensure_bound(stack, &mut st) {
                return Some(Err(e));
            }
            let i = match stack.route(dest.addr) {
                Ok(i) => i,
                Err(e) => return Some(Err(e)),
            };
            if i != 0 && len + 28 > stack.ifaces[i].mtu {
                return Some(Err(Errno::EMSGSIZE));
            }
            let Some(&(_, h)) = st.handles.iter().find(|(j, _)| *j == i) else { return Some(Err(Errno::EINVAL)) };
            drop(st);
            let s = stack.ifaces[i].sockets.get_mut::<udp::Socket>(h);
            if s.payload_send_capacity() - s.send_queue() < len || !s.can_send() {
                s.register_send_waker(&self.waker);
                return None;
            }
            let mut bounce = core::mem::take(&mut stack.bounce);
            if bounce.len() < len && bounce.try_reserve(len - bounce.len()).is_ok() {
                bounce.resize(len, 0);
            }
            if bounce.len() < len {
                stack.bounce = bounce;
                return Some(Err(Errno::ENOBUFS));
            }
            let copied = msg.data.copy_in(&mut bounce[..len]);
            let result = match copied {
                Ok(n) if n == len => {
                    let s = stack.ifaces[i].sockets.get_mut::<udp::Socket>(h);
                    match s.send_slice(&bounce[..len], IpEndpoint::new(ip(dest.addr), dest.port)) {
                        Ok(()) => Ok(len),
                        Err(_) => Err(Errno::ENOBUFS),
                    }
                }
                Ok(_) => Err(Errno::EFAULT),
                Err(e) => Err(e),
            };
            stack.bounce = bounce;
            if result.is_ok() {
                stack.poll(i);
            }
            Some(result)
        })
    }

    fn recv_impl(&self, msg: &mut RecvMsg) -> KResult<usize> {
        let peek = msg.flags & MSG_PEEK != 0;
        let trunc = msg.flags & MSG_TRUNC != 0;
        block(&self.shared, Wait::new(msg.nonblocking, msg.timeout_ns), Errno::EAGAIN, |stack| {
            let st = self.st.lock();
            if st.shut_rd {
                return Some(Ok(0));
            }
            let peer = st.peer;
            let mut handles = [None; 4];
            for (slot, h) in handles.iter_mut().zip(st.handles.iter()) {
                *slot = Some(*h);
            }
            drop(st);
            for &(i, h) in handles.iter().flatten() {
                let s = stack.ifaces[i].sockets.get_mut::<udp::Socket>(h);
                loop {
                    let Ok((data, meta)) = s.peek() else { break };
                    let from = Endpoint::new(v4(meta.endpoint.addr), meta.endpoint.port);
                    if peer.is_some_and(|p| p != from) {
                        let _ = s.recv();
                        continue;
                    }
                    let full = data.len();
                    let copied = match msg.data.copy_out(data) {
                        Ok(n) => n,
                        Err(e) => return Some(Err(e)),
                    };
                    if !peek {
                        let _ = s.recv();
                    }
                    if copied < full {
                        msg.msg_flags |= MSG_TRUNC;
                    }
                    msg.from = Some(sockaddr(from));
                    return Some(Ok(if trunc { full } else { copied }));
                }
                s.register_recv_waker(&self.waker);
            }
            None
        })
    }
}

impl Refresh for UdpSocket {
    fn refresh(&self, stack: &mut Stack) {
        let st = self.st.lock();
        let mut bits = (POLLOUT | POLLWRNORM) as u32;
        if st.shut_rd {
            bits |= (POLLIN | POLLRDNORM | POLLRDHUP) as u32;
        }
        for &(i, h) in &st.handles {
            let s = stack.ifaces[i].sockets.get_mut::<udp::Socket>(h);
            if s.can_recv() {
                bits |= (POLLIN | POLLRDNORM) as u32;
            }
            s.register_recv_waker(&self.waker);
            s.register_send_waker(&self.waker);
        }
        drop(st);
        self.shared.publish(bits);
    }
}

impl SocketOps for UdpSocket {
    fn bind(&self, a: &SockAddr) -> KResult<()> {
        let ep = addr::parse_bind(a.bytes())?;
        stack::with(|stack| {
            let mut st = self.st.lock();
            if st.local.is_some() {
                return Err(Errno::EINVAL);
            }
            if ep.port != 0 && ep.port < 1024 && !super::is_root() {
                return Err(Errno::EACCES);
            }
            self.bind_locked(stack, &mut st, ep)
        })
    }

    fn connect(&self, a: &SockAddr, _nonblocking: bool, _timeout_ns: Option<u64>) -> KResult<()> {
        let to = addr::parse_connect(a.bytes())?;
        stack::with(|stack| {
            let mut st = self.st.lock();
            match to {
                ConnectTo::Disconnect => st.peer = None,
                ConnectTo::To(mut ep) => {
                    if ep.addr == ANY {
                        ep.addr = [127, 0, 0, 1];
                    }
                    stack.route(ep.addr)?;
                    self.ensure_bound(stack, &mut st)?;
                    st.peer = Some(ep);
                }
            }
            Ok(())
        })
    }

    fn send(&self, msg: &mut SendMsg) -> KResult<usize> {
        self.send_impl(msg)
    }

    fn recv(&self, msg: &mut RecvMsg) -> KResult<usize> {
        if msg.flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        self.recv_impl(msg)
    }

    fn shutdown(&self, how: u32) -> KResult<()> {
        stack::with(|stack| {
            let mut st = self.st.lock();
            if st.peer.is_none() {
                return Err(Errno::ENOTCONN);
            }
            if how != SHUT_WR {
                st.shut_rd = true;
            }
            drop(st);
            self.refresh(stack);
            Ok(())
        })
    }

    fn local_addr(&self) -> KResult<SockAddr> {
        stack::with(|_| Ok(sockaddr(self.st.lock().local.unwrap_or(Endpoint::UNSPECIFIED))))
    }

    fn peer_addr(&self) -> KResult<SockAddr> {
        stack::with(|_| self.st.lock().peer.map(sockaddr).ok_or(Errno::ENOTCONN))
    }

    fn setsockopt(&self, level: i32, name: i32, value: &[u8]) -> KResult<()> {
        stack::with(|stack| {
            let mut st = self.st.lock();
            let changed = opts::set(&mut st.opts, level, name, value)?;
            if changed == opts::Changed::Reuse {
                if let Some(l) = st.local {
                    stack.udp_ports.update(l.port, self.id, st.opts.reuse(), false);
                }
            }
            Ok(())
        })
    }

    fn getsockopt(&self, level: i32, name: i32, out: &mut [u8]) -> KResult<usize> {
        stack::with(|_| {
            let st = self.st.lock();
            match (level, name) {
                (SOL_SOCKET, SO_ERROR) | (SOL_SOCKET, SO_ACCEPTCONN) => put_option(out, &0i32),
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
        let v = match request {
            exo_inet::ifreq::SIOCINQ => stack::with(|stack| {
                let st = self.st.lock();
                let mut n = 0;
                for &(i, h) in &st.handles {
                    if let Ok((data, _)) = stack.ifaces[i].sockets.get_mut::<udp::Socket>(h).peek() {
                        n = data.len();
                        break;
                    }
                }
                n
            }),
            exo_inet::ifreq::SIOCOUTQ => 0,
            _ => return Err(Errno::ENOTTY),
        };
        arg.ptr::<i32>().write(&(v as i32))?;
        Ok(0)
    }

    fn release(&self) {
        let mut st = self.st.lock();
        let handles = core::mem::take(&mut st.handles);
        let port = st.local.take().map(|l| (l.port, self.id));
        drop(st);
        stack::release(stack::Released::Handles { handles, udp_port: port });
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}
