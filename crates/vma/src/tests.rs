//! Unit tests of the area map: shared helpers, the crate example and argument validation here;
//! map operations in `tests/map_ops.rs`, free-space and resizing in `tests/grow_ops.rs`, and
//! property tests against a page-granular model in `tests/prop.rs`.

mod grow_ops;
mod map_ops;
mod model;
mod prop;

use std::vec::Vec;

use crate::*;

/// A test file backing: which file, and the byte offset of the area's first page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FileOff {
    pub file: u32,
    pub off: u64,
}

impl Backing for FileOff {
    fn advanced(&self, offset: u64) -> Self {
        FileOff {
            file: self.file,
            off: self.off.saturating_add(offset),
        }
    }

    fn continues(&self, len: u64, next: &Self) -> bool {
        self.file == next.file && self.off.checked_add(len) == Some(next.off)
    }
}

pub(super) type Map = AreaMap<FileOff>;

/// Base address of the unit tests' areas; `pg(n)` is its `n`-th page.
pub(super) const BASE: u64 = 0x10_0000;

pub(super) const fn pg(n: u64) -> u64 {
    BASE + n * PAGE
}

/// A private anonymous area over pages `[s, e)` of `BASE`.
pub(super) fn anon(s: u64, e: u64, prot: Prot) -> Area<FileOff> {
    Area {
        start: pg(s),
        end: pg(e),
        prot,
        share: Share::Private,
        kind: Kind::Anonymous,
        backing: None,
    }
}

/// A private mapping of `file` over pages `[s, e)`, starting at page `off` of the file.
pub(super) fn file(s: u64, e: u64, prot: Prot, file: u32, off: u64) -> Area<FileOff> {
    Area {
        kind: Kind::File,
        backing: Some(FileOff {
            file,
            off: off * PAGE,
        }),
        ..anon(s, e, prot)
    }
}

/// The areas as `(first page, end page)` pairs relative to `BASE`.
pub(super) fn spans(map: &Map) -> Vec<(u64, u64)> {
    map.iter()
        .map(|a| ((a.start - BASE) / PAGE, (a.end - BASE) / PAGE))
        .collect()
}

/// Owned copies of all areas, to prove that a refused call changed nothing.
pub(super) fn snapshot(map: &Map) -> Vec<Area<FileOff>> {
    map.iter().cloned().collect()
}

pub(super) fn ok(map: &Map) {
    map.check_invariants().unwrap();
}

/// A map with three separate anonymous read-write areas: pages [0,4), [6,10), [12,16).
pub(super) fn three() -> Map {
    let mut map = Map::new();
    for (s, e) in [(0, 4), (6, 10), (12, 16)] {
        map.insert(anon(s, e, Prot::READ_WRITE), false).unwrap();
    }
    map
}

#[test]
fn crate_doc_example() {
    let mut map: AreaMap<()> = AreaMap::new();
    let rw = Prot {
        read: true,
        write: true,
        exec: false,
    };
    let at = map
        .find_free(4 * PAGE, None, 0x1_0000, 0x4000_0000)
        .unwrap();
    assert_eq!(at, 0x4000_0000 - 4 * PAGE);
    let area = Area {
        start: at,
        end: at + 4 * PAGE,
        prot: rw,
        share: Share::Private,
        kind: Kind::Anonymous,
        backing: None,
    };
    assert!(map.insert(area, false).unwrap().is_empty());

    let changed = map
        .protect(at + PAGE, PAGE, Prot { write: false, ..rw })
        .unwrap();
    assert_eq!(changed, [(at + PAGE, at + 2 * PAGE, rw)]);
    assert_eq!(map.len(), 3);
    map.protect(at, 4 * PAGE, rw).unwrap();
    assert_eq!(map.len(), 1);

    let removed = map.remove(at + PAGE, 2 * PAGE).unwrap();
    assert_eq!(
        (removed[0].start, removed[0].end),
        (at + PAGE, at + 3 * PAGE)
    );
    assert_eq!(map.total_size(), 2 * PAGE);
    assert!(map.check_invariants().is_ok());
}

#[test]
fn unit_backing_always_continues_and_area_helpers() {
    assert!(().continues(12345, &()));
    ().advanced(PAGE);
    let a = anon(2, 5, Prot::NONE);
    assert_eq!(a.size(), 3 * PAGE);
    assert!(a.contains(pg(2)) && a.contains(pg(5) - 1));
    assert!(!a.contains(pg(2) - 1) && !a.contains(pg(5)));
    let broken = Area {
        start: pg(5),
        end: pg(2),
        ..a
    };
    assert_eq!(broken.size(), 0);
    assert_eq!(Prot::default(), Prot::NONE);
}

