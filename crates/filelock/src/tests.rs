//! Unit tests and a property test against a byte-array model.

use std::vec::Vec;

use proptest::prelude::*;

use crate::*;

fn r(start: u64, end: u64) -> Range {
    Range { start, end }
}

fn owned(list: &LockList, owner: Owner) -> Vec<(Kind, u64, u64)> {
    let mut v: Vec<_> = list.iter().filter(|l| l.owner == owner).map(|l| (l.kind, l.range.start, l.range.end)).collect();
    v.sort_by_key(|x| x.1);
    v
}

#[test]
fn ranges_from_flock_fields() {
    assert_eq!(range_of(0, 10, 5), Ok(r(10, 14)));
    assert_eq!(range_of(100, -10, 0), Ok(r(90, OFFSET_MAX)));
    assert_eq!(range_of(0, 10, -5), Ok(r(5, 9)));
    assert_eq!(range_of(0, 10, -10), Ok(r(0, 9)));
    assert_eq!(range_of(0, 10, -11), Err(RangeError::Invalid));
    assert_eq!(range_of(5, -6, 1), Err(RangeError::Invalid));
    assert_eq!(range_of(0, i64::MAX, 2), Err(RangeError::Overflow));
    assert_eq!(range_of(1, i64::MAX, 1), Err(RangeError::Overflow));
    assert_eq!(range_of(0, i64::MAX, 1), Ok(r(OFFSET_MAX, OFFSET_MAX)));
    assert_eq!(range_of(0, 0, i64::MIN), Err(RangeError::Invalid));
}

#[test]
fn reported_length() {
    let lock = Lock { owner: 1, kind: Kind::Read, range: r(5, OFFSET_MAX), pid: 3 };
    assert_eq!(lock.flock_len(), 0);
    let lock = Lock { range: r(5, 9), ..lock };
    assert_eq!(lock.flock_len(), 5);
}

#[test]
fn conflicts_need_a_writer_and_another_owner() {
    let mut list = LockList::new();
    list.set(1, Some(Kind::Read), r(0, 9), 10).unwrap();
    assert!(list.conflict(2, Kind::Read, &r(0, 9)).is_none());
    assert_eq!(list.conflict(2, Kind::Write, &r(9, 20)).map(|l| l.pid), Some(10));
    assert!(list.conflict(2, Kind::Write, &r(10, 20)).is_none());
    assert!(list.conflict(1, Kind::Write, &r(0, 9)).is_none());
}

#[test]
fn split_and_merge() {
    let mut list = LockList::new();
    assert_eq!(list.set(1, Some(Kind::Write), r(0, 99), 1), Ok(1));
    // A read lock in the middle splits the write lock in three.
    assert_eq!(list.set(1, Some(Kind::Read), r(40, 59), 1), Ok(2));
    assert_eq!(owned(&list, 1), [(Kind::Write, 0, 39), (Kind::Read, 40, 59), (Kind::Write, 60, 99)]);
    // Writing the middle again merges everything back.
    assert_eq!(list.set(1, Some(Kind::Write), r(40, 59), 1), Ok(-2));
    assert_eq!(owned(&list, 1), [(Kind::Write, 0, 99)]);
    // Unlocking a hole.
    list.set(1, None, r(10, 19), 1).unwrap();
    assert_eq!(owned(&list, 1), [(Kind::Write, 0, 9), (Kind::Write, 20, 99)]);
    // Adjacent same-type locks merge.
    list.set(1, Some(Kind::Write), r(10, 19), 1).unwrap();
    assert_eq!(owned(&list, 1), [(Kind::Write, 0, 99)]);
    // Adjacent locks of another type stay apart.
    list.set(1, Some(Kind::Read), r(100, 109), 1).unwrap();
    assert_eq!(owned(&list, 1), [(Kind::Write, 0, 99), (Kind::Read, 100, 109)]);
    // Other owners are untouched.
    list.set(2, Some(Kind::Read), r(100, 200), 2).unwrap();
    list.set(1, None, WHOLE, 1).unwrap();
    assert_eq!(owned(&list, 1), []);
    assert_eq!(owned(&list, 2), [(Kind::Read, 100, 200)]);
    assert_eq!(list.remove_owner(2), 1);
    assert!(list.is_empty());
}

