//! Tier 1: one CPU's caches of free objects for the classes of 16..=256 bytes.
//!
//! Each class has a bounded LIFO [`FreeList`]. An allocation pops (a hit); an empty list is
//! refilled with [`REFILL_BATCH`] objects from tier 2 (a miss). A free pushes; when a list grows
//! past [`HIGH_WATER`] objects, all but the [`LOW_WATER`] most recently freed ones are flushed
//! back to their slabs. The caches hold objects of any CPU's slabs: a free goes to the freeing
//! CPU's cache, and a flush returns each object to the slab it came from.

use core::ptr::NonNull;

use crate::class::{class_size, CACHED_CLASSES};
use crate::freelist::FreeList;
use crate::poison;
use crate::stats::Tier1Counters;

/// Objects fetched from tier 2 when a cache is empty.
pub const REFILL_BATCH: usize = 32;
/// A cache holding more objects than this is flushed.
pub const HIGH_WATER: usize = 128;
/// Objects a flush leaves in the cache (half the high-water mark).
pub const LOW_WATER: usize = HIGH_WATER / 2;

/// One CPU's tier-1 state.
pub(crate) struct Tier1 {
    lists: [FreeList; CACHED_CLASSES],
    pub(crate) stats: Tier1Counters,
}

// SAFETY: a `Tier1` only holds free objects it exclusively owns (slab memory, not tied to any
// thread); it is only used through its CPU's mutex.
unsafe impl Send for Tier1 {}

impl Tier1 {
    /// Empty caches.
    pub(crate) const fn new() -> Self {
        Self {
            lists: [const { FreeList::new() }; CACHED_CLASSES],
            stats: Tier1Counters::new(),
        }
    }

    /// The fast path: pops a cached object of `class` (no statistics).
    #[inline]
    pub(crate) fn pop(&mut self, class: usize) -> Option<NonNull<u8>> {
        let obj = self.lists[class].pop()?;
        // SAFETY: cached objects are free objects of `class_size(class)` bytes owned by the
        // cache, and every one was poisoned (freed or fresh) before entering it.
        unsafe { poison::check(obj.as_ptr(), class_size(class)) };
        Some(obj)
    }

    /// Installs a refill batch in the (empty) cache of `class`.
    pub(crate) fn refill(&mut self, class: usize, mut batch: FreeList) {
        self.lists[class].append(&mut batch);
    }

    /// Pushes a freed object; returns the objects to flush if the cache went over the
    /// high-water mark.
    ///
    /// # Safety
    /// `obj` must be an object of `class` from this heap's slabs, no longer used by anyone, and
    /// handed over to the cache.
    #[inline]
    pub(crate) unsafe fn push(&mut self, class: usize, obj: NonNull<u8>) -> Option<FreeList> {
        // SAFETY: guaranteed by the caller: the object is ours and `class_size(class)` long.
        unsafe {
            poison::freed(obj.as_ptr(), class_size(class));
            self.lists[class].push(obj);
        }
        if self.lists[class].len() > HIGH_WATER {
            Some(self.lists[class].split_off(LOW_WATER))
        } else {
            None
        }
    }

    /// Takes every cached object of `class` (for trimming).
    pub(crate) fn take_all(&mut self, class: usize) -> FreeList {
        self.lists[class].split_off(0)
    }

    /// Objects cached over all classes.
    pub(crate) fn cached(&self) -> usize {
        self.lists.iter().map(FreeList::len).sum()
    }
}
