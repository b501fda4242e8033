//! Out of memory: a page source that refuses requests beyond a page budget. Allocation must
//! return null (never panic), and frees, trimming and later allocations must keep working.

mod common;

use common::*;
use exo_heap::{slab_capacity, Heap, SLAB_ORDER};

const SLAB_PAGES: usize = 1 << SLAB_ORDER;

fn limited(pages: usize) -> TestHeap {
    Heap::new(TestPages::with_limit(pages))
}

#[test]
fn small_allocations_fail_cleanly_and_recover() {
    // Two slabs and some change: the third slab request fails.
    let h = limited(2 * SLAB_PAGES + 8);
    let l = layout(64, 8);
    let mut live = Vec::new();
    loop {
        let p = h.alloc_on(live.len() % 2, l);
        if p.is_null() {
            break;
        }
        live.push(p);
        assert!(
            live.len() <= 2 * slab_capacity(2),
            "allocated past the budget"
        );
    }
    assert_eq!(
        live.len(),
        2 * slab_capacity(2),
        "every object of both slabs was usable"
    );
    let s = h.stats();
    assert_eq!(s.failed_allocations, 1);
    assert!(s.tier3.misses >= 1);
    assert!(h.source().refused.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    // Still failing, still no panic.
    assert!(h.alloc_on(0, l).is_null());
    assert!(
        h.alloc_on(1, layout(64 * 1024, 8)).is_null(),
        "16 pages do not fit either"
    );
    // Large blocks that fit still work: 8 pages are left.
    let big = alloc(&h, 0, layout(32 * 1024, 8));
    free(&h, 0, big, layout(32 * 1024, 8));

    for (i, &p) in live.iter().enumerate() {
        free(&h, i % 4, p, l);
    }
    h.trim();
    assert_eq!(h.source().pages_out(), 0);
    // Memory is back: allocation works again.
    let p = alloc(&h, 0, l);
    free(&h, 0, p, l);
}

#[test]
fn a_refill_that_runs_out_midway_returns_a_partial_batch() {
    // One slab of 256-byte objects (255 of them); the second slab is refused.
    let h = limited(SLAB_PAGES);
    let l = layout(256, 8);
    let n = slab_capacity(4);
    let live: Vec<_> = (0..n).map(|_| alloc(&h, 0, l)).collect();
    // The last refill asked for 32 objects and got fewer: the slab ran out and no new one came.
    assert!(h.alloc_on(0, l).is_null());
    let s = h.stats();
    assert_eq!(s.slabs_allocated, 1);
    assert_eq!(s.refills, n.div_ceil(32) as u64);
    assert_eq!(s.failed_allocations, 1);
    for p in live {
        free(&h, 0, p, l);
    }
    h.trim();
    assert_eq!(h.source().pages_out(), 0);
}

#[test]
fn cached_objects_are_still_served_when_the_source_is_dry() {
    let h = heap();
    let l = layout(32, 8);
    let p = alloc(&h, 0, l);
    h.source().set_limit(0);
    // 31 more objects sit in CPU 0's cache.
    let more: Vec<_> = (0..31).map(|_| alloc(&h, 0, l)).collect();
    // The slab still has free objects: a refill works without the page source.
    let refilled = alloc(&h, 0, l);
    // Another CPU has no slab of its own and cannot get one.
    assert!(h.alloc_on(1, l).is_null());
    // ...but objects freed on it are then served on it.
    free(&h, 1, refilled, l);
    assert_eq!(alloc(&h, 1, l), refilled);
    for q in more.into_iter().chain([p, refilled]) {
        free(&h, 2, q, l);
    }
    h.trim();
    assert_eq!(h.source().pages_out(), 0);
}

#[test]
fn large_allocations_fail_and_recover() {
    let h = limited(16);
    let l = layout(32 * 1024, 8);
    let a = alloc(&h, 0, l);
    let b = alloc(&h, 1, l);
    assert!(h.alloc_on(2, l).is_null());
    assert!(
        h.alloc_on(2, layout(1 << 30, 8)).is_null(),
        "1 GiB: refused, no panic"
    );
    free(&h, 0, a, l);
    let c = alloc(&h, 2, l);
    free(&h, 3, b, l);
    free(&h, 0, c, l);
    let s = h.stats();
    assert_eq!(s.failed_allocations, 2);
    assert_eq!((s.pages_in_use, s.large_in_use, s.bytes_in_use), (0, 0, 0));
}

#[test]
fn exhaustion_with_mixed_sizes_on_several_cpus() {
    let h = limited(8 * SLAB_PAGES);
    let mut rng = XorShift(0xD1CE);
    let mut live: Vec<(*mut u8, std::alloc::Layout, u64)> = Vec::new();
    let mut failures = 0;
    for i in 0..20_000u64 {
        let size = 1 + rng.below(9000) as usize;
        let l = layout(size, 1 << rng.below(7));
        let p = h.alloc_on(i as usize % 4, l);
        if p.is_null() {
            failures += 1;
            if !live.is_empty() && rng.below(2) == 0 {
                let (q, lq, tag) = live.swap_remove(rng.below(live.len() as u64) as usize);
                // SAFETY: `q` is a live block of `lq.size()` bytes we filled.
                unsafe { check(q, lq.size(), tag) };
                free(&h, rng.below(4) as usize, q, lq);
            }
            continue;
        }
        // SAFETY: the block is ours and `size` bytes long.
        unsafe { fill(p, size, i) };
        live.push((p, l, i));
    }
    assert!(failures > 0, "the budget was never hit");
    assert_eq!(h.stats().failed_allocations, failures);
    for (p, l, tag) in live {
        // SAFETY: as above.
        unsafe { check(p, l.size(), tag) };
        free(&h, 0, p, l);
    }
    h.trim();
    assert_eq!(h.source().pages_out(), 0);
    assert_eq!(h.stats().pages_in_use, 0);
}
