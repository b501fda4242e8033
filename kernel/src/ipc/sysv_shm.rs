//! System V shared memory: `shmget`, `shmat`, `shmdt`, `shmctl`. The table holds each
//! [`Segment`] (strongly until IPC_RMID; then, while still attached, weakly with SHM_DEST
//! and key IPC_PRIVATE, so the memory goes at the last detach and the entry with it).
//! Attaching maps the segment as a shared file mapping (`process::mm_file`).

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use exo_abi::ipc::{IpcPerm, ShmInfo, ShmInfo64, ShmidDs, IPC_PRIVATE, SHMLBA, SHMMIN, SHMMNI, SHM_DEST, SHM_EXEC, SHM_LOCK, SHM_LOCKED, SHM_RDONLY, SHM_REMAP, SHM_RND, SHM_STAT, SHM_STAT_ANY};
use exo_abi::mman::{MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_SHARED};
use exo_abi::{Errno, KResult};
use exo_sysvipc::perm::{READ, WRITE};
use exo_sysvipc::table::{Entry, Found, Table};
use exo_sysvipc::Perm;
use exo_vma::{Prot, PAGE};

use super::shm_segment::Segment;
use super::sysv::{caller, now};
use crate::process::mm::Mm;
use crate::process::mm_file::{FileBacking, FileRef};
use crate::spinlock::SpinLock;

/// Linux's default shmmax (ULONG_MAX - 2^24).
pub const SHMMAX: u64 = u64::MAX - (1 << 24);

/// shmall, the bound on the pages of all segments: four times the memory (Linux's default is
/// unbounded; each page costs a word of kernel heap even untouched). ENOSPC past it.
fn shmall() -> u64 {
    crate::memory::frames::stats().managed_frames as u64 * 4
}

enum Held {
    Live(Arc<Segment>),
    Destroyed(Weak<Segment>),
}

struct ShmObj {
    held: Held,
    size: u64,
    cpid: i32,
    lpid: i32,
    atime: i64,
    dtime: i64,
    ctime: i64,
}

impl ShmObj {
    fn segment(&self) -> Option<Arc<Segment>> {
        match &self.held {
            Held::Live(s) => Some(s.clone()),
            Held::Destroyed(w) => w.upgrade(),
        }
    }
}

static SEGMENTS: SpinLock<Table<ShmObj>> = SpinLock::new(Table::new(SHMMNI));

/// Drops the entries of destroyed segments nobody maps any more.
fn sweep(table: &mut Table<ShmObj>) {
    table.retain(|obj| match &obj.held {
        Held::Live(_) => true,
        Held::Destroyed(w) => w.strong_count() > 0,
    });
}

/// shmget: EINVAL for a size outside SHMMIN..=SHMMAX (or larger than an existing segment).
pub fn get(key: i32, size: u64, flags: u32) -> KResult<i32> {
    let me = caller()?;
    let check = |obj: &ShmObj| if size > obj.size { Err(Errno::EINVAL) } else { Ok(()) };
    let found = {
        let mut table = SEGMENTS.lock();
        sweep(&mut table);
        table.get(key, flags, &me.cred(), check)?
    };
    if let Found::Existing(id) = found {
        return Ok(id);
    }
    if !(SHMMIN..=SHMMAX).contains(&size) {
        return Err(Errno::EINVAL);
    }
    if size.div_ceil(PAGE).checked_mul(PAGE).is_none() {
        return Err(Errno::ENOSPC);
    }
    let segment = Segment::new(key, size)?;
    let mut table = SEGMENTS.lock();
    // Another process may have created the key meanwhile: look again.
    if let Found::Existing(id) = table.get(key, flags, &me.cred(), check)? {
        return Ok(id);
    }
    let used: u64 = table.iter().map(|(_, e)| e.obj.size.div_ceil(PAGE)).sum();
    if used.saturating_add(segment.pages()) > shmall() {
        return Err(Errno::ENOSPC);
    }
    let obj = ShmObj { held: Held::Live(segment.clone()), size, cpid: me.pid as i32, lpid: 0, atime: 0, dtime: 0, ctime: now() };
    let id = table.insert(Perm::new(key, flags, &me.cred()), obj)?;
    *segment.id.lock() = id;
    Ok(id)
}

