//! Checked page arithmetic and validation of user-supplied ranges.

use crate::{VmaError, PAGE, USER_END};

/// `x` rounded up to a page boundary, `None` on overflow.
pub(crate) fn page_up(x: u64) -> Option<u64> {
    x.checked_add(PAGE - 1).map(|v| v & !(PAGE - 1))
}

/// `x` rounded down to a page boundary.
pub(crate) const fn page_down(x: u64) -> u64 {
    x & !(PAGE - 1)
}

/// Validates a Linux-style `(start, len)` range and returns its end: `start` page-aligned,
/// `len` non-zero and rounded up to pages, the end neither overflowing nor past
/// [`USER_END`].
pub(crate) fn user_range(start: u64, len: u64) -> Result<u64, VmaError> {
    if !start.is_multiple_of(PAGE) {
        return Err(VmaError::Unaligned);
    }
    if len == 0 {
        return Err(VmaError::Empty);
    }
    let len = page_up(len).ok_or(VmaError::Overflow)?;
    let end = start.checked_add(len).ok_or(VmaError::Overflow)?;
    if end > USER_END {
        return Err(VmaError::OutOfRange);
    }
    Ok(end)
}

/// Validates an area's `[start, end)`: both page-aligned, non-empty, not past [`USER_END`].
pub(crate) fn check_bounds(start: u64, end: u64) -> Result<(), VmaError> {
    if !start.is_multiple_of(PAGE) || !end.is_multiple_of(PAGE) {
        return Err(VmaError::Unaligned);
    }
    if end <= start {
        return Err(VmaError::Empty);
    }
    if end > USER_END {
        return Err(VmaError::OutOfRange);
    }
    Ok(())
}
