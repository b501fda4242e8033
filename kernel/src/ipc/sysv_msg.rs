//! System V message queues: `msgget`, `msgsnd`, `msgrcv`, `msgctl` on the queues of
//! `exo_sysvipc::msg` kept in one table under one lock. Senders and receivers wait on the
//! queue's [`Waiters`] without the lock; a removed queue wakes them with EIDRM. User memory
//! is copied by the system-call layer outside the lock (`syscall::ipc`).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use exo_abi::ipc::{IpcPerm, MsgInfo, MsqidDs, IPC_NOWAIT, MSGMAX, MSGMNB, MSGMNI, MSG_EXCEPT, MSG_INFO, MSG_NOERROR, MSG_STAT, MSG_STAT_ANY};
use exo_abi::{Errno, KResult};
use exo_sysvipc::msg::{received_len, Msg, MsgQueue, Select};
use exo_sysvipc::perm::{READ, WRITE};
use exo_sysvipc::table::{Found, Table};
use exo_sysvipc::Perm;

use super::sysv::{caller, now, Waiters};
use crate::spinlock::SpinLock;

struct MsgObj {
    queue: MsgQueue,
    waiters: Arc<Waiters>,
}

static QUEUES: SpinLock<Table<MsgObj>> = SpinLock::new(Table::new(MSGMNI));
/// Message bytes queued in all queues (under `QUEUES`' lock).
static TOTAL: AtomicUsize = AtomicUsize::new(0);

/// The bound on [`TOTAL`]: msgmni * msgmnb, or a sixteenth of memory if that is less (the
/// kernel heap must not run out: ENOMEM past it).
fn total_cap() -> usize {
    (crate::memory::frames::stats().managed_frames * 4096 / 16).min(MSGMNI * MSGMNB)
}

/// msgget.
pub fn get(key: i32, flags: u32) -> KResult<i32> {
    let me = caller()?;
    let waiters = Arc::new(Waiters::default());
    let mut table = QUEUES.lock();
    match table.get(key, flags, &me.cred(), |_| Ok(()))? {
        Found::Existing(id) => Ok(id),
        Found::Create => table.insert(Perm::new(key, flags, &me.cred()), MsgObj { queue: MsgQueue::new(MSGMNB, now()), waiters }),
    }
}

/// msgsnd of a message already copied in (`mtype` checked positive, the text at most MSGMAX).
pub fn send(id: i32, mtype: i64, data: Vec<u8>, flags: u32) -> KResult<()> {
    let me = caller()?;
    let mut msg = Some(Msg { mtype, data });
    loop {
        let mut table = QUEUES.lock();
        let entry = table.get_id_mut(id)?;
        if !entry.perm.permits(&me.cred(), WRITE) {
            return Err(Errno::EACCES);
        }
        let len = msg.as_ref().map_or(0, |m| m.data.len());
        if entry.obj.queue.has_room(len) {
            if TOTAL.load(Ordering::Relaxed).saturating_add(len) > total_cap() {
                return Err(Errno::ENOMEM);
            }
            let msg = msg.take().ok_or(Errno::EINVAL)?;
            TOTAL.fetch_add(len, Ordering::Relaxed);
            entry.obj.queue.push(msg, me.pid as i32, now())?;
            let waiters = entry.obj.waiters.clone();
            drop(table);
            waiters.changed();
            return Ok(());
        }
        if flags & IPC_NOWAIT != 0 {
            return Err(Errno::EAGAIN);
        }
        let waiters = entry.obj.waiters.clone();
        let seen = waiters.generation();
        drop(table);
        // System V calls are never restarted after a handler (signal(7)).
        waiters.wait(seen, None, Errno::ERESTARTNOHAND, Errno::EAGAIN)?;
    }
}

