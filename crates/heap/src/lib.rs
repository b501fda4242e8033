//! `exo-heap`: the Exo-OS kernel heap, three tiers over the kernel's page allocator.
//!
//! The crate is hardware-independent: it gets memory from a [`PageSource`] (the kernel's buddy
//! allocator through its direct map; in tests, `std`'s allocator) and is told the current CPU
//! by the caller. [`Heap`] implements [`GlobalAlloc`](core::alloc::GlobalAlloc).
//!
//! # Tiers and size classes
//!
//! A request for `layout` needs `need = max(size, align)` bytes (a zero size counts as one).
//!
//! | tier | serves | from | per CPU |
//! |------|--------|------|---------|
//! | 1 — cache | `need` ≤ 256: classes 16, 32, 64, 128, 256 | tier 2, in batches of [`REFILL_BATCH`] | a bounded LIFO free list per class |
//! | 2 — slabs | `need` ≤ 4096: classes 512, 1K, 2K, 4K, and tier 1's refills | tier 3, one 64 KiB slab at a time | partial / full / empty slab lists per class |
//! | 3 — pages | `need` > 4096 (or `align` > 4096), and slabs | the [`PageSource`] | — (global) |
//!
//! **Classes** are powers of two, [`SIZE_CLASSES`] = 16 … 4096; a request gets the smallest
//! class ≥ `need`. Objects are aligned to their class size, so a class satisfies every
//! alignment up to its size and a layout with `align > size` is simply rounded up to the class
//! of its alignment (size 8, align 64 → class 64). [`route`] and [`block_size`] tell where a
//! layout goes and what it really costs.
//!
//! **Tier 1** keeps, per CPU and per class, an intrusive singly linked list of free objects
//! (link in the object's first word) and its length. Allocation pops; an empty list is refilled
//! with [`REFILL_BATCH`] (32) objects from the CPU's tier 2. Free pushes; a list above
//! [`HIGH_WATER`] (128) objects keeps its [`LOW_WATER`] (64) most recently freed (cache-hot)
//! objects and flushes the rest back to their slabs.
//!
//! **Tier 2** slabs are [`SLAB_SIZE`] (64 KiB, page order [`SLAB_ORDER`] = 4) blocks from the
//! page source, naturally aligned, so the slab header of any object is `addr & !(SLAB_SIZE-1)`.
//! The header (owner CPU, class, free list, in-use count, carve index, list links) takes the
//! first 64 bytes; objects start at `max(64, class size)`: 4092 objects of 16 B … 15 of 4 KiB
//! ([`slab_capacity`]). Objects are carved lazily, so a new slab costs no more than its header
//! until used. Each CPU keeps, per class, `partial`, `full` and `empty` lists; allocation
//! prefers a partial slab, then the cached empty slab, then a new slab. Per CPU and class at
//! most [`EMPTY_SLABS_KEPT`] (1) empty slab is kept; further slabs that become empty go back to
//! tier 3 at once.
//!
//! **Tier 3** serves a large request with a naturally aligned block of `2^order` pages, where
//! `order = max(ceil(log2(ceil(size / 4096))), log2(align / 4096))` (e.g. 4097..=8192 bytes →
//! order 1, 12 KiB → order 2, size 8 with align 16 KiB → order 2). Tier 3 has no cache: a
//! large free goes straight back to the page source.
//!
//! # The fast path
//!
//! An allocation of ≤ 256 bytes whose cache is not empty does: compute the class (a max, a
//! compare and a bit scan; folded away for a constant layout), fold the CPU id (an `and` for a
//! power-of-two `CPUS`), take the CPU's tier-1 lock (one uncontended `lock cmpxchg`), pop the
//! list (load head, test for null, load `head.next`, store head, decrement the length: the ~8
//! instructions of the design target), bump the hit and byte counters, release the lock (one
//! store). With a constant layout, a release x86-64 build does all that in about 15
//! instructions, no call. A free is the mirror image (push, compare the length with the
//! high-water mark). Refill and flush are out-of-line cold paths. Debug builds also poison and
//! check object contents (below), which costs O(object size).
//!
//! # Locking and interrupts
//!
//! Each CPU has two spin locks, one for its tier-1 caches and one for its tier-2 slabs. On the
//! fast path only the CPU's own tier-1 lock is taken, uncontended. The lock order is: a CPU's
//! tier-1 lock, then the same CPU's tier-2 lock (refill). A flush releases the tier-1 lock
//! first, then takes the tier-2 lock of each object's owning CPU, one at a time. Code holding a
//! tier-2 lock never takes another lock of the heap (only calls the page source). Hence no
//! deadlock between CPUs.
//!
//! **Requirement on the kernel:** interrupts must be disabled on the current CPU around every
//! heap call (in `GlobalAlloc` terms: the kernel's `#[global_allocator]` wrapper, or all kernel
//! code that may allocate, runs with interrupts off while inside the heap). Otherwise an
//! interrupt handler that allocates could spin forever on a lock its own CPU holds. The crate
//! does not do this itself (it is hardware-independent). NMI handlers must never allocate. The
//! [`PageSource`] is called with a tier-2 lock held and must not call back into the heap.
//!
//! The CPU index is only a hint for picking per-CPU state: every per-CPU structure is behind a
//! lock, so a stale or wrong index (a preempted task that migrated, or ids beyond `CPUS`, which
//! are folded modulo `CPUS`) costs contention, never memory safety.
//!
//! # Frees on another CPU
//!
//! A small object (≤ 256 B) freed on another CPU than the one it was allocated on simply goes to
//! the *freeing* CPU's tier-1 cache; it returns to its slab (under the lock of the CPU that owns
//! the slab) when that cache is flushed. An object of 512..=4096 bytes goes straight back to its
//! slab under the owning CPU's tier-2 lock (briefly contended). Slabs never change owner.
//!
//! # Invariants
//!
//! - Every slab is on exactly one list (`partial`, `full`, `empty`) of its owner's class, as
//!   its in-use count says; `empty` lists hold at most [`EMPTY_SLABS_KEPT`] slabs.
//! - An object is exactly one of: never carved, on its slab's free list, in some CPU's tier-1
//!   cache, or handed out to a caller. Its slab counts it as in use in the last two cases, so a
//!   slab with an object in a cache is never released.
//! - A slab's `owner`, `class` and header address never change while it is live, so any CPU
//!   holding one of its objects may read them without a lock.
//! - Pages taken from the page source = slabs × 16 + Σ large blocks' pages
//!   ([`HeapStats::pages_in_use`]); after every allocation is freed and [`Heap::trim`] ran, it
//!   is 0.
//!
//! # Debug poisoning
//!
//! With `cfg(debug_assertions)` a freed slab object is filled with [`POISON_FREED`] (`0xDE`)
//! except its first word (the free-list link), and a newly carved object with [`POISON_FRESH`]
//! (`0xA5`). When an object is handed out again the poison is checked and the heap panics if it
//! was overwritten (a write after free). Large blocks are not poisoned. Debug builds also check
//! that a freed small object's slab has the class its layout maps to (wrong layout, foreign
//! pointer), that slab headers carry their magic, that a slab is on the list its state says,
//! and that a slab is only touched under its owner's lock. Release builds do none of this.
//!
//! These checks panic with a heap lock held. The kernel's panic handler must therefore not
//! allocate (it would spin forever on that lock); it should print with a fixed buffer and halt.
//!
//! # Memory overhead
//!
//! A [`Heap`] holds about 0.9 KiB of state per CPU (a 64-CPU heap is a 57 KiB `static`).
//! Slab headers take 64 bytes of each 64 KiB slab (a whole 4 KiB object in 4 KiB slabs, where
//! 15 objects fit). Each CPU may keep up to [`HIGH_WATER`] free objects per cached class and
//! [`EMPTY_SLABS_KEPT`] empty slab per class; [`Heap::trim`] gives all of that back.
//!
//! # Statistics and trimming
//!
//! [`Heap::stats`] returns a [`HeapStats`]: hits and misses per tier (hit rates via
//! [`TierStats::hit_rate_permille`]), refills, flushes, slabs allocated and freed, pages and
//! requested bytes in use, failures. [`Heap::trim`] returns all cached objects to their slabs
//! and every empty slab to the page source. Allocation failure (the page source returns `None`)
//! makes the allocation return null; nothing panics and later frees work normally.
//!
//! # Example
//!
//! ```
//! use core::alloc::Layout;
//! use core::ptr::NonNull;
//! use exo_heap::{Heap, PageSource, PAGE_SIZE};
//!
//! /// Pages from the host allocator (the kernel uses its buddy allocator instead).
//! struct HostPages;
//!
//! // SAFETY: `std::alloc::alloc` returns a fresh, exclusively owned block with the requested
//! // size and alignment, or null.
//! unsafe impl PageSource for HostPages {
//!     fn alloc_pages(&self, order: u32) -> Option<NonNull<u8>> {
//!         let layout = Layout::from_size_align(PAGE_SIZE << order, PAGE_SIZE << order).ok()?;
//!         // SAFETY: the layout has a non-zero size.
//!         NonNull::new(unsafe { std::alloc::alloc(layout) })
//!     }
//!     unsafe fn free_pages(&self, ptr: NonNull<u8>, order: u32) {
//!         let size = PAGE_SIZE << order;
//!         // SAFETY: the caller returns a block `alloc_pages(order)` gave, with that layout.
//!         unsafe { std::alloc::dealloc(ptr.as_ptr(), Layout::from_size_align_unchecked(size, size)) }
//!     }
//! }
//!
//! // In the kernel: `#[global_allocator] static HEAP: Heap<Buddy, MAX_CPUS> =
//! // Heap::with_cpu_hook(Buddy, percpu::current_cpu_index);`
//! static HEAP: Heap<HostPages, 4> = Heap::new(HostPages);
//!
//! let layout = Layout::new::<[u64; 4]>();
//! let p = HEAP.alloc_on(1, layout);
//! assert!(!p.is_null());
//! // SAFETY: `p` came from `alloc_on` with this layout; any CPU may free it.
//! unsafe { HEAP.dealloc_on(2, p, layout) };
//! HEAP.trim();
//! assert_eq!(HEAP.stats().pages_in_use, 0);
//! ```

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

