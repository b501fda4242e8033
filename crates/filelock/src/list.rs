//! The locks of one file ([`LockList`]): conflict test, placing/converting/removing one
//! owner's lock with splitting and merging.

use alloc::vec::Vec;

use crate::{Kind, Lock, Owner, Range};

/// Why [`LockList::set`] failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SetError {
    /// The list could not grow (`ENOLCK`/`ENOMEM`).
    NoMemory,
}

/// The locks held on one file, by any number of owners. Each owner's locks are disjoint, and
/// two of them that touch have different types.
#[derive(Default, Debug, Clone)]
pub struct LockList {
    locks: Vec<Lock>,
}

/// Whether two disjoint ranges touch end to start.
fn adjacent(a: &Range, b: &Range) -> bool {
    a.end.checked_add(1) == Some(b.start) || b.end.checked_add(1) == Some(a.start)
}

impl LockList {
    pub const fn new() -> LockList {
        LockList { locks: Vec::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
    }

    /// How many locks (ranges) the list holds.
    pub fn len(&self) -> usize {
        self.locks.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Lock> + '_ {
        self.locks.iter()
    }

    /// The first lock of another owner that a `kind` lock over `range` by `owner` conflicts
    /// with (`F_GETLK` reports it; a set must wait or fail).
    pub fn conflict(&self, owner: Owner, kind: Kind, range: &Range) -> Option<&Lock> {
        self.locks.iter().find(|lock| lock.conflicts(owner, kind, range))
    }

    /// The type of `owner`'s lock covering byte `offset`, if any.
    pub fn held_at(&self, owner: Owner, offset: u64) -> Option<Kind> {
        self.locks
            .iter()
            .find(|lock| lock.owner == owner && lock.range.start <= offset && offset <= lock.range.end)
            .map(|lock| lock.kind)
    }

    /// Whether `owner` holds any lock here.
    pub fn holds_any(&self, owner: Owner) -> bool {
        self.locks.iter().any(|lock| lock.owner == owner)
    }

    /// Sets `owner`'s lock over `range` to `kind` (`None`: unlocks it), without looking at
    /// other owners (test [`conflict`](Self::conflict) first). Parts of the owner's locks of
    /// another type inside `range` are replaced (a lock is split when `range` is inside it);
    /// locks of the same type that overlap or touch `range` merge with it. Returns how many
    /// locks the list gained (negative: lost); it gains at most 2.
    pub fn set(&mut self, owner: Owner, kind: Option<Kind>, range: Range, pid: i32) -> Result<isize, SetError> {
        let before = self.locks.len();
        self.locks.try_reserve(2).map_err(|_| SetError::NoMemory)?;
        let mut merged = range;
        let mut right_piece = None;
        self.locks.retain_mut(|lock| {
            if lock.owner != owner {
                return true;
            }
            let overlaps = lock.range.overlaps(&range);
            if !overlaps && !adjacent(&lock.range, &range) {
                return true;
            }
            if Some(lock.kind) == kind {
                merged.start = merged.start.min(lock.range.start);
                merged.end = merged.end.max(lock.range.end);
                return false;
            }
            if !overlaps {
                return true;
            }
            let keeps_left = lock.range.start < range.start;
            let keeps_right = lock.range.end > range.end;
            if keeps_right {
                let right = Range { start: range.end + 1, end: lock.range.end };
                if keeps_left {
                    right_piece = Some(Lock { range: right, ..*lock });
                } else {
                    lock.range = right;
                }
            }
            if keeps_left {
                lock.range.end = range.start - 1;
            }
            keeps_left || keeps_right
        });
        if let Some(piece) = right_piece {
            self.locks.push(piece);
        }
        if let Some(kind) = kind {
            self.locks.push(Lock { owner, kind, range: merged, pid });
        }
        Ok(self.locks.len() as isize - before as isize)
    }

    /// Removes every lock of `owner`; returns how many there were.
    pub fn remove_owner(&mut self, owner: Owner) -> usize {
        let before = self.locks.len();
        self.locks.retain(|lock| lock.owner != owner);
        before - self.locks.len()
    }
}
