//! Per-tier behaviour through the public API: class selection and alignment, tier-1 refill and
//! flush thresholds, per-CPU caches and cross-CPU frees, tier-2 slab reuse and release, tier-3
//! orders, accounting, trimming and the `GlobalAlloc` hook.

mod common;

use std::alloc::GlobalAlloc;
use std::collections::HashSet;

use common::*;
use exo_heap::{
    block_size, slab_capacity, Heap, HIGH_WATER, LOW_WATER, PAGE_SIZE, REFILL_BATCH,
    SLAB_HEADER_SIZE, SLAB_ORDER, SLAB_SIZE,
};

const SLAB_PAGES: usize = 1 << SLAB_ORDER;

#[test]
fn first_small_alloc_refills_a_batch_then_hits() {
    let h = heap();
    let l = layout(64, 8);
    let first = alloc(&h, 0, l);
    let s = h.stats();
    assert_eq!((s.tier1.hits, s.tier1.misses, s.refills), (0, 1, 1));
    assert_eq!((s.tier2.hits, s.tier2.misses), (0, 1));
    assert_eq!((s.tier3.hits, s.tier3.misses), (1, 0));
    assert_eq!(s.cached_objects, REFILL_BATCH - 1);
    assert_eq!(s.slabs_allocated, 1);
    assert_eq!(s.pages_in_use, SLAB_PAGES);
    assert_eq!(h.source().pages_out(), SLAB_PAGES);

    let mut ptrs = vec![first];
    for _ in 1..REFILL_BATCH {
        ptrs.push(alloc(&h, 0, l));
    }
    let s = h.stats();
    assert_eq!((s.tier1.hits, s.tier1.misses), (REFILL_BATCH as u64 - 1, 1));
    assert_eq!(s.cached_objects, 0);
    assert_eq!(s.tier1.hit_rate_permille(), Some(968));

    ptrs.push(alloc(&h, 0, l));
    let s = h.stats();
    assert_eq!((s.tier1.misses, s.refills), (2, 2));
    assert_eq!(
        (s.tier2.hits, s.tier2.misses),
        (1, 1),
        "second refill from the same slab"
    );
    assert_eq!(s.slabs_allocated, 1);

    let distinct: HashSet<_> = ptrs.iter().collect();
    assert_eq!(distinct.len(), ptrs.len());
    for &p in &ptrs {
        free(&h, 0, p, l);
    }
    h.trim();
    assert_eq!(h.source().pages_out(), 0);
}

#[test]
fn free_then_alloc_is_lifo() {
    let h = heap();
    let l = layout(100, 4);
    let a = alloc(&h, 2, l);
    let b = alloc(&h, 2, l);
    free(&h, 2, a, l);
    free(&h, 2, b, l);
    assert_eq!(alloc(&h, 2, l), b);
    assert_eq!(alloc(&h, 2, l), a);
}

/// Expected (cached, flushes, flushed objects) after `frees` frees into a cache holding
/// `cached` objects.
fn simulate_frees(mut cached: usize, frees: usize) -> (usize, u64, u64) {
    let (mut flushes, mut flushed) = (0, 0);
    for _ in 0..frees {
        cached += 1;
        if cached > HIGH_WATER {
            flushes += 1;
            flushed += (cached - LOW_WATER) as u64;
            cached = LOW_WATER;
        }
    }
    (cached, flushes, flushed)
}

#[test]
fn cache_is_flushed_above_the_high_water_mark() {
    let h = heap();
    let l = layout(32, 1);
    let n: usize = 300;
    let ptrs: Vec<_> = (0..n).map(|_| alloc(&h, 1, l)).collect();
    let refills = n.div_ceil(REFILL_BATCH);
    let s = h.stats();
    assert_eq!(s.refills, refills as u64);
    let left = refills * REFILL_BATCH - n;
    assert_eq!(s.cached_objects, left);
    assert_eq!(s.flushes, 0);

    for (i, &p) in ptrs.iter().enumerate() {
        free(&h, 1, p, l);
        assert!(
            h.stats().cached_objects <= HIGH_WATER,
            "after {} frees",
            i + 1
        );
    }
    let (cached, flushes, flushed) = simulate_frees(left, n);
    let s = h.stats();
    assert!(flushes >= 2);
    assert_eq!(
        (s.cached_objects, s.flushes, s.flushed_objects),
        (cached, flushes, flushed)
    );
    assert_eq!(s.bytes_in_use, 0);
    // Flushed objects really went back: after trimming, nothing is held.
    h.trim();
    let s = h.stats();
    assert_eq!((s.cached_objects, s.pages_in_use), (0, 0));
    assert_eq!(h.source().pages_out(), 0);
}

