//! File descriptor tables: small integers naming open file descriptions, with the per-
//! descriptor close-on-exec flag. Shared between tasks cloned with CLONE_FILES, copied on fork.
//!
//! The rules (lowest free descriptor, limits, dup, close-on-exec, close_range) are the host-
//! tested `exo-fdtable` crate's; this is its table behind a lock. Files leaving the table are
//! dropped after the lock is released, since dropping the last reference runs release code.

use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::KResult;
use exo_fdtable::Refused;
use crate::spinlock::SpinLock as Mutex;

use super::file::OpenFile;

pub use exo_fdtable::FD_HARD_MAX;

/// Run for each file leaving a table (closed, replaced by dup2, closed on exec, the table
/// dropped at exit) with the table's identity ([`FdTable::owner_id`]): POSIX record locks are
/// owned by the table and all of them on the file's inode go (`fs::filelock` registers it).
static ON_CLOSE: spin::Once<fn(&OpenFile, u64)> = spin::Once::new();

/// Registers the hook run for each file leaving a table (once, at boot).
pub fn on_close(hook: fn(&OpenFile, u64)) {
    ON_CLOSE.call_once(|| hook);
}

/// A descriptor table.
pub struct FdTable {
    entries: Mutex<exo_fdtable::FdTable<Arc<OpenFile>>>,
}

impl Default for FdTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FdTable {
    pub const fn new() -> FdTable {
        FdTable { entries: Mutex::new(exo_fdtable::FdTable::new()) }
    }

    /// The table's identity while it lives: the owner of its process's POSIX record locks.
    pub fn owner_id(&self) -> u64 {
        self as *const FdTable as u64
    }

    /// Runs the close hook for a file that left this table (outside the table's lock).
    fn closed(&self, file: &OpenFile) {
        if let Some(hook) = ON_CLOSE.get() {
            hook(file, self.owner_id());
        }
    }

    /// A copy referring to the same open file descriptions (fork).
    pub fn duplicate(&self) -> KResult<FdTable> {
        let copy = self.entries.lock().try_clone()?;
        Ok(FdTable { entries: Mutex::new(copy) })
    }

    /// The open file behind `fd` (EBADF if none).
    pub fn get(&self, fd: i32) -> KResult<Arc<OpenFile>> {
        self.entries.lock().get(fd).cloned()
    }

    /// The descriptor's close-on-exec flag.
    pub fn cloexec(&self, fd: i32) -> KResult<bool> {
        self.entries.lock().cloexec(fd)
    }

    pub fn set_cloexec(&self, fd: i32, cloexec: bool) -> KResult<()> {
        self.entries.lock().set_cloexec(fd, cloexec)
    }

    /// Installs `file` at the lowest free descriptor >= `min` below `limit` (EMFILE if none).
    pub fn insert(&self, file: Arc<OpenFile>, cloexec: bool, min: usize, limit: usize) -> KResult<i32> {
        let result = self.entries.lock().insert(file, cloexec, min, limit);
        // A refused file is dropped here, outside the lock.
        result.map_err(Refused::into_errno)
    }

    /// `dup(old)`: the lowest free descriptor below `limit` (see `exo_fdtable`).
    pub fn dup(&self, old: i32, limit: usize) -> KResult<i32> {
        self.entries.lock().dup(old, limit)
    }

    /// `fcntl(F_DUPFD / F_DUPFD_CLOEXEC)`: the lowest free descriptor at or above `min`.
    pub fn dup_min(&self, old: i32, min: i32, cloexec: bool, limit: usize) -> KResult<i32> {
        self.entries.lock().dup_min(old, min, cloexec, limit)
    }

    /// `dup2(old, new)`; the file `new` held is dropped after the lock is released.
    pub fn dup2(&self, old: i32, new: i32, limit: usize) -> KResult<i32> {
        let replaced = self.entries.lock().dup2(old, new, limit)?;
        if let Some(file) = &replaced {
            self.closed(file);
        }
        drop(replaced);
        Ok(new)
    }

    /// `dup3(old, new, flags)`; the file `new` held is dropped after the lock is released.
    pub fn dup3(&self, old: i32, new: i32, flags: u32, limit: usize) -> KResult<i32> {
        let replaced = self.entries.lock().dup3(old, new, flags, limit)?;
        if let Some(file) = &replaced {
            self.closed(file);
        }
        drop(replaced);
        Ok(new)
    }

    /// Closes `fd` (EBADF if it is not open).
    pub fn close(&self, fd: i32) -> KResult<()> {
        let old = self.entries.lock().close(fd)?;
        self.closed(&old);
        drop(old);
        Ok(())
    }

    /// Closes every close-on-exec descriptor (execve).
    pub fn close_on_exec(&self) {
        let closed = self.entries.lock().close_on_exec();
        match closed {
            Ok(files) => files.iter().for_each(|file| self.closed(file)),
            Err(_) => self.close_each(0, usize::MAX, true),
        }
    }

    /// Closes every descriptor in `[first, last]`, or marks them close-on-exec (close_range).
    pub fn close_range(&self, first: usize, last: usize, only_cloexec: bool) {
        if only_cloexec {
            self.entries.lock().set_cloexec_range(first, last);
            return;
        }
        let closed = self.entries.lock().close_range(first, last);
        match closed {
            Ok(files) => files.iter().for_each(|file| self.closed(file)),
            Err(_) => self.close_each(first, last, false),
        }
    }

    /// Closes the descriptors of `[first, last]` (the close-on-exec ones if `only_cloexec`) one
    /// at a time, without allocating: what a bulk close does when out of memory.
    fn close_each(&self, first: usize, last: usize, only_cloexec: bool) {
        let mut from = first;
        loop {
            let next = self.entries.lock().close_next(from, last, only_cloexec);
            let Some((fd, file)) = next else { break };
            self.closed(&file);
            drop(file);
            match fd.checked_add(1) {
                Some(after) => from = after,
                None => break,
            }
        }
    }

    /// How many descriptor slots the table has now (select ignores descriptors beyond).
    pub fn capacity(&self) -> usize {
        self.entries.lock().slots()
    }

    /// Every open descriptor number (for /proc/<pid>/fd).
    pub fn open_fds(&self) -> Vec<i32> {
        self.entries.lock().iter().map(|(fd, _)| fd).collect()
    }
}

impl Drop for FdTable {
    /// The table's files leave it one by one, each through the close hook (record locks
    /// released at exit).
    fn drop(&mut self) {
        if ON_CLOSE.get().is_some() {
            self.close_each(0, usize::MAX, false);
        }
    }
}
