//! File locks: POSIX record locks (owner: the process's descriptor table, as Linux's
//! `current->files`), open-file-description locks (owner: the open file) and `flock` locks
//! (owner: the open file; a separate list, independent of record locks as on Linux).
//!
//! One table for the whole system maps each locked inode (by identity: file system id and
//! inode number; files without an inode, such as pipes, by their file object) to its two lock
//! lists (`exo_filelock::LockList`). The table is a spin lock: no user memory is touched under
//! it. `F_SETLKW`/`flock` without `LOCK_NB` sleep interruptibly on one wait queue, woken by a
//! generation counter bumped whenever a lock goes or shrinks; before sleeping, a POSIX waiter
//! runs the deadlock walk over the other waiting owners (`EDEADLK`).
//!
//! Release: when a file leaves a descriptor table (close, dup2, exec, exit), every POSIX lock
//! of that table on the file's inode goes (the files layer's close hook); when an open file
//! description goes, its OFD and flock locks go (the release hook). The hooks are registered
//! at the first lock, so they cost nothing before, and one atomic load while no lock exists.
//! Bounded: at most [`MAX_LOCKS`] ranges system-wide (`ENOLCK` past it).

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use exo_abi::{Errno, KResult};
use exo_filelock::{would_deadlock, Kind, Lock, LockList, Owner, Range, WHOLE};

use crate::files::OpenFile;
use crate::sched::wait::{WaitOutcome, WaitQueue};
use crate::spinlock::SpinLock;

/// System-wide bound on lock ranges (each `flock` lock counts one).
pub const MAX_LOCKS: usize = 65536;
/// System-wide bound on owners blocked in `F_SETLKW` at once.
const MAX_WAITERS: usize = 4096;

/// Identity of a locked file.
type Key = (u64, u64);

struct FileLocks {
    key: Key,
    /// POSIX and OFD record locks (they conflict with each other).
    records: LockList,
    /// `flock` locks, whole-file ranges.
    flocks: LockList,
}

/// A POSIX owner blocked in `F_SETLKW` (for the deadlock walk).
struct Waiter {
    owner: Owner,
    key: Key,
    kind: Kind,
    range: Range,
}

struct Table {
    files: Vec<FileLocks>,
    waiters: Vec<Waiter>,
    ranges: usize,
}

impl Table {
    fn find(&self, key: Key) -> Option<&FileLocks> {
        self.files.iter().find(|f| f.key == key)
    }

    fn find_mut(&mut self, key: Key) -> Option<&mut FileLocks> {
        self.files.iter_mut().find(|f| f.key == key)
    }

    /// The index of the file's entry, made if missing (`ENOLCK` when out of memory).
    fn index(&mut self, key: Key) -> KResult<usize> {
        if let Some(i) = self.files.iter().position(|f| f.key == key) {
            return Ok(i);
        }
        self.files.try_reserve(1).map_err(|_| Errno::ENOLCK)?;
        self.files.push(FileLocks { key, records: LockList::new(), flocks: LockList::new() });
        ACTIVE.store(self.files.len(), Ordering::SeqCst);
        Ok(self.files.len() - 1)
    }

    /// Drops the entry of a file that has no lock left.
    fn tidy(&mut self, key: Key) {
        self.files.retain(|f| f.key != key || !(f.records.is_empty() && f.flocks.is_empty()));
        ACTIVE.store(self.files.len(), Ordering::SeqCst);
    }

    /// The owner `owner` waits for, if it is blocked on a record lock.
    fn waits_for(&self, owner: Owner) -> Option<Owner> {
        let waiter = self.waiters.iter().find(|w| w.owner == owner)?;
        let file = self.find(waiter.key)?;
        file.records.conflict(waiter.owner, waiter.kind, &waiter.range).map(|l| l.owner)
    }
}

static TABLE: SpinLock<Table> = SpinLock::new(Table { files: Vec::new(), waiters: Vec::new(), ranges: 0 });
/// How many files have locks: the hooks' fast path.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// Bumped whenever a lock goes or shrinks; blocked lockers wait for it to move.
static GENERATION: AtomicU64 = AtomicU64::new(0);
static CHANGED: WaitQueue = WaitQueue::new();

/// The identity of `file`'s inode (or of the file itself when it has none).
pub fn key_of(file: &OpenFile) -> Key {
    match file.ops.path() {
        Some(path) => (path.inode().fs_id(), path.metadata().ino),
        None => (u64::MAX, alloc::sync::Arc::as_ptr(&file.ops) as *const () as u64),
    }
}

/// The owner of `file`'s open-file-description and flock locks.
pub fn description_owner(file: &OpenFile) -> Owner {
    file as *const OpenFile as u64
}

fn register_hooks() {
    static HOOKS: spin::Once<()> = spin::Once::new();
    HOOKS.call_once(|| {
        crate::files::fdtable::on_close(release_posix);
        crate::files::file::on_release(release_description);
    });
}

