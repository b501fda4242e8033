//! File descriptor tables: small integers naming open file descriptions, with the per-
//! descriptor close-on-exec flag. Shared between tasks cloned with CLONE_FILES, copied on fork.

use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::{Errno, KResult};
use crate::spinlock::SpinLock as Mutex;

use super::file::OpenFile;

/// One descriptor.
#[derive(Clone)]
pub struct FdEntry {
    pub file: Arc<OpenFile>,
    pub cloexec: bool,
}

/// Most descriptors a table can hold whatever RLIMIT_NOFILE says.
pub const FD_HARD_MAX: usize = 65536;

/// A descriptor table.
pub struct FdTable {
    entries: Mutex<Vec<Option<FdEntry>>>,
}

impl Default for FdTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FdTable {
    pub const fn new() -> FdTable {
        FdTable { entries: Mutex::new(Vec::new()) }
    }

    /// A copy referring to the same open file descriptions (fork).
    pub fn duplicate(&self) -> KResult<FdTable> {
        let entries = self.entries.lock();
        let mut copy = Vec::new();
        copy.try_reserve(entries.len()).map_err(|_| Errno::ENOMEM)?;
        copy.extend(entries.iter().cloned());
        Ok(FdTable { entries: Mutex::new(copy) })
    }

    /// The open file behind `fd` (EBADF if none).
    pub fn get(&self, fd: i32) -> KResult<Arc<OpenFile>> {
        let index = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.entries.lock().get(index).and_then(|e| e.as_ref()).map(|e| e.file.clone()).ok_or(Errno::EBADF)
    }

    /// The descriptor's close-on-exec flag.
    pub fn cloexec(&self, fd: i32) -> KResult<bool> {
        let index = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.entries.lock().get(index).and_then(|e| e.as_ref()).map(|e| e.cloexec).ok_or(Errno::EBADF)
    }

    pub fn set_cloexec(&self, fd: i32, cloexec: bool) -> KResult<()> {
        let index = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        let mut entries = self.entries.lock();
        let entry = entries.get_mut(index).and_then(|e| e.as_mut()).ok_or(Errno::EBADF)?;
        entry.cloexec = cloexec;
        Ok(())
    }

    /// Installs `file` at the lowest free descriptor >= `min` below `limit` (EMFILE if none).
    pub fn insert(&self, file: Arc<OpenFile>, cloexec: bool, min: usize, limit: usize) -> KResult<i32> {
        let limit = limit.min(FD_HARD_MAX);
        let mut entries = self.entries.lock();
        let free = (min..limit).find(|&i| entries.get(i).is_none_or(|e| e.is_none())).ok_or(Errno::EMFILE)?;
        if free >= entries.len() {
            let extra = free + 1 - entries.len();
            entries.try_reserve(extra).map_err(|_| Errno::ENOMEM)?;
            entries.resize(free + 1, None);
        }
        entries[free] = Some(FdEntry { file, cloexec });
        Ok(free as i32)
    }

    /// Installs `file` at exactly `fd` (dup2/dup3), closing what was there. Returns the old file
    /// (to be dropped outside the lock).
    pub fn insert_at(&self, fd: i32, file: Arc<OpenFile>, cloexec: bool, limit: usize) -> KResult<Option<FdEntry>> {
        let index = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        if index >= limit.min(FD_HARD_MAX) {
            return Err(Errno::EBADF);
        }
        let mut entries = self.entries.lock();
        if index >= entries.len() {
            let extra = index + 1 - entries.len();
            entries.try_reserve(extra).map_err(|_| Errno::ENOMEM)?;
            entries.resize(index + 1, None);
        }
        Ok(entries[index].replace(FdEntry { file, cloexec }))
    }

    /// Closes `fd` (EBADF if it is not open).
    pub fn close(&self, fd: i32) -> KResult<()> {
        let index = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        let old = self.entries.lock().get_mut(index).and_then(|e| e.take()).ok_or(Errno::EBADF)?;
        drop(old);
        Ok(())
    }

    /// Closes every close-on-exec descriptor (execve).
    pub fn close_on_exec(&self) {
        let closed: Vec<FdEntry> = {
            let mut entries = self.entries.lock();
            entries.iter_mut().filter(|e| e.as_ref().is_some_and(|e| e.cloexec)).filter_map(|e| e.take()).collect()
        };
        drop(closed);
    }

    /// Closes every descriptor in `[first, last]` (close_range).
    pub fn close_range(&self, first: usize, last: usize, only_cloexec: bool) {
        let closed: Vec<FdEntry> = {
            let mut entries = self.entries.lock();
            let end = entries.len().min(last.saturating_add(1));
            if first >= end {
                return;
            }
            if only_cloexec {
                entries[first..end].iter_mut().for_each(|e| if let Some(entry) = e { entry.cloexec = true });
                return;
            }
            entries[first..end].iter_mut().filter_map(|e| e.take()).collect()
        };
        drop(closed);
    }

    /// How many descriptor slots the table has now (select ignores descriptors beyond).
    pub fn capacity(&self) -> usize {
        self.entries.lock().len()
    }

    /// Every open descriptor number (for /proc/<pid>/fd).
    pub fn open_fds(&self) -> Vec<i32> {
        self.entries.lock().iter().enumerate().filter(|(_, e)| e.is_some()).map(|(i, _)| i as i32).collect()
    }
}
