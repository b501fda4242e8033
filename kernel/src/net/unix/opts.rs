//! Socket options, ioctls, poll readiness and /proc/net/unix of AF_UNIX sockets.

use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::Ordering;

use exo_abi::poll::*;
use exo_abi::socket::*;
use exo_abi::{Errno, KResult};
use exo_unixsock::bufsize;

use super::{dgram, Rx, Unix, CONNECTED, LISTENING, RCV_SHUTDOWN, SHUTDOWN_MASK, UNCONNECTED};
use crate::files::file::PollBits;
use crate::net::socket::{put_option, read_int_option};
use crate::spinlock::SpinLock;
use crate::uaccess::UserArg;

/// SIOCINQ is FIONREAD; SIOCOUTQ is TIOCOUTQ.
const SIOCINQ: u32 = exo_abi::ioctl::FIONREAD;
const SIOCOUTQ: u32 = 0x5411;

/// Options every socket accepts and this family ignores (Linux stores them for any socket).
const IGNORED: [i32; 8] = [SO_DEBUG, SO_REUSEADDR, SO_DONTROUTE, SO_BROADCAST, SO_KEEPALIVE, SO_OOBINLINE, SO_PRIORITY, SO_REUSEPORT];

fn privileged() -> bool {
    crate::process::current().is_some_and(|t| t.process.creds.lock().euid == 0)
}

pub(super) fn setsockopt(me: &Unix, level: i32, name: i32, value: &[u8]) -> KResult<()> {
    if level != SOL_SOCKET {
        return Err(Errno::EOPNOTSUPP);
    }
    match name {
        SO_SNDBUF | SO_SNDBUFFORCE => {
            let v = read_int_option(value)?;
            if name == SO_SNDBUFFORCE && !privileged() {
                return Err(Errno::EPERM);
            }
            me.sndbuf.store(bufsize::sndbuf(v), Ordering::Relaxed);
            // A larger buffer may let a blocked writer go on.
            if let Some(peer) = me.peer() {
                peer.space_changed();
            }
            Ok(())
        }
        SO_RCVBUF | SO_RCVBUFFORCE => {
            let v = read_int_option(value)?;
            if name == SO_RCVBUFFORCE && !privileged() {
                return Err(Errno::EPERM);
            }
            me.rcvbuf.store(bufsize::rcvbuf(v), Ordering::Relaxed);
            Ok(())
        }
        SO_PASSCRED => {
            me.passcred.store(read_int_option(value)? != 0, Ordering::Relaxed);
            Ok(())
        }
        SO_LINGER => {
            if value.len() < core::mem::size_of::<Linger>() {
                return Err(Errno::EINVAL);
            }
            Ok(())
        }
        n if IGNORED.contains(&n) => read_int_option(value).map(|_| ()),
        _ => Err(Errno::ENOPROTOOPT),
    }
}

pub(super) fn getsockopt(me: &Unix, level: i32, name: i32, out: &mut [u8]) -> KResult<usize> {
    if level != SOL_SOCKET {
        return Err(Errno::EOPNOTSUPP);
    }
    match name {
        SO_SNDBUF => put_option(out, &(me.sndbuf.load(Ordering::Relaxed) as i32)),
        SO_RCVBUF => put_option(out, &(me.rcvbuf.load(Ordering::Relaxed) as i32)),
        SO_PASSCRED => put_option(out, &i32::from(me.passcred.load(Ordering::Relaxed))),
        SO_ERROR => put_option(out, &me.take_error()),
        SO_ACCEPTCONN => put_option(out, &i32::from(me.state() == LISTENING)),
        SO_PEERCRED => {
            // Linux: no peer credentials give pid 0 and uid/gid -1.
            let cred = me.conn.lock().peercred.unwrap_or(Ucred { pid: 0, uid: u32::MAX, gid: u32::MAX });
            put_option(out, &cred)
        }
        SO_LINGER => put_option(out, &Linger::default()),
        n if IGNORED.contains(&n) => put_option(out, &0i32),
        _ => Err(Errno::ENOPROTOOPT),
    }
}

