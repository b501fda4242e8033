//! System V semaphore sets: `semget`, `semop`/`semtimedop`, `semctl` on the sets of
//! `exo_sysvipc::sem` in one table under one lock. A blocked semop counts itself in the
//! semaphore's ncnt/zcnt, sleeps on the set's [`Waiters`] without the lock and retries the
//! whole call after each change. SEM_UNDO values are applied when the process exits (the
//! hook `process::exit::EXIT_HOOK`, registered on the first SEM_UNDO operation).

use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::ipc::{IpcPerm, SemBuf, SemInfo, SemidDs, SEMAEM, SEMMNI, SEMMNS, SEMMSL, SEMOPM, SEMVMX, SEM_INFO, SEM_STAT, SEM_STAT_ANY};
use exo_abi::{Errno, KResult};
use exo_sysvipc::perm::{READ, WRITE};
use exo_sysvipc::sem::{check_ops, SemSet};
use exo_sysvipc::table::{Entry, Found, Table};
use exo_sysvipc::Perm;

use super::sysv::{caller, now, Caller, Waiters};
use crate::spinlock::SpinLock;

struct SemObj {
    set: SemSet,
    waiters: Arc<Waiters>,
}

struct Sets {
    table: Table<SemObj>,
    /// Semaphores in all sets (bounded by SEMMNS: ENOSPC).
    total: usize,
}

static SETS: SpinLock<Sets> = SpinLock::new(Sets { table: Table::new(SEMMNI), total: 0 });

/// The bound on semaphores in all sets: SEMMNS, or what a sixteenth of memory holds if that
/// is less (ENOSPC past it).
fn semmns() -> usize {
    (crate::memory::frames::stats().managed_frames * 4096 / 16 / core::mem::size_of::<exo_sysvipc::sem::Sem>()).min(SEMMNS)
}

/// semget.
pub fn get(key: i32, nsems: i32, flags: u32) -> KResult<i32> {
    let nsems = usize::try_from(nsems).ok().filter(|&n| n <= SEMMSL).ok_or(Errno::EINVAL)?;
    let me = caller()?;
    let waiters = Arc::new(Waiters::default());
    let mut sets = SETS.lock();
    let found = sets.table.get(key, flags, &me.cred(), |obj| if nsems > obj.set.sems.len() { Err(Errno::EINVAL) } else { Ok(()) })?;
    match found {
        Found::Existing(id) => Ok(id),
        Found::Create => {
            if nsems == 0 {
                return Err(Errno::EINVAL);
            }
            if sets.total + nsems > semmns() || !sets.table.has_room() {
                return Err(Errno::ENOSPC);
            }
            let set = SemSet::new(nsems, now())?;
            let id = sets.table.insert(Perm::new(key, flags, &me.cred()), SemObj { set, waiters })?;
            sets.total += nsems;
            Ok(id)
        }
    }
}

