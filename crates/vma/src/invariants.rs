//! [`AreaMap::check_invariants`]: a full consistency check, for tests and kernel debugging.

use crate::{AreaMap, Backing, PAGE, USER_END};

impl<B: Backing + PartialEq> AreaMap<B> {
    /// Checks that every area is keyed by its start, page-aligned, non-empty and below
    /// [`USER_END`], that areas are sorted and non-overlapping, and that no two adjacent
    /// areas could merge. Returns the first violation found. O(number of areas).
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        let mut prev = None;
        for (&key, area) in &self.areas {
            if key != area.start {
                return Err("area keyed by another address than its start");
            }
            if !area.start.is_multiple_of(PAGE) || !area.end.is_multiple_of(PAGE) {
                return Err("area not page-aligned");
            }
            if area.end <= area.start {
                return Err("empty area");
            }
            if area.end > USER_END {
                return Err("area beyond USER_END");
            }
            if let Some(prev) = prev {
                let prev: &crate::Area<B> = prev;
                if prev.end > area.start {
                    return Err("overlapping areas");
                }
                if prev.merges_with(area) {
                    return Err("adjacent areas not merged");
                }
            }
            prev = Some(area);
        }
        Ok(())
    }
}
