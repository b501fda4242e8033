//! Unit tests of the buddy allocator; property tests against a model live in `tests/prop.rs`.

mod prop;

use std::vec;
use std::vec::Vec;

use crate::*;

/// A fresh metadata array for `n` frames.
fn meta(n: usize) -> Vec<FrameInfo> {
    vec![FrameInfo::new(); n]
}

/// Copies of every managed frame's metadata, to prove that a refused call changed nothing.
fn snapshot(a: &BuddyAllocator<'_>) -> Vec<FrameInfo> {
    (a.base_frame()..a.end_frame())
        .map(|f| *a.frame_info(f).unwrap())
        .collect()
}

/// The free-block counts a fully coalesced buddy allocator must have when exactly the frames
/// `base + i` with `free[i]` are free: an aligned block of order `k` is counted iff it is
/// entirely free and (for `k < MAX_ORDER`) its parent block is not entirely free.
pub(super) fn canonical(base: u64, free: &[bool]) -> [usize; NUM_ORDERS] {
    let mut prefix = vec![0usize; free.len() + 1];
    for (i, &f) in free.iter().enumerate() {
        prefix[i + 1] = prefix[i] + f as usize;
    }
    let end = base + free.len() as u64;
    let all_free = |start: u64, k: usize| -> bool {
        let size = 1u64 << k;
        start >= base
            && start + size <= end
            && prefix[(start + size - base) as usize] - prefix[(start - base) as usize]
                == size as usize
    };
    let mut counts = [0; NUM_ORDERS];
    for (k, count) in counts.iter_mut().enumerate() {
        let size = 1u64 << k;
        let mut start = base.div_ceil(size) * size;
        while start + size <= end {
            let parent = start & !((size << 1) - 1);
            if all_free(start, k) && (k == MAX_ORDER || !all_free(parent, k + 1)) {
                *count += 1;
            }
            start += size;
        }
    }
    counts
}

/// Free-block counts with a single block of order `k` for each `k` in `orders`.
fn blocks(orders: &[usize]) -> [usize; NUM_ORDERS] {
    let mut c = [0; NUM_ORDERS];
    for &k in orders {
        c[k] += 1;
    }
    c
}

#[test]
fn frame_info_is_small_and_starts_unavailable() {
    assert_eq!(core::mem::size_of::<FrameInfo>(), 12);
    assert_eq!(core::mem::align_of::<FrameInfo>(), 4);
    const F: FrameInfo = FrameInfo::new();
    assert_eq!(F, FrameInfo::default());
    assert_eq!(F.state(), FrameState::Unavailable);
    assert_eq!(F.refcount(), 0);
}

#[test]
fn new_resets_metadata_and_manages_nothing_free() {
    let mut m = meta(64);
    {
        let mut a = BuddyAllocator::new(0, &mut m);
        a.add_free_range(0, 64);
        assert_eq!(a.alloc(3), Ok(0));
    }
    // Reusing a dirty array: `new` must reset it.
    let mut a = BuddyAllocator::new(1000, &mut m);
    assert_eq!(
        (a.base_frame(), a.end_frame(), a.managed_frames()),
        (1000, 1064, 64)
    );
    assert!(snapshot(&a).iter().all(|f| *f == FrameInfo::new()));
    let s = a.stats();
    assert_eq!(
        (s.free_frames, s.allocated_frames, s.reserved_frames),
        (0, 0, 0)
    );
    assert_eq!(s.unavailable_frames(), 64);
    assert_eq!(a.alloc(0), Err(AllocError::OutOfMemory));
    assert_eq!(a.stats().failed_allocs, 1);
    a.check_invariants().unwrap();
}

#[test]
fn add_free_range_carves_maximal_aligned_blocks() {
    let mut m = meta(64);
    let mut a = BuddyAllocator::new(0, &mut m);
    // 3..37 = 3 | 4..8 | 8..16 | 16..32 | 32..36 | 36
    assert_eq!(a.add_free_range(3, 37), 34);
    assert_eq!(a.stats().free_blocks, blocks(&[0, 2, 3, 4, 2, 0]));
    assert_eq!(a.free_frames(), 34);
    // Adding again (overlapping, partly outside the managed range) only adds new frames, and
    // the new frames merge with their free neighbours: 0..64 is one order-6 block.
    assert_eq!(a.add_free_range(0, 1 << 40), 30);
    assert_eq!(a.stats().free_blocks, blocks(&[6]));
    assert_eq!(a.add_free_range(10, 5), 0);
    a.check_invariants().unwrap();
}

