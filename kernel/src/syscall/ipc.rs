//! System V IPC calls: msgget/msgsnd/msgrcv/msgctl, semget/semop/semtimedop/semctl,
//! shmget/shmat/shmdt/shmctl. They check and copy user arguments (never under a lock) and
//! run the operations of `ipc::sysv_msg`, `ipc::sysv_sem` and `ipc::sysv_shm`.

use alloc::vec::Vec;

use exo_abi::ipc::*;
use exo_abi::types::Timespec;
use exo_abi::{nr, Errno, KResult};

use super::args::typed;
use super::{task, Handler};
use crate::ipc::{sysv_msg, sysv_sem, sysv_shm};
use crate::uaccess::{UserPtr, UserSlice};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: IPC_PRIVATE, IPC_CREAT/IPC_EXCL, key look-up, mode checks (EACCES), msgmni 32000 (ENOSPC)
    t[nr::MSGGET] = typed!(sys_msgget);
    // full: msgmax 8192 (EINVAL), mtype < 1 EINVAL, blocking on a full queue (msg_qbytes bytes and messages), IPC_NOWAIT EAGAIN, EIDRM when removed while waiting, EINTR after a handler (never restarted)
    t[nr::MSGSND] = typed!(sys_msgsnd);
    // full: msgtyp 0 / > 0 / < 0, MSG_EXCEPT, MSG_NOERROR, E2BIG, IPC_NOWAIT ENOMSG, MSG_COPY, EIDRM, EINTR after a handler (never restarted)
    t[nr::MSGRCV] = typed!(sys_msgrcv);
    // full: IPC_STAT, IPC_SET (msg_qbytes above msgmnb needs root), IPC_RMID, IPC_INFO, MSG_INFO, MSG_STAT, MSG_STAT_ANY
    t[nr::MSGCTL] = typed!(sys_msgctl);
    // full: IPC_PRIVATE, IPC_CREAT/IPC_EXCL, nsems checks (EINVAL), semmsl 32000, semmni 32000, semmns (ENOSPC)
    t[nr::SEMGET] = typed!(sys_semget);
    // full: atomic multi-operation calls, IPC_NOWAIT EAGAIN, SEM_UNDO applied at process exit, ERANGE past SEMVMX, E2BIG past SEMOPM 500, EFBIG, EIDRM, EINTR after a handler (never restarted)
    t[nr::SEMOP] = typed!(sys_semop);
    // full: semop with a relative timeout (EAGAIN when it passes, EINVAL for a bad timespec)
    t[nr::SEMTIMEDOP] = typed!(sys_semtimedop);
    // full: GETVAL, SETVAL, GETALL, SETALL, GETPID, GETNCNT, GETZCNT, IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO, SEM_INFO, SEM_STAT, SEM_STAT_ANY
    t[nr::SEMCTL] = typed!(sys_semctl);
    // full: sizes rounded to pages, IPC_PRIVATE/IPC_CREAT/IPC_EXCL, EINVAL for size 0 or larger than an existing segment, ENOMEM for a size beyond memory, shmmni 4096 (ENOSPC); pages allocated on first touch
    t[nr::SHMGET] = typed!(sys_shmget);
    // full: SHM_RDONLY, SHM_RND, SHM_REMAP, SHM_EXEC, EINVAL for an unaligned address or an overlap without SHM_REMAP; attachments inherited by fork, dropped at exec and exit
    t[nr::SHMAT] = typed!(sys_shmat);
    // full: EINVAL where no segment is attached
    t[nr::SHMDT] = typed!(sys_shmdt);
    // full: IPC_STAT (shm_nattch counts attachments), IPC_SET, IPC_RMID (destroyed at the last detach; SHM_DEST), IPC_INFO, SHM_INFO, SHM_STAT, SHM_STAT_ANY, SHM_LOCK/SHM_UNLOCK (flag only: pages are never swapped)
    t[nr::SHMCTL] = typed!(sys_shmctl);
}

fn sys_msgget(key: i32, flags: u32) -> KResult<u64> {
    sysv_msg::get(key, flags).map(|id| id as u64)
}

