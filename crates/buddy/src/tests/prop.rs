//! Property tests: random sequences of allocator calls checked against a per-frame model.

use std::collections::BTreeMap;
use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use super::canonical;
use crate::*;

/// What the model knows about each managed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum M {
    Unavailable,
    Reserved,
    Free,
    Allocated,
}

/// A range operation; offsets are relative to `base - 64` so ranges may start before the
/// managed frames, and may run past their end.
#[derive(Clone, Copy, Debug)]
enum RangeOp {
    Add(u64, u64),
    Reserve(u64, u64),
    Unreserve(u64, u64),
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Alloc(usize),
    /// Free the selected live block (must succeed).
    Free(usize),
    /// Free an arbitrary (frame offset, order): the result must match the model.
    FreeAny(u64, usize),
    /// Free again the selected recently freed block.
    FreeAgain(usize),
    Range(RangeOp),
    /// Give the hot list back to the free lists.
    Drain,
}

struct Model {
    base: u64,
    frames: Vec<M>,
    /// Live blocks: head frame -> order.
    live: BTreeMap<u64, usize>,
    recently_freed: Vec<(u64, usize)>,
}

impl Model {
    fn count(&self, m: M) -> usize {
        self.frames.iter().filter(|&&f| f == m).count()
    }

    fn free_set(&self) -> Vec<bool> {
        self.frames.iter().map(|&f| f == M::Free).collect()
    }

    /// Relative indices of the absolute range, clipped to the managed frames.
    fn clip(&self, start: u64, end: u64) -> core::ops::Range<usize> {
        let end_frame = self.base + self.frames.len() as u64;
        let s = start.clamp(self.base, end_frame);
        let e = end.clamp(s, end_frame);
        (s - self.base) as usize..(e - self.base) as usize
    }

    /// Turns frames of state `from` in the range into `to`; returns how many changed.
    fn convert(&mut self, start: u64, end: u64, from: M, to: M) -> usize {
        let r = self.clip(start, end);
        let mut n = 0;
        for f in &mut self.frames[r] {
            if *f == from {
                *f = to;
                n += 1;
            }
        }
        n
    }

    fn expected_free(&self, frame: u64, order: usize) -> Result<(), FreeError> {
        if order > MAX_ORDER {
            return Err(FreeError::BadOrder);
        }
        if frame < self.base || frame - self.base >= self.frames.len() as u64 {
            return Err(FreeError::OutOfRange);
        }
        if !frame.is_multiple_of(1 << order) {
            return Err(FreeError::Misaligned);
        }
        match self.live.get(&frame) {
            None => Err(FreeError::NotAllocated),
            Some(&o) if o != order => Err(FreeError::WrongOrder),
            Some(_) => Ok(()),
        }
    }
}

/// Applies a range operation to both the allocator and the model and compares the results.
fn apply_range(a: &mut BuddyAllocator<'_>, model: &mut Model, op: RangeOp) {
    let origin = model.base.saturating_sub(64);
    match op {
        RangeOp::Add(s, l) => {
            let got = a.add_free_range(origin + s, origin + s + l);
            let want = model.convert(origin + s, origin + s + l, M::Unavailable, M::Free);
            assert_eq!(got, want, "{op:?}");
        }
        RangeOp::Reserve(s, l) => {
            let got = a.reserve_range(origin + s, origin + s + l);
            let taken = model.convert(origin + s, origin + s + l, M::Free, M::Reserved);
            model.convert(origin + s, origin + s + l, M::Unavailable, M::Reserved);
            assert_eq!(got, taken, "{op:?}");
        }
        RangeOp::Unreserve(s, l) => {
            let got = a.unreserve_range(origin + s, origin + s + l);
            let want = model.convert(origin + s, origin + s + l, M::Reserved, M::Free);
            assert_eq!(got, want, "{op:?}");
        }
    }
}

