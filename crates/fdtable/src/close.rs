//! Closing many descriptors at once: the close-on-exec ones at `execve`, and `close_range`
//! (which may instead mark its range close-on-exec).
//!
//! The closed files are returned in a vector so that the caller drops them after releasing its
//! lock. If that vector cannot be allocated the call fails with ENOMEM and closes nothing; a
//! caller that must not fail (exec past its point of no return) then closes them one at a time
//! with [`FdTable::close_next`], which allocates nothing.

use alloc::vec::Vec;

use exo_abi::fcntl::{CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE};
use exo_abi::Errno;

use crate::FdTable;

/// A checked `close_range(first, last, flags)` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseRange {
    /// First descriptor of the range.
    pub first: usize,
    /// Last descriptor of the range (inclusive; `~0U` for "to the end").
    pub last: usize,
    /// CLOSE_RANGE_CLOEXEC: mark the range close-on-exec instead of closing it.
    pub cloexec: bool,
    /// CLOSE_RANGE_UNSHARE: accepted; the kernel applies the request to the table the caller
    /// has, shared or not (it does not unshare first as Linux does).
    pub unshare: bool,
}

/// Checks `close_range`'s arguments (as the 32-bit values the system call takes): EINVAL if
/// `first > last` or `flags` has a bit other than CLOSE_RANGE_CLOEXEC and CLOSE_RANGE_UNSHARE.
pub fn close_range_args(first: u32, last: u32, flags: u32) -> Result<CloseRange, Errno> {
    if first > last || flags & !(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(CloseRange {
        first: first as usize,
        last: last as usize,
        cloexec: flags & CLOSE_RANGE_CLOEXEC != 0,
        unshare: flags & CLOSE_RANGE_UNSHARE != 0,
    })
}

impl<F> FdTable<F> {
    /// The existing slots of descriptors `[first, last]` (empty if none exists).
    fn span(&self, first: usize, last: usize) -> core::ops::Range<usize> {
        let end = self.entries.len().min(last.saturating_add(1));
        first.min(end)..end
    }

    /// Closes the open descriptors of `[first, last]` (only the close-on-exec ones if
    /// `only_cloexec`), returning their files in increasing descriptor order; ENOMEM (nothing
    /// closed) if the list of files cannot be allocated.
    fn take_all(&mut self, first: usize, last: usize, only_cloexec: bool) -> Result<Vec<F>, Errno> {
        let span = self.span(first, last);
        let Some(slots) = self.entries.get_mut(span) else {
            return Ok(Vec::new());
        };
        let closes = |e: &Option<crate::Entry<F>>| e.as_ref().is_some_and(|e| e.cloexec || !only_cloexec);
        let count = slots.iter().filter(|e| closes(e)).count();
        let mut files = Vec::new();
        files.try_reserve_exact(count).map_err(|_| Errno::ENOMEM)?;
        files.extend(slots.iter_mut().filter(|e| closes(e)).filter_map(|e| e.take()).map(|e| e.file));
        Ok(files)
    }

    /// Closes every close-on-exec descriptor (execve), returning their files in increasing
    /// descriptor order; ENOMEM (nothing closed) if that list cannot be allocated.
    pub fn close_on_exec(&mut self) -> Result<Vec<F>, Errno> {
        self.take_all(0, usize::MAX, true)
    }

    /// Closes every open descriptor in `[first, last]` (`close_range` without
    /// CLOSE_RANGE_CLOEXEC), returning their files in increasing descriptor order; ENOMEM
    /// (nothing closed) if that list cannot be allocated. An empty range closes nothing.
    pub fn close_range(&mut self, first: usize, last: usize) -> Result<Vec<F>, Errno> {
        self.take_all(first, last, false)
    }

    /// Marks every open descriptor in `[first, last]` close-on-exec (CLOSE_RANGE_CLOEXEC).
    pub fn set_cloexec_range(&mut self, first: usize, last: usize) {
        let span = self.span(first, last);
        if let Some(slots) = self.entries.get_mut(span) {
            slots.iter_mut().flatten().for_each(|e| e.cloexec = true);
        }
    }

    /// Closes the lowest open descriptor in `[first, last]` (the lowest close-on-exec one if
    /// `only_cloexec`), returning its number and file; `None` if there is none. Closing a
    /// range with repeated calls (each continuing after the descriptor the last one closed)
    /// allocates nothing.
    pub fn close_next(&mut self, first: usize, last: usize, only_cloexec: bool) -> Option<(usize, F)> {
        let span = self.span(first, last);
        let start = span.start;
        let slots = self.entries.get_mut(span)?;
        let at = slots.iter().position(|e| e.as_ref().is_some_and(|e| e.cloexec || !only_cloexec))?;
        let entry = slots.get_mut(at)?.take()?;
        Some((start.saturating_add(at), entry.file))
    }
}
