//! Stream data: send copies straight from the sender's memory into the peer's byte ring (one
//! copy, no allocation per message), recv straight out of it; each side wakes the other
//! directly. A ring holds at most the sender's SO_SNDBUF bytes (Linux charges a stream's
//! queued bytes to its sender). Descriptors and credentials ride on marks (a read never
//! crosses one, `exo_unixsock::stream`).

use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use exo_abi::socket::*;
use exo_abi::{Errno, KResult};
use exo_unixsock::stream::WriteFail;

use super::{scm, wait, Rx, Unix, CONNECTED, RCV_SHUTDOWN, SEND_SHUTDOWN};
use crate::net::socket::{RecvMsg, SendMsg};

/// A blocked writer goes on once this much room (or all it has left) is free.
const WAKE_ROOM: usize = 4096;

/// Whether `peer` cannot take bytes any more (EPIPE).
#[inline]
fn peer_gone(peer: &Unix) -> bool {
    peer.state() == super::CLOSED || peer.shut() & RCV_SHUTDOWN != 0
}

pub(super) fn send(me: &Unix, msg: &mut SendMsg) -> KResult<usize> {
    if msg.to.is_some() {
        return Err(if me.state() == CONNECTED { Errno::EISCONN } else { Errno::EOPNOTSUPP });
    }
    let peer = match me.peer() {
        Some(peer) if me.state() == CONNECTED => peer,
        _ => return Err(Errno::ENOTCONN),
    };
    if me.shut() & SEND_SHUTDOWN != 0 || peer_gone(&peer) {
        return Err(Errno::EPIPE);
    }
    let len = msg.data.len();
    if len == 0 {
        return Ok(0);
    }
    let want_creds = me.passcred.load(Ordering::Relaxed) || peer.passcred.load(Ordering::Relaxed);
    let mut anc = if msg.control.is_empty() && !want_creds { None } else { scm::prepare(&peer, &msg.control, want_creds)? };
    if !scm::new_segment(&anc) {
        anc = None;
    }
    let limit = me.sndbuf.load(Ordering::Relaxed) as usize;
    let mut sent = 0;
    loop {
        if sent > 0 && crate::sched::fatal_signal_pending() {
            return Ok(sent);
        }
        if me.shut() & SEND_SHUTDOWN != 0 || peer_gone(&peer) {
            return if sent > 0 { Ok(sent) } else { Err(Errno::EPIPE) };
        }
        let mut rx = peer.rx.lock();
        let Rx::Stream(queue) = &mut *rx else { return Err(Errno::EINVAL) };
        // Bytes with the same credentials as the last mark's (and no descriptors) extend it;
        // bytes after a segment with descriptors start a new one (a read ends with them).
        let last_had_files = queue.last_mark().is_some_and(|m| !m.fds.is_empty());
        if anc.as_ref().is_some_and(|a| a.fds.is_empty() && !last_had_files && queue.last_mark().is_some_and(|m| m.creds == a.creds)) {
            anc = None;
        }
        if anc.is_none() && last_had_files && sent == 0 {
            anc = Some(alloc::boxed::Box::new(scm::Anc::default()));
        }
        let data = &mut msg.data;
        let result = queue.write_with(limit, len - sent, anc.take(), |_, part| match data.copy_in(part) {
            Ok(n) if n == part.len() => Ok(()),
            Ok(_) => Err(Errno::EFAULT),
            Err(e) => Err(e),
        });
        peer.held.store(queue.len(), Ordering::SeqCst);
        drop(rx);
        match result {
            Ok(n) => {
                sent += n;
                peer.readable_changed();
                if sent == len {
                    return Ok(sent);
                }
            }
            Err(WriteFail::Full(back)) => anc = back,
            Err(WriteFail::NoMemory(_)) => return if sent > 0 { Ok(sent) } else { Err(Errno::ENOBUFS) },
            Err(WriteFail::Copy(n, e, _)) => {
                sent += n;
                if n > 0 {
                    peer.readable_changed();
                }
                return if sent > 0 { Ok(sent) } else { Err(e) };
            }
        }
        let left = len - sent;
        let room = || limit.saturating_sub(peer.held.load(Ordering::SeqCst)) >= left.min(WAKE_ROOM);
        if let Err(e) = wait(&peer.space_wait, msg.nonblocking, msg.timeout_ns, || room() || peer_gone(&peer) || me.shut() & SEND_SHUTDOWN != 0) {
            return if sent > 0 { Ok(sent) } else { Err(e) };
        }
    }
}

