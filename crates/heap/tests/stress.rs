//! Randomized stress: many allocations and frees of random sizes (1..=16384) and alignments on
//! simulated CPUs, with frees on other CPUs than the allocating one. Every block is filled with
//! a pattern that is verified before it is freed (detects overlapping blocks), live blocks are
//! checked for disjointness, and at the end everything is freed and trimmed: the page source
//! must have every page back.

mod common;

use std::alloc::Layout;
use std::collections::BTreeMap;
use std::sync::mpsc;

use common::*;
use exo_heap::HeapStats;
use proptest::prelude::*;

const CPUS: u64 = 4;

/// Sizes 1..=16384, mostly small (as a kernel's are), with every tier well exercised.
fn random_size(rng: &mut XorShift) -> usize {
    match rng.below(100) {
        0..=59 => 1 + rng.below(256) as usize,
        60..=84 => 257 + rng.below(4096 - 256) as usize,
        _ => 4097 + rng.below(16384 - 4096) as usize,
    }
}

/// Alignments 1..=16384, mostly small.
fn random_align(rng: &mut XorShift) -> usize {
    match rng.below(100) {
        0..=69 => 1 << rng.below(4),
        70..=94 => 1 << rng.below(13),
        _ => 1 << (13 + rng.below(2)),
    }
}

type Live = Vec<(*mut u8, Layout, u64)>;

/// Checks that no two live blocks overlap and that every pattern is intact.
fn check_live(live: &Live) {
    let mut by_addr: Vec<_> = live
        .iter()
        .map(|&(p, l, _)| (p as usize, l.size().max(1)))
        .collect();
    by_addr.sort_unstable();
    for w in by_addr.windows(2) {
        assert!(
            w[0].0 + w[0].1 <= w[1].0,
            "blocks {:#x}+{} and {:#x} overlap",
            w[0].0,
            w[0].1,
            w[1].0
        );
    }
    for &(p, l, tag) in live {
        // SAFETY: `p` is a live block of `l.size()` bytes that we filled.
        unsafe { check(p, l.size(), tag) };
    }
}

fn check_accounting(h: &TestHeap, live: &Live) -> HeapStats {
    let s = h.stats();
    assert_eq!(
        s.bytes_in_use,
        live.iter().map(|e| e.1.size()).sum::<usize>()
    );
    assert_eq!(s.pages_in_use, h.source().pages_out());
    assert_eq!(
        s.slabs_in_use() as usize * 16 + large_pages(live),
        s.pages_in_use
    );
    s
}

fn large_pages(live: &Live) -> usize {
    live.iter()
        .filter_map(|e| match exo_heap::route(e.1) {
            exo_heap::Route::Pages(order) => Some(1usize << order),
            _ => None,
        })
        .sum()
}

