//! Unit tests of lookup, insertion, removal, protection changes and `take_range`.

use std::vec;
use std::vec::Vec;

use super::*;

const RW: Prot = Prot::READ_WRITE;
const RO: Prot = Prot::READ;

#[test]
fn find_iter_len_and_total_size() {
    let map = three();
    assert_eq!(map.len(), 3);
    assert!(!map.is_empty() && Map::new().is_empty());
    assert_eq!(map.total_size(), 12 * PAGE);
    assert_eq!(spans(&map), [(0, 4), (6, 10), (12, 16)]);
    assert_eq!(map.find(pg(0)).map(|a| a.start), Some(pg(0)));
    assert_eq!(map.find(pg(4) - 1).map(|a| a.start), Some(pg(0)));
    assert_eq!(map.find(pg(4)), None);
    assert_eq!(map.find(pg(0) - 1), None);
    assert_eq!(map.find(pg(9) + 5).map(|a| a.start), Some(pg(6)));
    assert_eq!(map.find(0), None);
    let over: Vec<u64> = map.overlapping(pg(3), pg(7)).map(|a| a.start).collect();
    assert_eq!(over, [pg(0), pg(6)]);
    assert_eq!(map.overlapping(pg(4), pg(6)).count(), 0);
    assert_eq!(map.overlapping(pg(7), pg(2)).count(), 0);
    assert_eq!(map.overlapping(0, u64::MAX).count(), 3);
}

#[test]
fn insert_without_replace_refuses_any_overlap() {
    let mut map = three();
    let before = snapshot(&map);
    for (s, e) in [(3, 5), (5, 7), (7, 8), (5, 11), (0, 16), (15, 17)] {
        assert_eq!(
            map.insert(anon(s, e, RO), false),
            Err(VmaError::Exists),
            "[{s},{e})"
        );
    }
    assert_eq!(snapshot(&map), before);
    assert_eq!(map.insert(anon(4, 6, RO), false), Ok(Vec::new()));
    assert_eq!(spans(&map), [(0, 4), (4, 6), (6, 10), (12, 16)]);
    ok(&map);
}

#[test]
fn insert_merges_compatible_neighbours() {
    let mut map = three();
    map.insert(anon(4, 5, RW), false).unwrap(); // merges left
    assert_eq!(spans(&map), [(0, 5), (6, 10), (12, 16)]);
    map.insert(anon(11, 12, RW), false).unwrap(); // merges right
    assert_eq!(spans(&map), [(0, 5), (6, 10), (11, 16)]);
    map.insert(anon(5, 6, RW), false).unwrap(); // merges both sides
    assert_eq!(spans(&map), [(0, 10), (11, 16)]);
    map.insert(anon(10, 11, RW), false).unwrap();
    assert_eq!(spans(&map), [(0, 16)]);
    assert_eq!(map.len(), 1);
    ok(&map);
}

#[test]
fn insert_keeps_incompatible_neighbours_apart() {
    let base = || {
        let mut m = Map::new();
        m.insert(anon(0, 2, RW), false).unwrap();
        m.insert(file(4, 6, RW, 1, 10), false).unwrap();
        m
    };
    let shared = Area {
        share: Share::Shared,
        ..anon(2, 4, RW)
    };
    let stack = Area {
        kind: Kind::Stack,
        ..anon(2, 4, RW)
    };
    let candidates = [
        anon(2, 4, RO),
        shared,
        stack,
        file(2, 4, RW, 1, 8), // would merge right ...
    ];
    for (i, area) in candidates.into_iter().enumerate() {
        let mut map = base();
        map.insert(area, false).unwrap();
        let want: &[(u64, u64)] = if i == 3 {
            &[(0, 2), (2, 6)]
        } else {
            &[(0, 2), (2, 4), (4, 6)]
        };
        assert_eq!(spans(&map), want, "candidate {i}");
        ok(&map);
    }
    // ... but not with a gap in the file offsets, another file, or an anonymous backing.
    for area in [
        file(2, 4, RW, 1, 7),
        file(2, 4, RW, 2, 8),
        Area {
            backing: None,
            ..file(2, 4, RW, 1, 8)
        },
    ] {
        let mut map = base();
        map.insert(area, false).unwrap();
        assert_eq!(spans(&map), [(0, 2), (2, 4), (4, 6)]);
        ok(&map);
    }
}

