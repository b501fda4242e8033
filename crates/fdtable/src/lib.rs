//! `exo-fdtable`: the pure rules of a Linux file descriptor table, generic over what a
//! descriptor names (the kernel's `files::FdTable` puts `Arc<OpenFile>`s in one behind its lock;
//! the tests put plain numbers):
//!
//! - a descriptor is a small integer naming a file, with its own close-on-exec flag;
//! - a new descriptor is the lowest free one, at or above a minimum (`F_DUPFD`), below the
//!   caller's limit (RLIMIT_NOFILE) and [`FD_HARD_MAX`] — none free is `EMFILE`;
//! - `dup2`/`dup3` install at a given number, replacing what was there ([`FdTable::dup2`],
//!   [`FdTable::dup3`]; [`FdTable::dup_min`] is `F_DUPFD`);
//! - `execve` closes the close-on-exec descriptors, `close_range` closes (or marks
//!   close-on-exec) a range ([`FdTable::close_on_exec`],
//!   [`FdTable::close_range`], [`close_range_args`]);
//! - `fork` copies the table ([`FdTable::try_clone`]); `/proc/<pid>/fd` lists it
//!   ([`FdTable::iter`]).
//!
//! Descriptor numbers come from user space: anything negative or too large is `EBADF` (or the
//! error Linux gives), never a panic. Growing the table and collecting closed files allocate
//! fallibly (`ENOMEM`, the table left as it was). A file that leaves the table — replaced,
//! closed, or refused — is handed back to the caller ([`Refused`] for refusals), so that the
//! kernel drops it (which may run its release code) after letting go of the table's lock.
//!
//! Slots are never given back: the table is as long as one past the highest descriptor it has
//! held ([`FdTable::slots`], which bounds `select`'s scan in the kernel).

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod close;
mod dup;
#[cfg(test)]
mod tests;

use alloc::vec::Vec;

use exo_abi::Errno;

pub use self::close::{close_range_args, CloseRange};

/// Most descriptors a table can hold whatever RLIMIT_NOFILE says (Linux's default `nr_open`
/// is 1024 * 1024; Exo-OS keeps tables smaller).
pub const FD_HARD_MAX: usize = 65536;

/// One open descriptor: the file it names and its close-on-exec flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<F> {
    pub file: F,
    pub cloexec: bool,
}

/// A file the table would not take, handed back with the reason so that the caller drops it
/// outside its lock.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused<F> {
    pub errno: Errno,
    pub file: F,
}

impl<F> Refused<F> {
    /// The error, dropping the file (call it once the table's lock is released).
    pub fn into_errno(self) -> Errno {
        self.errno
    }
}

/// A descriptor table: slot `n` holds descriptor `n`'s entry, if open.
#[derive(Debug)]
pub struct FdTable<F> {
    entries: Vec<Option<Entry<F>>>,
}

impl<F> Default for FdTable<F> {
    fn default() -> Self {
        Self::new()
    }
}

/// The slot of descriptor `fd`, if it is a possible descriptor at all (EBADF if negative).
fn slot_of(fd: i32) -> Result<usize, Errno> {
    usize::try_from(fd).map_err(|_| Errno::EBADF)
}

/// A slot number as a descriptor (slots stay below [`FD_HARD_MAX`], so this always fits).
fn fd_of(slot: usize) -> Result<i32, Errno> {
    i32::try_from(slot).map_err(|_| Errno::EMFILE)
}

impl<F> FdTable<F> {
    /// An empty table.
    pub const fn new() -> FdTable<F> {
        FdTable { entries: Vec::new() }
    }

    /// A copy naming the same files with the same flags (fork without CLONE_FILES).
    pub fn try_clone(&self) -> Result<FdTable<F>, Errno>
    where
        F: Clone,
    {
        let mut copy = Vec::new();
        copy.try_reserve(self.entries.len()).map_err(|_| Errno::ENOMEM)?;
        copy.extend(self.entries.iter().cloned());
        Ok(FdTable { entries: copy })
    }

    /// Descriptor `fd`'s entry, if open.
    pub fn entry(&self, fd: i32) -> Option<&Entry<F>> {
        let slot = slot_of(fd).ok()?;
        self.entries.get(slot)?.as_ref()
    }

    /// The file behind `fd` (EBADF if it is not open).
    pub fn get(&self, fd: i32) -> Result<&F, Errno> {
        self.entry(fd).map(|e| &e.file).ok_or(Errno::EBADF)
    }

    /// Whether `fd` is open.
    pub fn is_open(&self, fd: i32) -> bool {
        self.entry(fd).is_some()
    }