#[test]
fn blocks_are_aligned_in_absolute_frame_numbers() {
    // The managed range starts at an odd frame: blocks must still be physically aligned.
    let mut m = meta(8192);
    let mut a = BuddyAllocator::new(4095, &mut m);
    a.add_free_range(0, u64::MAX);
    // 4095 | 4096..8192 (order 12) | 8192..12287 as 2048 + 1024 + ... + 1
    let mut expected = blocks(&[0, 12]);
    for count in &mut expected[..12] {
        *count += 1;
    }
    assert_eq!(a.stats().free_blocks, expected);
    for k in 0..=MAX_ORDER {
        let f = a.alloc(k).unwrap();
        assert_eq!(f % (1 << k), 0, "order {k} block at {f}");
    }
    a.check_invariants().unwrap();
}

#[test]
fn split_and_merge_at_every_order() {
    for k in 0..=MAX_ORDER {
        let mut m = meta(1 << MAX_ORDER);
        let mut a = BuddyAllocator::new(1 << 20, &mut m);
        a.add_free_range(0, u64::MAX);
        assert_eq!(a.stats().free_blocks, blocks(&[MAX_ORDER]));
        let f = a.alloc(k).unwrap();
        assert_eq!(f, 1 << 20, "the lowest half is kept at every split");
        // One free block of each order k .. MAX_ORDER - 1 remains; a single frame comes from
        // the hot list, refilled with a whole order-HOT_REFILL_ORDER block.
        let low = if k == 0 { HOT_REFILL_ORDER } else { k };
        let split: Vec<usize> = (low..MAX_ORDER).collect();
        assert_eq!(a.stats().free_blocks, blocks(&split));
        let hot = if k == 0 { (1 << HOT_REFILL_ORDER) - 1 } else { 0 };
        assert_eq!(a.hot_frames(), hot);
        assert!(a.hot_list().eq(f + 1..f + 1 + hot as u64), "in address order");
        assert_eq!(a.free_frames(), (1 << MAX_ORDER) - (1 << k));
        assert_eq!(a.allocated_frames(), 1 << k);
        let info = a.frame_info(f).unwrap();
        assert_eq!(
            (info.state(), info.order(), info.refcount()),
            (FrameState::Allocated, k, 1)
        );
        a.check_invariants().unwrap();
        a.free(f, k).unwrap();
        // A single frame waits on the hot list; drained, it merges all the way up.
        assert_eq!(a.hot_frames(), if k == 0 { 1 << HOT_REFILL_ORDER } else { 0 });
        a.drain_hot();
        assert_eq!(a.stats().free_blocks, blocks(&[MAX_ORDER]));
        assert_eq!(a.free_frames(), 1 << MAX_ORDER);
        a.check_invariants().unwrap();
    }
}

#[test]
fn buddies_merge_whatever_the_free_order() {
    let perms = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]];
    for perm in perms {
        let mut m = meta(4);
        let mut a = BuddyAllocator::new(8, &mut m);
        a.add_free_range(8, 12);
        let frames: Vec<u64> = (0..4).map(|_| a.alloc_frame().unwrap()).collect();
        let mut sorted = frames.clone();
        sorted.sort();
        assert_eq!(sorted, [8, 9, 10, 11]);
        for p in perm {
            a.free_frame(frames[p]).unwrap();
            a.check_invariants().unwrap();
        }
        a.drain_hot();
        a.check_invariants().unwrap();
        assert_eq!(a.stats().free_blocks, blocks(&[2]));
    }
}

#[test]
fn merging_stops_at_max_order() {
    let mut m = meta(4 << MAX_ORDER);
    let mut a = BuddyAllocator::new(0, &mut m);
    a.add_free_range(0, u64::MAX);
    assert_eq!(a.stats().free_blocks[MAX_ORDER], 4);
    assert_eq!(a.alloc(MAX_ORDER + 1), Err(AllocError::BadOrder));
    a.check_invariants().unwrap();
}

