//! ICMP echo for `ping`: `socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)` (root only, what busybox
//! ping opens: the caller writes the ICMP message, the kernel adds the IPv4 header; reads
//! return whole IPv4 packets) and ping sockets `socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`
//! (the caller writes an echo request whose identifier the kernel replaces with the socket's;
//! reads return the ICMP message of the replies to that identifier). Each has one smoltcp
//! socket (raw, or ICMP bound to the identifier) per interface; smoltcp itself answers echo
//! requests sent to this host.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU16, Ordering};
use core::task::Waker;

use exo_abi::poll::*;
use exo_abi::socket::*;
use exo_abi::{Errno, KResult};
use exo_inet::addr::{self, Endpoint};
use smoltcp::iface::SocketHandle;
use smoltcp::socket::{icmp, raw};
use smoltcp::wire::{IpProtocol, IpVersion};

use super::opts::{self, SockOpts};
use super::stack::{self, ip, v4, Stack};
use super::tcp::sockaddr;
use super::wake::{block, Refresh, Shared, Wait};
use crate::files::file::PollBits;
use crate::net::socket::{put_option, RecvMsg, SendMsg, SocketOps};
use crate::net::SockAddr;
use crate::sched::pollwait::PollTable;
use crate::spinlock::SpinLock;

const SLOTS: usize = 32;
const BUF: usize = 16 * 1024;
/// Largest ICMP message a socket sends.
const MAX_MESSAGE: usize = 65507;

static NEXT_IDENT: AtomicU16 = AtomicU16::new(0x4000);

struct IcmpState {
    handles: Vec<(usize, SocketHandle)>,
    ident: u16,
    opts: SockOpts,
}

pub struct IcmpSocket {
    raw: bool,
    shared: Arc<Shared>,
    waker: Waker,
    st: SpinLock<IcmpState>,
}

fn meta<T: Clone>(empty: T) -> KResult<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(SLOTS).map_err(|_| Errno::ENOBUFS)?;
    v.resize(SLOTS, empty);
    Ok(v)
}

impl IcmpSocket {
    pub fn new(raw: bool) -> Arc<IcmpSocket> {
        Arc::new_cyclic(|me: &alloc::sync::Weak<IcmpSocket>| {
            let owner: alloc::sync::Weak<dyn Refresh> = me.clone();
            let shared = Shared::new(owner);
            let waker = shared.waker();
            shared.ready.store((POLLOUT | POLLWRNORM) as u32, Ordering::SeqCst);
            let st = IcmpState { handles: Vec::new(), ident: 0, opts: SockOpts::new(BUF) };
            IcmpSocket { raw, shared, waker, st: SpinLock::new(st) }
        })
    }

    /// Makes the smoltcp sockets (once).
    fn open(&self, stack: &mut Stack, st: &mut IcmpState) -> KResult<()> {
        if !st.handles.is_empty() {
            return Ok(());
        }
        if !self.raw && st.ident == 0 {
            st.ident = NEXT_IDENT.fetch_add(1, Ordering::Relaxed).max(1);
        }
        let n = stack.ifaces.len();
        let mut handles = Vec::new();
        handles.try_reserve(n).map_err(|_| Errno::ENOBUFS)?;
        for i in 0..n {
            match self.make(stack, i, st.ident) {
                Ok(h) => handles.push((i, h)),
                Err(e) => {
                    for (i, h) in handles {
                        stack.remove(i, h);
                    }
                    return Err(e);
                }
            }
        }
        st.handles = handles;
        Ok(())
    }

    fn make(&self, stack: &mut Stack, i: usize, ident: u16) -> KResult<SocketHandle> {
        stack::reserve(2 * BUF)?;
        let handle = if self.raw {
            let made = (|| Ok((meta(raw::PacketMetadata::EMPTY)?, stack::buffer(BUF)?, meta(raw::PacketMetadata::EMPTY)?, stack::buffer(BUF)?)))();
            made.and_then(|(rm, rb, tm, tb)| {
                let mut s = raw::Socket::new(Some(IpVersion::Ipv4), Some(IpProtocol::Icmp), raw::PacketBuffer::new(rm, rb), raw::PacketBuffer::new(tm, tb));
                s.register_recv_waker(&self.waker);
                stack.add(i, s)
            })
        } else {
            let made = (|| Ok((meta(icmp::PacketMetadata::EMPTY)?, stack::buffer(BUF)?, meta(icmp::PacketMetadata::EMPTY)?, stack::buffer(BUF)?)))();
            made.and_then(|(rm, rb, tm, tb)| {
                let mut s = icmp::Socket::new(icmp::PacketBuffer::new(rm, rb), icmp::PacketBuffer::new(tm, tb));
                s.bind(icmp::Endpoint::Ident(ident)).map_err(|_| Errno::EINVAL)?;
                s.register_recv_waker(&self.waker);
                stack.add(i, s)
            })
        };
        handle.inspect_err(|_| stack::unreserve(2 * BUF))
    }

