//! Setting connections up and down: bind, listen, connect (stream and seqpacket), accept,
//! shutdown and release (the last close).
//!
//! connect makes the server's end at once (Linux's "embryo"): the connecting socket is
//! connected to it, may send before it is accepted, and it waits in the listener's queue
//! (`Conn::pending`, at most backlog + 1, as Linux) until accept takes it. A full queue makes
//! connect wait (EAGAIN when non-blocking). Release tells the peer (no more data: EOF, EPIPE
//! on send; ECONNRESET if unread data was lost), wakes everyone waiting on either socket, and
//! frees the queue — passed descriptors included — with no lock held.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use exo_abi::socket::*;
use exo_abi::{Errno, KResult};
use exo_unixsock::addr::{self, BindRequest};

use super::{names, scm, wait, Rx, Unix, CLOSED, CONNECTED, LISTENING, RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK, UNCONNECTED};
use crate::net::socket::SocketOps;
use crate::net::SockAddr;

pub(super) fn bind(me: &Unix, addr: &SockAddr) -> KResult<()> {
    let request = addr::parse_bind(addr.bytes()).map_err(|_| Errno::EINVAL)?;
    let _op = me.op.lock();
    if me.conn.lock().name.is_some() {
        // Linux makes the node first: an existing path is EADDRINUSE even then.
        if let BindRequest::Name(name) = request {
            if !name.is_abstract() && names::path_exists(&name) {
                return Err(Errno::EADDRINUSE);
            }
        }
        return Err(Errno::EINVAL);
    }
    let bound = match request {
        BindRequest::Autobind => names::autobind_locked(me)?,
        BindRequest::Name(name) => names::bind(me, name)?,
    };
    me.conn.lock().name = Some(bound);
    Ok(())
}

pub(super) fn listen(me: &Unix, backlog: u32) -> KResult<()> {
    if me.kind == SOCK_DGRAM {
        return Err(Errno::EOPNOTSUPP);
    }
    let _op = me.op.lock();
    let cred = scm::current_peercred();
    let mut conn = me.conn.lock();
    if conn.name.is_none() {
        return Err(Errno::EINVAL);
    }
    match me.state() {
        UNCONNECTED | LISTENING => {}
        _ => return Err(Errno::EINVAL),
    }
    conn.backlog = backlog;
    conn.listen_cred = cred;
    me.state.store(LISTENING, Ordering::SeqCst);
    drop(conn);
    // A larger backlog may let waiting connecters in.
    me.space_changed();
    Ok(())
}

/// Whether `listener` takes no more connections now.
fn backlog_full(listener: &Unix) -> bool {
    let conn = listener.conn.lock();
    conn.pending.len() > conn.backlog as usize
}

pub(super) fn connect(me: &Unix, addr: &SockAddr, nonblocking: bool, timeout_ns: Option<u64>) -> KResult<()> {
    let me_arc = me.arc()?;
    let listener = names::find(addr, me.kind)?;
    let _op = me.op.lock();
    match me.state() {
        CONNECTED => return Err(Errno::EISCONN),
        LISTENING | CLOSED => return Err(Errno::EINVAL),
        _ => {}
    }
    if me.passcred.load(Ordering::Relaxed) && me.conn.lock().name.is_none() {
        let bound = names::autobind_locked(me)?;
        me.conn.lock().name = Some(bound);
    }
    let server = Unix::new(me.kind)?;
    let my_cred = scm::current_peercred();
    loop {
        // The new end is filled in before the listener's lock is taken (no two `conn` locks
        // are ever held together); nobody else can reach it yet.
        let (name, listen_cred) = {
            let conn = listener.conn.lock();
            (conn.name.as_ref().map(|(n, _)| *n), conn.listen_cred)
        };
        {
            let mut s = server.conn.lock();
            s.peer = Some(me_arc.clone());
            s.peercred = my_cred;
            s.listener = Some(Arc::downgrade(&listener));
            s.name = name.map(|n| (n, super::Binding::Inherited));
        }
        server.sndbuf.store(listener.sndbuf.load(Ordering::Relaxed), Ordering::Relaxed);
        server.rcvbuf.store(listener.rcvbuf.load(Ordering::Relaxed), Ordering::Relaxed);
        server.passcred.store(listener.passcred.load(Ordering::Relaxed), Ordering::Relaxed);
        server.state.store(CONNECTED, Ordering::SeqCst);
        let queued = {
            let mut conn = listener.conn.lock();
            if listener.state() != LISTENING {
                return Err(Errno::ECONNREFUSED);
            }
            if conn.pending.len() <= conn.backlog as usize {
                conn.pending.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                conn.pending.push_back(server.clone());
                listener.count.store(conn.pending.len(), Ordering::SeqCst);
                true
            } else {
                false
            }
        };
        if queued {
            let mut mine = me.conn.lock();
            mine.peer = Some(server);
            mine.peercred = listen_cred;
            drop(mine);
            me.state.store(CONNECTED, Ordering::SeqCst);
            listener.readable_changed();
            me.readable_changed();
            return Ok(());
        }
        wait(&listener.space_wait, nonblocking, timeout_ns, || !backlog_full(&listener) || listener.state() != LISTENING)?;
    }
}