#[test]
fn alloc_until_oom_then_free_all_coalesces_fully() {
    for order in [0, 1, 3] {
        let mut m = meta(3000);
        let mut a = BuddyAllocator::new(77, &mut m);
        a.add_free_range(77, 600);
        a.add_free_range(700, 1100);
        a.add_free_range(1500, 3077);
        a.reserve_range(1600, 1650);
        let initial = a.stats();
        let mut live = Vec::new();
        while let Ok(f) = a.alloc(order) {
            live.push(f);
        }
        assert_eq!(a.stats().failed_allocs, 1);
        // Every block of at least `order` frames was used.
        assert!(a.stats().free_blocks[order..].iter().all(|&c| c == 0));
        assert_eq!(a.allocated_frames(), live.len() << order);
        assert_eq!(a.stats().usable_frames(), initial.free_frames);
        a.check_invariants().unwrap();
        // Free in a scrambled but deterministic order.
        let n = live.len();
        for j in 0..n {
            let f = live[(j * 7919) % n];
            a.free(f, order).unwrap();
        }
        a.drain_hot();
        let end = a.stats();
        assert_eq!(end.free_blocks, initial.free_blocks);
        assert_eq!(end.free_frames, initial.free_frames);
        assert_eq!(end.allocs[order], n as u64);
        assert_eq!(end.frees[order], n as u64);
        a.check_invariants().unwrap();
    }
}

#[test]
fn mixed_orders_until_oom_then_free_all() {
    let mut m = meta(5000);
    let mut a = BuddyAllocator::new(0, &mut m);
    a.add_free_range(0, 5000);
    let initial = a.stats().free_blocks;
    let mut live = Vec::new();
    let mut k = 0;
    // Cycle through the orders; stop once even order 0 fails.
    loop {
        match a.alloc(k % 6) {
            Ok(f) => live.push((f, k % 6)),
            Err(AllocError::OutOfMemory) if k % 6 == 0 => break,
            Err(e) => assert_eq!(e, AllocError::OutOfMemory),
        }
        k += 1;
    }
    assert_eq!(a.free_frames(), 0);
    assert_eq!(a.allocated_frames(), 5000);
    for (f, o) in live.into_iter().rev() {
        a.free(f, o).unwrap();
    }
    a.drain_hot();
    assert_eq!(a.stats().free_blocks, initial);
    a.check_invariants().unwrap();
}

#[test]
fn reserve_inside_a_big_free_block_splits_it() {
    let mut m = meta(1 << MAX_ORDER);
    let mut a = BuddyAllocator::new(1 << MAX_ORDER, &mut m);
    a.add_free_range(0, u64::MAX);
    let base = a.base_frame();
    assert_eq!(a.reserve_range(base + 1000, base + 1003), 3);
    assert_eq!(a.free_frames(), (1 << MAX_ORDER) - 3);
    assert_eq!(a.stats().reserved_frames, 3);
    for f in base + 1000..base + 1003 {
        assert_eq!(a.frame_info(f).unwrap().state(), FrameState::Reserved);
    }
    a.check_invariants().unwrap();
    let mut free = vec![true; 1 << MAX_ORDER];
    free[1000..1003].fill(false);
    assert_eq!(a.stats().free_blocks, canonical(base, &free));
    // Reserving again takes nothing more.
    assert_eq!(a.reserve_range(base + 1000, base + 1003), 0);
    // Nothing handed out overlaps the reserved frames.
    let mut count = 0;
    while let Ok(f) = a.alloc_frame() {
        assert!(!(base + 1000..base + 1003).contains(&f));
        count += 1;
    }
    assert_eq!(count, (1 << MAX_ORDER) - 3);
    a.check_invariants().unwrap();
}

#[test]
fn reserve_across_several_blocks_and_edges() {
    let mut m = meta(256);
    let mut a = BuddyAllocator::new(0, &mut m);
    a.add_free_range(0, 100);
    a.add_free_range(150, 256);
    // Straddles free blocks, a hole (100..150) and the end of the managed range.
    assert_eq!(a.reserve_range(90, 1000), 10 + 106);
    assert_eq!(a.stats().reserved_frames, 166);
    assert_eq!(a.free_frames(), 90);
    let mut free = vec![false; 256];
    free[..90].fill(true);
    assert_eq!(a.stats().free_blocks, canonical(0, &free));
    a.check_invariants().unwrap();
}