    /// The source address for traffic to `dst` through interface `i`.
    fn source(stack: &Stack, i: usize, dst: exo_inet::Ipv4) -> exo_inet::Ipv4 {
        if i == 0 {
            if stack.is_local(dst) {
                dst
            } else {
                [127, 0, 0, 1]
            }
        } else {
            stack.ifaces[i].addr.map_or([0; 4], |(a, _)| a)
        }
    }
}

/// The IPv4 header checksum of `h`.
fn checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in h.chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl Refresh for IcmpSocket {
    fn refresh(&self, stack: &mut Stack) {
        let st = self.st.lock();
        let mut bits = (POLLOUT | POLLWRNORM) as u32;
        for &(i, h) in &st.handles {
            let ready = if self.raw {
                let s = stack.ifaces[i].sockets.get_mut::<raw::Socket>(h);
                s.register_recv_waker(&self.waker);
                s.can_recv()
            } else {
                let s = stack.ifaces[i].sockets.get_mut::<icmp::Socket>(h);
                s.register_recv_waker(&self.waker);
                s.can_recv()
            };
            if ready {
                bits |= (POLLIN | POLLRDNORM) as u32;
            }
        }
        drop(st);
        self.shared.publish(bits);
    }
}

impl SocketOps for IcmpSocket {
    fn send(&self, msg: &mut SendMsg) -> KResult<usize> {
        let to = msg.to.as_ref().ok_or(Errno::EDESTADDRREQ)?;
        let dest = addr::parse_sendto(to.bytes())?.addr;
        let len = msg.data.len();
        if len > MAX_MESSAGE || len > BUF - 20 {
            return Err(Errno::EMSGSIZE);
        }
        if !self.raw && len < 8 {
            return Err(Errno::EINVAL);
        }
        block(&self.shared, Wait::new(msg.nonblocking, msg.timeout_ns), Errno::EAGAIN, |stack| {
            let mut st = self.st.lock();
            if let Err(e) = self.open(stack, &mut st) {
                return Some(Err(e));
            }
            let i = match stack.route(dest) {
                Ok(i) => i,
                Err(e) => return Some(Err(e)),
            };
            let Some(&(_, h)) = st.handles.iter().find(|(j, _)| *j == i) else { return Some(Err(Errno::ENETUNREACH)) };
            let (ident, ttl) = (st.ident, st.opts.ttl.unwrap_or(64));
            drop(st);
            let header = if self.raw { 20 } else { 0 };
            let mut bounce = core::mem::take(&mut stack.bounce);
            if bounce.len() < len + header && bounce.try_reserve(len + header - bounce.len()).is_ok() {
                bounce.resize(len + header, 0);
            }
            if bounce.len() < len + header {
                stack.bounce = bounce;
                return Some(Err(Errno::ENOBUFS));
            }
            let packet = &mut bounce[..len + header];
            let result = match msg.data.copy_in(&mut packet[header..]) {
                Ok(n) if n == len => {
                    if self.raw {
                        let src = Self::source(stack, i, dest);
                        let total = (len + 20) as u16;
                        packet[..20].copy_from_slice(&[0x45, 0, 0, 0, 0, 0, 0x40, 0, ttl, 1, 0, 0, src[0], src[1], src[2], src[3], dest[0], dest[1], dest[2], dest[3]]);
                        packet[2..4].copy_from_slice(&total.to_be_bytes());
                        let c = checksum(&packet[..20]);
                        packet[10..12].copy_from_slice(&c.to_be_bytes());
                        let s = stack.ifaces[i].sockets.get_mut::<raw::Socket>(h);
                        s.send_slice(packet).map(|_| len).map_err(|_| Errno::ENOBUFS)
                    } else if packet[0] != 8 || packet[1] != 0 {
                        Err(Errno::EINVAL)
                    } else {
                        packet[4..6].copy_from_slice(&ident.to_be_bytes());
                        let s = stack.ifaces[i].sockets.get_mut::<icmp::Socket>(h);
                        s.send_slice(packet, ip(dest)).map(|_| len).map_err(|_| Errno::ENOBUFS)
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

    fn recv(&self, msg: &mut RecvMsg) -> KResult<usize> {
        let trunc = msg.flags & MSG_TRUNC != 0;
        block(&self.shared, Wait::new(msg.nonblocking, msg.timeout_ns), Errno::EAGAIN, |stack| {
            let mut st = self.st.lock();
            if let Err(e) = self.open(stack, &mut st) {
                return Some(Err(e));
            }
            let handles = st.handles.clone();
            drop(st);
            for (i, h) in handles {
                let got = if self.raw {
                    let s = stack.ifaces[i].sockets.get_mut::<raw::Socket>(h);
                    s.register_recv_waker(&self.waker);
                    s.recv().ok().map(|p| {
                        let from = if p.len() >= 20 { [p[12], p[13], p[14], p[15]] } else { [0; 4] };
                        (msg.data.copy_out(p), p.len(), from)
                    })
                } else {
                    let s = stack.ifaces[i].sockets.get_mut::<icmp::Socket>(h);
                    s.register_recv_waker(&self.waker);
                    // The socket's identifier also matches its own requests looped back on lo:
                    // a ping socket reads only replies.
                    loop {
                        match s.recv() {
                            Ok((p, _)) if p.first() != Some(&0) => continue,
                            Ok((p, from)) => break Some((msg.data.copy_out(p), p.len(), v4(from))),
                            Err(_) => break None,
                        }
                    }
                };
                if let Some((copied, full, from)) = got {
                    let copied = match copied {
                        Ok(n) => n,
                        Err(e) => return Some(Err(e)),
                    };
                    if copied < full {
                        msg.msg_flags |= MSG_TRUNC;
                    }
                    msg.from = Some(sockaddr(Endpoint::new(from, 0)));
                    return Some(Ok(if trunc { full } else { copied }));
                }
            }
            None
        })
    }

    fn bind(&self, a: &SockAddr) -> KResult<()> {
        let ep = addr::parse_bind(a.bytes())?;
        stack::with(|stack| {
            if ep.addr != exo_inet::ANY && !stack.is_local(ep.addr) {
                return Err(Errno::EADDRNOTAVAIL);
            }
            let mut st = self.st.lock();
            if !self.raw && ep.port != 0 && st.handles.is_empty() {
                st.ident = ep.port;
            }
            Ok(())
        })
    }

    fn connect(&self, a: &SockAddr, _nonblocking: bool, _timeout_ns: Option<u64>) -> KResult<()> {
        addr::parse_connect(a.bytes()).map(|_| ())
    }

    fn local_addr(&self) -> KResult<SockAddr> {
        Ok(sockaddr(Endpoint::new(exo_inet::ANY, if self.raw { IPPROTO_ICMP as u16 } else { self.st.lock().ident })))
    }

    fn setsockopt(&self, level: i32, name: i32, value: &[u8]) -> KResult<()> {
        opts::set(&mut self.st.lock().opts, level, name, value).map(|_| ())
    }

    fn getsockopt(&self, level: i32, name: i32, out: &mut [u8]) -> KResult<usize> {
        match (level, name) {
            (SOL_SOCKET, SO_ERROR) => put_option(out, &0i32),
            _ => opts::get(&self.st.lock().opts, level, name, out),
        }
    }

    fn poll(&self) -> PollBits {
        self.shared.ready.load(Ordering::SeqCst)
    }

    fn poll_register(&self, table: &mut PollTable) -> KResult<()> {
        // The sockets exist from the first poll on, so a poller sees replies.
        stack::with(|stack| {
            let mut st = self.st.lock();
            let _ = self.open(stack, &mut st);
        });
        table.add_shared(&self.shared.pollers).map(|_| ())
    }

    fn poll_events(&self) -> u64 {
        self.shared.events.load(Ordering::SeqCst)
    }

    fn release(&self) {
        let handles = core::mem::take(&mut self.st.lock().handles);
        stack::release(stack::Released::Handles { handles, udp_port: None });
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}
