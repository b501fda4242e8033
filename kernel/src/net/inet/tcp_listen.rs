//! Listening TCP sockets. A smoltcp socket listens for one connection and then becomes it, so
//! a listener keeps a small pool of listening smoltcp sockets in each interface it listens on;
//! a pool socket that leaves LISTEN (a SYN arrived) moves to the accept queue and is replaced
//! after the poll that moved it (every pool socket wakes the listener). The queue holds at most
//! backlog + 1 connections (Linux accepts that many), counting half-open ones; at the limit no
//! pool socket listens, so further SYNs are answered with RST. `accept` takes the oldest
//! established connection and hands its smoltcp socket to a new user socket.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::task::Waker;

use exo_abi::{Errno, KResult};
use exo_inet::addr::Endpoint;
use exo_inet::ANY;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::State;
use smoltcp::wire::IpListenEndpoint;

use super::opts::SockOpts;
use super::stack::{self, ip, v4, Stack};
use super::tcp::{new_smoltcp, sockaddr, Conn, Phase, TcpSocket};
use super::wake::{block, Refresh, Wait};
use crate::net::socket::SocketOps;
use crate::net::SockAddr;

/// Listening smoltcp sockets kept per interface (lo: its SYNs are handled inside the
/// connecting call's poll, one at a time, so fewer suffice there).
const POOL: usize = 4;
const LO_POOL: usize = 2;

pub struct Listener {
    pub backlog: usize,
    /// Listening smoltcp sockets: (interface, handle).
    pub pools: Vec<(usize, SocketHandle)>,
    /// Connections not yet accepted, oldest first.
    pub queue: VecDeque<(usize, SocketHandle)>,
}

/// States a connection may be accepted in (the peer may have sent data and closed already).
fn acceptable(state: State) -> bool {
    matches!(state, State::Established | State::CloseWait)
}

impl Listener {
    /// Moves connections from the pools to the queue, drops queued ones that died, and
    /// refills the pools; registers `waker` on every socket.
    pub fn replenish(&mut self, stack: &mut Stack, local: Endpoint, o: &SockOpts, waker: &Waker) {
        let mut k = 0;
        while k < self.pools.len() {
            let (i, h) = self.pools[k];
            if stack.tcp(i, h).state() == State::Listen {
                k += 1;
                continue;
            }
            self.pools.swap_remove(k);
            if self.queue.try_reserve(1).is_ok() {
                self.queue.push_back((i, h));
            } else {
                stack.tcp(i, h).abort();
                stack.orphan(i, h, None, 0);
            }
        }
        let mut k = 0;
        while k < self.queue.len() {
            let (i, h) = self.queue[k];
            // A handshake that failed goes back to LISTEN (smoltcp) or ends CLOSED.
            match stack.tcp(i, h).state() {
                State::Closed | State::Listen => {
                    self.queue.remove(k);
                    stack.remove(i, h);
                }
                _ => k += 1,
            }
        }
        let room = (self.backlog + 1).saturating_sub(self.queue.len());
        let endpoint = IpListenEndpoint { addr: (local.addr != ANY).then(|| ip(local.addr)), port: local.port };
        for i in stack.ifaces_for(local.addr) {
            let want = if i == 0 { LO_POOL } else { POOL }.min(room);
            let mut have = self.pools.iter().filter(|p| p.0 == i).count();
            while have > want {
                if let Some(pos) = self.pools.iter().rposition(|p| p.0 == i) {
                    let (i, h) = self.pools.swap_remove(pos);
                    stack.remove(i, h);
                }
                have -= 1;
            }
            while have < want && self.pools.try_reserve(1).is_ok() {
                let Ok(h) = new_smoltcp(stack, i, o) else { break };
                if stack.tcp(i, h).listen(endpoint).is_err() {
                    stack.remove(i, h);
                    break;
                }
                self.pools.push((i, h));
                have += 1;
            }
        }
        for &(i, h) in self.pools.iter().chain(self.queue.iter()) {
            let s = stack.tcp(i, h);
            s.register_recv_waker(waker);
            s.register_send_waker(waker);
        }
    }

    /// Whether a connection waits to be accepted.
    pub fn ready(&self, stack: &mut Stack) -> bool {
        self.queue.iter().any(|&(i, h)| acceptable(stack.tcp(i, h).state()))
    }