#[test]
fn merged_file_area_keeps_the_first_offset() {
    let mut map = Map::new();
    map.insert(file(4, 6, RO, 3, 2), false).unwrap();
    map.insert(file(2, 4, RO, 3, 0), false).unwrap();
    map.insert(file(6, 7, RO, 3, 4), false).unwrap();
    assert_eq!(snapshot(&map), [file(2, 7, RO, 3, 0)]);
}

#[test]
fn replace_insert_returns_exactly_the_removed_pieces() {
    let mut map = Map::new();
    map.insert(file(0, 4, RO, 1, 0), false).unwrap();
    map.insert(anon(5, 7, RW), false).unwrap();
    map.insert(file(8, 12, RW, 2, 100), false).unwrap();
    let removed = map.insert(anon(2, 10, Prot::NONE), true).unwrap();
    assert_eq!(
        removed,
        [
            file(2, 4, RO, 1, 2),
            anon(5, 7, RW),
            file(8, 10, RW, 2, 100)
        ]
    );
    assert_eq!(
        snapshot(&map),
        [
            file(0, 2, RO, 1, 0),
            anon(2, 10, Prot::NONE),
            file(10, 12, RW, 2, 102)
        ]
    );
    ok(&map);
    // Replacing over nothing removes nothing.
    assert_eq!(map.insert(anon(20, 22, RW), true), Ok(Vec::new()));
}

#[test]
fn replace_insert_in_the_middle_and_remerge() {
    let mut map = Map::new();
    map.insert(anon(0, 10, RW), false).unwrap();
    // A different area in the middle splits the old one in three ...
    let removed = map.insert(file(3, 5, RO, 1, 0), true).unwrap();
    assert_eq!(removed, [anon(3, 5, RW)]);
    assert_eq!(spans(&map), [(0, 3), (3, 5), (5, 10)]);
    // ... and putting the same attributes back merges everything again.
    let removed = map.insert(anon(3, 5, RW), true).unwrap();
    assert_eq!(removed, [file(3, 5, RO, 1, 0)]);
    assert_eq!(snapshot(&map), [anon(0, 10, RW)]);
    // Replacing an area by an identical one removes it and puts it back.
    assert_eq!(map.insert(anon(0, 10, RW), true), Ok(vec![anon(0, 10, RW)]));
    assert_eq!(map.len(), 1);
    ok(&map);
}

#[test]
fn remove_splits_at_either_end_and_in_the_middle() {
    let mut map = Map::new();
    map.insert(file(0, 10, RW, 7, 0), false).unwrap();
    assert_eq!(map.remove(pg(0), PAGE), Ok(vec![file(0, 1, RW, 7, 0)]));
    assert_eq!(snapshot(&map), [file(1, 10, RW, 7, 1)]);
    assert_eq!(map.remove(pg(9), PAGE), Ok(vec![file(9, 10, RW, 7, 9)]));
    assert_eq!(snapshot(&map), [file(1, 9, RW, 7, 1)]);
    assert_eq!(
        map.remove(pg(4), 2 * PAGE - 100),
        Ok(vec![file(4, 6, RW, 7, 4)])
    );
    assert_eq!(snapshot(&map), [file(1, 4, RW, 7, 1), file(6, 9, RW, 7, 6)]);
    assert_eq!(map.total_size(), 6 * PAGE);
    ok(&map);
}

#[test]
fn remove_over_holes_and_several_areas() {
    let mut map = three();
    assert_eq!(map.remove(pg(20), 5 * PAGE), Ok(Vec::new()));
    assert_eq!(map.remove(pg(4), 2 * PAGE), Ok(Vec::new()));
    let removed = map.remove(pg(2), 12 * PAGE).unwrap();
    assert_eq!(removed, [anon(2, 4, RW), anon(6, 10, RW), anon(12, 14, RW)]);
    assert_eq!(spans(&map), [(0, 2), (14, 16)]);
    let removed = map.remove(0, USER_END).unwrap();
    assert_eq!(removed, [anon(0, 2, RW), anon(14, 16, RW)]);
    assert!(map.is_empty());
    assert_eq!(map.total_size(), 0);
}