#[test]
fn range_arguments_are_validated() {
    let mut map = three();
    let before = snapshot(&map);
    let bad: [(u64, u64, VmaError); 8] = [
        (pg(0) + 1, PAGE, VmaError::Unaligned),
        (pg(0) + 1, 0, VmaError::Unaligned),
        (pg(0), 0, VmaError::Empty),
        (pg(0), u64::MAX, VmaError::Overflow),
        (pg(0), u64::MAX - PAGE + 2, VmaError::Overflow),
        (0xffff_ffff_ffff_f000, PAGE, VmaError::Overflow),
        (USER_END, PAGE, VmaError::OutOfRange),
        (USER_END - PAGE, PAGE + 1, VmaError::OutOfRange),
    ];
    for (start, len, err) in bad {
        assert_eq!(
            map.remove(start, len),
            Err(err),
            "remove {start:#x} {len:#x}"
        );
        assert_eq!(
            map.protect(start, len, Prot::READ),
            Err(err),
            "protect {start:#x}"
        );
        assert_eq!(map.take_range(start, len), Err(err), "take {start:#x}");
        assert_eq!(map.resize(start, len, PAGE), Err(err), "resize {start:#x}");
        assert!(!map.is_free(start, len));
    }
    assert_eq!(snapshot(&map), before);
    // The last user page is a valid range, and lengths round up to pages.
    assert_eq!(map.remove(USER_END - PAGE, PAGE), Ok(Vec::new()));
    assert!(map.is_free(USER_END - PAGE, 1));
    assert_eq!(map.remove(pg(0), 1).unwrap().len(), 1);
    assert_eq!(spans(&map)[0], (1, 4));
    ok(&map);
}

#[test]
fn insert_validates_the_area() {
    let mut map = three();
    let before = snapshot(&map);
    let cases = [
        (
            Area {
                start: pg(20) + 8,
                ..anon(20, 21, Prot::READ)
            },
            VmaError::Unaligned,
        ),
        (
            Area {
                end: pg(21) - 8,
                ..anon(20, 21, Prot::READ)
            },
            VmaError::Unaligned,
        ),
        (anon(20, 20, Prot::READ), VmaError::Empty),
        (anon(21, 20, Prot::READ), VmaError::Empty),
        (
            Area {
                start: USER_END - PAGE,
                end: USER_END + PAGE,
                ..anon(0, 1, Prot::READ)
            },
            VmaError::OutOfRange,
        ),
        (
            Area {
                start: 0xffff_ffff_ffff_f000,
                end: 0,
                ..anon(0, 1, Prot::READ)
            },
            VmaError::Empty,
        ),
    ];
    for (area, err) in cases {
        assert_eq!(map.insert(area.clone(), true), Err(err), "{area:?}");
        assert_eq!(map.insert(area, false), Err(err));
    }
    assert_eq!(snapshot(&map), before);
    let last = Area {
        start: USER_END - PAGE,
        end: USER_END,
        ..anon(0, 1, Prot::READ)
    };
    assert_eq!(map.insert(last.clone(), false), Ok(Vec::new()));
    assert_eq!(map.find(USER_END - 1), Some(&last));
    assert_eq!(map.find(USER_END), None);
    assert_eq!(map.find(u64::MAX), None);
    ok(&map);
}

#[test]
fn invariant_checker_detects_corruption() {
    let mut map = three();
    ok(&map);
    // Two mergeable neighbours planted behind the map's back.
    let mut bad = map.clone();
    bad.areas.insert(pg(4), anon(4, 6, Prot::READ_WRITE));
    assert_eq!(bad.check_invariants(), Err("adjacent areas not merged"));
    let mut bad = map.clone();
    bad.areas.insert(pg(3), anon(3, 5, Prot::READ));
    assert_eq!(bad.check_invariants(), Err("overlapping areas"));
    let mut bad = map.clone();
    bad.areas.insert(pg(20), anon(21, 22, Prot::READ));
    assert!(bad.check_invariants().is_err());
    map.areas.insert(pg(20), anon(20, 20, Prot::READ));
    assert_eq!(map.check_invariants(), Err("empty area"));
}