#[test]
fn reserve_before_add_is_remembered() {
    let mut m = meta(64);
    let mut a = BuddyAllocator::new(0, &mut m);
    assert_eq!(a.reserve_range(10, 20), 0, "nothing was free yet");
    assert_eq!(a.stats().reserved_frames, 10);
    assert_eq!(a.add_free_range(0, 64), 54);
    assert_eq!(a.free_frames(), 54);
    let mut free = vec![true; 64];
    free[10..20].fill(false);
    assert_eq!(a.stats().free_blocks, canonical(0, &free));
    while let Ok(f) = a.alloc_frame() {
        assert!(!(10..20).contains(&f));
    }
    assert_eq!(a.allocated_frames(), 54);
    a.check_invariants().unwrap();
}

#[test]
fn reserve_leaves_allocated_blocks_to_their_owner() {
    let mut m = meta(16);
    let mut a = BuddyAllocator::new(0, &mut m);
    a.add_free_range(0, 16);
    let f = a.alloc(2).unwrap();
    assert_eq!(f, 0);
    // 0..4 is allocated, 4..8 free: only the free frames are taken.
    assert_eq!(a.reserve_range(2, 6), 2);
    assert_eq!(a.frame_info(0).unwrap().state(), FrameState::Allocated);
    assert_eq!(a.frame_info(2).unwrap().state(), FrameState::Tail);
    a.check_invariants().unwrap();
    a.free(f, 2).unwrap();
    assert_eq!(a.free_frames(), 14);
    a.check_invariants().unwrap();
}

#[test]
fn unreserve_gives_frames_back_and_merges() {
    let mut m = meta(64);
    let mut a = BuddyAllocator::new(0, &mut m);
    a.add_free_range(0, 64);
    assert_eq!(a.reserve_range(5, 40), 35);
    assert_eq!(a.unreserve_range(0, 20), 15);
    assert_eq!(a.stats().reserved_frames, 20);
    assert_eq!(a.unreserve_range(20, 64), 20);
    assert_eq!(a.unreserve_range(0, 64), 0);
    assert_eq!(a.stats().free_blocks, blocks(&[6]));
    a.check_invariants().unwrap();
}

#[test]
fn bad_frees_are_refused_and_change_nothing() {
    let mut m = meta(64);
    let mut a = BuddyAllocator::new(64, &mut m);
    a.add_free_range(64, 120);
    a.reserve_range(120, 128);
    // Free blocks: 64..96 (order 5), 96..112 (4), 112..120 (3). The order-3 block is split.
    let f2 = a.alloc(2).unwrap();
    let f0 = a.alloc(0).unwrap();
    let freed = a.alloc(0).unwrap();
    assert_eq!((f2, f0, freed), (112, 116, 117));
    a.free_frame(freed).unwrap();
    let before = (snapshot(&a), a.stats());
    let cases = [
        (117, 0, FreeError::NotAllocated),         // double free
        (113, 0, FreeError::NotAllocated),         // inside an allocated block
        (114, 1, FreeError::NotAllocated),         // aligned frame inside an allocated block
        (64, 0, FreeError::NotAllocated),          // head of a free block
        (125, 0, FreeError::NotAllocated),         // reserved frame
        (112, 1, FreeError::WrongOrder),           // allocated with order 2
        (112, 3, FreeError::WrongOrder),           // aligned for order 3, still wrong
        (112, 5, FreeError::Misaligned),           // 112 is not 32-aligned
        (117, 1, FreeError::Misaligned),           // odd frame, order 1
        (63, 0, FreeError::OutOfRange),            // below the range
        (128, 0, FreeError::OutOfRange),           // past the range
        (u64::MAX, 0, FreeError::OutOfRange),      // absurd frame
        (112, MAX_ORDER + 1, FreeError::BadOrder), // absurd orders
        (112, usize::MAX, FreeError::BadOrder),
    ];
    for (i, &(frame, order, err)) in cases.iter().enumerate() {
        assert_eq!(
            a.free(frame, order),
            Err(err),
            "case {i}: free({frame}, {order})"
        );
        a.check_invariants().unwrap();
        assert_eq!(snapshot(&a), before.0, "case {i} changed the metadata");
        let mut s = a.stats();
        assert_eq!(s.rejected_frees, i as u64 + 1);
        s.rejected_frees = 0;
        assert_eq!(s, before.1, "case {i} changed the counters");
    }
    // The legitimate frees still work afterwards.
    a.free(f2, 2).unwrap();
    a.free_frame(f0).unwrap();
    assert_eq!(a.free_frames(), 56);
    a.check_invariants().unwrap();
}