/// shmat into `mm`: returns the address.
pub fn attach(mm: &Arc<Mm>, id: i32, addr: u64, flags: u32) -> KResult<u64> {
    let me = caller()?;
    let mut addr = addr;
    if addr & (SHMLBA - 1) != 0 {
        if flags & SHM_RND == 0 {
            return Err(Errno::EINVAL);
        }
        addr &= !(SHMLBA - 1);
        if addr == 0 && flags & SHM_REMAP != 0 {
            return Err(Errno::EINVAL);
        }
    }
    if addr == 0 && flags & SHM_REMAP != 0 {
        return Err(Errno::EINVAL);
    }
    let rdonly = flags & SHM_RDONLY != 0;
    let segment = {
        let mut table = SEGMENTS.lock();
        sweep(&mut table);
        let entry = table.get_id(id)?;
        let want = if rdonly { READ } else { READ | WRITE };
        if !entry.perm.permits(&me.cred(), want) {
            return Err(Errno::EACCES);
        }
        entry.obj.segment().ok_or(Errno::EIDRM)?
    };
    let len = segment.pages() * PAGE;
    let prot = Prot { read: true, write: !rdonly, exec: flags & SHM_EXEC != 0 };
    let mut map_flags = MAP_SHARED;
    if addr != 0 {
        map_flags |= if flags & SHM_REMAP != 0 { MAP_FIXED } else { MAP_FIXED_NOREPLACE };
    }
    let backing: Arc<dyn FileBacking> = segment.clone();
    backing.add_mapper(Arc::downgrade(mm))?;
    let file = FileRef { file: backing, offset: 0, may_write: !rdonly };
    let start = mm.mmap(addr, len, prot, map_flags, Some(file)).map_err(|e| match e {
        Errno::EEXIST | Errno::EPERM => Errno::EINVAL,
        e => e,
    })?;
    touch(id, &segment, |obj| {
        obj.atime = now();
        obj.lpid = me.pid as i32;
    });
    Ok(start)
}

/// Updates the entry of `segment` (if it is still in the table under `id`).
fn touch(id: i32, segment: &Arc<Segment>, f: impl FnOnce(&mut ShmObj)) {
    let mut table = SEGMENTS.lock();
    if let Ok(entry) = table.get_id_mut(id) {
        if entry.obj.segment().is_some_and(|s| Arc::ptr_eq(&s, segment)) {
            f(&mut entry.obj);
        }
    }
}