/// msgrcv: the message `msgtyp` and `flags` select, its text cut to `msgsz` (MSG_NOERROR) or
/// E2BIG; ENOMSG with IPC_NOWAIT; with MSG_COPY a copy of the `msgtyp`-th message.
pub fn receive(id: i32, msgsz: usize, msgtyp: i64, flags: u32, copy: bool) -> KResult<Msg> {
    let me = caller()?;
    let select = Select::new(msgtyp, flags & MSG_EXCEPT != 0, copy);
    loop {
        let mut table = QUEUES.lock();
        let entry = table.get_id_mut(id)?;
        if !entry.perm.permits(&me.cred(), READ) {
            return Err(Errno::EACCES);
        }
        let queue = &mut entry.obj.queue;
        if let Some(index) = queue.select(select) {
            let len = received_len(queue.msgs[index].data.len(), msgsz, flags & MSG_NOERROR != 0)?;
            if copy {
                let msg = &queue.msgs[index];
                let mut data = Vec::new();
                data.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
                data.extend_from_slice(&msg.data[..len]);
                return Ok(Msg { mtype: msg.mtype, data });
            }
            let mut msg = queue.take(index, me.pid as i32, now()).ok_or(Errno::EINVAL)?;
            TOTAL.fetch_sub(msg.data.len(), Ordering::Relaxed);
            let waiters = entry.obj.waiters.clone();
            drop(table);
            waiters.changed();
            msg.data.truncate(len);
            return Ok(msg);
        }
        if flags & IPC_NOWAIT != 0 {
            return Err(Errno::ENOMSG);
        }
        let waiters = entry.obj.waiters.clone();
        let seen = waiters.generation();
        drop(table);
        waiters.wait(seen, None, Errno::ERESTARTNOHAND, Errno::EAGAIN)?;
    }
}

fn stat_of(perm: &Perm, queue: &MsgQueue) -> MsqidDs {
    MsqidDs {
        perm: perm.to_abi(),
        stime: queue.stime,
        rtime: queue.rtime,
        ctime: queue.ctime,
        cbytes: queue.cbytes as u64,
        qnum: queue.msgs.len() as u64,
        qbytes: queue.qbytes as u64,
        lspid: queue.lspid,
        lrpid: queue.lrpid,
        ..MsqidDs::default()
    }
}

/// IPC_STAT (by id), MSG_STAT and MSG_STAT_ANY (by index: the id is returned too).
pub fn stat(id: i32, cmd: i32) -> KResult<(i32, MsqidDs)> {
    let me = caller()?;
    let table = QUEUES.lock();
    let (id, entry) = if cmd == MSG_STAT || cmd == MSG_STAT_ANY { table.at_index(id)? } else { (id, table.get_id(id)?) };
    if cmd != MSG_STAT_ANY && !entry.perm.permits(&me.cred(), READ) {
        return Err(Errno::EACCES);
    }
    Ok((id, stat_of(&entry.perm, &entry.obj.queue)))
}

/// IPC_SET: owner, mode and msg_qbytes (raising it past MSGMNB needs root: EPERM).
pub fn set(id: i32, ds: &MsqidDs) -> KResult<()> {
    let me = caller()?;
    let mut table = QUEUES.lock();
    let entry = table.get_id_mut(id)?;
    if !entry.perm.may_change(&me.cred()) {
        return Err(Errno::EPERM);
    }
    if ds.qbytes > MSGMNB as u64 && ds.qbytes > entry.obj.queue.qbytes as u64 && !me.is_root() {
        return Err(Errno::EPERM);
    }
    let IpcPerm { uid, gid, mode, .. } = ds.perm;
    entry.perm.set(uid, gid, mode);
    entry.obj.queue.qbytes = usize::try_from(ds.qbytes).map_err(|_| Errno::EINVAL)?;
    entry.obj.queue.ctime = now();
    let waiters = entry.obj.waiters.clone();
    drop(table);
    waiters.changed();
    Ok(())
}

/// IPC_RMID: the queue and its messages go; waiters fail with EIDRM.
pub fn remove(id: i32) -> KResult<()> {
    let me = caller()?;
    let mut table = QUEUES.lock();
    if !table.get_id(id)?.perm.may_change(&me.cred()) {
        return Err(Errno::EPERM);
    }
    let obj = table.remove(id)?;
    TOTAL.fetch_sub(obj.queue.cbytes, Ordering::Relaxed);
    drop(table);
    obj.waiters.removed();
    Ok(())
}

/// IPC_INFO (the limits) and MSG_INFO (what is in use); returns the highest index in use.
pub fn info(cmd: i32) -> (MsgInfo, i32) {
    let table = QUEUES.lock();
    let mut info = MsgInfo { msgmax: MSGMAX as i32, msgmnb: MSGMNB as i32, msgmni: MSGMNI as i32, msgssz: 16, msgseg: 0xffff, ..MsgInfo::default() };
    if cmd == MSG_INFO {
        info.msgpool = table.len() as i32;
        info.msgmap = table.iter().map(|(_, e)| e.obj.queue.msgs.len()).sum::<usize>() as i32;
        info.msgtql = table.iter().map(|(_, e)| e.obj.queue.cbytes).sum::<usize>() as i32;
    } else {
        info.msgpool = (MSGMNI * MSGMNB / 1024) as i32;
        info.msgmap = MSGMNB as i32;
        info.msgtql = MSGMNB as i32;
    }
    (info, table.max_index() as i32)
}