#[cfg(test)]
extern crate std;

mod class;
mod freelist;
mod heap;
mod poison;
mod slab;
mod stats;
mod tier1;
mod tier2;

use core::ptr::NonNull;

pub use class::{
    block_size, route, Route, CACHED_CLASSES, CLASS_COUNT, MAX_ORDER, MAX_SMALL_SIZE, PAGE_SIZE,
    SIZE_CLASSES,
};
pub use heap::Heap;
pub use poison::{FREED as POISON_FREED, FRESH as POISON_FRESH};
pub use slab::{HEADER_SIZE as SLAB_HEADER_SIZE, SLAB_ORDER, SLAB_SIZE};
pub use stats::{HeapStats, TierStats};
pub use tier1::{HIGH_WATER, LOW_WATER, REFILL_BATCH};
pub use tier2::EMPTY_SLABS_KEPT;

/// Number of objects in a slab of class index `class` (`class < CLASS_COUNT`).
pub const fn slab_capacity(class: usize) -> usize {
    slab::capacity(class)
}

/// Where the heap gets memory: the kernel's buddy allocator through its direct map.
///
/// The heap asks for order [`SLAB_ORDER`] blocks for slabs and for orders up to [`MAX_ORDER`]
/// for large allocations. It calls the source with one of its tier-2 locks held (with
/// interrupts disabled, see the crate documentation), so the source must not allocate from
/// this heap. It should return `None` rather than panic when out of memory.
///
/// # Safety
/// `alloc_pages` returns a naturally aligned (to `4 KiB << order`), exclusively owned, writable
/// block of `4 KiB << order` bytes, or `None`. The heap relies on this for memory safety (it
/// finds slab headers by masking addresses).
pub unsafe trait PageSource {
    /// A block of `PAGE_SIZE << order` bytes aligned to its size, or `None`.
    fn alloc_pages(&self, order: u32) -> Option<NonNull<u8>>;

    /// Takes back a block.
    ///
    /// # Safety
    /// `ptr` must have been returned by `alloc_pages(order)` on this source, with the same
    /// `order`, and not freed since; nothing may use the block afterwards.
    unsafe fn free_pages(&self, ptr: NonNull<u8>, order: u32);
}

// SAFETY: forwards to `P`, which upholds the contract.
unsafe impl<P: PageSource + ?Sized> PageSource for &P {
    fn alloc_pages(&self, order: u32) -> Option<NonNull<u8>> {
        (**self).alloc_pages(order)
    }

    /// # Safety
    /// The contract of `PageSource::free_pages`.
    unsafe fn free_pages(&self, ptr: NonNull<u8>, order: u32) {
        // SAFETY: the caller's guarantee is passed on unchanged.
        unsafe { (**self).free_pages(ptr, order) }
    }
}
