//! Tier 2: one CPU's slabs, per size class, on partial / full / empty lists.
//!
//! A [`Tier2`] lives behind its CPU's tier-2 lock. Every slab it lists was created by it
//! (`owner` is its CPU index) and is on exactly one of its lists for the slab's class:
//! `partial` (some objects in use, some free), `full` (all in use) or `empty` (none in use; at
//! most [`EMPTY_SLABS_KEPT`] per class, the rest go straight back to the page source).
//! Allocation prefers partial slabs (keeps the number of partially used slabs low), then the
//! cached empty slab, then a new slab from the page source.

use core::ptr::NonNull;

use crate::class::CLASS_COUNT;
use crate::freelist::FreeList;
use crate::slab::{self, SlabHeader, SlabList, EMPTY, FULL, PARTIAL, SLAB_ORDER};
use crate::stats::{GlobalCounters, Tier2Counters};
use crate::PageSource;

/// Empty slabs kept per CPU and class, so that a class oscillating around a slab boundary does
/// not go to the page source every time. [`Heap::trim`](crate::Heap::trim) releases them.
pub const EMPTY_SLABS_KEPT: usize = 1;

/// What tier 2 draws on: the page source and the global (tier-3) counters.
pub(crate) struct Backing<'a, P> {
    pub source: &'a P,
    pub counters: &'a GlobalCounters,
}

/// The slab lists of one class.
struct ClassSlabs {
    partial: SlabList,
    full: SlabList,
    empty: SlabList,
}

impl ClassSlabs {
    const fn new() -> Self {
        Self {
            partial: SlabList::new(PARTIAL),
            full: SlabList::new(FULL),
            empty: SlabList::new(EMPTY),
        }
    }
}

/// One CPU's tier-2 state.
pub(crate) struct Tier2 {
    classes: [ClassSlabs; CLASS_COUNT],
    pub(crate) stats: Tier2Counters,
    /// Index of the CPU this state belongs to, learnt from the first allocation (`usize::MAX`
    /// before). Only used by debug assertions: a slab may only be freed under its owner's lock.
    cpu: usize,
}

// SAFETY: a `Tier2` only holds pointers to slabs it exclusively owns (memory from the page
// source, not tied to any thread); it is only used through its CPU's mutex.
unsafe impl Send for Tier2 {}

impl Tier2 {
    /// A CPU with no slabs.
    pub(crate) const fn new() -> Self {
        Self {
            classes: [const { ClassSlabs::new() }; CLASS_COUNT],
            stats: Tier2Counters::new(),
            cpu: usize::MAX,
        }
    }

    /// Takes one object of `class`; `grew` is set if a new slab had to be requested.
    fn take_one<P: PageSource>(
        &mut self,
        class: usize,
        me: usize,
        b: &Backing<'_, P>,
        grew: &mut bool,
    ) -> Option<NonNull<u8>> {
        debug_assert!(
            self.cpu == me || self.cpu == usize::MAX,
            "exo-heap: tier 2 of CPU {} used as {me}",
            self.cpu
        );
        self.cpu = me;
        let lists = &mut self.classes[class];
        let mut slab = lists.partial.first();
        if slab.is_null() {
            slab = lists.empty.pop_front();
            if slab.is_null() {
                *grew = true;
                let block = b.source.alloc_pages(SLAB_ORDER);
                b.counters.page_request(SLAB_ORDER, block.is_some());
                let block = block?;
                // SAFETY: the `PageSource` contract makes `block` an exclusively owned,
                // writable block of SLAB_SIZE bytes aligned to SLAB_SIZE; we hand it to the
                // new slab.
                slab = unsafe { slab::init(block, class, me) };
                self.stats.slabs_allocated += 1;
            }
            // SAFETY: `slab` is a live slab of ours that was just taken off the empty list
            // (or created), so it is on no list.
            unsafe { lists.partial.push_front(slab) };
        }
        // SAFETY: `slab` is a live slab of ours (we hold our lock) on the partial list, so it
        // has a free object.
        let obj = unsafe { slab::take(slab) };
        debug_assert!(obj.is_some(), "exo-heap: slab on the partial list was full");
        // SAFETY: as above.
        if unsafe { slab::is_full(slab) } {
            // SAFETY: `slab` is on our partial list; once unlinked it is on no list.
            unsafe {
                lists.partial.remove(slab);
                lists.full.push_front(slab);
            }
        }
        obj
    }

