//! Heap statistics: the counters each tier keeps and the [`HeapStats`] snapshot built from them.
//!
//! Per-CPU counters live inside the per-CPU state and are updated under its lock (plain
//! integers, no atomics on the fast path). Tier-3 counters are global relaxed atomics (tier 3
//! is the slow path). A snapshot is not atomic across CPUs or counters: under concurrent use its
//! numbers are each exact at some instant but not necessarily at the same one.

use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Hits and misses of one tier. See [`HeapStats`] for what each tier counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TierStats {
    /// Requests served without going to the tier below.
    pub hits: u64,
    /// Requests that had to go to the tier below (or failed, for tier 3).
    pub misses: u64,
}

impl TierStats {
    /// Requests seen by the tier.
    pub fn requests(&self) -> u64 {
        self.hits.saturating_add(self.misses)
    }

    /// Hit rate in thousandths (integer arithmetic, usable in the kernel); `None` if the tier
    /// saw no request.
    pub fn hit_rate_permille(&self) -> Option<u64> {
        let total = self.requests();
        if total == 0 {
            None
        } else {
            Some((self.hits as u128 * 1000 / total as u128) as u64)
        }
    }
}

/// A snapshot of the heap's counters, from [`Heap::stats`](crate::Heap::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// Tier 1 (per-CPU caches, classes 16..=256): a hit is an allocation served from the cache
    /// without a refill; a miss needed a refill from tier 2.
    pub tier1: TierStats,
    /// Tier 2 (slabs): one request is a tier-1 refill or an allocation of a class of 512..=4096
    /// bytes. A hit was served from slabs the CPU already had; a miss needed a new slab from
    /// tier 3 (whether or not it got one).
    pub tier2: TierStats,
    /// Tier 3 (page source): one request is a call to `PageSource::alloc_pages`, for a slab or a
    /// large block. A hit got memory; a miss got `None` (out of memory).
    pub tier3: TierStats,
    /// Tier-1 refills that brought at least one object.
    pub refills: u64,
    /// Tier-1 flushes (high-water mark crossed, or [`Heap::trim`](crate::Heap::trim)).
    pub flushes: u64,
    /// Objects flushed from tier-1 caches back to their slabs.
    pub flushed_objects: u64,
    /// Free objects currently sitting in tier-1 caches.
    pub cached_objects: usize,
    /// Slabs obtained from the page source so far.
    pub slabs_allocated: u64,
    /// Slabs returned to the page source so far.
    pub slabs_freed: u64,
    /// Large (tier-3) blocks currently allocated to callers.
    pub large_in_use: usize,
    /// 4 KiB pages currently taken from the page source (slabs and large blocks).
    pub pages_in_use: usize,
    /// Sum of the sizes requested by the layouts of all live allocations.
    pub bytes_in_use: usize,
    /// Allocations that returned null.
    pub failed_allocations: u64,
}

impl HeapStats {
    /// Slabs currently held (allocated minus freed), including cached empty ones.
    pub fn slabs_in_use(&self) -> u64 {
        self.slabs_allocated - self.slabs_freed
    }
}

/// Counters of one CPU's tier-1 cache (under its lock).
#[derive(Default)]
pub(crate) struct Tier1Counters {
    pub hits: u64,
    pub misses: u64,
    pub refills: u64,
    pub flushes: u64,
    pub flushed_objects: u64,
    /// Bytes requested by allocations served here minus bytes freed here (wrapping: objects
    /// freed on another CPU make one CPU's count go "negative"; the sum is exact).
    pub bytes: usize,
}

impl Tier1Counters {
    pub(crate) const fn new() -> Self {
        Self {
            hits: 0,
            misses: 0,
            refills: 0,
            flushes: 0,
            flushed_objects: 0,
            bytes: 0,
        }
    }
}

/// Counters of one CPU's tier-2 slabs (under its lock).
#[derive(Default)]
pub(crate) struct Tier2Counters {
    pub hits: u64,
    pub misses: u64,
    pub slabs_allocated: u64,
    pub slabs_freed: u64,
    /// Bytes of tier-2-class allocations (wrapping, as in [`Tier1Counters::bytes`]).
    pub bytes: usize,
}

impl Tier2Counters {
    pub(crate) const fn new() -> Self {
        Self {
            hits: 0,
            misses: 0,
            slabs_allocated: 0,
            slabs_freed: 0,
            bytes: 0,
        }
    }
}

/// Global counters (relaxed atomics): tier 3 and failures.
pub(crate) struct GlobalCounters {
    pub page_hits: AtomicUsize,
    pub page_misses: AtomicUsize,
    pub pages_in_use: AtomicUsize,
    pub large_in_use: AtomicUsize,
    pub large_bytes: AtomicUsize,
    pub failures: AtomicUsize,
}

impl GlobalCounters {
    pub(crate) const fn new() -> Self {
        Self {
            page_hits: AtomicUsize::new(0),
            page_misses: AtomicUsize::new(0),
            pages_in_use: AtomicUsize::new(0),
            large_in_use: AtomicUsize::new(0),
            large_bytes: AtomicUsize::new(0),
            failures: AtomicUsize::new(0),
        }
    }

    /// Records the outcome of a page-source request of `1 << order` pages.
    pub(crate) fn page_request(&self, order: u32, ok: bool) {
        if ok {
            self.page_hits.fetch_add(1, Relaxed);
            self.pages_in_use.fetch_add(1 << order, Relaxed);
        } else {
            self.page_misses.fetch_add(1, Relaxed);
        }
    }

    /// Records `1 << order` pages going back to the page source.
    pub(crate) fn pages_freed(&self, order: u32) {
        self.pages_in_use.fetch_sub(1 << order, Relaxed);
    }

    /// Adds this counter set's part to `s`.
    pub(crate) fn add_to(&self, s: &mut HeapStats) {
        s.tier3.hits += self.page_hits.load(Relaxed) as u64;
        s.tier3.misses += self.page_misses.load(Relaxed) as u64;
        s.pages_in_use += self.pages_in_use.load(Relaxed);
        s.large_in_use += self.large_in_use.load(Relaxed);
        s.bytes_in_use = s.bytes_in_use.wrapping_add(self.large_bytes.load(Relaxed));
        s.failed_allocations += self.failures.load(Relaxed) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_rate() {
        assert_eq!(TierStats::default().hit_rate_permille(), None);
        let t = TierStats {
            hits: 31,
            misses: 1,
        };
        assert_eq!(t.requests(), 32);
        assert_eq!(t.hit_rate_permille(), Some(968));
        assert_eq!(
            TierStats {
                hits: u64::MAX,
                misses: 0
            }
            .hit_rate_permille(),
            Some(1000)
        );
    }
}