#[test]
fn to_the_end_and_trim() {
    let mut list = LockList::new();
    list.set(1, Some(Kind::Read), r(10, OFFSET_MAX), 1).unwrap();
    list.set(1, None, r(0, 19), 1).unwrap();
    assert_eq!(owned(&list, 1), [(Kind::Read, 20, OFFSET_MAX)]);
    list.set(1, None, r(30, OFFSET_MAX), 1).unwrap();
    assert_eq!(owned(&list, 1), [(Kind::Read, 20, 29)]);
    assert_eq!(list.held_at(1, 25), Some(Kind::Read));
    assert_eq!(list.held_at(1, 30), None);
    assert!(list.holds_any(1) && !list.holds_any(2));
}

#[test]
fn deadlock_walk() {
    // 1 waits for 2, 2 waits for 3: 3 asking for a lock of 1 would close the circle.
    let waits = |o: Owner| match o {
        1 => Some(2),
        2 => Some(3),
        _ => None,
    };
    assert!(would_deadlock(3, 1, waits));
    assert!(!would_deadlock(4, 1, waits));
    assert!(would_deadlock(2, 2, |_| None));
    // A cycle not through the requester ends after the step limit.
    assert!(!would_deadlock(9, 1, |o| Some(if o == 1 { 2 } else { 1 })));
}

/// Model: per owner, per byte (the last cell standing for everything past it), the held type.
const CELLS: usize = 24;

fn cell_range(range: &Range) -> core::ops::RangeInclusive<usize> {
    let last = if range.end >= (CELLS - 1) as u64 { CELLS - 1 } else { range.end as usize };
    range.start as usize..=last
}

fn arb_range() -> impl Strategy<Value = Range> {
    (0u64..(CELLS as u64 - 1), 0u64..(CELLS as u64 - 1), any::<bool>()).prop_map(|(a, b, to_end)| {
        let (start, end) = (a.min(b), a.max(b));
        Range { start, end: if to_end { OFFSET_MAX } else { end } }
    })
}

fn arb_kind() -> impl Strategy<Value = Option<Kind>> {
    prop_oneof![Just(None), Just(Some(Kind::Read)), Just(Some(Kind::Write))]
}

proptest! {
    #[test]
    fn matches_byte_model(ops in proptest::collection::vec((0u64..3, arb_kind(), arb_range(), any::<bool>()), 1..40)) {
        let mut list = LockList::new();
        let mut model = [[None::<Kind>; CELLS]; 3];
        for (owner, kind, range, checked) in ops {
            // Conflict test: some byte of the range held by another owner, one side writing.
            if let Some(k) = kind {
                let expected = (0..3u64).filter(|&o| o != owner).any(|o| {
                    cell_range(&range).any(|c| match model[o as usize][c] {
                        Some(Kind::Write) => true,
                        Some(Kind::Read) => k == Kind::Write,
                        None => false,
                    })
                });
                prop_assert_eq!(list.conflict(owner, k, &range).is_some(), expected);
                if checked && expected {
                    continue;
                }
            }
            let len = list.len() as isize;
            let gained = list.set(owner, kind, range, owner as i32).unwrap();
            prop_assert!(gained <= 2);
            prop_assert_eq!(list.len() as isize, len + gained);
            for c in cell_range(&range) {
                model[owner as usize][c] = kind;
            }
            for o in 0..3u64 {
                // Same bytes as the model.
                for c in 0..CELLS {
                    prop_assert_eq!(list.held_at(o, c as u64), model[o as usize][c]);
                }
                // Normalised: sorted locks are disjoint, touching ones differ in type.
                let mine = owned(&list, o);
                for pair in mine.windows(2) {
                    prop_assert!(pair[0].2 < pair[1].1);
                    if pair[0].2 + 1 == pair[1].1 {
                        prop_assert!(pair[0].0 != pair[1].0);
                    }
                }
                // The last cell stands for the rest of the file: a lock ending inside the
                // model never runs on past it.
                for (_, _, end) in &mine {
                    prop_assert!(*end < (CELLS - 1) as u64 || *end == OFFSET_MAX);
                }
            }
        }
    }
}