pub(super) fn accept(me: &Unix, nonblocking: bool, timeout_ns: Option<u64>) -> KResult<(Arc<dyn SocketOps>, SockAddr)> {
    if me.kind == SOCK_DGRAM {
        return Err(Errno::EOPNOTSUPP);
    }
    loop {
        if me.state() != LISTENING {
            return Err(Errno::EINVAL);
        }
        let next = {
            let mut conn = me.conn.lock();
            let next = conn.pending.pop_front();
            me.count.store(conn.pending.len(), Ordering::SeqCst);
            next
        };
        if let Some(server) = next {
            let peer = {
                let mut s = server.conn.lock();
                s.listener = None;
                s.peer.clone()
            };
            me.space_changed();
            let addr = super::sockaddr(peer.and_then(|p| p.name()));
            return Ok((server, addr));
        }
        wait(&me.rx_wait, nonblocking, timeout_ns, || me.count.load(Ordering::SeqCst) != 0 || me.state() != LISTENING)?;
    }
}

pub(super) fn shutdown(me: &Unix, how: u32) -> KResult<()> {
    // SHUT_RD (0) → RCV, SHUT_WR (1) → SEND, SHUT_RDWR (2) → both.
    let mode = how + 1;
    if mode & !SHUTDOWN_MASK != 0 || mode == 0 {
        return Err(Errno::EINVAL);
    }
    me.shut.fetch_or(mode, Ordering::SeqCst);
    me.readable_changed();
    me.space_changed();
    if me.connection_oriented() {
        if let Some(peer) = me.peer() {
            let mut peer_mode = 0;
            if mode & RCV_SHUTDOWN != 0 {
                peer_mode |= SEND_SHUTDOWN;
            }
            if mode & SEND_SHUTDOWN != 0 {
                peer_mode |= RCV_SHUTDOWN;
            }
            peer.shut.fetch_or(peer_mode, Ordering::SeqCst);
            peer.readable_changed();
            peer.space_changed();
        }
    }
    Ok(())
}

/// The last descriptor is closed (or the listener of an unaccepted connection went away).
pub(super) fn release(me: &Unix) {
    me.state.store(CLOSED, Ordering::SeqCst);
    me.shut.store(SHUTDOWN_MASK, Ordering::SeqCst);
    let (peer, name, pending) = {
        let mut conn = me.conn.lock();
        conn.listener = None;
        (conn.peer.take(), conn.name.take(), core::mem::take(&mut conn.pending))
    };
    if let Some((n, binding)) = &name {
        names::unbind(me, n, binding);
    }
    // The queue: emptied now, freed below with no lock held.
    let (records, marks, had_data) = {
        let mut rx = me.rx.lock();
        let had_data = me.held.load(Ordering::SeqCst) != 0;
        let taken = match &mut *rx {
            Rx::Stream(queue) => (VecDeque::new(), queue.clear()),
            Rx::Records(queue) => (core::mem::take(queue), VecDeque::new()),
        };
        me.held.store(0, Ordering::SeqCst);
        me.count.store(0, Ordering::SeqCst);
        (taken.0, taken.1, had_data)
    };
    if let Some(peer) = &peer {
        if me.connection_oriented() {
            peer.shut.store(SHUTDOWN_MASK, Ordering::SeqCst);
            if had_data || !pending.is_empty() {
                peer.err.store(Errno::ECONNRESET.0, Ordering::SeqCst);
            }
            peer.readable_changed();
            peer.space_changed();
        }
    }
    me.readable_changed();
    me.space_changed();
    drop(peer);
    drop(name);
    drop(records);
    drop(marks);
    // Connections nobody accepted: their clients see the connection reset.
    for server in pending {
        if let Some(client) = server.peer() {
            client.err.store(Errno::ECONNRESET.0, Ordering::SeqCst);
        }
        release(&server);
    }
}
