//! Areas that change size in place: `mremap` ([`AreaMap::resize`]), `brk`
//! ([`AreaMap::set_brk`]) and stack growth on faults ([`AreaMap::grow_stack`]).

use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::range::{page_down, page_up, user_range};
use crate::{Area, AreaMap, Backing, Kind, Prot, ResizeOutcome, Share, VmaError, PAGE, USER_END};

impl<B: Backing + PartialEq> AreaMap<B> {
    /// The in-place part of `mremap` for `[start, start + old_len)` (lengths rounded up to
    /// pages; `start` page-aligned, both lengths non-zero, the old range valid).
    ///
    /// - Same page count: [`ResizeOutcome::Unchanged`], whatever is mapped (as Linux).
    /// - Shrinking: like Linux, unmaps `[start + new_len, start + old_len)` (holes and several
    ///   areas are fine) and returns the removed pieces in [`ResizeOutcome::Shrunk`].
    /// - Growing: the old range must lie inside one area ([`VmaError::Unmapped`] otherwise,
    ///   Linux `EFAULT`). If it ends where that area ends and the space up to
    ///   `start + new_len` is free and below [`USER_END`], the area grows
    ///   ([`ResizeOutcome::Grown`]); otherwise [`VmaError::NoRoom`] and the kernel moves the
    ///   range (`take_range` + `insert`) if `MREMAP_MAYMOVE` allows. A `new_len` larger than
    ///   the whole user space is [`VmaError::OutOfRange`].
    pub fn resize(
        &mut self,
        start: u64,
        old_len: u64,
        new_len: u64,
    ) -> Result<ResizeOutcome<B>, VmaError> {
        let old_end = user_range(start, old_len)?;
        if new_len == 0 {
            return Err(VmaError::Empty);
        }
        let new_len = page_up(new_len).ok_or(VmaError::Overflow)?;
        if new_len > USER_END {
            return Err(VmaError::OutOfRange);
        }
        let old_len = old_end - start;
        match new_len.cmp(&old_len) {
            Ordering::Equal => Ok(ResizeOutcome::Unchanged),
            Ordering::Less => {
                let new_end = start + new_len;
                Ok(ResizeOutcome::Shrunk(self.cut(new_end, old_end)))
            }
            Ordering::Greater => {
                let area_end = match self.find(start) {
                    Some(area) if area.end >= old_end => area.end,
                    _ => return Err(VmaError::Unmapped),
                };
                let new_end = start.checked_add(new_len).ok_or(VmaError::NoRoom)?;
                if area_end != old_end
                    || new_end > USER_END
                    || !self.is_free_range(old_end, new_end)
                {
                    return Err(VmaError::NoRoom);
                }
                let key = self
                    .find(start)
                    .map(|a| a.start)
                    .ok_or(VmaError::Unmapped)?;
                if let Some(area) = self.areas.get_mut(&key) {
                    area.end = new_end;
                }
                self.merge_span(new_end, new_end);
                Ok(ResizeOutcome::Grown)
            }
        }
    }

    /// Moves the program break: the heap occupies `[heap_start, page_up(brk))`, and this
    /// changes it from `old_end` to `new_end` (both `>= heap_start`, else
    /// [`VmaError::OutOfRange`]; `heap_start` page-aligned).
    ///
    /// - Growing maps `[page_up(old_end), page_up(new_end))` as a private read-write
    ///   [`Kind::Heap`] area (merging with the heap below); it fails with
    ///   [`VmaError::Exists`] if any other area is in the way, and returns an empty list.
    /// - Shrinking unmaps `[page_up(new_end), page_up(old_end))` and returns the removed
    ///   pieces (ascending) for the kernel to unmap.
    pub fn set_brk(
        &mut self,
        heap_start: u64,
        old_end: u64,
        new_end: u64,
    ) -> Result<Vec<Area<B>>, VmaError> {
        if !heap_start.is_multiple_of(PAGE) {
            return Err(VmaError::Unaligned);
        }
        if old_end < heap_start || new_end < heap_start {
            return Err(VmaError::OutOfRange);
        }
        let old_top = page_up(old_end).ok_or(VmaError::Overflow)?;
        let new_top = page_up(new_end).ok_or(VmaError::Overflow)?;
        if old_top > USER_END || new_top > USER_END {
            return Err(VmaError::OutOfRange);
        }
        match new_top.cmp(&old_top) {
            Ordering::Equal => Ok(Vec::new()),
            Ordering::Less => Ok(self.cut(new_top, old_top)),
            Ordering::Greater => {
                if !self.is_free_range(old_top, new_top) {
                    return Err(VmaError::Exists);
                }
                let heap = Area {
                    start: old_top,
                    end: new_top,
                    prot: Prot::READ_WRITE,
                    share: Share::Private,
                    kind: Kind::Heap,
                    backing: None,
                };
                self.areas.insert(old_top, heap);
                self.merge_span(old_top, new_top);
                Ok(Vec::new())
            }
        }
    }

    /// Grows a stack down to cover `addr` (a page fault below it) and returns the stack's new
    /// start, `page_down(addr)`. The first area above `addr` must be an unbacked
    /// [`Kind::Stack`] area ([`VmaError::Unmapped`] otherwise, including when there is no
    /// area above). Fails with [`VmaError::Exists`] if `addr` is already mapped,
    /// [`VmaError::OutOfRange`] if it is not below [`USER_END`], and [`VmaError::NoRoom`] if
    /// fewer than `guard_gap` bytes would remain between the area below and the stack
    /// (Linux's `stack_guard_gap`) or the stack would exceed `max_size` bytes
    /// (`RLIMIT_STACK`).
    pub fn grow_stack(
        &mut self,
        addr: u64,
        guard_gap: u64,
        max_size: u64,
    ) -> Result<u64, VmaError> {
        if addr >= USER_END {
            return Err(VmaError::OutOfRange);
        }
        if self.find(addr).is_some() {
            return Err(VmaError::Exists);
        }
        let (stack_start, stack_end) = match self.areas.range(addr..).next() {
            Some((_, a)) if a.kind == Kind::Stack && a.backing.is_none() => (a.start, a.end),
            _ => return Err(VmaError::Unmapped),
        };
        let new_start = page_down(addr);
        let below = self
            .areas
            .range(..addr)
            .next_back()
            .map_or(0, |(_, a)| a.end);
        if new_start.saturating_sub(below) < guard_gap || stack_end - new_start > max_size {
            return Err(VmaError::NoRoom);
        }
        if let Some(mut stack) = self.areas.remove(&stack_start) {
            stack.start = new_start;
            self.areas.insert(new_start, stack);
        }
        self.merge_span(new_start, new_start);
        Ok(new_start)
    }
}
