//! The kernel heap: `exo_heap`'s three tiers (per-CPU cache ≤ 256 B, per-CPU slabs ≤ 4 KiB,
//! buddy pages above) as the `#[global_allocator]`, growing and shrinking with the buddy
//! allocator through the direct map. Every heap call runs with interrupts disabled, as the crate
//! requires, so interrupt handlers may allocate.
//!
//! Out of memory: when the buddy allocator has no block for a growing tier, the heap first
//! gives back every cached object and empty slab (`trim`) and tries once more. If that fails
//! too the allocation returns null: fallible callers (`try_reserve`, `Box::try_new`) get their
//! error, infallible ones end in Rust's allocation-error panic. User-driven allocations are
//! therefore fallible or stopped earlier, at the reserve of free frames kept by
//! `process::oom` (see docs/memory.md, "Memory exhaustion").

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_heap::{Heap, PageSource};

use super::frames;
use crate::arch;

/// Per-CPU heap state slots (CPU ids fold modulo this).
pub const MAX_CPUS: usize = 16;

/// Pages for the heap: buddy blocks, addressed through the direct map.
pub struct BuddyPages;

// SAFETY: `alloc_pages` returns the direct-map address of a fresh buddy block of `2^order`
// frames; buddy blocks are naturally aligned in physical memory and the direct map base is
// 1 GiB-aligned, so the virtual block is aligned to its size, exclusively owned and writable.
unsafe impl PageSource for BuddyPages {
    fn alloc_pages(&self, order: u32) -> Option<NonNull<u8>> {
        let paddr = frames::alloc(order as usize).ok()?;
        match super::phys_to_virt(paddr).and_then(|v| NonNull::new(v as *mut u8)) {
            Some(block) => Some(block),
            None => {
                let _ = frames::free(paddr, order as usize);
                None
            }
        }
    }

    /// # Safety
    /// As `PageSource::free_pages`: `ptr` came from `alloc_pages(order)` and is not used again.
    unsafe fn free_pages(&self, ptr: NonNull<u8>, order: u32) {
        match super::virt_to_phys_direct(ptr.as_ptr() as u64) {
            Some(paddr) if frames::free(paddr, order as usize).is_ok() => {}
            _ => log::error!("heap: returned block {ptr:p} (order {order}) is not a buddy block"),
        }
    }
}

static HEAP: Heap<BuddyPages, MAX_CPUS> = Heap::with_cpu_hook(BuddyPages, arch::cpu_index);

/// The global allocator: the heap with interrupts disabled around each call.
pub struct KernelAllocator;

// SAFETY: forwards to `exo_heap::Heap`, a correct allocator, adding only interrupt masking.
unsafe impl GlobalAlloc for KernelAllocator {
    /// # Safety
    /// As `GlobalAlloc::alloc` (a layout of non-zero size).
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        arch::without_interrupts(|| {
            let block = HEAP.alloc_on(arch::cpu_index(), layout);
            if !block.is_null() {
                return block;
            }
            // Cached objects and empty slabs of every CPU may add up to the block we need.
            FAILURES.fetch_add(1, Ordering::Relaxed);
            HEAP.trim();
            HEAP.alloc_on(arch::cpu_index(), layout)
        })
    }

    /// # Safety
    /// As `GlobalAlloc::dealloc`: `ptr` was returned by `alloc` with this `layout`.
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a block this allocator returned for `layout`.
        arch::without_interrupts(|| unsafe { HEAP.dealloc_on(arch::cpu_index(), ptr, layout) })
    }
}

#[global_allocator]
static ALLOCATOR: KernelAllocator = KernelAllocator;

/// Allocations that found the heap unable to grow (before the trim-and-retry).
static FAILURES: AtomicU64 = AtomicU64::new(0);

/// How many allocations found the heap unable to grow since boot (each then trimmed the heap
/// and tried once more).
#[cfg(feature = "ktest")]
pub fn grow_failures() -> u64 {
    FAILURES.load(Ordering::Relaxed)
}

/// Per-tier statistics (also `/proc/meminfo`'s Slab and KernelHeapLive).
pub fn stats() -> exo_heap::HeapStats {
    arch::without_interrupts(|| HEAP.stats())
}

/// Returns cached objects and empty slabs to the buddy allocator.
pub fn trim() {
    arch::without_interrupts(|| HEAP.trim());
}
