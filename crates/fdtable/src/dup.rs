//! Duplicating descriptors: `dup`, `fcntl(F_DUPFD[_CLOEXEC])`, `dup2` and `dup3`, with
//! Linux's errors. Each happens under one borrow of the table (the kernel's one lock hold), so
//! the file duplicated cannot be closed half-way; a replaced file is returned to be dropped
//! after the lock is released.

use exo_abi::fcntl::O_CLOEXEC;
use exo_abi::Errno;

use crate::{FdTable, Refused, FD_HARD_MAX};

impl<F: Clone> FdTable<F> {
    /// `dup(old)`: `old`'s file at the lowest free descriptor below `limit`, close-on-exec
    /// clear. EBADF if `old` is not open, EMFILE if no descriptor is free.
    pub fn dup(&mut self, old: i32, limit: usize) -> Result<i32, Errno> {
        let file = self.get(old)?.clone();
        self.insert(file, false, 0, limit).map_err(Refused::into_errno)
    }

    /// `fcntl(old, F_DUPFD or F_DUPFD_CLOEXEC, min)`: `old`'s file at the lowest free
    /// descriptor at or above `min` below `limit`. EBADF if `old` is not open, EINVAL if `min`
    /// is negative or not below `limit` (capped at [`FD_HARD_MAX`]), EMFILE if none is free.
    pub fn dup_min(&mut self, old: i32, min: i32, cloexec: bool, limit: usize) -> Result<i32, Errno> {
        let file = self.get(old)?.clone();
        let min = usize::try_from(min).map_err(|_| Errno::EINVAL)?;
        if min >= limit.min(FD_HARD_MAX) {
            return Err(Errno::EINVAL);
        }
        self.insert(file, cloexec, min, limit).map_err(Refused::into_errno)
    }

    /// `old`'s file installed at `new` with the given flag, returning the file replaced.
    fn dup_to(&mut self, old: i32, new: i32, cloexec: bool, limit: usize) -> Result<Option<F>, Errno> {
        let file = self.get(old)?.clone();
        let replaced = self.insert_at(new, file, cloexec, limit).map_err(Refused::into_errno)?;
        Ok(replaced.map(|e| e.file))
    }

    /// `dup2(old, new)`: `old`'s file at `new`, close-on-exec clear, replacing (and returning)
    /// what `new` held. When `old == new` nothing changes, and the only error is EBADF if it is
    /// not open. EBADF if `old` is not open or `new` is negative or not below `limit` (capped
    /// at [`FD_HARD_MAX`]); ENOMEM if the table cannot grow.
    pub fn dup2(&mut self, old: i32, new: i32, limit: usize) -> Result<Option<F>, Errno> {
        if old == new {
            return self.get(old).map(|_| None);
        }
        self.dup_to(old, new, false, limit)
    }

    /// `dup3(old, new, flags)`: as [`dup2`](FdTable::dup2), with close-on-exec from
    /// O_CLOEXEC in `flags`, but EINVAL if `old == new` or `flags` has any other bit.
    pub fn dup3(&mut self, old: i32, new: i32, flags: u32, limit: usize) -> Result<Option<F>, Errno> {
        if old == new || flags & !O_CLOEXEC != 0 {
            return Err(Errno::EINVAL);
        }
        self.dup_to(old, new, flags & O_CLOEXEC != 0, limit)
    }
}
