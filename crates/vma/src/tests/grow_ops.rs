//! Unit tests of free-space search, `resize` (mremap), `set_brk` and `grow_stack`.

use std::vec;
use std::vec::Vec;

use super::*;

const RW: Prot = Prot::READ_WRITE;

#[test]
fn find_free_top_down_in_an_empty_map() {
    let map = Map::new();
    assert_eq!(map.find_free(PAGE, None, 0, pg(10)), Some(pg(9)));
    assert_eq!(
        map.find_free(3 * PAGE - 7, None, 0, pg(10) + 123),
        Some(pg(7))
    );
    assert_eq!(
        map.find_free(PAGE, None, 0, u64::MAX),
        Some(USER_END - PAGE)
    );
    assert_eq!(map.find_free(USER_END, None, 0, u64::MAX), Some(0));
    assert_eq!(map.find_free(10 * PAGE, None, pg(0), pg(10)), Some(pg(0)));
}

#[test]
fn find_free_uses_a_free_hint() {
    let map = three();
    assert_eq!(map.find_free(2 * PAGE, Some(pg(4)), 0, pg(40)), Some(pg(4)));
    // Unaligned hints are rounded up, like Linux's PAGE_ALIGN(addr).
    assert_eq!(map.find_free(PAGE, Some(pg(4) + 1), 0, pg(40)), Some(pg(5)));
    assert_eq!(map.find_free(PAGE, Some(pg(20)), 0, pg(40)), Some(pg(20)));
    // A hint that overlaps, sticks out of the bounds or overflows falls back to top-down.
    assert_eq!(
        map.find_free(3 * PAGE, Some(pg(4)), 0, pg(40)),
        Some(pg(37))
    );
    assert_eq!(map.find_free(PAGE, Some(pg(3)), 0, pg(40)), Some(pg(39)));
    assert_eq!(map.find_free(PAGE, Some(pg(40)), 0, pg(40)), Some(pg(39)));
    assert_eq!(
        map.find_free(PAGE, Some(pg(20)), pg(30), pg(40)),
        Some(pg(39))
    );
    assert_eq!(map.find_free(PAGE, Some(u64::MAX), 0, pg(40)), Some(pg(39)));
    assert_eq!(
        map.find_free(PAGE, Some(u64::MAX - PAGE), 0, u64::MAX),
        Some(USER_END - PAGE)
    );
}

#[test]
fn find_free_takes_the_highest_gap_that_fits() {
    let map = three(); // [0,4) [6,10) [12,16)
    assert_eq!(map.find_free(PAGE, None, 0, pg(16)), Some(pg(11)));
    assert_eq!(map.find_free(2 * PAGE, None, 0, pg(16)), Some(pg(10)));
    assert_eq!(map.find_free(2 * PAGE, None, 0, pg(12)), Some(pg(10)));
    assert_eq!(map.find_free(2 * PAGE, None, 0, pg(11)), Some(pg(4)));
    assert_eq!(
        map.find_free(3 * PAGE, None, 0, pg(16)),
        Some(pg(0) - 3 * PAGE)
    );
    // The ceiling inside an area.
    assert_eq!(map.find_free(PAGE, None, 0, pg(14)), Some(pg(11)));
    // The floor cuts the lowest gap.
    assert_eq!(map.find_free(2 * PAGE, None, pg(5), pg(10)), None);
    assert_eq!(map.find_free(PAGE, None, pg(5), pg(10)), Some(pg(5)));
    assert_eq!(map.find_free(PAGE, None, pg(4) + 1, pg(6)), Some(pg(5)));
}

#[test]
fn find_free_reports_no_room() {
    let map = three();
    assert_eq!(map.find_free(3 * PAGE, None, pg(0), pg(16)), None);
    assert_eq!(map.find_free(PAGE, None, pg(0), pg(4)), None);
    assert_eq!(map.find_free(0, None, 0, pg(40)), None);
    assert_eq!(map.find_free(u64::MAX, None, 0, u64::MAX), None);
    assert_eq!(map.find_free(USER_END + 1, None, 0, u64::MAX), None);
    assert_eq!(map.find_free(PAGE, None, pg(10), pg(10)), None);
    assert_eq!(map.find_free(PAGE, None, pg(11), pg(10)), None);
    assert_eq!(map.find_free(PAGE, None, u64::MAX, u64::MAX), None);
    assert_eq!(map.find_free(PAGE, None, 0, PAGE - 1), None);
}

#[test]
fn is_free_checks_ranges() {
    let map = three();
    assert!(map.is_free(pg(4), 2 * PAGE));
    assert!(map.is_free(pg(4), 1));
    assert!(!map.is_free(pg(4), 2 * PAGE + 1));
    assert!(!map.is_free(pg(3), PAGE));
    assert!(!map.is_free(pg(0) - PAGE, 2 * PAGE));
    assert!(map.is_free(pg(16), 100 * PAGE));
    assert!(!map.is_free(pg(4), 0));
    assert!(!map.is_free(pg(4) + 1, PAGE));
}

