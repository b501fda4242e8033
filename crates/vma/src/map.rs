//! [`AreaMap`]: the ordered set of areas, with lookup, insertion (`mmap`), removal
//! (`munmap`, the `mremap` source) and protection changes (`mprotect`).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::range::{check_bounds, user_range};
use crate::{Area, Backing, Prot, VmaError};

/// The virtual memory areas of one address space, keyed by start address. Always sorted,
/// non-overlapping and maximally merged (see the crate documentation).
#[derive(Clone, Debug)]
pub struct AreaMap<B: Backing> {
    pub(crate) areas: BTreeMap<u64, Area<B>>,
}

impl<B: Backing + PartialEq> Default for AreaMap<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backing + PartialEq> AreaMap<B> {
    /// An empty address space.
    pub fn new() -> Self {
        AreaMap {
            areas: BTreeMap::new(),
        }
    }

    /// The area containing `addr`, if any.
    pub fn find(&self, addr: u64) -> Option<&Area<B>> {
        let (_, area) = self.areas.range(..=addr).next_back()?;
        area.contains(addr).then_some(area)
    }

    /// All areas, in ascending address order.
    pub fn iter(&self) -> impl Iterator<Item = &Area<B>> + '_ {
        self.areas.values()
    }

    /// The areas meeting `[start, end)`, ascending (none if `end <= start`).
    pub fn overlapping(&self, start: u64, end: u64) -> impl Iterator<Item = &Area<B>> + '_ {
        let end = end.max(start);
        let first = self
            .areas
            .range(..start)
            .next_back()
            .map(|(_, a)| a)
            .filter(|a| a.end > start && start < end);
        first
            .into_iter()
            .chain(self.areas.range(start..end).map(|(_, a)| a))
    }

    /// Number of areas.
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// Whether no area is mapped.
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// Total mapped bytes.
    pub fn total_size(&self) -> u64 {
        self.areas
            .values()
            .fold(0, |sum, a| sum.saturating_add(a.size()))
    }

    /// Maps `area` (`mmap`). Its range must be page-aligned, non-empty and below
    /// [`crate::USER_END`]. If it overlaps existing areas: with `replace` false the call fails
    /// with [`VmaError::Exists`] (`MAP_FIXED_NOREPLACE`); with `replace` true (`MAP_FIXED`) the
    /// overlapped parts are removed, splitting areas that stick out, and returned in ascending
    /// order so that the kernel can unmap their pages. The new area merges with compatible
    /// neighbours.
    pub fn insert(&mut self, area: Area<B>, replace: bool) -> Result<Vec<Area<B>>, VmaError> {
        let (start, end) = (area.start, area.end);
        check_bounds(start, end)?;
        if !replace && !self.is_free_range(start, end) {
            return Err(VmaError::Exists);
        }
        let removed = self.cut(start, end);
        self.areas.insert(start, area);
        self.merge_span(start, end);
        Ok(removed)
    }

    /// Unmaps `[start, start + len)` (`munmap`): areas partly inside are split, the pieces
    /// inside are removed and returned in ascending order. Holes in the range are fine (an
    /// entirely unmapped range gives an empty list).
    pub fn remove(&mut self, start: u64, len: u64) -> Result<Vec<Area<B>>, VmaError> {
        let end = user_range(start, len)?;
        Ok(self.cut(start, end))
    }

    /// Changes the protection of `[start, start + len)` (`mprotect`). Every page of the range
    /// must be mapped, otherwise nothing changes and the result is [`VmaError::Unmapped`]
    /// (Linux `ENOMEM`). Areas partly inside are split, the result merged. Returns, ascending,
    /// the ranges whose protection actually changed with their old protection (one entry per
    /// former area piece), so that the kernel can update those page-table entries.
    ///
    /// Linux's `mprotect` succeeds on a zero length; here that is [`VmaError::Empty`], which
    /// the kernel maps to success.
    pub fn protect(
        &mut self,
        start: u64,
        len: u64,
        prot: Prot,
    ) -> Result<Vec<(u64, u64, Prot)>, VmaError> {
        let end = user_range(start, len)?;
        if !self.is_fully_mapped(start, end) {
            return Err(VmaError::Unmapped);
        }
        let mut changed = Vec::new();
        for key in self.overlapping_keys(start, end) {
            if self.areas.get(&key).is_none_or(|a| a.prot == prot) {
                continue;
            }
            let Some(area) = self.areas.remove(&key) else {
                continue;
            };
            let mut mid = self.split_out(&area, start, end);
            changed.push((mid.start, mid.end, area.prot));
            mid.prot = prot;
            self.areas.insert(mid.start, mid);
        }
        self.merge_span(start, end);
        Ok(changed)
    }

    /// Removes `[start, start + len)`, which must lie inside one single area (the `mremap`
    /// source; Linux `EFAULT` otherwise, here [`VmaError::Unmapped`]), and returns it as one
    /// piece (a one-element list). The kernel then inserts it, moved, elsewhere.
    pub fn take_range(&mut self, start: u64, len: u64) -> Result<Vec<Area<B>>, VmaError> {
        let end = user_range(start, len)?;
        match self.find(start) {
            Some(area) if area.end >= end => Ok(self.cut(start, end)),
            _ => Err(VmaError::Unmapped),
        }
    }

    /// Whether no area meets `[start, end)` (unchecked arguments; `true` if `end <= start`).
    pub(crate) fn is_free_range(&self, start: u64, end: u64) -> bool {
        match self.areas.range(..end).next_back() {
            Some((_, area)) => area.end <= start,
            None => true,
        }
    }

    /// Whether every address of `[start, end)` is inside some area.
    pub(crate) fn is_fully_mapped(&self, start: u64, end: u64) -> bool {
        let mut covered = start;
        for area in self.overlapping(start, end) {
            if area.start > covered {
                return false;
            }
            covered = area.end;
        }
        covered >= end
    }

    /// Start addresses of the areas meeting `[start, end)`, ascending.
    fn overlapping_keys(&self, start: u64, end: u64) -> Vec<u64> {
        self.overlapping(start, end).map(|a| a.start).collect()
    }

    /// Puts back the parts of `area` (already taken out of the map) outside `[start, end)`
    /// and returns its part inside.
    fn split_out(&mut self, area: &Area<B>, start: u64, end: u64) -> Area<B> {
        let from = area.start.max(start);
        let to = area.end.min(end);
        if area.start < from {
            self.areas.insert(area.start, area.piece(area.start, from));
        }
        if to < area.end {
            self.areas.insert(to, area.piece(to, area.end));
        }
        area.piece(from, to)
    }

    /// Removes everything in `[start, end)`, splitting areas that stick out, and returns the
    /// removed pieces in ascending order.
    pub(crate) fn cut(&mut self, start: u64, end: u64) -> Vec<Area<B>> {
        let mut removed = Vec::new();
        for key in self.overlapping_keys(start, end) {
            if let Some(area) = self.areas.remove(&key) {
                removed.push(self.split_out(&area, start, end));
            }
        }
        removed
    }

    /// Merges the area starting at `at` into the one ending there, if they are compatible.
    fn try_merge_at(&mut self, at: u64) {
        let Some(right) = self.areas.get(&at) else {
            return;
        };
        let Some((&left_key, left)) = self.areas.range(..at).next_back() else {
            return;
        };
        if !left.merges_with(right) {
            return;
        }
        if let Some(right) = self.areas.remove(&at) {
            if let Some(left) = self.areas.get_mut(&left_key) {
                left.end = right.end;
            }
        }
    }

    /// Merges across every area boundary in `[lo, hi]` (after a change to `[lo, hi)`).
    pub(crate) fn merge_span(&mut self, lo: u64, hi: u64) {
        let hi = hi.max(lo);
        let keys: Vec<u64> = self.areas.range(lo..=hi).map(|(&k, _)| k).collect();
        for key in keys {
            self.try_merge_at(key);
        }
    }
}
