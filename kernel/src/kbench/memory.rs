//! Memory microbenchmarks: heap tiers 1 and 2, the buddy allocator and kernel page mapping, with
//! the design documents' targets in cycles per operation.

use alloc::alloc::{alloc, dealloc};
use core::alloc::Layout;

use exo_paging::{PageFlags, PageSize};

use super::{time_batch, Benchmark};
use crate::memory::{frames, paging};

/// A kernel-half window used only by the mapping benchmark.
const BENCH_VA: u64 = 0xffff_e800_0000_0000;

fn heap_alloc_free(ops: u64, layout: Layout) -> u64 {
    time_batch(ops, |_| {
        // SAFETY: non-zero-size layout; the block is freed at once with the same layout.
        unsafe {
            let block = alloc(layout);
            if !block.is_null() {
                dealloc(core::hint::black_box(block), layout);
            }
        }
    })
}

fn heap_64b(ops: u64) -> u64 {
    heap_alloc_free(ops, Layout::new::<[u64; 8]>())
}

fn heap_1k(ops: u64) -> u64 {
    heap_alloc_free(ops, Layout::new::<[u64; 128]>())
}

fn frame_alloc_free(ops: u64) -> u64 {
    time_batch(ops, |_| {
        if let Ok(frame) = frames::alloc_frame() {
            let _ = frames::free_frame(core::hint::black_box(frame));
        }
    })
}

fn order4_alloc_free(ops: u64) -> u64 {
    time_batch(ops, |_| {
        if let Ok(block) = frames::alloc(4) {
            let _ = frames::free(core::hint::black_box(block), 4);
        }
    })
}

fn map_unmap_4k(ops: u64) -> u64 {
    let Ok(frame) = frames::alloc_frame() else { return 0 };
    // The first mapping creates the window's page tables; keep them out of the measurement.
    let _ = paging::map_kernel(BENCH_VA, frame, PageSize::Size4K, PageFlags::KERNEL_RW_NX);
    let _ = paging::unmap_kernel(BENCH_VA, PageSize::Size4K);
    let cycles = time_batch(ops, |_| {
        let _ = paging::map_kernel(BENCH_VA, frame, PageSize::Size4K, PageFlags::KERNEL_RW_NX);
        let _ = paging::unmap_kernel(BENCH_VA, PageSize::Size4K);
    });
    let _ = frames::free_frame(frame);
    cycles
}

/// The memory benchmarks with their batch sizes.
pub static BENCHMARKS: &[(Benchmark, u64)] = &[
    (Benchmark { name: "heap_64b_alloc_free", target: Some(8), run: heap_64b }, 50_000),
    (Benchmark { name: "heap_1k_alloc_free", target: Some(50), run: heap_1k }, 50_000),
    (Benchmark { name: "buddy_frame_alloc_free", target: Some(200), run: frame_alloc_free }, 20_000),
    (Benchmark { name: "buddy_order4_alloc_free", target: Some(200), run: order4_alloc_free }, 20_000),
    (Benchmark { name: "map_unmap_4k", target: Some(100), run: map_unmap_4k }, 5_000),
];