fn apply(a: &mut BuddyAllocator<'_>, model: &mut Model, op: Op) {
    match op {
        Op::Drain => {
            let free = a.free_frames();
            a.drain_hot();
            assert_eq!((a.hot_frames(), a.free_frames()), (0, free));
        }
        Op::Alloc(order) => match a.alloc(order) {
            Ok(f) => {
                assert!(order <= MAX_ORDER);
                assert_eq!(
                    f % (1 << order),
                    0,
                    "block {f} not aligned to order {order}"
                );
                let r = model.clip(f, f + (1 << order));
                assert_eq!(
                    r.len(),
                    1 << order,
                    "block {f} order {order} outside the range"
                );
                for m in &mut model.frames[r] {
                    // Never a reserved, unavailable or already allocated frame.
                    assert_eq!(*m, M::Free, "alloc handed out a non-free frame");
                    *m = M::Allocated;
                }
                model.live.insert(f, order);
            }
            Err(AllocError::BadOrder) => assert!(order > MAX_ORDER),
            Err(AllocError::OutOfMemory) => {
                // Only if no aligned, entirely free block of `order` or more exists.
                let c = canonical(model.base, &model.free_set());
                assert!(
                    c[order..].iter().all(|&n| n == 0),
                    "spurious OOM at order {order}"
                );
            }
        },
        Op::Free(sel) => {
            if model.live.is_empty() {
                return;
            }
            let (&f, &o) = model.live.iter().nth(sel % model.live.len()).unwrap();
            assert_eq!(a.free(f, o), Ok(()));
            model.live.remove(&f);
            let r = model.clip(f, f + (1 << o));
            model.frames[r].fill(M::Free);
            model.recently_freed.push((f, o));
        }
        Op::FreeAny(off, order) => {
            let frame = model.base.saturating_sub(8) + off;
            let want = model.expected_free(frame, order);
            let before = a.stats();
            let got = a.free(frame, order);
            assert_eq!(got, want, "free({frame}, {order})");
            if got.is_ok() {
                model.live.remove(&frame);
                let r = model.clip(frame, frame + (1 << order));
                model.frames[r].fill(M::Free);
            } else {
                assert_eq!(a.stats().free_blocks, before.free_blocks);
            }
        }
        Op::FreeAgain(sel) => {
            if model.recently_freed.is_empty() {
                return;
            }
            let (f, o) = model.recently_freed[sel % model.recently_freed.len()];
            let want = model.expected_free(f, o);
            let got = a.free(f, o);
            assert_eq!(got, want, "free again ({f}, {o})");
            if got.is_ok() {
                // It had been allocated again meanwhile.
                model.live.remove(&f);
                let r = model.clip(f, f + (1 << o));
                model.frames[r].fill(M::Free);
            }
        }
        Op::Range(r) => apply_range(a, model, r),
    }
}

/// Everything the allocator reports agrees with the model.
fn check(a: &BuddyAllocator<'_>, model: &Model) {
    a.check_invariants().unwrap();
    let s = a.stats();
    assert_eq!(s.free_frames, model.count(M::Free), "free frames");
    assert_eq!(
        s.allocated_frames,
        model.count(M::Allocated),
        "allocated frames"
    );
    assert_eq!(
        s.reserved_frames,
        model.count(M::Reserved),
        "reserved frames"
    );
    assert_eq!(
        s.unavailable_frames(),
        model.count(M::Unavailable),
        "lost frames"
    );
    // Hot frames are free single frames kept out of the blocks: every other free frame is
    // fully coalesced.
    let mut coalesced = model.free_set();
    for frame in a.hot_list() {
        let i = (frame - model.base) as usize;
        assert!(coalesced[i], "hot frame {frame} is not free in the model");
        coalesced[i] = false;
    }
    assert_eq!(s.hot_frames, a.hot_list().count(), "hot frames");
    assert_eq!(
        s.free_blocks,
        canonical(model.base, &coalesced),
        "not fully coalesced"
    );
}