/// semop / semtimedop with the operations copied in; `deadline` in ns since boot (EAGAIN
/// when it passes).
pub fn semop(id: i32, ops: &[SemBuf], deadline: Option<u64>) -> KResult<()> {
    if ops.is_empty() {
        return Err(Errno::EINVAL);
    }
    if ops.len() > SEMOPM {
        return Err(Errno::E2BIG);
    }
    let me = caller()?;
    let mut waited: Option<(usize, bool)> = None;
    loop {
        let mut sets = SETS.lock();
        let entry = match sets.table.get_id_mut(id) {
            Ok(entry) => entry,
            Err(_) if waited.is_some() => return Err(Errno::EIDRM),
            Err(e) => return Err(e),
        };
        if let Some((num, zero)) = waited.take() {
            let sem = &mut entry.obj.set.sems[num];
            if zero { sem.zcnt = sem.zcnt.saturating_sub(1) } else { sem.ncnt = sem.ncnt.saturating_sub(1) }
        }
        let (alter, undo) = check_ops(ops, entry.obj.set.sems.len())?;
        if !entry.perm.permits(&me.cred(), if alter { WRITE } else { READ }) {
            return Err(Errno::EACCES);
        }
        if undo {
            register_exit_hook();
        }
        let Some(block) = entry.obj.set.try_ops(ops, me.pid, now())? else {
            let waiters = entry.obj.waiters.clone();
            drop(sets);
            if alter {
                waiters.changed();
            }
            return Ok(());
        };
        let sem = &mut entry.obj.set.sems[block.num];
        if block.zero { sem.zcnt += 1 } else { sem.ncnt += 1 }
        waited = Some((block.num, block.zero));
        let waiters = entry.obj.waiters.clone();
        let seen = waiters.generation();
        drop(sets);
        if let Err(error) = waiters.wait(seen, deadline, Errno::ERESTARTNOHAND, Errno::EAGAIN) {
            // Take the count back (unless the set is gone).
            if error != Errno::EIDRM {
                let mut sets = SETS.lock();
                if let (Ok(entry), Some((num, zero))) = (sets.table.get_id_mut(id), waited) {
                    let sem = &mut entry.obj.set.sems[num];
                    if zero { sem.zcnt = sem.zcnt.saturating_sub(1) } else { sem.ncnt = sem.ncnt.saturating_sub(1) }
                }
            }
            return Err(error);
        }
    }
}