fn changed() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    CHANGED.wake_all();
}

/// Close hook: `owner` (a descriptor table) let go of `file`: all its record locks on the
/// inode go.
fn release_posix(file: &OpenFile, owner: u64) {
    if ACTIVE.load(Ordering::SeqCst) == 0 {
        return;
    }
    let key = key_of(file);
    let mut table = TABLE.lock();
    let Some(entry) = table.find_mut(key) else { return };
    let removed = entry.records.remove_owner(owner);
    if removed > 0 {
        table.ranges -= removed;
        table.tidy(key);
        drop(table);
        changed();
    }
}

/// Release hook: the open file description goes with its OFD and flock locks.
fn release_description(file: &OpenFile) {
    if ACTIVE.load(Ordering::SeqCst) == 0 {
        return;
    }
    let key = key_of(file);
    let owner = description_owner(file);
    let mut table = TABLE.lock();
    let Some(entry) = table.find_mut(key) else { return };
    let removed = entry.records.remove_owner(owner) + entry.flocks.remove_owner(owner);
    if removed > 0 {
        table.ranges -= removed;
        table.tidy(key);
        drop(table);
        changed();
    }
}

/// `F_GETLK`: the first record lock of another owner conflicting with the request.
pub fn test_record(key: Key, owner: Owner, kind: Kind, range: Range) -> Option<Lock> {
    let table = TABLE.lock();
    table.find(key)?.records.conflict(owner, kind, &range).copied()
}

/// Which list a request is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// Record locks; `posix`: the owner is a descriptor table (takes part in deadlock detection).
    Records { posix: bool },
    Flock,
}

/// Sets (`kind`: `Some`) or removes (`None`) `owner`'s lock over `range` of the file `key`.
/// A conflict gives `EAGAIN` unless `wait`, which sleeps until the lock can be placed
/// (`EDEADLK` if that would never happen, `ERESTARTSYS` on a signal).
pub fn set(key: Key, list: List, owner: Owner, kind: Option<Kind>, range: Range, pid: i32, wait: bool) -> KResult<()> {
    register_hooks();
    let mut table = TABLE.lock();
    let mut waiting = false;
    let result = loop {
        let index = match table.index(key) {
            Ok(index) => index,
            Err(e) => break Err(e),
        };
        let ranges = table.ranges;
        let entry = &mut table.files[index];
        let locks = if list == List::Flock { &mut entry.flocks } else { &mut entry.records };
        let blocker = kind.and_then(|k| locks.conflict(owner, k, &range)).map(|l| l.owner);
        let Some(blocker) = blocker else {
            if ranges + 2 > MAX_LOCKS {
                break Err(Errno::ENOLCK);
            }
            let before = locks.len();
            if locks.set(owner, kind, range, pid).is_err() {
                break Err(Errno::ENOLCK);
            }
            let after = locks.len();
            table.ranges = ranges - before + after;
            break Ok(after < before || kind != Some(Kind::Write));
        };
        if !wait {
            break Err(Errno::EAGAIN);
        }
        let posix = list == List::Records { posix: true };
        if posix && would_deadlock(owner, blocker, |o| table.waits_for(o)) {
            break Err(Errno::EDEADLK);
        }
        if posix && !waiting {
            if table.waiters.len() >= MAX_WAITERS || table.waiters.try_reserve(1).is_err() {
                break Err(Errno::ENOLCK);
            }
            table.waiters.push(Waiter { owner, key, kind: kind.unwrap_or(Kind::Read), range });
            waiting = true;
        }
        let seen = GENERATION.load(Ordering::SeqCst);
        drop(table);
        let outcome = CHANGED.wait_interruptible(|| GENERATION.load(Ordering::SeqCst) != seen, crate::sched::signal_check(), None);
        table = TABLE.lock();
        if outcome == WaitOutcome::Interrupted {
            break Err(Errno::ERESTARTSYS);
        }
    };
    if waiting {
        if let Some(i) = table.waiters.iter().position(|w| w.owner == owner && w.key == key) {
            table.waiters.swap_remove(i);
        }
    }
    table.tidy(key);
    drop(table);
    match result {
        // Something went or shrank (an unlock, a downgrade, a split): waiters look again.
        Ok(true) => {
            changed();
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `flock(2)`: `kind` `None` unlocks. A conversion first drops the held lock (waking others),
/// then takes the new one, as Linux does (it is not atomic).
pub fn flock(file: &OpenFile, kind: Option<Kind>, wait: bool) -> KResult<()> {
    let key = key_of(file);
    let owner = description_owner(file);
    if kind.is_some() {
        let held = TABLE.lock().find(key).and_then(|f| f.flocks.held_at(owner, 0));
        if held == kind {
            return Ok(());
        }
        if held.is_some() {
            set(key, List::Flock, owner, None, WHOLE, 0, false)?;
        }
    }
    set(key, List::Flock, owner, kind, WHOLE, 0, wait)
}