#[test]
fn protect_splits_in_the_middle_and_merges_back() {
    let mut map = Map::new();
    map.insert(file(0, 8, RW, 1, 0), false).unwrap();
    assert_eq!(
        map.protect(pg(3), 2 * PAGE, RO),
        Ok(vec![(pg(3), pg(5), RW)])
    );
    assert_eq!(
        snapshot(&map),
        [
            file(0, 3, RW, 1, 0),
            file(3, 5, RO, 1, 3),
            file(5, 8, RW, 1, 5)
        ]
    );
    assert_eq!(
        map.protect(pg(3), 2 * PAGE, RW),
        Ok(vec![(pg(3), pg(5), RO)])
    );
    assert_eq!(snapshot(&map), [file(0, 8, RW, 1, 0)]);
    ok(&map);
}

#[test]
fn protect_at_both_ends() {
    let mut map = Map::new();
    map.insert(anon(0, 8, RW), false).unwrap();
    assert_eq!(map.protect(pg(0), 1, RO), Ok(vec![(pg(0), pg(1), RW)]));
    assert_eq!(
        map.protect(pg(6), 2 * PAGE, Prot::NONE),
        Ok(vec![(pg(6), pg(8), RW)])
    );
    assert_eq!(
        snapshot(&map),
        [anon(0, 1, RO), anon(1, 6, RW), anon(6, 8, Prot::NONE)]
    );
    // Unchanged protection: nothing to report, nothing split.
    assert_eq!(map.protect(pg(2), PAGE, RW), Ok(Vec::new()));
    assert_eq!(map.len(), 3);
    // Across all three: two pieces change, then everything is one area again.
    let changed = map.protect(pg(0), 8 * PAGE, RW).unwrap();
    assert_eq!(changed, [(pg(0), pg(1), RO), (pg(6), pg(8), Prot::NONE)]);
    assert_eq!(snapshot(&map), [anon(0, 8, RW)]);
    ok(&map);
}

#[test]
fn protect_merges_previously_different_areas() {
    let mut map = Map::new();
    map.insert(anon(0, 2, RO), false).unwrap();
    map.insert(anon(2, 4, Prot::NONE), false).unwrap();
    map.insert(anon(4, 6, RW), false).unwrap();
    let changed = map.protect(pg(0), 6 * PAGE, Prot::READ_EXEC).unwrap();
    assert_eq!(
        changed,
        [
            (pg(0), pg(2), RO),
            (pg(2), pg(4), Prot::NONE),
            (pg(4), pg(6), RW)
        ]
    );
    assert_eq!(snapshot(&map), [anon(0, 6, Prot::READ_EXEC)]);
}

#[test]
fn protect_over_a_hole_is_unmapped_and_changes_nothing() {
    let mut map = three();
    let before = snapshot(&map);
    for (s, n) in [(2, 6), (4, 1), (4, 3), (14, 4), (-1, 2), (0, 17)] {
        let start = pg(0).wrapping_add_signed(s * PAGE as i64);
        assert_eq!(
            map.protect(start, n * PAGE, RO),
            Err(VmaError::Unmapped),
            "{s} {n}"
        );
    }
    assert_eq!(snapshot(&map), before);
    // Adjacent areas with no hole between them are fine.
    map.insert(anon(4, 6, Prot::NONE), false).unwrap();
    assert_eq!(map.protect(pg(3), 4 * PAGE, RO).unwrap().len(), 3);
    assert_eq!(spans(&map), [(0, 3), (3, 7), (7, 10), (12, 16)]);
    ok(&map);
}

#[test]
fn take_range_needs_one_area() {
    let mut map = three();
    map.insert(file(4, 6, RW, 5, 40), false).unwrap();
    let before = snapshot(&map);
    let bad = [(3, 2), (4, 3), (10, 1), (9, 2), (20, 1), (5, 2)];
    for (s, n) in bad {
        assert_eq!(
            map.take_range(pg(s), n * PAGE),
            Err(VmaError::Unmapped),
            "{s} {n}"
        );
    }
    assert_eq!(snapshot(&map), before);
    assert_eq!(map.take_range(pg(5), 1), Ok(vec![file(5, 6, RW, 5, 41)]));
    assert_eq!(map.take_range(pg(6), 4 * PAGE), Ok(vec![anon(6, 10, RW)]));
    assert_eq!(map.take_range(pg(13), 2 * PAGE), Ok(vec![anon(13, 15, RW)]));
    assert_eq!(spans(&map), [(0, 4), (4, 5), (12, 13), (15, 16)]);
    ok(&map);
}
