//! Datagram and seqpacket data: each send is one record in the receiver's queue (its bytes
//! copied from the sender's memory into a buffer of their own), each receive takes one
//! (MSG_TRUNC when it did not fit). A datagram socket's connect sets its default destination
//! and filters senders; a seqpacket socket connects like a stream (`conn`) and sends records.
//!
//! Bounds: a record may carry at most SO_SNDBUF - 32 bytes (EMSGSIZE); a queue holds records
//! whose charges (bytes plus [`RECORD_OVERHEAD`]) stay under the sender's SO_SNDBUF (one
//! record always fits an empty queue), and a datagram socket's queue holds at most
//! [`MAX_DGRAM_QLEN`] + 1 records from senders other than its connected peer (Linux's
//! `max_dgram_qlen`).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use exo_abi::socket::*;
use exo_abi::{Errno, KResult};

use super::{names, scm, wait, Record, Rx, Unix, CLOSED, CONNECTED, RCV_SHUTDOWN, SEND_SHUTDOWN};
use crate::net::socket::{RecvMsg, SendMsg};
use crate::net::SockAddr;

/// What each queued record costs besides its bytes (Linux charges an skb's truesize).
pub(super) const RECORD_OVERHEAD: usize = 512;
/// Linux's `net.unix.max_dgram_qlen`.
pub(super) const MAX_DGRAM_QLEN: usize = 10;

/// connect on a datagram socket: sets (or, with AF_UNSPEC, clears) the peer.
pub(super) fn connect(me: &Unix, addr: &SockAddr) -> KResult<()> {
    if addr.len() < 2 {
        return Err(Errno::EINVAL);
    }
    if addr.family() == AF_UNSPEC {
        let old = {
            let mut conn = me.conn.lock();
            me.state.store(super::UNCONNECTED, Ordering::SeqCst);
            conn.peer.take()
        };
        drop(old);
        return Ok(());
    }
    let target = names::find(addr, me.kind)?;
    if me.passcred.load(Ordering::Relaxed) {
        names::autobind(me)?;
    }
    if !may_send(me, &target) {
        return Err(Errno::EPERM);
    }
    let old = {
        let mut conn = me.conn.lock();
        me.state.store(CONNECTED, Ordering::SeqCst);
        conn.peer.replace(target)
    };
    drop(old);
    me.readable_changed();
    Ok(())
}

/// Linux's `unix_may_send`: a receiver connected to some socket accepts only that socket.
fn may_send(me: &Unix, target: &Unix) -> bool {
    match &target.conn.lock().peer {
        None => true,
        Some(p) => core::ptr::eq(&**p, me),
    }
}

/// Whether `target`'s queue is too full for a record of `charge` from `me`.
fn full(me: &Unix, target: &Unix, charge: usize, paired: bool) -> bool {
    let count = target.count.load(Ordering::SeqCst);
    if count == 0 {
        return false;
    }
    let held = target.held.load(Ordering::SeqCst);
    held + charge > me.sndbuf.load(Ordering::Relaxed) as usize || (!paired && count > MAX_DGRAM_QLEN)
}