pub(super) fn recv(me: &Unix, msg: &mut RecvMsg) -> KResult<usize> {
    if msg.flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if me.state() != CONNECTED {
        return Err(Errno::EINVAL);
    }
    let len = msg.data.len();
    if len == 0 {
        // Linux waits for data (or the end) even to read nothing, and leaves it there.
        let ready = || me.held.load(Ordering::SeqCst) != 0 || me.shut() & RCV_SHUTDOWN != 0 || me.err.load(Ordering::Relaxed) != 0;
        if !ready() {
            wait(&me.rx_wait, msg.nonblocking, msg.timeout_ns, ready)?;
        }
        return Ok(0);
    }
    let peek = msg.flags & MSG_PEEK != 0;
    let passcred = me.passcred.load(Ordering::Relaxed);
    let target = if msg.flags & MSG_WAITALL != 0 && !peek { len } else { 1 };
    let mut copied = 0;
    let mut taken: Option<(Option<Ucred>, Vec<alloc::sync::Arc<crate::files::file::OpenFile>>)> = None;
    let mut error = None;
    loop {
        let mut rx = me.rx.lock();
        let Rx::Stream(queue) = &mut *rx else { return Err(Errno::EINVAL) };
        if queue.is_empty() {
            drop(rx);
            if copied >= target {
                break;
            }
            let err = me.take_error();
            if err != 0 {
                error = Some(Errno(err));
                break;
            }
            if me.shut() & RCV_SHUTDOWN != 0 {
                break;
            }
            let ready = || me.held.load(Ordering::SeqCst) != 0 || me.shut() & RCV_SHUTDOWN != 0 || me.err.load(Ordering::Relaxed) != 0;
            if let Err(e) = wait(&me.rx_wait, msg.nonblocking, msg.timeout_ns, ready) {
                error = Some(e);
                break;
            }
            continue;
        }
        // A read takes the attachment of the segment it reaches, and stops before one it
        // cannot merge (a second one with descriptors, other credentials with SO_PASSCRED),
        // as Linux's stream reads do.
        let mut got_files = false;
        if let Some(mark) = queue.head_mark() {
            if copied > 0 {
                let have_files = taken.as_ref().is_some_and(|(_, f)| !f.is_empty());
                let creds_differ = passcred && taken.as_ref().map_or(true, |(c, _)| *c != mark.creds);
                if have_files || creds_differ {
                    break;
                }
            }
            let (creds, files) = if peek { scm::peek(Some(&**mark))? } else { scm::unpack(queue.take_head_mark()) };
            got_files = !files.is_empty();
            match &mut taken {
                None => taken = Some((creds, files)),
                Some((_, held)) => held.extend(files),
            }
        }
        let data = &mut msg.data;
        let copy = |_: usize, part: &[u8]| match data.copy_out(part) {
            Ok(n) if n == part.len() => Ok(()),
            Ok(_) => Err(Errno::EFAULT),
            Err(e) => Err(e),
        };
        let result = if peek { queue.peek_with(len - copied, copy) } else { queue.read_with(len - copied, copy) };
        me.held.store(queue.len(), Ordering::SeqCst);
        drop(rx);
        let (n, fault) = match result {
            Ok(n) => (n, None),
            Err((n, e)) => (n, Some(e)),
        };
        copied += n;
        if n > 0 && !peek {
            me.space_changed();
        }
        if let Some(e) = fault {
            error = Some(e);
            break;
        }
        // More now (the next segment) is read on; an empty queue ends the read once
        // `target` bytes came.
        if peek || got_files || copied >= len || (copied >= target && me.held.load(Ordering::SeqCst) == 0) {
            break;
        }
    }
    if copied == 0 {
        if let Some(e) = error {
            return Err(e);
        }
    }
    let (creds, files) = taken.unwrap_or((None, Vec::new()));
    scm::deliver(msg, passcred, creds, files)?;
    Ok(copied)
}