fn sys_msgsnd(id: i32, msgp: UserPtr<u8>, msgsz: i64, flags: u32) -> KResult<u64> {
    let mtype: i64 = UserPtr::<i64>::new(msgp.addr()).read()?;
    let len = usize::try_from(msgsz).ok().filter(|&n| n <= MSGMAX).ok_or(Errno::EINVAL)?;
    if id < 0 || mtype < 1 {
        return Err(Errno::EINVAL);
    }
    let mut data = Vec::new();
    data.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    data.resize(len, 0);
    UserSlice::new(msgp.add(8)?, len)?.read_into(&mut data)?;
    sysv_msg::send(id, mtype, data, flags).map(|()| 0)
}

fn sys_msgrcv(id: i32, msgp: UserPtr<u8>, msgsz: i64, msgtyp: i64, flags: u32) -> KResult<u64> {
    let size = usize::try_from(msgsz).map_err(|_| Errno::EINVAL)?;
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    let copy = flags & MSG_COPY != 0;
    if copy && (flags & MSG_EXCEPT != 0 || flags & IPC_NOWAIT == 0) {
        return Err(Errno::EINVAL);
    }
    let msg = sysv_msg::receive(id, size, msgtyp, flags, copy)?;
    UserPtr::<i64>::new(msgp.addr()).write(&msg.mtype)?;
    UserSlice::new(msgp.add(8)?, msg.data.len())?.write_from(&msg.data)?;
    Ok(msg.data.len() as u64)
}

fn sys_msgctl(id: i32, cmd: i32, buf: u64) -> KResult<u64> {
    if id < 0 || cmd < 0 {
        return Err(Errno::EINVAL);
    }
    match cmd {
        IPC_INFO | MSG_INFO => {
            let (info, max) = sysv_msg::info(cmd);
            UserPtr::<MsgInfo>::new(buf).write(&info)?;
            Ok(max as u64)
        }
        IPC_STAT | MSG_STAT | MSG_STAT_ANY => {
            let (found, ds) = sysv_msg::stat(id, cmd)?;
            UserPtr::<MsqidDs>::new(buf).write(&ds)?;
            Ok(if cmd == IPC_STAT { 0 } else { found as u64 })
        }
        IPC_SET => {
            let ds = UserPtr::<MsqidDs>::new(buf).read()?;
            sysv_msg::set(id, &ds).map(|()| 0)
        }
        IPC_RMID => sysv_msg::remove(id).map(|()| 0),
        _ => Err(Errno::EINVAL),
    }
}

fn sys_semget(key: i32, nsems: i32, flags: u32) -> KResult<u64> {
    sysv_sem::get(key, nsems, flags).map(|id| id as u64)
}

/// The operations of a semop call (EINVAL, E2BIG before touching user memory).
fn read_ops(id: i32, sops: UserPtr<SemBuf>, nsops: u64) -> KResult<Vec<SemBuf>> {
    if nsops < 1 || id < 0 {
        return Err(Errno::EINVAL);
    }
    if nsops > SEMOPM as u64 {
        return Err(Errno::E2BIG);
    }
    read_vec(sops, nsops as usize)
}

/// `count` elements from user memory into a new vector (ENOMEM, EFAULT).
fn read_vec<T: bytemuck::Pod>(start: UserPtr<T>, count: usize) -> KResult<Vec<T>> {
    let mut out = Vec::new();
    out.try_reserve_exact(count).map_err(|_| Errno::ENOMEM)?;
    out.resize(count, T::zeroed());
    UserSlice::new(start, count)?.read_into(&mut out)?;
    Ok(out)
}

fn sys_semop(id: i32, sops: UserPtr<SemBuf>, nsops: u64) -> KResult<u64> {
    let ops = read_ops(id, sops, nsops)?;
    sysv_sem::semop(id, &ops, None).map(|()| 0)
}

fn sys_semtimedop(id: i32, sops: UserPtr<SemBuf>, nsops: u64, timeout: UserPtr<Timespec>) -> KResult<u64> {
    let ops = read_ops(id, sops, nsops)?;
    let deadline = match timeout.read_opt()? {
        None => None,
        Some(ts) => Some(crate::time::since_boot_ns().saturating_add(ts.to_ns().ok_or(Errno::EINVAL)?)),
    };
    sysv_sem::semop(id, &ops, deadline).map(|()| 0)
}