    /// Closes the listener: pool sockets go at once, unaccepted connections are reset.
    pub fn close(self, stack: &mut Stack) {
        for (i, h) in self.pools {
            stack.remove(i, h);
        }
        for (i, h) in self.queue {
            stack.tcp(i, h).abort();
            stack.orphan(i, h, None, 0);
        }
        for i in 0..stack.ifaces.len() {
            stack.poll(i);
        }
    }
}

/// listen(2).
pub fn listen(sock: &TcpSocket, stack: &mut Stack, backlog: usize) -> KResult<()> {
    let mut st = sock.st.lock();
    match &mut st.phase {
        Phase::Conn(_) => return Err(Errno::EINVAL),
        Phase::Listen(l) => {
            l.backlog = backlog;
            drop(st);
            sock.refresh(stack);
            return Ok(());
        }
        Phase::Idle => {}
    }
    let local = match st.local {
        Some(l) => l,
        None => {
            let port = stack.tcp_ports.bind(ANY, 0, sock.id, st.opts.reuse())?;
            let l = Endpoint::new(ANY, port);
            st.local = Some(l);
            l
        }
    };
    stack.tcp_ports.listen(local.port, sock.id)?;
    st.phase = Phase::Listen(Listener { backlog, pools: Vec::new(), queue: VecDeque::new() });
    drop(st);
    sock.refresh(stack);
    let mut st = sock.st.lock();
    let empty = matches!(&st.phase, Phase::Listen(l) if l.pools.is_empty());
    if empty {
        // Not one listening socket could be made: undo.
        st.phase = Phase::Idle;
        let reuse = st.opts.reuse();
        stack.tcp_ports.update(local.port, sock.id, reuse, false);
        return Err(Errno::ENOBUFS);
    }
    Ok(())
}

/// shutdown(SHUT_RD) of a listener: it stops listening (Linux then fails accept with EINVAL).
pub fn close(sock: &TcpSocket, stack: &mut Stack) {
    let mut st = sock.st.lock();
    let phase = core::mem::replace(&mut st.phase, Phase::Idle);
    let reuse = st.opts.reuse();
    let port = st.local.map(|l| l.port);
    drop(st);
    if let Phase::Listen(l) = phase {
        l.close(stack);
    }
    if let Some(p) = port {
        stack.tcp_ports.update(p, sock.id, reuse, false);
    }
    sock.refresh(stack);
}

/// accept(2).
pub fn accept(sock: &TcpSocket, wait: Wait) -> KResult<(Arc<dyn SocketOps>, SockAddr)> {
    block(&sock.shared, wait, Errno::EAGAIN, |stack| {
        let mut st = sock.st.lock();
        let o = st.opts;
        let local = st.local.unwrap_or(Endpoint::UNSPECIFIED);
        let Phase::Listen(l) = &mut st.phase else { return Some(Err(Errno::EINVAL)) };
        l.replenish(stack, local, &o, &sock.waker);
        let Some(pos) = l.queue.iter().position(|&(i, h)| acceptable(stack.tcp(i, h).state())) else { return None };
        let (i, h) = l.queue.remove(pos)?;
        drop(st);
        let s = stack.tcp(i, h);
        let (Some(le), Some(re)) = (s.local_endpoint(), s.remote_endpoint()) else {
            s.abort();
            stack.orphan(i, h, None, 0);
            return Some(Err(Errno::ECONNABORTED));
        };
        let (le, re) = (Endpoint::new(v4(le.addr), le.port), Endpoint::new(v4(re.addr), re.port));
        let conn = Conn::new(i, h, true);
        let new = TcpSocket::new(o, Phase::Conn(conn), Some(le));
        if let Err(e) = stack.tcp_ports.share(le.addr, le.port, new.id, o.reuse()) {
            stack.tcp(i, h).abort();
            stack.orphan(i, h, None, 0);
            return Some(Err(e));
        }
        let s = stack.tcp(i, h);
        s.register_recv_waker(&new.waker);
        s.register_send_waker(&new.waker);
        new.refresh(stack);
        sock.refresh(stack);
        let _ = stack::used();
        Some(Ok((new as Arc<dyn SocketOps>, sockaddr(re))))
    })
}
