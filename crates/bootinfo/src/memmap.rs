//! The physical memory map: raw E820-style entries collected from the boot loader, and
//! `normalize()`, which turns them into a sorted, disjoint, merged list the kernel can trust.

use exo_abi::mman::PAGE_SIZE;

/// What a range of physical memory may be used for.
///
/// The derived order is *not* the priority order; see [`MemoryKind::restrictiveness`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemoryKind {
    /// Free RAM the kernel may use.
    Usable,
    /// Not usable (firmware, MMIO holes, unknown types).
    Reserved,
    /// ACPI tables; usable once the kernel has parsed them.
    AcpiReclaimable,
    /// ACPI non-volatile storage; must be preserved.
    AcpiNvs,
    /// RAM reported as defective.
    BadMemory,
}

impl MemoryKind {
    /// Converts an E820 / Multiboot2 / PVH memory type: 1 usable, 2 reserved, 3 ACPI reclaimable,
    /// 4 ACPI NVS, 5 bad memory; anything else is treated as reserved.
    pub fn from_e820(ty: u32) -> Self {
        match ty {
            1 => Self::Usable,
            3 => Self::AcpiReclaimable,
            4 => Self::AcpiNvs,
            5 => Self::BadMemory,
            _ => Self::Reserved,
        }
    }

    /// Priority when entries overlap: the higher value wins.
    /// Usable < AcpiReclaimable < AcpiNvs < Reserved < BadMemory.
    pub fn restrictiveness(self) -> u8 {
        match self {
            Self::Usable => 0,
            Self::AcpiReclaimable => 1,
            Self::AcpiNvs => 2,
            Self::Reserved => 3,
            Self::BadMemory => 4,
        }
    }
}

/// A physical address range `[start, end)` of one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    /// First byte.
    pub start: u64,
    /// One past the last byte (exclusive).
    pub end: u64,
    /// What the range may be used for.
    pub kind: MemoryKind,
}

impl MemoryRegion {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True if the region covers no byte.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

const EMPTY_REGION: MemoryRegion = MemoryRegion {
    start: 0,
    end: 0,
    kind: MemoryKind::Reserved,
};

/// The physical memory map, fixed capacity, no heap.
///
/// Collect entries with [`MemoryMap::push_raw`] (at most [`MemoryMap::CAPACITY`] are kept), then
/// call [`MemoryMap::normalize`]. Normalizing `n` entries can produce up to `2n - 1` regions
/// (reserved holes punched into a usable range), so the storage holds twice the raw capacity and
/// normalization never loses information. `normalize` uses about 6 KiB of stack.
#[derive(Clone, Debug)]
pub struct MemoryMap {
    entries: [MemoryRegion; Self::STORAGE],
    len: usize,
    overflowed: bool,
    normalized: bool,
}

impl Default for MemoryMap {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryMap {
    /// Maximum number of raw entries accepted by [`MemoryMap::push_raw`].
    pub const CAPACITY: usize = 128;
    const STORAGE: usize = 2 * Self::CAPACITY;

    /// An empty map.
    pub const fn new() -> Self {
        Self {
            entries: [EMPTY_REGION; Self::STORAGE],
            len: 0,
            overflowed: false,
            normalized: true,
        }
    }

    /// Adds a raw entry `[start, start + len)`. Empty entries are ignored, an end past `u64::MAX`
    /// is saturated, and once [`MemoryMap::CAPACITY`] entries are held further ones are dropped
    /// and [`MemoryMap::overflowed`] becomes true. Returns whether the entry was stored.
    pub fn push_raw(&mut self, start: u64, len: u64, kind: MemoryKind) -> bool {
        let end = start.saturating_add(len);
        if end == start {
            return false;
        }
        if self.len >= Self::CAPACITY {
            self.overflowed = true;
            return false;
        }
        self.entries[self.len] = MemoryRegion { start, end, kind };
        self.len += 1;
        self.normalized = false;
        true
    }

    /// Records that the source had more entries than were read.
    pub fn set_overflowed(&mut self) {
        self.overflowed = true;
    }

    /// True if entries were dropped because the map was full.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// True if no entry was pushed since the last [`MemoryMap::normalize`] (or ever).
    pub fn is_normalized(&self) -> bool {
        self.normalized
    }

    /// The regions: raw entries in push order, or the normalized list after `normalize()`.
    pub fn regions(&self) -> &[MemoryRegion] {
        &self.entries[..self.len]
    }

    /// True if there are no regions.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Total bytes in `Usable` regions (meaningful after `normalize()`, when they are disjoint).
    pub fn total_usable(&self) -> u64 {
        self.regions()
            .iter()
            .filter(|r| r.kind == MemoryKind::Usable)
            .fold(0u64, |acc, r| acc.saturating_add(r.len()))
    }

    /// Turns the entries into a sorted, non-overlapping list:
    /// - where entries overlap, the more restrictive kind wins
    ///   (Usable < AcpiReclaimable < AcpiNvs < Reserved < BadMemory);
    /// - touching or overlapping ranges of the same kind are merged;
    /// - `Usable` regions are shrunk inward to 4 KiB page boundaries and dropped if empty.
    ///
    /// Addresses covered by no entry stay uncovered. Idempotent.
    pub fn normalize(&mut self) {
        let input = &self.entries[..self.len];
        let mut out = [EMPTY_REGION; Self::STORAGE];
        let mut out_len = 0usize;

        // Sweep over the elementary intervals between consecutive entry boundaries. Each step
        // finds the kind of the interval starting at `cur` and the next boundary after it.
        let mut cur = match input.iter().map(|r| r.start).min() {
            Some(s) => s,
            None => return,
        };
        // Each step moves `cur` strictly forward to a distinct boundary, so the sweep takes
        // at most 2 * len steps; the bound makes that explicit.
        for _ in 0..=2 * Self::STORAGE {
            let mut kind: Option<MemoryKind> = None;
            let mut next = u64::MAX;
            let mut more = false;
            for r in input {
                if r.start <= cur && cur < r.end {
                    kind = Some(match kind {
                        Some(k) if k.restrictiveness() >= r.kind.restrictiveness() => k,
                        _ => r.kind,
                    });
                }
                if r.start > cur {
                    next = next.min(r.start);
                    more = true;
                }
                if r.end > cur {
                    next = next.min(r.end);
                    more = true;
                }
            }
            if !more {
                break;
            }
            if let Some(kind) = kind {
                match out[..out_len].last_mut() {
                    Some(prev) if prev.kind == kind && prev.end == cur => prev.end = next,
                    _ => {
                        // Cannot overflow: n entries yield at most 2n - 1 intervals.
                        if out_len < out.len() {
                            out[out_len] = MemoryRegion {
                                start: cur,
                                end: next,
                                kind,
                            };
                            out_len += 1;
                        }
                    }
                }
            }
            cur = next;
        }

        // Shrink usable regions to whole pages, compacting in place.
        let mut n = 0usize;
        for i in 0..out_len {
            let mut r = out[i];
            if r.kind == MemoryKind::Usable {
                let start = match r.start.checked_add(PAGE_SIZE - 1) {
                    Some(s) => s & !(PAGE_SIZE - 1),
                    None => continue,
                };
                let end = r.end & !(PAGE_SIZE - 1);
                if start >= end {
                    continue;
                }
                r.start = start;
                r.end = end;
            }
            out[n] = r;
            n += 1;
        }

        self.entries[..n].copy_from_slice(&out[..n]);
        self.len = n;
        self.normalized = true;
    }
}

#[cfg(test)]
mod tests;