fn run(base: u64, len: usize, setup: &[RangeOp], ops: &[Op]) {
    let mut meta = vec![FrameInfo::new(); len];
    let mut a = BuddyAllocator::new(base, &mut meta);
    let mut model = Model {
        base,
        frames: vec![M::Unavailable; len],
        live: BTreeMap::new(),
        recently_freed: Vec::new(),
    };
    for &op in setup {
        apply_range(&mut a, &mut model, op);
    }
    check(&a, &model);
    let initial = a.stats();
    let usable = initial.usable_frames();
    let mut changed_ranges = false;
    for &op in ops {
        changed_ranges |= matches!(op, Op::Range(_));
        apply(&mut a, &mut model, op);
        check(&a, &model);
        if !changed_ranges {
            // No frame lost: free + allocated stays the usable total.
            assert_eq!(a.stats().usable_frames(), usable);
        }
    }
    let live: Vec<(u64, usize)> = model.live.iter().map(|(&f, &o)| (f, o)).collect();
    for (f, o) in live {
        apply(
            &mut a,
            &mut model,
            Op::FreeAny(f - base.saturating_sub(8), o),
        );
    }
    check(&a, &model);
    assert_eq!(a.allocated_frames(), 0);
    // The hot list keeps up to HOT_MAX frees unmerged; drained, everything coalesces.
    a.drain_hot();
    check(&a, &model);
    assert_eq!(a.hot_frames(), 0);
    if !changed_ranges {
        assert_eq!(
            a.stats().free_blocks,
            initial.free_blocks,
            "not back to the initial state"
        );
        assert_eq!(a.free_frames(), initial.free_frames);
    }
}

/// Range lengths: often a few frames (single-frame splits), sometimes hundreds.
fn small_len() -> impl Strategy<Value = u64> {
    prop_oneof![1 => 0u64..4, 2 => 0u64..600]
}

fn range_op() -> impl Strategy<Value = RangeOp> {
    prop_oneof![
        3 => (0u64..7000, 0u64..3000).prop_map(|(s, l)| RangeOp::Add(s, l)),
        2 => (0u64..7000, small_len()).prop_map(|(s, l)| RangeOp::Reserve(s, l)),
        1 => (0u64..7000, small_len()).prop_map(|(s, l)| RangeOp::Unreserve(s, l)),
    ]
}

fn order() -> impl Strategy<Value = usize> {
    prop_oneof![6 => 0usize..3, 3 => 0usize..=MAX_ORDER, 1 => 0usize..16]
}

fn alloc_free_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => order().prop_map(Op::Alloc),
        5 => any::<usize>().prop_map(Op::Free),
        1 => (0u64..7000, 0usize..15).prop_map(|(f, o)| Op::FreeAny(f, o)),
        1 => any::<usize>().prop_map(Op::FreeAgain),
        1 => Just(Op::Drain),
    ]
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![8 => alloc_free_op(), 1 => range_op().prop_map(Op::Range)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Allocations and frees over a range with holes and reserved frames: no overlap, aligned,
    /// only usable frames, nothing lost, and freeing everything restores the initial blocks.
    #[test]
    fn alloc_free_matches_model(
        base in 0u64..5000,
        len in 1usize..6000,
        setup in proptest::collection::vec(range_op(), 1..8),
        ops in proptest::collection::vec(alloc_free_op(), 0..200),
    ) {
        run(base, len, &setup, &ops);
    }

    /// Same, with range operations (add / reserve / unreserve) interleaved at any time.
    #[test]
    fn mixed_operations_match_model(
        base in 0u64..5000,
        len in 1usize..6000,
        setup in proptest::collection::vec(range_op(), 0..6),
        ops in proptest::collection::vec(any_op(), 0..200),
    ) {
        run(base, len, &setup, &ops);
    }
}