#[test]
fn resize_shrinks_in_place() {
    let mut map = Map::new();
    map.insert(file(0, 8, RW, 1, 0), false).unwrap();
    let got = map.resize(pg(0), 8 * PAGE, 5 * PAGE).unwrap();
    assert_eq!(got, ResizeOutcome::Shrunk(vec![file(5, 8, RW, 1, 5)]));
    assert_eq!(snapshot(&map), [file(0, 5, RW, 1, 0)]);
    // Like Linux, shrinking unmaps the tail whatever it covers (holes, other areas).
    let mut map = three();
    let got = map.resize(pg(2), 12 * PAGE, PAGE).unwrap();
    assert_eq!(
        got,
        ResizeOutcome::Shrunk(vec![anon(3, 4, RW), anon(6, 10, RW), anon(12, 14, RW)])
    );
    assert_eq!(spans(&map), [(0, 3), (14, 16)]);
    // Same page count after rounding: nothing happens, even over unmapped memory.
    assert_eq!(
        map.resize(pg(0), 3 * PAGE, 3 * PAGE - 5),
        Ok(ResizeOutcome::Unchanged)
    );
    assert_eq!(map.resize(pg(30), PAGE, 1), Ok(ResizeOutcome::Unchanged));
    ok(&map);
}

#[test]
fn resize_grows_in_place_and_merges() {
    let mut map = three();
    assert_eq!(
        map.resize(pg(0), 4 * PAGE, 5 * PAGE),
        Ok(ResizeOutcome::Grown)
    );
    assert_eq!(spans(&map), [(0, 5), (6, 10), (12, 16)]);
    // Growing up to a compatible neighbour merges with it.
    assert_eq!(
        map.resize(pg(0), 5 * PAGE, 6 * PAGE),
        Ok(ResizeOutcome::Grown)
    );
    assert_eq!(spans(&map), [(0, 10), (12, 16)]);
    // A sub-range that ends where its area ends may grow too; file offsets continue.
    let mut map = Map::new();
    map.insert(file(0, 4, RW, 2, 10), false).unwrap();
    assert_eq!(
        map.resize(pg(2), 2 * PAGE, 5 * PAGE),
        Ok(ResizeOutcome::Grown)
    );
    assert_eq!(snapshot(&map), [file(0, 7, RW, 2, 10)]);
    ok(&map);
}

#[test]
fn resize_without_room_or_source() {
    let mut map = three();
    map.insert(
        Area {
            start: USER_END - 2 * PAGE,
            end: USER_END,
            ..anon(0, 1, RW)
        },
        false,
    )
    .unwrap();
    let before = snapshot(&map);
    // Blocked by the next area, not at the end of the area, past USER_END.
    assert_eq!(map.resize(pg(0), 4 * PAGE, 7 * PAGE), Err(VmaError::NoRoom));
    assert_eq!(map.resize(pg(0), 2 * PAGE, 3 * PAGE), Err(VmaError::NoRoom));
    assert_eq!(
        map.resize(USER_END - 2 * PAGE, 2 * PAGE, 3 * PAGE),
        Err(VmaError::NoRoom)
    );
    assert_eq!(
        map.resize(USER_END - PAGE, PAGE, USER_END),
        Err(VmaError::NoRoom)
    );
    // Source not inside one area.
    assert_eq!(map.resize(pg(4), PAGE, 2 * PAGE), Err(VmaError::Unmapped));
    assert_eq!(
        map.resize(pg(2), 5 * PAGE, 8 * PAGE),
        Err(VmaError::Unmapped)
    );
    // Bad new lengths.
    assert_eq!(map.resize(pg(0), PAGE, 0), Err(VmaError::Empty));
    assert_eq!(map.resize(pg(0), PAGE, u64::MAX), Err(VmaError::Overflow));
    assert_eq!(
        map.resize(pg(0), PAGE, USER_END + 1),
        Err(VmaError::OutOfRange)
    );
    assert_eq!(snapshot(&map), before);
    ok(&map);
}