#[test]
fn each_cpu_has_its_own_cache_and_slabs() {
    let h = heap();
    let l = layout(16, 16);
    let a = alloc(&h, 0, l);
    let b = alloc(&h, 1, l);
    let s = h.stats();
    assert_eq!((s.tier1.misses, s.slabs_allocated), (2, 2));
    assert_ne!(
        a as usize / SLAB_SIZE,
        b as usize / SLAB_SIZE,
        "different CPUs, different slabs"
    );
    free(&h, 0, a, l);
    free(&h, 1, b, l);
}

#[test]
fn cross_cpu_free_goes_to_the_freeing_cpus_cache() {
    let h = heap();
    let l = layout(200, 8);
    let p = alloc(&h, 0, l);
    free(&h, 3, p, l);
    let before = h.stats();
    // CPU 3 never refilled: its only cached object is `p`, served as a hit.
    assert_eq!(alloc(&h, 3, l), p);
    let after = h.stats();
    assert_eq!(after.tier1.hits, before.tier1.hits + 1);
    assert_eq!(after.refills, before.refills);
    free(&h, 2, p, l);
    h.trim();
    assert_eq!(h.source().pages_out(), 0);
}

#[test]
fn cpu_ids_fold_modulo_cpus() {
    let h = heap();
    let l = layout(48, 8);
    let p = alloc(&h, 6, l);
    free(&h, 2, p, l);
    assert_eq!(alloc(&h, 10, l), p, "6, 2 and 10 are all slot 2 of 4");
    free(&h, usize::MAX, p, l);
}

#[test]
fn small_blocks_are_aligned_to_their_class() {
    let h = heap();
    let mut live = Vec::new();
    for shift in 0..=12 {
        let align = 1usize << shift;
        for size in [
            1, 3, 8, 15, 16, 17, 100, 255, 256, 257, 600, 1500, 3000, 4095, 4096,
        ] {
            let l = layout(size, align);
            let block = block_size(l).unwrap();
            if block > 4096 {
                continue;
            }
            let p = alloc(&h, shift % 4, l);
            assert_eq!(
                p as usize % block,
                0,
                "{l:?}: block of {block} not size-aligned"
            );
            let in_slab = p as usize % SLAB_SIZE;
            assert!(in_slab >= SLAB_HEADER_SIZE && in_slab + block <= SLAB_SIZE);
            live.push((p, l));
        }
    }
    for (p, l) in live {
        free(&h, 0, p, l);
    }
    h.trim();
    assert_eq!(h.source().pages_out(), 0);
}

#[test]
fn medium_classes_bypass_tier_1() {
    let h = heap();
    let l = layout(512, 8);
    let a = alloc(&h, 0, l);
    let b = alloc(&h, 0, l);
    let s = h.stats();
    assert_eq!(s.tier1.requests(), 0);
    assert_eq!((s.tier2.hits, s.tier2.misses), (1, 1));
    assert_eq!(s.cached_objects, 0);
    assert_eq!(a as usize / SLAB_SIZE, b as usize / SLAB_SIZE);
    free(&h, 0, a, l);
    free(&h, 0, b, l);
    assert_eq!(h.stats().cached_objects, 0);
}