#[test]
fn bad_orders_and_oom_change_nothing() {
    let mut m = meta(8);
    let mut a = BuddyAllocator::new(0, &mut m);
    a.add_free_range(0, 8);
    let before = snapshot(&a);
    assert_eq!(a.alloc(MAX_ORDER + 1), Err(AllocError::BadOrder));
    assert_eq!(a.alloc(usize::MAX), Err(AllocError::BadOrder));
    assert_eq!(a.alloc_contiguous(4), Err(AllocError::OutOfMemory));
    assert_eq!(snapshot(&a), before);
    assert_eq!(a.stats().failed_allocs, 1);
    assert_eq!(a.alloc_contiguous(3), Ok(0));
    a.check_invariants().unwrap();
}

#[test]
fn refcount_is_set_on_alloc_and_left_to_callers() {
    let mut m = meta(8);
    let mut a = BuddyAllocator::new(0, &mut m);
    a.add_free_range(0, 8);
    let f = a.alloc(1).unwrap();
    assert_eq!(a.frame_info(f).unwrap().refcount(), 1);
    {
        let mut info = a.frame_info_mut(f).unwrap();
        *info.refcount_mut() += 1;
        assert_eq!(info.refcount(), 2);
        assert_eq!(info.state(), FrameState::Allocated);
        info.set_refcount(5);
    }
    assert_eq!(a.frame_info(f).unwrap().refcount(), 5);
    assert!(a.frame_info(8).is_none());
    assert!(a.frame_info_mut(8).is_none());
    a.free(f, 1).unwrap();
    assert_eq!(
        a.frame_info(f).unwrap().refcount(),
        5,
        "free leaves refcount alone"
    );
    a.check_invariants().unwrap();
}

#[test]
fn stats_count_calls_per_order() {
    let mut m = meta(64);
    let mut a = BuddyAllocator::new(0, &mut m);
    a.add_free_range(0, 64);
    let x = a.alloc(0).unwrap();
    let y = a.alloc(0).unwrap();
    let z = a.alloc(4).unwrap();
    a.free(y, 0).unwrap();
    a.free(z, 4).unwrap();
    let _ = a.free(z, 4);
    let s = a.stats();
    assert_eq!(
        (s.allocs[0], s.allocs[4], s.frees[0], s.frees[4]),
        (2, 1, 1, 1)
    );
    assert_eq!((s.rejected_frees, s.failed_allocs), (1, 0));
    assert_eq!(
        (s.managed_frames, s.free_frames, s.allocated_frames),
        (64, 63, 1)
    );
    assert_eq!(s.usable_frames(), 64);
    assert_eq!(a.frame_info(x).unwrap().state(), FrameState::Allocated);
}

#[test]
fn meta_longer_than_the_frame_space_is_clipped() {
    let mut m = meta(16);
    let mut a = BuddyAllocator::new(u64::MAX - 4, &mut m);
    assert_eq!(a.managed_frames(), 4);
    assert_eq!(a.end_frame(), u64::MAX);
    assert_eq!(a.add_free_range(0, u64::MAX), 4);
    // MAX-4 is odd, MAX-3 is 4-aligned but its order-2 block would pass the end.
    assert_eq!(a.stats().free_blocks, blocks(&[0, 1, 0]));
    assert_eq!(a.alloc(2), Err(AllocError::OutOfMemory));
    assert_eq!(a.alloc(1), Ok(u64::MAX - 3));
    let mut singles = [a.alloc(0).unwrap(), a.alloc(0).unwrap()];
    singles.sort();
    assert_eq!(singles, [u64::MAX - 4, u64::MAX - 1]);
    assert_eq!(a.free(u64::MAX - 1, 0), Ok(()));
    assert_eq!(a.free(u64::MAX, 0), Err(FreeError::OutOfRange));
    a.check_invariants().unwrap();
}