#[test]
fn brk_grows_and_shrinks_the_heap() {
    let mut map = Map::new();
    let heap = pg(10);
    assert_eq!(map.set_brk(heap, heap, heap + 1), Ok(Vec::new()));
    let want = Area {
        kind: Kind::Heap,
        ..anon(10, 11, RW)
    };
    assert_eq!(snapshot(&map), core::slice::from_ref(&want));
    // Within the same page: nothing changes.
    assert_eq!(map.set_brk(heap, heap + 1, heap + PAGE), Ok(Vec::new()));
    assert_eq!(
        map.set_brk(heap, heap + PAGE, heap + 3 * PAGE + 5),
        Ok(Vec::new())
    );
    assert_eq!(
        snapshot(&map),
        [Area {
            end: pg(14),
            ..want.clone()
        }]
    );
    let removed = map
        .set_brk(heap, heap + 3 * PAGE + 5, heap + PAGE + 1)
        .unwrap();
    assert_eq!(
        removed,
        [Area {
            start: pg(12),
            end: pg(14),
            ..want.clone()
        }]
    );
    assert_eq!(
        snapshot(&map),
        [Area {
            end: pg(12),
            ..want.clone()
        }]
    );
    let removed = map.set_brk(heap, heap + PAGE + 1, heap).unwrap();
    assert_eq!(
        removed,
        [Area {
            end: pg(12),
            ..want
        }]
    );
    assert!(map.is_empty());
}

#[test]
fn brk_refuses_collisions_and_bad_arguments() {
    let mut map = Map::new();
    let heap = pg(10);
    map.set_brk(heap, heap, heap + 2 * PAGE).unwrap();
    map.insert(anon(14, 15, Prot::NONE), false).unwrap();
    let before = snapshot(&map);
    assert_eq!(
        map.set_brk(heap, heap + 2 * PAGE, heap + 5 * PAGE),
        Err(VmaError::Exists)
    );
    assert_eq!(
        map.set_brk(heap + 1, heap, heap + PAGE),
        Err(VmaError::Unaligned)
    );
    assert_eq!(map.set_brk(heap, heap, heap - 1), Err(VmaError::OutOfRange));
    assert_eq!(map.set_brk(heap, heap - 1, heap), Err(VmaError::OutOfRange));
    assert_eq!(map.set_brk(heap, heap, u64::MAX), Err(VmaError::Overflow));
    assert_eq!(
        map.set_brk(heap, heap, USER_END + 1),
        Err(VmaError::OutOfRange)
    );
    assert_eq!(snapshot(&map), before);
    // Growing right up to the other area is fine; it does not merge with it.
    assert_eq!(
        map.set_brk(heap, heap + 2 * PAGE, heap + 4 * PAGE),
        Ok(Vec::new())
    );
    assert_eq!(spans(&map), [(10, 14), (14, 15)]);
    ok(&map);
}

#[test]
fn stack_grows_down() {
    let mut map = Map::new();
    map.insert(anon(0, 2, RW), false).unwrap();
    let stack = Area {
        kind: Kind::Stack,
        ..anon(20, 24, RW)
    };
    map.insert(stack.clone(), false).unwrap();
    assert_eq!(map.grow_stack(pg(18) + 5, 0, u64::MAX), Ok(pg(18)));
    assert_eq!(
        snapshot(&map)[1],
        Area {
            start: pg(18),
            ..stack.clone()
        }
    );
    // Mapped addresses, no stack above, guard gap, size limit.
    assert_eq!(map.grow_stack(pg(19), 0, u64::MAX), Err(VmaError::Exists));
    assert_eq!(map.grow_stack(pg(30), 0, u64::MAX), Err(VmaError::Unmapped));
    assert_eq!(
        map.grow_stack(USER_END, 0, u64::MAX),
        Err(VmaError::OutOfRange)
    );
    assert_eq!(
        map.grow_stack(pg(5), 4 * PAGE, u64::MAX),
        Err(VmaError::NoRoom)
    );
    assert_eq!(map.grow_stack(pg(14), 0, 9 * PAGE), Err(VmaError::NoRoom));
    assert_eq!(map.grow_stack(pg(14), 0, 10 * PAGE), Ok(pg(14)));
    assert_eq!(map.grow_stack(pg(6), 4 * PAGE, u64::MAX), Ok(pg(6)));
    assert_eq!(spans(&map), [(0, 2), (6, 24)]);
    // Growing into an adjacent compatible stack merges.
    map.insert(
        Area {
            kind: Kind::Stack,
            ..anon(3, 4, RW)
        },
        false,
    )
    .unwrap();
    assert_eq!(map.grow_stack(pg(5), 0, u64::MAX), Ok(pg(5)));
    assert_eq!(map.grow_stack(pg(4), 0, u64::MAX), Ok(pg(4)));
    assert_eq!(spans(&map), [(0, 2), (3, 24)]);
    ok(&map);
}

#[test]
fn only_unbacked_stacks_grow() {
    let mut map = Map::new();
    map.insert(anon(10, 12, RW), false).unwrap();
    map.insert(
        Area {
            kind: Kind::Stack,
            ..file(20, 22, RW, 1, 0)
        },
        false,
    )
    .unwrap();
    let before = snapshot(&map);
    assert_eq!(map.grow_stack(pg(9), 0, u64::MAX), Err(VmaError::Unmapped));
    assert_eq!(map.grow_stack(pg(19), 0, u64::MAX), Err(VmaError::Unmapped));
    assert_eq!(snapshot(&map), before);
}