pub(super) fn ioctl(me: &Unix, request: u32, arg: UserArg) -> KResult<u64> {
    let value = match request {
        SIOCINQ => {
            if me.state() == LISTENING {
                return Err(Errno::EINVAL);
            }
            let rx = me.rx.lock();
            match &*rx {
                Rx::Stream(q) => q.len(),
                Rx::Records(q) if me.kind == SOCK_DGRAM => q.front().map_or(0, |r| r.data.len()),
                Rx::Records(q) => q.iter().map(|r| r.data.len()).sum(),
            }
        }
        SIOCOUTQ => {
            if me.state() == LISTENING {
                return Err(Errno::EINVAL);
            }
            // What this socket's bytes occupy in its peer's stream queue.
            match me.peer() {
                Some(peer) if me.kind == SOCK_STREAM => peer.held.load(Ordering::SeqCst),
                _ => 0,
            }
        }
        _ => return Err(Errno::ENOTTY),
    };
    arg.ptr::<i32>().write(&(value.min(i32::MAX as usize) as i32))?;
    Ok(0)
}

const IN: u32 = (POLLIN | POLLRDNORM) as u32;
const OUT: u32 = (POLLOUT | POLLWRNORM | POLLWRBAND) as u32;

/// Readiness, as Linux's `unix_poll` (streams) and `unix_dgram_poll` (the others).
pub(super) fn poll(me: &Unix) -> PollBits {
    let mut bits = 0;
    let state = me.state();
    let shut = me.shut();
    if me.err.load(Ordering::Relaxed) != 0 {
        bits |= POLLERR as u32;
    }
    if shut == SHUTDOWN_MASK {
        bits |= POLLHUP as u32;
    }
    if shut & RCV_SHUTDOWN != 0 {
        bits |= POLLRDHUP as u32 | IN;
    }
    if me.held.load(Ordering::SeqCst) != 0 || me.count.load(Ordering::SeqCst) != 0 {
        bits |= IN;
    }
    if me.connection_oriented() && state == UNCONNECTED {
        bits |= POLLHUP as u32;
    }
    if state == LISTENING {
        return bits;
    }
    let writable = match me.peer() {
        None => true,
        Some(peer) if me.kind == SOCK_STREAM => peer.held.load(Ordering::SeqCst) * 4 <= me.sndbuf.load(Ordering::Relaxed) as usize,
        Some(peer) => {
            let paired = me.kind == SOCK_SEQPACKET || peer.conn.lock().peer.as_ref().is_some_and(|p| core::ptr::eq(&**p, me));
            !dgram_full(me, &peer, paired)
        }
    };
    if writable {
        bits |= OUT;
    }
    bits
}

fn dgram_full(me: &Unix, peer: &Unix, paired: bool) -> bool {
    let count = peer.count.load(Ordering::SeqCst);
    count != 0
        && (peer.held.load(Ordering::SeqCst) + dgram::RECORD_OVERHEAD > me.sndbuf.load(Ordering::Relaxed) as usize
            || (!paired && count > dgram::MAX_DGRAM_QLEN))
}

/// Every socket alive, for /proc/net/unix (weak: the list does not keep them alive).
pub(super) static ALL: SpinLock<Vec<(u64, Weak<Unix>)>> = SpinLock::new(Vec::new());

/// /proc/net/unix in Linux's format.
pub fn proc_net_unix() -> String {
    let sockets: Vec<Arc<Unix>> = ALL.lock().iter().filter_map(|(_, s)| s.upgrade()).collect();
    let mut out = String::from("Num       RefCount Protocol Flags    Type St Inode Path\n");
    for s in sockets {
        let state = s.state();
        let flags = if state == LISTENING { 1 << 16 } else { 0 };
        let (embryo, name) = {
            let conn = s.conn.lock();
            (conn.listener.is_some(), conn.name.as_ref().map(|(n, _)| *n))
        };
        let st = match (state == CONNECTED, embryo) {
            (true, false) => 3,
            (true, true) => 2,
            _ => 1,
        };
        let _ = write!(out, "{:016x}: {:08X} {:08X} {:08X} {:04X} {:02X} {:5}", s.ino, Arc::strong_count(&s) - 1, 0, flags, s.kind, st, s.ino);
        if let Some(name) = name {
            let mut text = [0u8; UNIX_PATH_MAX + 1];
            let n = name.proc_text(&mut text);
            out.push(' ');
            out.push_str(&String::from_utf8_lossy(&text[..n]));
        }
        out.push('\n');
    }
    out
}
