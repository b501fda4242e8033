//! Control messages of AF_UNIX sockets: SCM_RIGHTS (descriptors in flight) and
//! SCM_CREDENTIALS / SO_PASSCRED / SO_PEERCRED (credentials).
//!
//! **Descriptors in flight.** A passed descriptor's open file waits in the receiver's queue
//! until it is received (installed in the receiver's table) or the queue is freed. Sockets in
//! flight could form a cycle that no process holds — a socket sent over itself, two sockets
//! sent to each other, then closed — and leak (Linux runs a garbage collector for it). Exo-OS
//! prevents the cycle instead, with the rule Fusion Rings use for their descriptor grants
//! (`ipc::fusion::grant::InFlight`, the same code): **a socket whose queue holds passed
//! descriptors is never itself sent, and a socket that is in flight never receives
//! descriptors** (both ETOOMANYREFS). An unaccepted connection counts with its listener (a
//! listener whose pending connections hold descriptors is not sent; a connection whose listener
//! is in flight receives none). So an in-flight socket carries nothing, every chain of
//! "in flight in" has length one, and closing the last descriptor of a socket frees its queue
//! and everything in it. Epoll instances (which hold other descriptors) are not passed
//! (EINVAL), as over Fusion Rings; Fusion ends refuse to carry sockets, so no cycle mixes the
//! two mechanisms.
//!
//! Bounds: at most `SCM_MAX_FD` (253) descriptors per message; per user, no more descriptors
//! in flight than its RLIMIT_NOFILE (Linux's `too_many_unix_fds`; root is exempt), and at most
//! [`MAX_INFLIGHT`] system-wide (ETOOMANYREFS).

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use exo_abi::socket::*;
use exo_abi::{Errno, KResult};
use exo_unixsock::cmsg::{self, Builder, CmsgError};

use super::Unix;
use crate::files::file::OpenFile;
use crate::ipc::fusion::grant::InFlight;
use crate::spinlock::SpinLock;

/// Most descriptors in flight in all AF_UNIX queues together.
pub const MAX_INFLIGHT: usize = 65_536;

static INFLIGHT: AtomicUsize = AtomicUsize::new(0);
/// Descriptors in flight by user (real uid), for RLIMIT_NOFILE.
static BY_USER: SpinLock<Vec<(u32, usize)>> = SpinLock::new(Vec::new());

/// (descriptors in flight, sockets alive): /proc/net/unix_stats and the tests.
pub fn stats() -> (usize, usize) {
    (INFLIGHT.load(Ordering::Relaxed), super::live_sockets())
}

/// What one message carries besides its bytes.
#[derive(Default)]
pub struct Anc {
    pub fds: Vec<Passed>,
    pub creds: Option<Ucred>,
}

/// One descriptor in flight.
pub struct Passed {
    pub file: Arc<OpenFile>,
    /// In flight in the receiver, and in its listener for an unaccepted connection.
    _flight: (InFlight, Option<InFlight>),
    _charge: Charge,
}

/// One descriptor counted against its sender's user and the system-wide bound.
struct Charge {
    uid: u32,
}