fn free_all_and_trim(h: &TestHeap, live: Live) {
    for (i, (p, l, tag)) in live.into_iter().enumerate() {
        // SAFETY: as in `check_live`.
        unsafe { check(p, l.size(), tag) };
        free(h, i % CPUS as usize, p, l);
    }
    h.trim();
    let s = h.stats();
    assert_eq!(
        (
            s.pages_in_use,
            s.bytes_in_use,
            s.cached_objects,
            s.large_in_use
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(s.slabs_allocated, s.slabs_freed);
    assert_eq!(
        h.source().pages_out(),
        0,
        "pages still out after freeing everything and trimming"
    );
    assert_eq!(h.source().blocks_out(), 0);
}

#[test]
fn random_alloc_free_on_four_cpus() {
    const OPS: u64 = 200_000;
    let h = heap();
    let mut rng = XorShift(0x5EED_0FE0_0500);
    let mut live: Live = Vec::new();
    let mut cross_cpu_frees = 0;
    let mut max_large = 0;
    for i in 0..OPS {
        // Phases of growth and shrinkage, so slabs fill up, empty out and are released.
        let alloc_percent = if (i / 25_000) % 2 == 0 { 70 } else { 35 };
        let cpu = rng.below(CPUS) as usize;
        if live.is_empty() || (live.len() < 5000 && rng.below(100) < alloc_percent) {
            let l = layout(random_size(&mut rng), random_align(&mut rng));
            let p = alloc(&h, cpu, l);
            let tag = i | (cpu as u64) << 56;
            // SAFETY: a fresh block of `l.size()` bytes.
            unsafe { fill(p, l.size(), tag) };
            live.push((p, l, tag));
        } else {
            let (p, l, tag) = live.swap_remove(rng.below(live.len() as u64) as usize);
            // SAFETY: as in `check_live`.
            unsafe { check(p, l.size(), tag) };
            if (tag >> 56) as usize != cpu {
                cross_cpu_frees += 1;
            }
            free(&h, cpu, p, l);
        }
        if i % 20_000 == 0 {
            check_live(&live);
            let s = check_accounting(&h, &live);
            max_large = max_large.max(s.large_in_use);
        }
    }
    check_live(&live);
    let s = check_accounting(&h, &live);
    assert!(cross_cpu_frees > 10_000);
    assert!(s.flushes > 0 && s.slabs_freed > 0 && max_large > 0, "{s:?}");
    assert!(s.tier1.hit_rate_permille().unwrap() > 900, "{s:?}");
    free_all_and_trim(&h, live);
}

/// Wraps a block so it can be sent to another thread.
struct Block(*mut u8, Layout, u64);
// SAFETY: a block is exclusively owned memory; whoever receives it is its only user.
unsafe impl Send for Block {}

#[test]
fn threads_free_each_others_blocks() {
    const THREADS: usize = 4;
    const OPS: u64 = 30_000;
    let h = heap();
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..THREADS).map(|_| mpsc::channel::<Block>()).unzip();
    std::thread::scope(|s| {
        for (cpu, rx) in receivers.into_iter().enumerate() {
            // Thread `cpu` sends to thread `cpu + 1`.
            let tx = senders[(cpu + 1) % THREADS].clone();
            let h = &h;
            s.spawn(move || {
                let mut rng = XorShift(0xABCD + cpu as u64);
                let mut mine: Vec<Block> = Vec::new();
                let release = |b: Block| {
                    // SAFETY: `b` is a live block of `b.1.size()` bytes filled with tag `b.2`.
                    unsafe { check(b.0, b.1.size(), b.2) };
                    free(h, cpu, b.0, b.1);
                };
                for i in 0..OPS {
                    if mine.len() < 500 && rng.below(100) < 60 {
                        let l = layout(
                            random_size(&mut rng).min(6000),
                            random_align(&mut rng).min(4096),
                        );
                        let p = alloc(h, cpu, l);
                        let tag = (cpu as u64) << 32 | i;
                        // SAFETY: a fresh block of `l.size()` bytes.
                        unsafe { fill(p, l.size(), tag) };
                        mine.push(Block(p, l, tag));
                    } else if !mine.is_empty() {
                        let b = mine.swap_remove(rng.below(mine.len() as u64) as usize);
                        if rng.below(2) == 0 {
                            tx.send(b).unwrap();
                        } else {
                            release(b);
                        }
                    }
                    while let Ok(b) = rx.try_recv() {
                        release(b);
                    }
                }
                mine.into_iter().for_each(release);
                drop(tx);
                // Until the previous thread is done and has dropped its sender.
                while let Ok(b) = rx.recv() {
                    release(b);
                }
            });
        }
        drop(senders);
    });
    let s = h.stats();
    assert_eq!(s.bytes_in_use, 0);
    free_all_and_trim(&h, Vec::new());
}

#[derive(Clone, Debug)]
enum Op {
    Alloc {
        size: usize,
        align_shift: u32,
        cpu: usize,
    },
    Free {
        pick: usize,
        cpu: usize,
    },
    Trim,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1usize..=16384, 0u32..=14, 0usize..4)
            .prop_map(|(size, align_shift, cpu)| Op::Alloc { size, align_shift, cpu }),
        4 => (any::<usize>(), 0usize..4).prop_map(|(pick, cpu)| Op::Free { pick, cpu }),
        1 => Just(Op::Trim),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The heap agrees with a model (the set of live blocks) after every operation.
    #[test]
    fn heap_matches_a_model(ops in proptest::collection::vec(op(), 1..400)) {
        let h = heap();
        let mut live: Live = Vec::new();
        let mut model: BTreeMap<usize, usize> = BTreeMap::new();
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Alloc { size, align_shift, cpu } => {
                    let l = layout(size, 1 << align_shift);
                    let p = alloc(&h, cpu, l);
                    let start = p as usize;
                    if let Some((&s, &len)) = model.range(..=start).next_back() {
                        prop_assert!(s + len <= start, "overlaps the block before");
                    }
                    if let Some((&s, _)) = model.range(start..).next() {
                        prop_assert!(start + size <= s, "overlaps the block after");
                    }
                    model.insert(start, size);
                    // SAFETY: a fresh block of `size` bytes.
                    unsafe { fill(p, size, i as u64) };
                    live.push((p, l, i as u64));
                }
                Op::Free { pick, cpu } => {
                    if !live.is_empty() {
                        let (p, l, tag) = live.swap_remove(pick % live.len());
                        // SAFETY: as in `check_live`.
                        unsafe { check(p, l.size(), tag) };
                        model.remove(&(p as usize));
                        free(&h, cpu, p, l);
                    }
                }
                Op::Trim => h.trim(),
            }
            let s = check_accounting(&h, &live);
            prop_assert!(s.cached_objects <= 4 * exo_heap::CACHED_CLASSES * exo_heap::HIGH_WATER);
        }
        check_live(&live);
        free_all_and_trim(&h, live);
    }
}