    /// Allocates one object of `class` for CPU `me` (whose lock the caller holds).
    pub(crate) fn alloc<P: PageSource>(
        &mut self,
        class: usize,
        me: usize,
        b: &Backing<'_, P>,
    ) -> Option<NonNull<u8>> {
        let mut grew = false;
        let obj = self.take_one(class, me, b, &mut grew);
        if grew {
            self.stats.misses += 1;
        } else {
            self.stats.hits += 1;
        }
        obj
    }

    /// Allocates up to `n` objects of `class` as a linked batch (fewer if memory runs out;
    /// empty if none could be had). Counts as one tier-2 request.
    pub(crate) fn alloc_batch<P: PageSource>(
        &mut self,
        class: usize,
        n: usize,
        me: usize,
        b: &Backing<'_, P>,
    ) -> FreeList {
        let mut batch = FreeList::new();
        let mut grew = false;
        while batch.len() < n {
            match self.take_one(class, me, b, &mut grew) {
                // SAFETY: `obj` was just taken from a slab, so it is ours, aligned to its class
                // size (>= one word) and on no list.
                Some(obj) => unsafe { batch.push(obj) },
                None => break,
            }
        }
        if grew {
            self.stats.misses += 1;
        } else {
            self.stats.hits += 1;
        }
        batch
    }

    /// Returns `obj` to its slab `slab`, moving the slab between lists and releasing it to the
    /// page source if it became empty and enough empty slabs are already kept.
    ///
    /// # Safety
    /// `slab` must be a live slab owned by this `Tier2` (its CPU's lock held by the caller) and
    /// `obj` one of its objects that is in use and handed back by the caller.
    pub(crate) unsafe fn free<P: PageSource>(
        &mut self,
        slab: *mut SlabHeader,
        obj: NonNull<u8>,
        b: &Backing<'_, P>,
    ) {
        // SAFETY: guaranteed by the caller.
        let (class, owner) = unsafe { (slab::class(slab), slab::owner(slab)) };
        debug_assert_eq!(
            owner, self.cpu,
            "exo-heap: slab freed under another CPU's lock"
        );
        let lists = &mut self.classes[class];
        // SAFETY: `slab` is ours and we hold the lock; `obj` is one of its objects in use.
        let was_full = unsafe { slab::is_full(slab) };
        // SAFETY: as above.
        unsafe { slab::give_back(slab, obj) };
        // SAFETY: as above.
        let now_empty = unsafe { slab::in_use(slab) } == 0;
        // SAFETY: `slab` was on `full` if it was full and on `partial` otherwise (it had an
        // object in use, so it was not empty); each step below moves it between our lists.
        unsafe {
            match (was_full, now_empty) {
                (true, false) => {
                    lists.full.remove(slab);
                    lists.partial.push_front(slab);
                }
                (false, false) => {}
                (true, true) => {
                    lists.full.remove(slab);
                    self.park_empty(class, slab, b);
                }
                (false, true) => {
                    lists.partial.remove(slab);
                    self.park_empty(class, slab, b);
                }
            }
        }
    }

    /// Keeps an empty slab or gives it back to the page source.
    ///
    /// # Safety
    /// `slab` must be a live, empty slab of ours on no list.
    unsafe fn park_empty<P: PageSource>(
        &mut self,
        class: usize,
        slab: *mut SlabHeader,
        b: &Backing<'_, P>,
    ) {
        let empty = &mut self.classes[class].empty;
        if empty.len() < EMPTY_SLABS_KEPT {
            // SAFETY: guaranteed by the caller.
            unsafe { empty.push_front(slab) };
        } else {
            // SAFETY: guaranteed by the caller.
            unsafe { self.release(slab, b) };
        }
    }

    /// Gives an empty slab back to the page source.
    ///
    /// # Safety
    /// `slab` must be a live, empty slab of ours on no list.
    unsafe fn release<P: PageSource>(&mut self, slab: *mut SlabHeader, b: &Backing<'_, P>) {
        // SAFETY: guaranteed by the caller.
        let base = unsafe { slab::retire(slab) };
        // SAFETY: `base` is the block the page source gave for this slab, at SLAB_ORDER, and the
        // slab is retired: nothing refers to it any more.
        unsafe { b.source.free_pages(base, SLAB_ORDER) };
        b.counters.pages_freed(SLAB_ORDER);
        self.stats.slabs_freed += 1;
    }

    /// Gives every kept empty slab back to the page source.
    pub(crate) fn release_empty<P: PageSource>(&mut self, b: &Backing<'_, P>) {
        for class in 0..CLASS_COUNT {
            loop {
                let slab = self.classes[class].empty.pop_front();
                if slab.is_null() {
                    break;
                }
                // SAFETY: slabs on the empty list are live, ours and empty; pop_front took it
                // off the list.
                unsafe { self.release(slab, b) };
            }
        }
    }
}