#[test]
fn slabs_are_reused() {
    let h = heap();
    let l = layout(1024, 1024);
    for i in 0..1000 {
        let p = alloc(&h, i % 4, l);
        free(&h, (i + 1) % 4, p, l);
    }
    let s = h.stats();
    assert_eq!(
        s.slabs_allocated, 4,
        "one slab per CPU, kept empty and reused"
    );
    assert_eq!(s.slabs_freed, 0);
    assert_eq!(s.tier2.misses, 4);
    h.trim();
    assert_eq!(h.stats().slabs_freed, 4);
    assert_eq!(h.source().pages_out(), 0);
}

#[test]
fn empty_slabs_beyond_one_go_back_to_the_page_source() {
    let h = heap();
    let l = layout(4096, 4096);
    let per_slab = slab_capacity(8);
    assert_eq!(per_slab, 15);
    let ptrs: Vec<_> = (0..3 * per_slab).map(|_| alloc(&h, 0, l)).collect();
    let s = h.stats();
    assert_eq!(
        (s.slabs_allocated, s.tier2.misses, s.tier2.hits),
        (3, 3, 3 * per_slab as u64 - 3)
    );
    assert_eq!(h.source().pages_out(), 3 * SLAB_PAGES);
    for &p in &ptrs {
        free(&h, 0, p, l);
    }
    let s = h.stats();
    assert_eq!((s.slabs_freed, s.slabs_in_use()), (2, 1));
    assert_eq!(h.source().pages_out(), SLAB_PAGES);
    h.trim();
    assert_eq!(h.stats().slabs_in_use(), 0);
    assert_eq!(h.source().pages_out(), 0);
}

#[test]
fn a_partial_slab_is_preferred_over_a_new_one() {
    let h = heap();
    let l = layout(2048, 8);
    let per_slab = slab_capacity(7);
    let first: Vec<_> = (0..per_slab).map(|_| alloc(&h, 0, l)).collect();
    let second = alloc(&h, 0, l);
    assert_ne!(first[0] as usize / SLAB_SIZE, second as usize / SLAB_SIZE);
    free(&h, 0, first[5], l);
    assert_eq!(
        alloc(&h, 0, l),
        first[5],
        "the just-freed object of the partial slab"
    );
    assert_eq!(h.stats().slabs_allocated, 2);
}

#[test]
fn refills_span_slabs() {
    let h = heap();
    let l = layout(256, 8);
    let n = slab_capacity(4) + 10;
    let ptrs: Vec<_> = (0..n).map(|_| alloc(&h, 0, l)).collect();
    assert_eq!(h.stats().slabs_allocated, 2);
    let distinct: HashSet<_> = ptrs.iter().collect();
    assert_eq!(distinct.len(), n);
}

#[test]
fn large_allocations_use_ceil_log2_pages() {
    let h = heap();
    for (size, order) in [
        (4097, 1),
        (8192, 1),
        (12289, 2),
        (16384, 2),
        (16385, 3),
        (100_000, 5),
    ] {
        let l = layout(size, 8);
        let before = h.stats();
        let p = alloc(&h, 1, l);
        let block = PAGE_SIZE << order;
        assert_eq!(p as usize % block, 0, "{size}: naturally aligned block");
        let s = h.stats();
        assert_eq!(s.pages_in_use - before.pages_in_use, 1 << order, "{size}");
        assert_eq!(s.tier3.hits, before.tier3.hits + 1);
        assert_eq!(s.large_in_use, 1);
        assert_eq!(s.bytes_in_use, size);
        // SAFETY: the block is at least `size` bytes and ours.
        unsafe { p.write_bytes(0x42, size) };
        free(&h, 3, p, l);
        assert_eq!(h.source().pages_out(), 0, "large frees go straight back");
    }
    assert_eq!(h.stats().slabs_allocated, 0);
}

#[test]
fn alignment_above_a_page_goes_to_tier_3() {
    let h = heap();
    for (size, align, order) in [
        (8, 8192, 1),
        (100, 1 << 16, 4),
        (5000, 1 << 14, 2),
        (0, 8192, 1),
    ] {
        let l = layout(size, align);
        let p = alloc(&h, 0, l);
        assert_eq!(h.source().pages_out(), 1 << order, "{l:?}");
        free(&h, 0, p, l);
    }
}