fn sys_semctl(id: i32, num: i32, cmd: i32, arg: u64) -> KResult<u64> {
    use sysv_sem::Ctl;
    if id < 0 || cmd < 0 {
        return Err(Errno::EINVAL);
    }
    match cmd {
        IPC_INFO | SEM_INFO => {
            let (info, max) = sysv_sem::info(cmd);
            UserPtr::<SemInfo>::new(arg).write(&info)?;
            Ok(max as u64)
        }
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
            let (found, ds) = sysv_sem::stat(id, cmd)?;
            UserPtr::<SemidDs>::new(arg).write(&ds)?;
            Ok(if cmd == IPC_STAT { 0 } else { found as u64 })
        }
        GETALL => {
            let n = sysv_sem::nsems(id)?;
            let mut vals = Vec::new();
            vals.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
            vals.resize(n, 0u16);
            sysv_sem::get_all(id, &mut vals)?;
            UserSlice::new(UserPtr::<u16>::new(arg), n)?.write_from(&vals)?;
            Ok(0)
        }
        SETALL => {
            let n = sysv_sem::nsems(id)?;
            let vals = read_vec(UserPtr::<u16>::new(arg), n)?;
            sysv_sem::ctl(id, Ctl::SetAll(&vals))
        }
        GETVAL => sysv_sem::ctl(id, Ctl::GetVal(num)),
        GETPID => sysv_sem::ctl(id, Ctl::GetPid(num)),
        GETNCNT => sysv_sem::ctl(id, Ctl::GetNcnt(num)),
        GETZCNT => sysv_sem::ctl(id, Ctl::GetZcnt(num)),
        SETVAL => sysv_sem::ctl(id, Ctl::SetVal(num, arg as i32)),
        IPC_SET => {
            let ds = UserPtr::<SemidDs>::new(arg).read()?;
            sysv_sem::ctl(id, Ctl::Set(&ds))
        }
        IPC_RMID => sysv_sem::ctl(id, Ctl::Remove),
        _ => Err(Errno::EINVAL),
    }
}

fn sys_shmget(key: i32, size: u64, flags: u32) -> KResult<u64> {
    sysv_shm::get(key, size, flags).map(|id| id as u64)
}

fn sys_shmat(id: i32, addr: u64, flags: u32) -> KResult<u64> {
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    let mm = task()?.mm();
    sysv_shm::attach(&mm, id, addr, flags)
}

fn sys_shmdt(addr: u64) -> KResult<u64> {
    let mm = task()?.mm();
    sysv_shm::detach(&mm, addr).map(|()| 0)
}

fn sys_shmctl(id: i32, cmd: i32, buf: u64) -> KResult<u64> {
    if id < 0 || cmd < 0 {
        return Err(Errno::EINVAL);
    }
    match cmd {
        IPC_INFO => {
            let (info, max) = sysv_shm::limits();
            UserPtr::<ShmInfo64>::new(buf).write(&info)?;
            Ok(max as u64)
        }
        SHM_INFO => {
            let (info, max) = sysv_shm::usage();
            UserPtr::<ShmInfo>::new(buf).write(&info)?;
            Ok(max as u64)
        }
        IPC_STAT | SHM_STAT | SHM_STAT_ANY => {
            let (found, ds) = sysv_shm::stat(id, cmd)?;
            UserPtr::<ShmidDs>::new(buf).write(&ds)?;
            Ok(if cmd == IPC_STAT { 0 } else { found as u64 })
        }
        IPC_SET => {
            let ds = UserPtr::<ShmidDs>::new(buf).read()?;
            sysv_shm::ctl(id, cmd, Some(&ds)).map(|()| 0)
        }
        IPC_RMID | SHM_LOCK | SHM_UNLOCK => sysv_shm::ctl(id, cmd, None).map(|()| 0),
        _ => Err(Errno::EINVAL),
    }
}