    /// `fd`'s close-on-exec flag (`F_GETFD`; EBADF if it is not open).
    pub fn cloexec(&self, fd: i32) -> Result<bool, Errno> {
        self.entry(fd).map(|e| e.cloexec).ok_or(Errno::EBADF)
    }

    /// Sets `fd`'s close-on-exec flag (`F_SETFD`, `FIOCLEX`, `FIONCLEX`; EBADF if not open).
    pub fn set_cloexec(&mut self, fd: i32, cloexec: bool) -> Result<(), Errno> {
        let slot = slot_of(fd)?;
        let entry = self.entries.get_mut(slot).and_then(Option::as_mut).ok_or(Errno::EBADF)?;
        entry.cloexec = cloexec;
        Ok(())
    }

    /// How many descriptor slots the table has: one past the highest descriptor it ever held.
    pub fn slots(&self) -> usize {
        self.entries.len()
    }

    /// The open descriptors in increasing order, with their entries (for `/proc/<pid>/fd`).
    pub fn iter(&self) -> impl Iterator<Item = (i32, &Entry<F>)> + '_ {
        self.entries.iter().enumerate().filter_map(|(slot, e)| Some((fd_of(slot).ok()?, e.as_ref()?)))
    }

    /// How many descriptors are open.
    pub fn open_count(&self) -> usize {
        self.entries.iter().filter(|e| e.is_some()).count()
    }

    /// The lowest free descriptor at or above `min` and below `limit` (capped at
    /// [`FD_HARD_MAX`]); EMFILE if there is none.
    pub fn lowest_free(&self, min: usize, limit: usize) -> Result<usize, Errno> {
        let limit = limit.min(FD_HARD_MAX);
        let len = self.entries.len();
        let free = match self.entries.get(min..).and_then(|tail| tail.iter().position(Option::is_none)) {
            // `min + at` is the index of an existing slot, so it cannot overflow.
            Some(at) => min.saturating_add(at),
            None => len.max(min),
        };
        if free < limit {
            Ok(free)
        } else {
            Err(Errno::EMFILE)
        }
    }

    /// Slot `slot`, made to exist (ENOMEM if the table cannot grow; nothing changes then).
    fn slot_mut(&mut self, slot: usize) -> Result<&mut Option<Entry<F>>, Errno> {
        let len = self.entries.len();
        if slot >= len {
            let new_len = slot.checked_add(1).ok_or(Errno::ENOMEM)?;
            self.entries.try_reserve(new_len - len).map_err(|_| Errno::ENOMEM)?;
            self.entries.resize_with(new_len, || None);
        }
        self.entries.get_mut(slot).ok_or(Errno::ENOMEM)
    }

    /// The lowest free descriptor's number and slot (see [`FdTable::lowest_free`]).
    fn free_place(&mut self, min: usize, limit: usize) -> Result<(i32, &mut Option<Entry<F>>), Errno> {
        let slot = self.lowest_free(min, limit)?;
        Ok((fd_of(slot)?, self.slot_mut(slot)?))
    }

    /// Installs `file` at the lowest free descriptor at or above `min` below `limit` (open,
    /// dup, `F_DUPFD`): EMFILE if there is none, ENOMEM if the table cannot grow.
    pub fn insert(&mut self, file: F, cloexec: bool, min: usize, limit: usize) -> Result<i32, Refused<F>> {
        match self.free_place(min, limit) {
            Ok((fd, place)) => {
                *place = Some(Entry { file, cloexec });
                Ok(fd)
            }
            Err(errno) => Err(Refused { errno, file }),
        }
    }

    /// Installs `file` at exactly `fd` (dup2, dup3), replacing what was there, which is
    /// returned: EBADF if `fd` is negative or not below `limit` (capped at [`FD_HARD_MAX`]),
    /// ENOMEM if the table cannot grow.
    pub fn insert_at(&mut self, fd: i32, file: F, cloexec: bool, limit: usize) -> Result<Option<Entry<F>>, Refused<F>> {
        let place = match slot_of(fd) {
            Ok(slot) if slot < limit.min(FD_HARD_MAX) => self.slot_mut(slot),
            _ => Err(Errno::EBADF),
        };
        match place {
            Ok(place) => Ok(place.replace(Entry { file, cloexec })),
            Err(errno) => Err(Refused { errno, file }),
        }
    }

    /// Closes `fd`, returning its file (EBADF if it is not open).
    pub fn close(&mut self, fd: i32) -> Result<F, Errno> {
        let slot = slot_of(fd)?;
        let entry = self.entries.get_mut(slot).and_then(Option::take).ok_or(Errno::EBADF)?;
        Ok(entry.file)
    }
}
