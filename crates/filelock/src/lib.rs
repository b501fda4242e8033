//! `exo-filelock`: the pure part of file locking (`kernel/src/fs/filelock.rs` keeps the table
//! of locked inodes, the waiting and the owners).
//!
//! - A [`LockList`] holds the locks of one file: POSIX record locks (owner: a process's
//!   descriptor table) and open-file-description locks (owner: the open file) share one list,
//!   as on Linux, where they conflict with each other; `flock` locks live in a second list of
//!   whole-file ranges ([`WHOLE`]).
//! - [`LockList::conflict`] is the test of `F_GETLK` and of every set: a lock of another owner
//!   that overlaps and of which one side is a write lock.
//! - [`LockList::set`] places, converts or removes (unlock) one owner's lock over a range,
//!   splitting and trimming that owner's locks and merging adjacent ones of the same type, so
//!   an owner's locks are always disjoint and never adjacent with equal type.
//! - [`range_of`] turns `struct flock`'s `l_whence`/`l_start`/`l_len` into an inclusive byte
//!   range as Linux does (negative lengths, `l_len` 0 = to the end of every possible file,
//!   `EINVAL`/`EOVERFLOW`), and [`Lock::flock_len`] back.
//! - [`would_deadlock`] is `F_SETLKW`'s deadlock walk over the wait-for graph.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod list;
#[cfg(test)]
mod tests;

pub use list::{LockList, SetError};

/// The largest byte offset (`OFFSET_MAX`): ranges end here at the latest.
pub const OFFSET_MAX: u64 = i64::MAX as u64;
/// The whole file: what a `flock` lock covers.
pub const WHOLE: Range = Range { start: 0, end: OFFSET_MAX };

/// Who holds a lock: an opaque identity (the kernel uses addresses of descriptor tables and
/// open files).
pub type Owner = u64;

/// A lock's type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Read,
    Write,
}

/// An inclusive byte range, `start <= end <= OFFSET_MAX`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    pub fn overlaps(&self, other: &Range) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

/// One lock held.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Lock {
    pub owner: Owner,
    pub kind: Kind,
    pub range: Range,
    /// The `l_pid` `F_GETLK` reports (-1 for open-file-description locks).
    pub pid: i32,
}

impl Lock {
    /// `l_len` as `F_GETLK` reports it: 0 for a lock reaching `OFFSET_MAX`.
    pub fn flock_len(&self) -> i64 {
        if self.range.end == OFFSET_MAX {
            0
        } else {
            (self.range.end - self.range.start + 1) as i64
        }
    }

    /// Whether `self` and a request of `kind` over `range` by `owner` conflict: different
    /// owners, overlapping, and at least one write lock.
    pub fn conflicts(&self, owner: Owner, kind: Kind, range: &Range) -> bool {
        self.owner != owner && self.range.overlaps(range) && (self.kind == Kind::Write || kind == Kind::Write)
    }
}

/// Why a `struct flock` range is refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RangeError {
    /// A negative start (`EINVAL`).
    Invalid,
    /// Past `OFFSET_MAX` (`EOVERFLOW`).
    Overflow,
}

/// The byte range of a `struct flock`: `base` is where `l_whence` points (0, the file offset
/// or the file size), `start`/`len` are `l_start`/`l_len`. `len` 0 reaches `OFFSET_MAX`; a
/// negative `len` covers the `-len` bytes before `base + start`.
pub fn range_of(base: u64, start: i64, len: i64) -> Result<Range, RangeError> {
    let base = i64::try_from(base).map_err(|_| RangeError::Overflow)?;
    let mut first = base.checked_add(start).ok_or(RangeError::Overflow)?;
    if first < 0 {
        return Err(RangeError::Invalid);
    }
    let last;
    if len > 0 {
        last = first.checked_add(len - 1).ok_or(RangeError::Overflow)?;
    } else if len < 0 {
        last = first - 1;
        first = first.checked_add(len).ok_or(RangeError::Invalid)?;
        if first < 0 {
            return Err(RangeError::Invalid);
        }
    } else {
        last = i64::MAX;
    }
    Ok(Range { start: first as u64, end: last as u64 })
}

/// How many owners [`would_deadlock`] follows at most (Linux's `MAX_DEADLK_ITERATIONS`).
pub const MAX_DEADLOCK_STEPS: usize = 10;

/// `F_SETLKW`'s deadlock test: `requester` is about to wait for a lock of `blocker`.
/// `waits_for(owner)` names the owner whose lock `owner` is itself blocked on (the first
/// conflicting one), if `owner` is waiting. A deadlock is a chain leading back to
/// `requester`; the walk stops after [`MAX_DEADLOCK_STEPS`] owners, as Linux's does.
pub fn would_deadlock(requester: Owner, blocker: Owner, mut waits_for: impl FnMut(Owner) -> Option<Owner>) -> bool {
    let mut current = blocker;
    for _ in 0..MAX_DEADLOCK_STEPS {
        if current == requester {
            return true;
        }
        match waits_for(current) {
            Some(next) => current = next,
            None => return false,
        }
    }
    false
}
