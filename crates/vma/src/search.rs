//! Free-space queries: where a new mapping can go (`mmap` without `MAP_FIXED`).

use crate::range::{page_down, page_up, user_range};
use crate::{AreaMap, Backing, USER_END};

impl<B: Backing + PartialEq> AreaMap<B> {
    /// Whether `[start, start + len)` (length rounded up to pages) is a valid user range that
    /// no area meets. Invalid ranges (unaligned, empty, overflowing, past
    /// [`crate::USER_END`]) are not free.
    pub fn is_free(&self, start: u64, len: u64) -> bool {
        user_range(start, len).is_ok_and(|end| self.is_free_range(start, end))
    }

    /// Where to put a new mapping of `len` bytes (rounded up to pages), Linux-like, inside
    /// `[floor, ceiling)` (`floor` rounded up, `ceiling` rounded down and capped at
    /// [`crate::USER_END`]):
    ///
    /// - the `hint` (rounded up to a page, like Linux's `PAGE_ALIGN(addr)`) if the whole
    ///   range there is free and inside the bounds;
    /// - otherwise the highest address `a` such that `[a, a + len)` is free and inside the
    ///   bounds (top-down search, as with Linux's default `mmap` layout);
    /// - `None` if no gap fits, `len` is zero or the arithmetic overflows.
    ///
    /// The kernel passes `None` for a zero `addr` argument, `floor = mmap_min_addr` and
    /// `ceiling = mmap_base`.
    pub fn find_free(&self, len: u64, hint: Option<u64>, floor: u64, ceiling: u64) -> Option<u64> {
        if len == 0 {
            return None;
        }
        let len = page_up(len)?;
        let floor = page_up(floor)?;
        let ceiling = page_down(ceiling.min(USER_END));
        if floor >= ceiling || len > ceiling - floor {
            return None;
        }
        if let Some(hint) = hint.and_then(page_up) {
            if let Some(end) = hint.checked_add(len) {
                if hint >= floor && end <= ceiling && self.is_free_range(hint, end) {
                    return Some(hint);
                }
            }
        }
        // Walk the gaps downwards from the ceiling: `top` is the end of the current gap.
        let mut top = ceiling;
        for area in self.areas.range(..ceiling).rev().map(|(_, a)| a) {
            let low = area.end.max(floor);
            if top > low && top - low >= len {
                return Some(top - len);
            }
            top = top.min(area.start);
            if top <= floor {
                return None;
            }
        }
        (top > floor && top - floor >= len).then(|| top - len)
    }
}