pub(super) fn send(me: &Unix, msg: &mut SendMsg) -> KResult<usize> {
    let seqpacket = me.kind == SOCK_SEQPACKET;
    if seqpacket {
        let err = me.take_error();
        if err != 0 {
            return Err(Errno(err));
        }
        if me.state() != CONNECTED {
            return Err(Errno::ENOTCONN);
        }
    }
    let len = msg.data.len();
    if len > exo_unixsock::bufsize::max_datagram(me.sndbuf.load(Ordering::Relaxed)) {
        return Err(Errno::EMSGSIZE);
    }
    if me.shut() & SEND_SHUTDOWN != 0 {
        return Err(Errno::EPIPE);
    }
    let (target, connected) = match (&msg.to, seqpacket) {
        (Some(to), false) => (names::find(to, me.kind)?, false),
        _ => (me.peer().ok_or(Errno::ENOTCONN)?, true),
    };
    if me.passcred.load(Ordering::Relaxed) && !seqpacket {
        names::autobind(me)?;
    }
    let want_creds = me.passcred.load(Ordering::Relaxed) || target.passcred.load(Ordering::Relaxed);
    let anc = scm::prepare(&target, &msg.control, want_creds)?;
    let mut data = Vec::new();
    data.try_reserve_exact(len).map_err(|_| Errno::ENOBUFS)?;
    data.resize(len, 0);
    if len > 0 && msg.data.copy_in(&mut data)? != len {
        return Err(Errno::EFAULT);
    }
    let charge = len + RECORD_OVERHEAD;
    let from = me.name();
    let mut record = Some(Record { data, from, anc, charge });
    loop {
        if target.state() == CLOSED {
            if seqpacket {
                return Err(Errno::EPIPE);
            }
            if connected {
                // Linux: the first send after the peer closed says so, and disconnects.
                let mut conn = me.conn.lock();
                let old = if conn.peer.as_ref().is_some_and(|p| Arc::ptr_eq(p, &target)) { conn.peer.take() } else { None };
                drop(conn);
                drop(old);
            }
            return Err(Errno::ECONNREFUSED);
        }
        if seqpacket && target.shut() & RCV_SHUTDOWN != 0 {
            return Err(Errno::EPIPE);
        }
        if !seqpacket {
            if !may_send(me, &target) {
                return Err(Errno::EPERM);
            }
            if target.shut() & RCV_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
        }
        let paired = seqpacket || target.conn.lock().peer.as_ref().is_some_and(|p| core::ptr::eq(&**p, me));
        {
            let mut rx = target.rx.lock();
            if !full(me, &target, charge, paired) && target.state() != CLOSED {
                let Rx::Records(queue) = &mut *rx else { return Err(Errno::EINVAL) };
                queue.try_reserve(1).map_err(|_| Errno::ENOBUFS)?;
                if let Some(r) = record.take() {
                    queue.push_back(r);
                }
                target.held.fetch_add(charge, Ordering::SeqCst);
                target.count.fetch_add(1, Ordering::SeqCst);
                drop(rx);
                target.readable_changed();
                return Ok(len);
            }
        }
        let ready = || !full(me, &target, charge, paired) || target.state() == CLOSED || target.shut() & RCV_SHUTDOWN != 0;
        wait(&target.space_wait, msg.nonblocking, msg.timeout_ns, ready)?;
    }
}

pub(super) fn recv(me: &Unix, msg: &mut RecvMsg) -> KResult<usize> {
    if msg.flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let seqpacket = me.kind == SOCK_SEQPACKET;
    if seqpacket && me.state() != CONNECTED {
        return Err(Errno::EINVAL);
    }
    let peek = msg.flags & MSG_PEEK != 0;
    loop {
        let mut rx = me.rx.lock();
        let Rx::Records(queue) = &mut *rx else { return Err(Errno::EINVAL) };
        if let Some(front) = queue.front() {
            let size = front.data.len();
            let n = size.min(msg.data.len());
            let copied = msg.data.copy_out(&front.data[..n]);
            if let Err(e) = copied {
                return Err(e);
            }
            if copied != Ok(n) {
                return Err(Errno::EFAULT);
            }
            let from = front.from;
            let (creds, files, taken) = if peek {
                let (c, f) = scm::peek(front.anc.as_deref())?;
                (c, f, None)
            } else {
                let mut record = queue.pop_front();
                me.held.fetch_sub(record.as_ref().map_or(0, |r| r.charge), Ordering::SeqCst);
                me.count.fetch_sub(1, Ordering::SeqCst);
                let (c, f) = scm::unpack(record.as_mut().and_then(|r| r.anc.take()));
                (c, f, record)
            };
            drop(rx);
            drop(taken);
            if !peek {
                me.space_changed();
            }
            if n < size {
                msg.msg_flags |= MSG_TRUNC;
            }
            msg.from = from.map(|name| super::sockaddr(Some(name)));
            scm::deliver(msg, me.passcred.load(Ordering::Relaxed), creds, files)?;
            return Ok(if msg.flags & MSG_TRUNC != 0 { size } else { n });
        }
        drop(rx);
        let err = me.take_error();
        if err != 0 {
            return Err(Errno(err));
        }
        if me.shut() & RCV_SHUTDOWN != 0 {
            return Ok(0);
        }
        let ready = || me.count.load(Ordering::SeqCst) != 0 || me.shut() & RCV_SHUTDOWN != 0 || me.err.load(Ordering::Relaxed) != 0;
        wait(&me.rx_wait, msg.nonblocking, msg.timeout_ns, ready)?;
    }
}