/// The example of the crate documentation, verbatim.
#[test]
fn crate_doc_example() {
    // 4 MiB of RAM at physical 1 MiB (frames 0x100 .. 0x500); the first 512 KiB hold the kernel.
    let mut meta = [FrameInfo::new(); 0x400];
    let mut frames = BuddyAllocator::new(0x100, &mut meta);
    frames.add_free_range(0x100, 0x500);
    assert_eq!(frames.reserve_range(0x100, 0x180), 0x80);

    let huge = frames.alloc(9).unwrap(); // 2 MiB, 2 MiB aligned
    assert_eq!(huge, 0x200);
    let page = frames.alloc_frame().unwrap();
    assert_eq!(frames.free(huge, 0), Err(FreeError::WrongOrder));
    frames.free(huge, 9).unwrap();
    frames.free_frame(page).unwrap();
    assert_eq!(frames.free_frames(), 0x380);
    assert!(frames.check_invariants().is_ok());
}

#[test]
fn a_freed_frame_is_reused_from_the_hot_list_without_splitting() {
    let mut m = meta(1 << MAX_ORDER);
    let mut a = BuddyAllocator::new(0, &mut m);
    a.add_free_range(0, 1 << MAX_ORDER);
    let f = a.alloc_frame().unwrap();
    let before = a.stats().free_blocks;
    let hot = a.hot_frames();
    a.free_frame(f).unwrap();
    assert_eq!((a.hot_frames(), a.stats().free_blocks), (hot + 1, before), "no merge on free");
    assert_eq!(a.free_frames(), 1 << MAX_ORDER);
    let info = a.frame_info(f).unwrap();
    assert_eq!(info.state(), FrameState::Hot);
    assert_eq!(a.alloc_frame().unwrap(), f, "the hot frame comes back first");
    assert_eq!((a.hot_frames(), a.stats().free_blocks), (hot, before), "no split on alloc");
    assert_eq!(a.frame_info(f).unwrap().refcount(), 1);
    a.check_invariants().unwrap();
}

#[test]
fn a_hot_frame_cannot_be_freed_twice() {
    let mut m = meta(64);
    let mut a = BuddyAllocator::new(0, &mut m);
    a.add_free_range(0, 64);
    let f = a.alloc_frame().unwrap();
    a.free_frame(f).unwrap();
    let hot = a.hot_frames();
    assert_eq!(a.free_frame(f), Err(FreeError::NotAllocated));
    assert_eq!(a.hot_frames(), hot);
    a.check_invariants().unwrap();
}

#[test]
fn the_hot_list_is_bounded() {
    let mut m = meta(4 * HOT_MAX);
    let mut a = BuddyAllocator::new(0, &mut m);
    a.add_free_range(0, 4 * HOT_MAX as u64);
    let frames: Vec<u64> = (0..2 * HOT_MAX).map(|_| a.alloc_frame().unwrap()).collect();
    for f in frames {
        a.free_frame(f).unwrap();
    }
    assert_eq!(a.hot_frames(), HOT_MAX);
    assert_eq!(a.free_frames(), 4 * HOT_MAX);
    a.check_invariants().unwrap();
}

#[test]
fn a_large_block_drains_the_hot_list_when_fragmentation_blocks_it() {
    // 8 frames: free them one by one (all on the hot list, nothing merged), then ask for all 8.
    let mut m = meta(8);
    let mut a = BuddyAllocator::new(0, &mut m);
    a.add_free_range(0, 8);
    let frames: Vec<u64> = (0..8).map(|_| a.alloc_frame().unwrap()).collect();
    for f in frames {
        a.free_frame(f).unwrap();
    }
    assert_eq!(a.hot_frames(), 8);
    assert_eq!(a.alloc(3), Ok(0));
    assert_eq!(a.hot_frames(), 0);
    a.check_invariants().unwrap();
}

#[test]
fn reserving_a_range_takes_hot_frames_back_first() {
    let mut m = meta(16);
    let mut a = BuddyAllocator::new(0, &mut m);
    a.add_free_range(0, 16);
    let frames: Vec<u64> = (0..16).map(|_| a.alloc_frame().unwrap()).collect();
    for f in frames {
        a.free_frame(f).unwrap();
    }
    assert_eq!(a.reserve_range(4, 8), 4);
    assert_eq!(a.hot_frames(), 0);
    assert_eq!(a.free_frames(), 12);
    a.check_invariants().unwrap();
    let taken: Vec<u64> = core::iter::from_fn(|| a.alloc_frame().ok()).collect();
    assert_eq!(taken.len(), 12);
    assert!(taken.iter().all(|&f| !(4..8).contains(&f)));
}
