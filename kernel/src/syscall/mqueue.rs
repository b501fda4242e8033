//! POSIX message queue calls: mq_open, mq_unlink, mq_timedsend, mq_timedreceive, mq_notify,
//! mq_getsetattr. They check and copy user arguments and run `ipc::mqueue`.

use alloc::vec::Vec;

use exo_abi::fcntl::{O_CLOEXEC, O_NONBLOCK};
use exo_abi::ipc::{MqAttr, SIGEV_NONE, SIGEV_SIGNAL};
use exo_abi::resource::RLIMIT_MSGQUEUE;
use exo_abi::types::{SigEvent, Timespec};
use exo_abi::{nr, Errno, KResult};

use super::args::{typed, Fd};
use super::fs_rw::file;
use super::{task, Handler};
use crate::ipc::mqueue;
use crate::uaccess::{UserCStr, UserPtr, UserSlice};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: names (EINVAL/ENOENT/ENAMETOOLONG/EACCES), O_CREAT/O_EXCL (EEXIST), access checks (EACCES), attributes (EINVAL past 10 messages / 8192 bytes for non-root), RLIMIT_MSGQUEUE (EMFILE), 256 queues (ENOSPC); descriptors are files (poll, close-on-exec, fstat, read gives the status line)
    t[nr::MQ_OPEN] = typed!(sys_mq_open);
    // full: owner or root (EACCES), ENOENT; the queue lives on while open
    t[nr::MQ_UNLINK] = typed!(sys_mq_unlink);
    // full: priority order, EMSGSIZE, EINVAL for a priority past MQ_PRIO_MAX, EAGAIN with O_NONBLOCK, ETIMEDOUT at the absolute CLOCK_REALTIME deadline, EBADF for a descriptor not open for writing; restarted after a handler with SA_RESTART
    t[nr::MQ_TIMEDSEND] = typed!(sys_mq_timedsend);
    // full: highest priority first, FIFO within one, EMSGSIZE for a buffer below mq_msgsize, EAGAIN, ETIMEDOUT, EBADF
    t[nr::MQ_TIMEDRECEIVE] = typed!(sys_mq_timedreceive);
    // partial: SIGEV_SIGNAL (si_code SI_MESGQ, sender's pid and uid, sigev_value) and SIGEV_NONE, one registration per queue (EBUSY), removal with NULL; SIGEV_THREAD (libc's netlink socket) is EINVAL
    t[nr::MQ_NOTIFY] = typed!(sys_mq_notify);
    // full: O_NONBLOCK set and cleared, EINVAL for other flags
    t[nr::MQ_GETSETATTR] = typed!(sys_mq_getsetattr);
}

fn sys_mq_open(name: UserCStr, oflag: u32, mode: u32, attr: UserPtr<MqAttr>) -> KResult<u64> {
    let name = name.read(4096)?;
    let me = task()?;
    let attr = if oflag & exo_abi::fcntl::O_CREAT != 0 { attr.read_opt()? } else { None };
    let limit = me.process.rlimit(RLIMIT_MSGQUEUE).rlim_cur;
    let umask = me.fs().umask();
    let file = mqueue::open(&name, oflag, mode, attr, umask, limit)?;
    super::fs::install(&me, file, oflag & O_CLOEXEC != 0)
}

fn sys_mq_unlink(name: UserCStr) -> KResult<u64> {
    let name = name.read(4096)?;
    mqueue::unlink(&name).map(|()| 0)
}

/// The deadline of an absolute CLOCK_REALTIME timeout (EINVAL when invalid).
fn deadline(timeout: UserPtr<Timespec>) -> KResult<Option<u64>> {
    match timeout.read_opt()? {
        None => Ok(None),
        Some(ts) => Ok(Some(mqueue::deadline_from_realtime(ts.to_ns().ok_or(Errno::EINVAL)?))),
    }
}

fn sys_mq_timedsend(fd: Fd, msg: UserPtr<u8>, len: usize, prio: u32, timeout: UserPtr<Timespec>) -> KResult<u64> {
    if prio >= exo_abi::ipc::MQ_PRIO_MAX {
        return Err(Errno::EINVAL);
    }
    let deadline = deadline(timeout)?;
    let open = file(fd)?;
    let mq = mqueue::of(&open)?;
    if !open.writable() {
        return Err(Errno::EBADF);
    }
    let attr = mq.attr(0);
    if len as u64 > attr.msgsize as u64 {
        return Err(Errno::EMSGSIZE);
    }
    let mut text = Vec::new();
    text.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    text.resize(len, 0);
    UserSlice::new(msg, len)?.read_into(&mut text)?;
    mq.send(text, prio, open.nonblocking(), deadline).map(|()| 0)
}

fn sys_mq_timedreceive(fd: Fd, msg: UserPtr<u8>, len: usize, prio: UserPtr<u32>, timeout: UserPtr<Timespec>) -> KResult<u64> {
    let deadline = deadline(timeout)?;
    let open = file(fd)?;
    let mq = mqueue::of(&open)?;
    if !open.readable() {
        return Err(Errno::EBADF);
    }
    let (p, text) = mq.receive(len, open.nonblocking(), deadline)?;
    UserSlice::new(msg, text.len())?.write_from(&text)?;
    if !prio.is_null() {
        prio.write(&p)?;
    }
    Ok(text.len() as u64)
}

fn sys_mq_notify(fd: Fd, sevp: UserPtr<SigEvent>) -> KResult<u64> {
    let event = sevp.read_opt()?;
    let open = file(fd)?;
    let mq = mqueue::of(&open)?;
    let pid = task()?.process.pid;
    let request = match event {
        None => None,
        Some(ev) if ev.sigev_notify == SIGEV_NONE => Some(None),
        Some(ev) if ev.sigev_notify == SIGEV_SIGNAL => {
            let sig = u32::try_from(ev.sigev_signo).ok().filter(|&s| (1..=64).contains(&s)).ok_or(Errno::EINVAL)?;
            Some(Some((sig, ev.sigev_value)))
        }
        Some(_) => return Err(Errno::EINVAL),
    };
    mq.notify(pid, request).map(|()| 0)
}

fn sys_mq_getsetattr(fd: Fd, new: UserPtr<MqAttr>, old: UserPtr<MqAttr>) -> KResult<u64> {
    let new = new.read_opt()?;
    if let Some(attr) = new {
        if attr.flags & !i64::from(O_NONBLOCK) != 0 {
            return Err(Errno::EINVAL);
        }
    }
    let open = file(fd)?;
    let mq = mqueue::of(&open)?;
    let current = mq.attr(open.flags());
    if !old.is_null() {
        old.write(&current)?;
    }
    if let Some(attr) = new {
        if attr.flags & i64::from(O_NONBLOCK) != 0 {
            open.flags.fetch_or(O_NONBLOCK, core::sync::atomic::Ordering::Relaxed);
        } else {
            open.flags.fetch_and(!O_NONBLOCK, core::sync::atomic::Ordering::Relaxed);
        }
    }
    Ok(0)
}
