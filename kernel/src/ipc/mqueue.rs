//! POSIX message queues: named queues (`mq_open`, `mq_unlink`) whose descriptors are open
//! files (poll/select/epoll readiness, close-on-exec, fstat), `mq_timedsend` and
//! `mq_timedreceive` with their waits, `mq_notify` (SIGEV_SIGNAL / SIGEV_NONE, one
//! registration per queue) and `mq_getsetattr`. The message order and the checks are
//! `exo_sysvipc::mq`; queues are bounded by RLIMIT_MSGQUEUE per user (EMFILE) and
//! MQ_QUEUES_MAX in all (ENOSPC for non-root).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::fcntl::{O_ACCMODE, O_CREAT, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY};
use exo_abi::ipc::{MqAttr, MQ_MSGSIZE_DEFAULT, MQ_MSG_DEFAULT, MQ_QUEUES_MAX};
use exo_abi::poll::{POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use exo_abi::signal::{SigInfo, SI_MESGQ};
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use exo_sysvipc::mq::{check_attr, check_name, cost, MqQueue};

use super::sysv::{caller, Caller, Waiters};
use crate::files::file::{FileOps, OpenFile, PollBits};
use crate::sched::pollwait::{PollQueue, PollTable};
use crate::spinlock::SpinLock;

/// A registered notification: the process and the signal (None: SIGEV_NONE).
#[derive(Clone, Copy)]
struct Notify {
    pid: u32,
    signal: Option<(u32, u64)>,
}

struct State {
    queue: MqQueue,
    notify: Option<Notify>,
    /// Receivers blocked in mq_receive (a notification is sent only when there is none).
    receivers: usize,
}

/// A queue.
pub struct Mq {
    state: SpinLock<State>,
    waiters: Waiters,
    pollers: Arc<PollQueue>,
    uid: u32,
    gid: u32,
    mode: u32,
    /// Bytes counted against `uid`'s RLIMIT_MSGQUEUE until the queue goes.
    cost: u64,
    ino: u64,
}

/// The open file of a queue descriptor.
pub struct MqFile(Arc<Mq>);

static NAMES: SpinLock<Vec<(Vec<u8>, Arc<Mq>)>> = SpinLock::new(Vec::new());
/// RLIMIT_MSGQUEUE accounting: bytes per uid.
static BYTES: SpinLock<Vec<(u32, u64)>> = SpinLock::new(Vec::new());
static NEXT_INO: AtomicU64 = AtomicU64::new(1);

impl Drop for Mq {
    fn drop(&mut self) {
        let mut bytes = BYTES.lock();
        if let Some(entry) = bytes.iter_mut().find(|(uid, _)| *uid == self.uid) {
            entry.1 = entry.1.saturating_sub(self.cost);
        }
        bytes.retain(|&(_, b)| b > 0);
    }
}

/// Whether `me` has every access in `want` (0o4 read, 0o2 write) to the queue.
fn permits(mq: &Mq, me: &Caller, want: u32) -> bool {
    let granted = if me.euid == mq.uid {
        mq.mode >> 6
    } else if me.egid == mq.gid || me.groups.contains(&mq.gid) {
        mq.mode >> 3
    } else {
        mq.mode
    };
    me.is_root() || want & !granted & 0o7 == 0
}

/// mq_open of `name` (the name without libc's leading '/'), `attr` read from the caller
/// when given. Returns the open file (the caller installs it, O_CLOEXEC included).
pub fn open(name: &[u8], oflag: u32, mode: u32, attr: Option<MqAttr>, umask: u32, msg_limit: u64) -> KResult<Arc<OpenFile>> {
    check_name(name)?;
    let access = oflag & O_ACCMODE;
    let want = match access {
        O_RDONLY => 0o4,
        O_WRONLY => 0o2,
        O_RDWR => 0o6,
        _ => return Err(Errno::EINVAL),
    };
    let me = caller()?;
    let mut names = NAMES.lock();
    let existing = names.iter().find(|(n, _)| n.as_slice() == name).map(|(_, mq)| mq.clone());
    let mq = match existing {
        Some(_) if oflag & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL => return Err(Errno::EEXIST),
        Some(mq) => {
            if !permits(&mq, &me, want) {
                return Err(Errno::EACCES);
            }
            mq
        }
        None if oflag & O_CREAT == 0 => return Err(Errno::ENOENT),
        None => {
            let (maxmsg, msgsize) = match attr {
                Some(a) => {
                    check_attr(a.maxmsg, a.msgsize, me.is_root())?;
                    (a.maxmsg, a.msgsize)
                }
                None => (MQ_MSG_DEFAULT, MQ_MSGSIZE_DEFAULT),
            };
            if names.len() >= MQ_QUEUES_MAX && !me.is_root() {
                return Err(Errno::ENOSPC);
            }
            let cost = cost(maxmsg, msgsize);
            {
                let mut bytes = BYTES.lock();
                let used = bytes.iter().find(|(uid, _)| *uid == me.euid).map_or(0, |e| e.1);
                if used.saturating_add(cost) > msg_limit {
                    return Err(Errno::EMFILE);
                }
                bytes.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                match bytes.iter_mut().find(|(uid, _)| *uid == me.euid) {
                    Some(entry) => entry.1 += cost,
                    None => bytes.push((me.euid, cost)),
                }
            }
            let state = State { queue: MqQueue::new(maxmsg as usize, msgsize as usize), notify: None, receivers: 0 };
            let mq = Mq {
                state: SpinLock::new(state),
                waiters: Waiters::default(),
                pollers: Arc::new(PollQueue::new()),
                uid: me.euid,
                gid: me.egid,
                mode: mode & !umask & 0o777,
                cost,
                ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            };
            // From here the Arc's drop gives the bytes back.
            let mq = Arc::new(mq);
            let mut owned = Vec::new();
            owned.try_reserve_exact(name.len()).map_err(|_| Errno::ENOMEM)?;
            owned.extend_from_slice(name);
            names.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            names.push((owned, mq.clone()));
            mq
        }
    };
    drop(names);
    Ok(OpenFile::new(Arc::new(MqFile(mq)), oflag & (O_ACCMODE | O_NONBLOCK)))
}

/// mq_unlink: the name goes (the queue lives on while descriptors refer to it). Only the
/// queue's owner or root may (/dev/mqueue is sticky): EACCES.
pub fn unlink(name: &[u8]) -> KResult<()> {
    check_name(name)?;
    let me = caller()?;
    let mut names = NAMES.lock();
    let index = names.iter().position(|(n, _)| n.as_slice() == name).ok_or(Errno::ENOENT)?;
    if names[index].1.uid != me.euid && !me.is_root() {
        return Err(Errno::EACCES);
    }
    let removed = names.swap_remove(index);
    drop(names);
    drop(removed);
    Ok(())
}

/// The queue behind an open file (EBADF: not a queue descriptor).
pub fn of(file: &OpenFile) -> KResult<&Mq> {
    file.ops.as_any().and_then(|a| a.downcast_ref::<MqFile>()).map(|f| &*f.0).ok_or(Errno::EBADF)
}

/// A deadline in ns since boot from an absolute CLOCK_REALTIME time in ns.
pub fn deadline_from_realtime(abs_ns: u64) -> u64 {
    crate::time::since_boot_ns().saturating_add(abs_ns.saturating_sub(crate::time::realtime_ns()))
}

impl Mq {
    fn changed(&self) {
        self.waiters.changed();
        self.pollers.notify();
    }

    /// mq_timedsend of a message already copied in.
    pub fn send(&self, text: Vec<u8>, prio: u32, nonblocking: bool, deadline: Option<u64>) -> KResult<()> {
        let me = caller()?;
        let mut text = Some(text);
        loop {
            let mut state = self.state.lock();
            let len = text.as_ref().map_or(0, Vec::len);
            state.queue.check_send(len, prio)?;
            if !state.queue.is_full() {
                let was_empty = state.queue.is_empty();
                state.queue.push(prio, text.take().unwrap_or_default())?;
                let notify = if was_empty && state.receivers == 0 { state.notify.take() } else { None };
                drop(state);
                self.changed();
                if let Some(Notify { pid, signal: Some((sig, value)) }) = notify {
                    if let Some(process) = crate::process::process(pid) {
                        let info = SigInfo::queued(sig, SI_MESGQ, me.pid as i32, me.euid, value);
                        crate::process::signal::send_to_process(&process, sig, info);
                    }
                }
                return Ok(());
            }
            if nonblocking {
                return Err(Errno::EAGAIN);
            }
            let seen = self.waiters.generation();
            drop(state);
            self.waiters.wait(seen, deadline, Errno::ERESTARTSYS, Errno::ETIMEDOUT)?;
        }
    }

    /// mq_timedreceive into a buffer of `len` bytes (EMSGSIZE when smaller than mq_msgsize).
    pub fn receive(&self, len: usize, nonblocking: bool, deadline: Option<u64>) -> KResult<(u32, Vec<u8>)> {
        let mut counted = false;
        loop {
            // `counted`: this receiver was counted in `receivers` before its last wait.
            let mut state = self.state.lock();
            if counted {
                state.receivers -= 1;
            }
            if len < state.queue.msgsize {
                return Err(Errno::EMSGSIZE);
            }
            if let Some(msg) = state.queue.pop() {
                drop(state);
                self.changed();
                return Ok(msg);
            }
            if nonblocking {
                return Err(Errno::EAGAIN);
            }
            state.receivers += 1;
            counted = true;
            let seen = self.waiters.generation();
            drop(state);
            if let Err(error) = self.waiters.wait(seen, deadline, Errno::ERESTARTSYS, Errno::ETIMEDOUT) {
                self.state.lock().receivers -= 1;
                return Err(error);
            }
        }
    }

    /// mq_notify: `signal` None removes the caller's registration; Some(None) registers
    /// SIGEV_NONE, Some(Some((sig, value))) SIGEV_SIGNAL. EBUSY when another process is
    /// registered.
    pub fn notify(&self, pid: u32, signal: Option<Option<(u32, u64)>>) -> KResult<()> {
        let mut state = self.state.lock();
        match signal {
            None => {
                if state.notify.is_some_and(|n| n.pid == pid) {
                    state.notify = None;
                }
                Ok(())
            }
            Some(_) if state.notify.is_some() => Err(Errno::EBUSY),
            Some(signal) => {
                state.notify = Some(Notify { pid, signal });
                Ok(())
            }
        }
    }

    /// mq_getsetattr's record for a description with status `flags`.
    pub fn attr(&self, flags: u32) -> MqAttr {
        let state = self.state.lock();
        MqAttr {
            flags: i64::from(flags & O_NONBLOCK),
            maxmsg: state.queue.maxmsg as i64,
            msgsize: state.queue.msgsize as i64,
            curmsgs: state.queue.len() as i64,
            reserved: [0; 4],
        }
    }
}

impl FileOps for MqFile {
    fn stat(&self) -> KResult<Stat> {
        let mq = &self.0;
        let size = mq.state.lock().queue.bytes as i64;
        Ok(Stat { st_mode: exo_abi::mode::S_IFREG | mq.mode, st_uid: mq.uid, st_gid: mq.gid, st_nlink: 1, st_blksize: 4096, st_ino: mq.ino, st_size: size, ..Stat::default() })
    }

    fn read(&self, _file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        // Linux's /dev/mqueue files read as a status line.
        let state = self.0.state.lock();
        let (sig, pid) = state.notify.map_or((0, 0), |n| (n.signal.map_or(0, |s| s.0), n.pid));
        let notify = i32::from(state.notify.is_some_and(|n| n.signal.is_none()));
        let line = alloc::format!("QSIZE:{:<10} NOTIFY:{:<5} SIGNO:{:<5} NOTIFY_PID:{:<6}\n", state.queue.bytes, notify, sig, pid);
        drop(state);
        let n = line.len().min(buf.len());
        buf[..n].copy_from_slice(&line.as_bytes()[..n]);
        Ok(n)
    }

    fn poll(&self) -> PollBits {
        let state = self.0.state.lock();
        let mut bits = 0;
        if !state.queue.is_empty() {
            bits |= (POLLIN | POLLRDNORM) as u32;
        }
        if !state.queue.is_full() {
            bits |= (POLLOUT | POLLWRNORM) as u32;
        }
        bits
    }

    fn poll_register(&self, table: &mut PollTable) -> KResult<()> {
        table.add_shared(&self.0.pollers).map(|_| ())
    }

    fn poll_events(&self) -> u64 {
        self.0.waiters.generation()
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    fn release(&self) {
        // Closing the last descriptor of the registering process drops its registration.
        if let Some(task) = crate::process::current() {
            let _ = self.0.notify(task.process.pid, None);
        }
    }
}