/// What semctl asks.
pub enum Ctl<'a> {
    GetVal(i32),
    GetPid(i32),
    GetNcnt(i32),
    GetZcnt(i32),
    SetVal(i32, i32),
    SetAll(&'a [u16]),
    Set(&'a SemidDs),
    Remove,
}

fn with_set<R>(id: i32, f: impl FnOnce(&Caller, &mut Entry<SemObj>) -> KResult<R>) -> KResult<R> {
    let me = caller()?;
    let mut sets = SETS.lock();
    let entry = sets.table.get_id_mut(id)?;
    f(&me, entry)
}

fn readable(me: &Caller, entry: &Entry<SemObj>) -> KResult<()> {
    if entry.perm.permits(&me.cred(), READ) { Ok(()) } else { Err(Errno::EACCES) }
}

fn sem_at(entry: &Entry<SemObj>, num: i32) -> KResult<exo_sysvipc::sem::Sem> {
    usize::try_from(num).ok().and_then(|n| entry.obj.set.sems.get(n)).copied().ok_or(Errno::EINVAL)
}

/// The semctl commands on one set (other than the `*_STAT`, `*_INFO` and GETALL ones).
pub fn ctl(id: i32, op: Ctl) -> KResult<u64> {
    if let Ctl::Remove = op {
        let me = caller()?;
        let mut sets = SETS.lock();
        if !sets.table.get_id(id)?.perm.may_change(&me.cred()) {
            return Err(Errno::EPERM);
        }
        let obj = sets.table.remove(id)?;
        sets.total -= obj.set.sems.len();
        drop(sets);
        obj.waiters.removed();
        return Ok(0);
    }
    let (value, wake) = with_set(id, |me, entry| match op {
        Ctl::GetVal(n) => readable(me, entry).and_then(|()| sem_at(entry, n)).map(|s| (u64::from(s.val), None)),
        Ctl::GetPid(n) => readable(me, entry).and_then(|()| sem_at(entry, n)).map(|s| (s.pid as u64, None)),
        Ctl::GetNcnt(n) => readable(me, entry).and_then(|()| sem_at(entry, n)).map(|s| (u64::from(s.ncnt), None)),
        Ctl::GetZcnt(n) => readable(me, entry).and_then(|()| sem_at(entry, n)).map(|s| (u64::from(s.zcnt), None)),
        Ctl::SetVal(n, val) => {
            if !entry.perm.permits(&me.cred(), WRITE) {
                return Err(Errno::EACCES);
            }
            let num = usize::try_from(n).ok().filter(|&n| n < entry.obj.set.sems.len()).ok_or(Errno::EINVAL)?;
            entry.obj.set.set_val(num, val, me.pid, now())?;
            Ok((0, Some(entry.obj.waiters.clone())))
        }
        Ctl::SetAll(vals) => {
            if !entry.perm.permits(&me.cred(), WRITE) {
                return Err(Errno::EACCES);
            }
            entry.obj.set.set_all(vals, me.pid, now())?;
            Ok((0, Some(entry.obj.waiters.clone())))
        }
        Ctl::Set(ds) => {
            if !entry.perm.may_change(&me.cred()) {
                return Err(Errno::EPERM);
            }
            let IpcPerm { uid, gid, mode, .. } = ds.perm;
            entry.perm.set(uid, gid, mode);
            entry.obj.set.ctime = now();
            Ok((0, None))
        }
        Ctl::Remove => Ok((0, None)),
    })?;
    if let Some(waiters) = wake {
        waiters.changed();
    }
    Ok(value)
}

/// The number of semaphores of set `id` (to size GETALL and SETALL's copies).
pub fn nsems(id: i32) -> KResult<usize> {
    Ok(SETS.lock().table.get_id(id)?.obj.set.sems.len())
}

/// GETALL: the values, into `out` (sized by [`nsems`]; EIDRM-like EINVAL if the set changed).
pub fn get_all(id: i32, out: &mut [u16]) -> KResult<()> {
    with_set(id, |me, entry| {
        readable(me, entry)?;
        if out.len() != entry.obj.set.sems.len() {
            return Err(Errno::EIDRM);
        }
        for (o, s) in out.iter_mut().zip(&entry.obj.set.sems) {
            *o = s.val;
        }
        Ok(())
    })
}

/// IPC_STAT (by id), SEM_STAT and SEM_STAT_ANY (by index: the id is returned too).
pub fn stat(id: i32, cmd: i32) -> KResult<(i32, SemidDs)> {
    let me = caller()?;
    let sets = SETS.lock();
    let (id, entry) = if cmd == SEM_STAT || cmd == SEM_STAT_ANY { sets.table.at_index(id)? } else { (id, sets.table.get_id(id)?) };
    if cmd != SEM_STAT_ANY {
        readable(&me, entry)?;
    }
    let set = &entry.obj.set;
    Ok((id, SemidDs { perm: entry.perm.to_abi(), otime: set.otime, ctime: set.ctime, nsems: set.sems.len() as u64, ..SemidDs::default() }))
}

/// IPC_INFO (the limits) and SEM_INFO (semusz: sets in use, semaem: semaphores in use);
/// returns the highest index in use.
pub fn info(cmd: i32) -> (SemInfo, i32) {
    let sets = SETS.lock();
    let mut info = SemInfo {
        semmap: SEMMNS as i32,
        semmni: SEMMNI as i32,
        semmns: semmns() as i32,
        semmnu: SEMMNS as i32,
        semmsl: SEMMSL as i32,
        semopm: SEMOPM as i32,
        semume: SEMOPM as i32,
        semusz: 20,
        semvmx: SEMVMX,
        semaem: SEMAEM,
    };
    if cmd == SEM_INFO {
        info.semusz = sets.table.len() as i32;
        info.semaem = sets.total as i32;
    }
    (info, sets.table.max_index() as i32)
}

/// Process `pid` is gone: its undo values are applied to every set it has them in.
fn process_exited(pid: u32) {
    let mut wake = Vec::new();
    {
        let mut sets = SETS.lock();
        if sets.table.is_empty() {
            return;
        }
        for entry in sets.table.iter_mut() {
            if entry.obj.set.exit(pid) && wake.try_reserve(1).is_ok() {
                wake.push(entry.obj.waiters.clone());
            }
        }
    }
    for waiters in wake {
        waiters.changed();
    }
}

fn register_exit_hook() {
    crate::process::exit::EXIT_HOOK.call_once(|| process_exited);
}