#[test]
fn bytes_in_use_counts_requested_sizes_across_cpus() {
    let h = heap();
    let specs = [
        (1, 1),
        (24, 8),
        (300, 16),
        (4000, 8),
        (70_000, 8),
        (8, 4096),
    ];
    let mut live = Vec::new();
    for (i, &(size, align)) in specs.iter().enumerate() {
        let l = layout(size, align);
        live.push((alloc(&h, i, l), l));
    }
    let total: usize = specs.iter().map(|s| s.0).sum();
    assert_eq!(h.stats().bytes_in_use, total);
    for (i, (p, l)) in live.into_iter().enumerate() {
        free(&h, i + 1, p, l);
    }
    assert_eq!(h.stats().bytes_in_use, 0);
}

#[test]
fn zero_sized_layouts_get_distinct_blocks() {
    let h = heap();
    let l = layout(0, 1);
    let a = alloc(&h, 0, l);
    let b = alloc(&h, 0, l);
    assert_ne!(a, b);
    free(&h, 0, a, l);
    free(&h, 0, b, l);
    // SAFETY: freeing null is documented as a no-op.
    unsafe { h.dealloc_on(0, std::ptr::null_mut(), l) };
}

#[test]
fn trim_returns_every_page_when_nothing_is_live() {
    let h = heap();
    let mut live = Vec::new();
    for i in 0..2000usize {
        let l = layout(1 + (i * 37) % 5000, 1 << (i % 6));
        live.push((alloc(&h, i % 4, l), l));
    }
    for (i, (p, l)) in live.into_iter().enumerate() {
        free(&h, (i * 7) % 4, p, l);
    }
    assert!(
        h.source().pages_out() > 0,
        "caches and empty slabs kept something"
    );
    h.trim();
    let s = h.stats();
    assert_eq!(
        (s.pages_in_use, s.cached_objects, s.bytes_in_use),
        (0, 0, 0)
    );
    assert_eq!(s.slabs_allocated, s.slabs_freed);
    assert_eq!((h.source().pages_out(), h.source().blocks_out()), (0, 0));
}

#[test]
fn dropping_the_heap_trims() {
    let pages = TestPages::new();
    {
        let h: Heap<&TestPages, 2> = Heap::new(&pages);
        let l = layout(64, 8);
        let p = h.alloc_on(1, l);
        assert!(!p.is_null());
        // SAFETY: from `h`, same layout, once.
        unsafe { h.dealloc_on(0, p, l) };
        assert!(pages.pages_out() > 0);
    }
    assert_eq!(pages.pages_out(), 0);
}

fn cpu_three() -> usize {
    3
}

#[test]
fn global_alloc_uses_the_cpu_hook() {
    let h: TestHeap = Heap::with_cpu_hook(TestPages::new(), cpu_three);
    assert_eq!(h.current_cpu(), 3);
    let l = layout(40, 8);
    // SAFETY: a valid non-zero layout.
    let p = unsafe { GlobalAlloc::alloc(&h, l) };
    assert!(!p.is_null());
    // Served on CPU 3: a later `alloc_on(3)` after the free gets it back.
    // SAFETY: from `h` with this layout.
    unsafe { GlobalAlloc::dealloc(&h, p, l) };
    assert_eq!(alloc(&h, 3, l), p);
    free(&h, 3, p, l);
    // SAFETY: a valid non-zero layout; `realloc` keeps the contents.
    unsafe {
        let q = GlobalAlloc::alloc_zeroed(&h, layout(5000, 8));
        assert!(std::slice::from_raw_parts(q, 5000).iter().all(|&b| b == 0));
        q.write_bytes(7, 5000);
        let r = GlobalAlloc::realloc(&h, q, layout(5000, 8), 100);
        assert!(std::slice::from_raw_parts(r, 100).iter().all(|&b| b == 7));
        GlobalAlloc::dealloc(&h, r, layout(100, 8));
    }
    assert_eq!(h.stats().bytes_in_use, 0);
}

#[test]
fn default_hook_is_cpu_zero() {
    let h = heap();
    assert_eq!(h.current_cpu(), 0);
}