impl Charge {
    fn take(uid: u32, limit: usize) -> KResult<Charge> {
        if INFLIGHT.fetch_add(1, Ordering::SeqCst) >= MAX_INFLIGHT {
            INFLIGHT.fetch_sub(1, Ordering::SeqCst);
            return Err(Errno::ETOOMANYREFS);
        }
        let charged = {
            let mut users = BY_USER.lock();
            match users.iter_mut().find(|(u, _)| *u == uid) {
                Some((_, n)) if *n >= limit => Err(Errno::ETOOMANYREFS),
                Some((_, n)) => {
                    *n += 1;
                    Ok(())
                }
                None => users.try_reserve(1).map_err(|_| Errno::ENOMEM).map(|_| users.push((uid, 1))),
            }
        };
        if let Err(e) = charged {
            INFLIGHT.fetch_sub(1, Ordering::SeqCst);
            return Err(e);
        }
        Ok(Charge { uid })
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        let mut users = BY_USER.lock();
        if let Some(i) = users.iter().position(|(u, _)| *u == self.uid) {
            users[i].1 -= 1;
            if users[i].1 == 0 {
                users.swap_remove(i);
            }
        }
        drop(users);
        INFLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The caller's (pid, real uid, real gid) and whether it is privileged (effective uid 0).
struct Caller {
    pid: i32,
    uid: u32,
    gid: u32,
    ids: [u32; 6],
    root: bool,
    nofile: usize,
}

fn caller() -> Option<Caller> {
    let task = crate::process::current()?;
    let process = &task.process;
    let nofile = process.rlimit(exo_abi::resource::RLIMIT_NOFILE).rlim_cur.min(usize::MAX as u64) as usize;
    let creds = process.creds.lock();
    Some(Caller {
        pid: process.pid as i32,
        uid: creds.uid,
        gid: creds.gid,
        ids: [creds.uid, creds.euid, creds.suid, creds.gid, creds.egid, creds.sgid],
        root: creds.euid == 0,
        nofile,
    })
}

/// SO_PEERCRED for a connection made now: pid, effective uid and gid of the caller.
pub(super) fn current_peercred() -> Option<Ucred> {
    let task = crate::process::current()?;
    let creds = task.process.creds.lock();
    Some(Ucred { pid: task.process.pid as i32, uid: creds.euid, gid: creds.egid })
}

/// The credentials a message gets when the sender gave none: its pid, real uid and gid.
fn own_creds() -> Option<Ucred> {
    caller().map(|c| Ucred { pid: c.pid, uid: c.uid, gid: c.gid })
}

/// Reads a sender's control bytes and takes its descriptors in flight towards `receiver`.
/// Returns the attachment (None: nothing to attach). `want_creds`: attach the sender's
/// credentials even if it sent none (SO_PASSCRED on either side).
pub(super) fn prepare(receiver: &Unix, control: &[u8], want_creds: bool) -> KResult<Option<Box<Anc>>> {
    let parsed = if control.is_empty() {
        cmsg::SendControl::default()
    } else {
        cmsg::parse_send(control).map_err(|e| match e {
            CmsgError::Invalid => Errno::EINVAL,
            CmsgError::NoMemory => Errno::ENOMEM,
        })?
    };
    if parsed.fds.is_empty() && parsed.creds.is_none() && !want_creds {
        return Ok(None);
    }
    let me = caller();
    let creds = match parsed.creds {
        Some(c) => {
            // A sender may only claim its own ids (any of real/effective/saved), unless root.
            let ok = me.as_ref().is_some_and(|me| {
                me.root || (c.pid == me.pid && me.ids[..3].contains(&c.uid) && me.ids[3..].contains(&c.gid))
            });
            if !ok {
                return Err(Errno::EPERM);
            }
            Some(c)
        }
        None => own_creds(),
    };
    let mut anc = Box::new(Anc { fds: Vec::new(), creds: if want_creds || parsed.creds.is_some() { creds } else { None } });
    if !parsed.fds.is_empty() {
        let me = me.ok_or(Errno::EBADF)?;
        let task = crate::process::current().ok_or(Errno::EBADF)?;
        let files = task.files();
        // Every descriptor first (EBADF before anything is taken in flight).
        let mut opened = Vec::new();
        opened.try_reserve(parsed.fds.len()).map_err(|_| Errno::ENOMEM)?;
        for &fd in &parsed.fds {
            opened.push(files.get(fd).map_err(|_| Errno::EBADF)?);
        }
        anc.fds.try_reserve(opened.len()).map_err(|_| Errno::ENOMEM)?;
        let listener = receiver.conn.lock().listener.as_ref().and_then(|l| l.upgrade());
        let limit = if me.root { usize::MAX } else { me.nofile };
        for file in opened {
            anc.fds.push(pass(receiver, listener.as_deref(), file, me.uid, limit)?);
        }
    }
    Ok(Some(anc))
}

/// Takes `file` in flight towards `receiver` (and its listener, for an unaccepted connection).
fn pass(receiver: &Unix, listener: Option<&Unix>, file: Arc<OpenFile>, uid: u32, limit: usize) -> KResult<Passed> {
    if crate::fs::epoll::of(&file).is_some() {
        return Err(Errno::EINVAL);
    }
    let sent = super::of(&file);
    let sent_flight = sent.as_ref().map(|s| &s.flight);
    // The listener first: once it carries, it cannot be sent.
    let outer = match listener {
        Some(l) => Some(InFlight::start(&l.flight, None)?),
        None => None,
    };
    let inner = InFlight::start(&receiver.flight, sent_flight)?;
    let charge = Charge::take(uid, limit)?;
    Ok(Passed { file, _flight: (inner, outer), _charge: charge })
}

/// Whether an attachment must start a new segment of a stream (a read never crosses it).
pub(super) fn new_segment(anc: &Option<Box<Anc>>) -> bool {
    anc.as_ref().is_some_and(|a| !a.fds.is_empty() || a.creds.is_some())
}

/// Delivers a received attachment as control messages into `msg` (credentials first when
/// SO_PASSCRED, then descriptors), installing descriptors in the caller's table (close-on-exec
/// with MSG_CMSG_CLOEXEC); those that do not fit are closed and MSG_CTRUNC is set.
/// `files` are the open files to install (taken from the attachment, or duplicated for a peek).
pub(super) fn deliver(msg: &mut super::RecvMsg, passcred: bool, creds: Option<Ucred>, files: Vec<Arc<OpenFile>>) -> KResult<()> {
    if !passcred && files.is_empty() {
        return Ok(());
    }
    let mut builder = Builder::new(msg.control_space);
    if passcred {
        // Linux's values for a message with no credentials: pid 0, the overflow ids.
        let c = creds.unwrap_or(Ucred { pid: 0, uid: 65534, gid: 65534 });
        builder.put(SOL_SOCKET, SCM_CREDENTIALS, bytemuck::bytes_of(&c)).map_err(|_| Errno::ENOMEM)?;
    }
    if !files.is_empty() {
        let fit = builder.fds_fitting(files.len());
        let mut installed = Vec::new();
        installed.try_reserve(fit).map_err(|_| Errno::ENOMEM)?;
        if fit > 0 {
            if let Some(task) = crate::process::current() {
                let table = task.files();
                let limit = task.process.rlimit(exo_abi::resource::RLIMIT_NOFILE).rlim_cur.min(crate::files::FD_HARD_MAX as u64) as usize;
                let cloexec = msg.flags & MSG_CMSG_CLOEXEC != 0;
                for file in files.iter().take(fit) {
                    match table.insert(file.clone(), cloexec, 0, limit) {
                        Ok(fd) => installed.push(fd),
                        Err(_) => {
                            builder.truncated = true;
                            break;
                        }
                    }
                }
            }
        }
        builder.put_fds(&installed).map_err(|_| Errno::ENOMEM)?;
        // `files` (the references the queue held) is dropped by the caller's return: the
        // descriptors not installed are closed then.
    }
    if builder.truncated {
        msg.msg_flags |= MSG_CTRUNC;
    }
    msg.control = builder.finish();
    Ok(())
}

/// Splits an attachment taken from a queue into its credentials and open files (the flight
/// counters and charges are released here: the files are no longer in flight).
pub(super) fn unpack(anc: Option<Box<Anc>>) -> (Option<Ucred>, Vec<Arc<OpenFile>>) {
    match anc {
        None => (None, Vec::new()),
        Some(anc) => {
            let anc = *anc;
            let files = anc.fds.into_iter().map(|p| p.file).collect();
            (anc.creds, files)
        }
    }
}

/// Duplicates an attachment for MSG_PEEK (the files stay in flight in the queue).
pub(super) fn peek(anc: Option<&Anc>) -> KResult<(Option<Ucred>, Vec<Arc<OpenFile>>)> {
    let Some(anc) = anc else { return Ok((None, Vec::new())) };
    let mut files = Vec::new();
    files.try_reserve(anc.fds.len()).map_err(|_| Errno::ENOMEM)?;
    files.extend(anc.fds.iter().map(|p| p.file.clone()));
    Ok((anc.creds, files))
}