/// shmdt: detaches the segment attached at `addr` (EINVAL if none is).
pub fn detach(mm: &Arc<Mm>, addr: u64) -> KResult<()> {
    if addr & (PAGE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = caller()?;
    let segments: Vec<(i32, Arc<Segment>)> = {
        let table = SEGMENTS.lock();
        let mut out = Vec::new();
        out.try_reserve(table.len()).map_err(|_| Errno::ENOMEM)?;
        out.extend(table.iter().filter_map(|(id, e)| e.obj.segment().map(|s| (id, s))));
        out
    };
    for (id, segment) in segments {
        let ranges = segment.attached_at(mm, addr);
        if ranges.is_empty() {
            continue;
        }
        for (start, end) in ranges {
            mm.munmap(start, end - start)?;
        }
        touch(id, &segment, |obj| {
            obj.dtime = now();
            obj.lpid = me.pid as i32;
        });
        drop(segment);
        sweep(&mut SEGMENTS.lock());
        return Ok(());
    }
    Err(Errno::EINVAL)
}

fn stat_of(entry: &Entry<ShmObj>) -> ShmidDs {
    let obj = &entry.obj;
    ShmidDs { perm: entry.perm.to_abi(), segsz: obj.size, atime: obj.atime, dtime: obj.dtime, ctime: obj.ctime, cpid: obj.cpid, lpid: obj.lpid, ..ShmidDs::default() }
}

/// IPC_STAT (by id), SHM_STAT and SHM_STAT_ANY (by index: the id is returned too).
pub fn stat(id: i32, cmd: i32) -> KResult<(i32, ShmidDs)> {
    let me = caller()?;
    let (id, mut ds, segment) = {
        let mut table = SEGMENTS.lock();
        sweep(&mut table);
        let (id, entry) = if cmd == SHM_STAT || cmd == SHM_STAT_ANY { table.at_index(id)? } else { (id, table.get_id(id)?) };
        if cmd != SHM_STAT_ANY && !entry.perm.permits(&me.cred(), READ) {
            return Err(Errno::EACCES);
        }
        (id, stat_of(entry), entry.obj.segment())
    };
    ds.nattch = segment.map_or(0, |s| s.attachments());
    Ok((id, ds))
}

/// IPC_SET, IPC_RMID, SHM_LOCK, SHM_UNLOCK.
pub fn ctl(id: i32, cmd: i32, ds: Option<&ShmidDs>) -> KResult<()> {
    let me = caller()?;
    let segment = {
        let mut table = SEGMENTS.lock();
        sweep(&mut table);
        let entry = table.get_id_mut(id)?;
        if !entry.perm.may_change(&me.cred()) {
            return Err(Errno::EPERM);
        }
        if let Some(ds) = ds {
            let IpcPerm { uid, gid, mode, .. } = ds.perm;
            entry.perm.set(uid, gid, mode);
            entry.obj.ctime = now();
            return Ok(());
        }
        if cmd != exo_abi::ipc::IPC_RMID {
            if cmd == SHM_LOCK { entry.perm.mode |= SHM_LOCKED } else { entry.perm.mode &= !SHM_LOCKED }
            return Ok(());
        }
        entry.obj.segment()
    };
    // IPC_RMID: attached segments stay (SHM_DEST, private key) until the last detach.
    let attached = segment.as_ref().is_some_and(|s| s.attachments() > 0);
    let mut table = SEGMENTS.lock();
    let entry = table.get_id_mut(id)?;
    if attached {
        entry.perm.mode |= SHM_DEST;
        entry.perm.key = IPC_PRIVATE;
        entry.obj.ctime = now();
        if let Some(segment) = &segment {
            entry.obj.held = Held::Destroyed(Arc::downgrade(segment));
        }
    } else {
        table.remove(id)?;
    }
    drop(table);
    drop(segment);
    Ok(())
}

/// IPC_INFO: the limits; returns the highest index in use.
pub fn limits() -> (ShmInfo64, i32) {
    let table = SEGMENTS.lock();
    (ShmInfo64 { shmmax: SHMMAX, shmmin: SHMMIN, shmmni: SHMMNI as u64, shmseg: SHMMNI as u64, shmall: shmall(), unused: [0; 4] }, table.max_index() as i32)
}

/// SHM_INFO: segments, pages and resident pages in use; returns the highest index in use.
pub fn usage() -> (ShmInfo, i32) {
    let (segments, max) = {
        let mut table = SEGMENTS.lock();
        sweep(&mut table);
        let mut out = Vec::new();
        if out.try_reserve(table.len()).is_ok() {
            out.extend(table.iter().filter_map(|(_, e)| e.obj.segment()));
        }
        (out, table.max_index() as i32)
    };
    let info = ShmInfo {
        used_ids: segments.len() as i32,
        shm_tot: segments.iter().map(|s| s.pages()).sum(),
        shm_rss: segments.iter().map(|s| s.resident()).sum(),
        ..ShmInfo::default()
    };
    (info, max)
}
