//! Property tests: random operation sequences run against both an [`AreaMap`] and the
//! page-granular model of `model.rs`. After every step both must describe the same memory,
//! the map's areas must be exactly the model's maximal runs of mergeable pages (so the map is
//! maximally merged), sorted, non-overlapping, non-empty and page-aligned, every result must
//! match the model's, and a refused call must change nothing.

use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use super::model::*;
use super::{FileOff, Map};
use crate::*;

#[derive(Clone, Debug)]
enum Op {
    Insert {
        area: Area<FileOff>,
        replace: bool,
    },
    Remove {
        start: u64,
        len: u64,
    },
    Protect {
        start: u64,
        len: u64,
        prot: Prot,
    },
    Take {
        start: u64,
        len: u64,
    },
    Resize {
        start: u64,
        old: u64,
        new: u64,
    },
    FindFree {
        len: u64,
        hint: Option<u64>,
        floor: u64,
        ceil: u64,
    },
    IsFree {
        start: u64,
        len: u64,
    },
    Brk {
        new_end: u64,
    },
    GrowStack {
        addr: u64,
        guard: u64,
        max: u64,
    },
    /// An operation aimed at an existing area (picked by index), so that calls needing mapped
    /// memory are not mostly refused: `lo` picks the page of the area it starts at.
    Near {
        pick: usize,
        lo: u64,
        what: Aimed,
    },
}

/// The operations [`Op::Near`] aims at an area.
#[derive(Clone, Copy, Debug)]
enum Aimed {
    Protect {
        len: u64,
        prot: Prot,
    },
    Take {
        len: u64,
    },
    /// Resize the range from the chosen page to the end of the area, to `new`.
    Resize {
        new: u64,
    },
    /// Fault `below` bytes under the area's start.
    GrowStack {
        below: u64,
        guard: u64,
        max: u64,
    },
}

fn prot() -> impl Strategy<Value = Prot> {
    prop_oneof![
        4 => Just(Prot::READ_WRITE),
        3 => Just(Prot::READ),
        1 => Just(Prot::NONE),
        1 => Just(Prot::READ_EXEC),
    ]
}

/// An area over `[start, end)` with random attributes. File offsets are the address's page
/// number plus 0 or 1 pages, so that neighbouring file areas often continue each other.
fn area(start: u64, end: u64) -> impl Strategy<Value = Area<FileOff>> {
    (
        prot(),
        prop::bool::weighted(0.2),
        0..4usize,
        0..2u32,
        0..2u64,
    )
        .prop_map(move |(prot, shared, kind, file, delta)| {
            let kind = [Kind::Anonymous, Kind::Stack, Kind::Heap, Kind::File][kind];
            Area {
                start,
                end,
                prot,
                share: if shared {
                    Share::Shared
                } else {
                    Share::Private
                },
                kind,
                backing: (kind == Kind::File).then(|| FileOff {
                    file,
                    off: (start / PAGE + delta) * PAGE,
                }),
            }
        })
}

/// A page in (or just past) the model space.
fn page() -> impl Strategy<Value = u64> {
    (0..SPAN + 4).prop_map(|p| MBASE + p * PAGE)
}

/// 0 to 8 pages, sometimes a little less (rounding up to the same page count).
fn len() -> impl Strategy<Value = u64> {
    (0..9u64, prop_oneof![Just(0), Just(1), Just(PAGE - 1)])
        .prop_map(|(n, less)| (n * PAGE).saturating_sub(less))
}

/// Addresses at the edges of the argument space, unaligned ones, and random ones.
fn wild_addr() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        Just(0),
        Just(USER_END),
        Just(USER_END - PAGE),
        Just(USER_END - 4 * PAGE),
        Just(u64::MAX),
        Just(0xffff_ffff_ffff_f000),
        (0..SPAN * PAGE).prop_map(|o| MBASE + o),
    ]
}

fn wild_len() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        Just(0),
        Just(1),
        Just(PAGE),
        Just(u64::MAX),
        Just(u64::MAX - PAGE + 2),
        Just(USER_END),
        Just(USER_END - MBASE),
        0..64 * PAGE,
    ]
}

/// Calls with extreme or invalid arguments (kept small enough for the model when valid).
fn wild_op() -> impl Strategy<Value = Op> {
    let new_len = prop_oneof![
        Just(0),
        Just(1),
        Just(PAGE + 1),
        Just(2 * PAGE),
        Just(u64::MAX),
        Just(u64::MAX - PAGE + 2),
        Just(USER_END + 1),
    ];
    let brk_end = prop_oneof![Just(u64::MAX), Just(USER_END + 1), Just(HEAP - 1), Just(0)];
    prop_oneof![
        (wild_addr(), wild_len(), prot(), any::<bool>()).prop_map(|(s, l, prot, replace)| {
            let area = Area {
                start: s,
                end: s.wrapping_add(l),
                prot,
                share: Share::Private,
                kind: Kind::Anonymous,
                backing: None,
            };
            Op::Insert { area, replace }
        }),
        (wild_addr(), wild_len()).prop_map(|(start, len)| Op::Remove { start, len }),
        (wild_addr(), wild_len(), prot()).prop_map(|(start, len, prot)| Op::Protect {
            start,
            len,
            prot
        }),
        (wild_addr(), wild_len()).prop_map(|(start, len)| Op::Take { start, len }),
        (wild_addr(), wild_len(), new_len).prop_map(|(start, old, new)| Op::Resize {
            start,
            old,
            new
        }),
        (
            wild_len(),
            prop::option::of(wild_addr()),
            wild_addr(),
            wild_addr()
        )
            .prop_map(|(len, hint, floor, ceil)| Op::FindFree {
                len,
                hint,
                floor,
                ceil
            }),
        (wild_addr(), wild_len()).prop_map(|(start, len)| Op::IsFree { start, len }),
        brk_end.prop_map(|new_end| Op::Brk { new_end }),
        (
            wild_addr(),
            prop_oneof![Just(0), Just(PAGE), any::<u64>()],
            prop_oneof![Just(4 * PAGE), Just(64 * PAGE)]
        )
            .prop_map(|(addr, guard, max)| Op::GrowStack { addr, guard, max }),
    ]
}

/// Ordinary calls inside the model space, plus some wild ones.
fn op() -> impl Strategy<Value = Op> {
    let insert = (page(), 0..9u64, prop::bool::weighted(0.4)).prop_flat_map(|(s, n, replace)| {
        area(s, s + n * PAGE).prop_map(move |area| Op::Insert { area, replace })
    });
    let near = |p: u64| prop::option::of((0..(SPAN + 8) * PAGE).prop_map(move |o| p + o));
    prop_oneof![
        6 => insert,
        3 => (page(), len()).prop_map(|(start, len)| Op::Remove { start, len }),
        4 => (page(), len(), prot()).prop_map(|(start, len, prot)| Op::Protect { start, len, prot }),
        2 => (page(), len()).prop_map(|(start, len)| Op::Take { start, len }),
        3 => (page(), len(), len()).prop_map(|(start, old, new)| Op::Resize { start, old, new }),
        2 => (len(), near(MBASE), 0..10 * PAGE, 20 * PAGE..(SPAN + 8) * PAGE).prop_map(
            |(len, hint, floor, ceil)| Op::FindFree { len, hint, floor: MBASE + floor, ceil: MBASE + ceil }
        ),
        1 => (page(), len()).prop_map(|(start, len)| Op::IsFree { start, len }),
        2 => (0..17 * PAGE).prop_map(|o| Op::Brk { new_end: HEAP - PAGE + o }),
        2 => (0..SPAN * PAGE, prop_oneof![Just(0), Just(PAGE), Just(3 * PAGE)], prop_oneof![Just(4 * PAGE), Just(16 * PAGE), Just(64 * PAGE)])
            .prop_map(|(o, guard, max)| Op::GrowStack { addr: MBASE + o, guard, max }),
        6 => (any::<usize>(), any::<u64>(), aimed()).prop_map(|(pick, lo, what)| Op::Near { pick, lo, what }),
        2 => wild_op(),
    ]
}

fn aimed() -> impl Strategy<Value = Aimed> {
    prop_oneof![
        (len(), prot()).prop_map(|(len, prot)| Aimed::Protect { len, prot }),
        len().prop_map(|len| Aimed::Take { len }),
        len().prop_map(|new| Aimed::Resize { new }),
        (
            1..6 * PAGE,
            prop_oneof![Just(0), Just(PAGE)],
            prop_oneof![Just(8 * PAGE), Just(64 * PAGE)]
        )
            .prop_map(|(below, guard, max)| Aimed::GrowStack { below, guard, max }),
    ]
}

/// The concrete operation an [`Op::Near`] stands for in the current map (`None` if there is
/// no suitable area). Half of the time (`lo`'s top bit) lengths are clipped to the area.
fn aim(map: &Map, pick: usize, lo: u64, what: Aimed) -> Option<Op> {
    let stacks_only = matches!(what, Aimed::GrowStack { .. });
    let areas: Vec<&Area<FileOff>> = map
        .iter()
        .filter(|a| !stacks_only || a.kind == Kind::Stack)
        .collect();
    let area = *areas.get(pick % areas.len().max(1))?;
    let start = area.start + lo % (area.size() / PAGE) * PAGE;
    let clip = |len: u64| {
        if lo >> 63 == 1 {
            len.min(area.end - start)
        } else {
            len
        }
    };
    Some(match what {
        Aimed::Protect { len, prot } => Op::Protect {
            start,
            len: clip(len),
            prot,
        },
        Aimed::Take { len } => Op::Take {
            start,
            len: clip(len),
        },
        Aimed::Resize { new } => Op::Resize {
            start,
            old: area.end - start,
            new,
        },
        Aimed::GrowStack { below, guard, max } => Op::GrowStack {
            addr: area.start.saturating_sub(below),
            guard,
            max,
        },
    })
}

fn runs(pieces: &[Area<FileOff>]) -> Vec<Run> {
    pieces.iter().map(run_of).collect()
}

/// Applies `op` to both and compares results; `brk` is the current program break.
fn step(map: &mut Map, model: &mut Model, brk: &mut u64, op: Op) {
    let before: Vec<Area<FileOff>> = map.iter().cloned().collect();
    let refused = match op {
        Op::Insert { area, replace } => {
            let Some(want) = model.insert(&area, replace) else {
                return;
            };
            let got = map.insert(area, replace).map(|p| runs(&p));
            assert_eq!(got, want);
            got.is_err()
        }
        Op::Remove { start, len } => {
            let got = map.remove(start, len).map(|p| runs(&p));
            assert_eq!(got, model.remove(start, len));
            got.is_err()
        }
        Op::Protect { start, len, prot } => {
            let got = map.protect(start, len, prot);
            assert_eq!(got, model.protect(start, len, prot));
            got.is_err()
        }
        Op::Take { start, len } => {
            let got = map.take_range(start, len).map(|p| runs(&p));
            assert_eq!(got, model.take(start, len));
            got.is_err()
        }
        Op::Resize { start, old, new } => {
            let got = map.resize(start, old, new).map(MResize::from);
            assert_eq!(got, model.resize(start, old, new));
            got.is_err()
        }
        Op::FindFree {
            len,
            hint,
            floor,
            ceil,
        } => {
            let got = map.find_free(len, hint, floor, ceil);
            assert_eq!(got, model.find_free(len, hint, floor, ceil));
            if let Some(at) = got {
                assert!(map.is_free(at, len));
            }
            true
        }
        Op::IsFree { start, len } => {
            assert_eq!(map.is_free(start, len), model.is_free(start, len));
            true
        }
        Op::Brk { new_end } => {
            let got = map.set_brk(HEAP, *brk, new_end).map(|p| runs(&p));
            assert_eq!(got, model.set_brk(*brk, new_end));
            if got.is_ok() {
                *brk = new_end;
            }
            got.is_err()
        }
        Op::GrowStack { addr, guard, max } => {
            let got = map.grow_stack(addr, guard, max);
            assert_eq!(got, model.grow_stack(addr, guard, max));
            got.is_err()
        }
        Op::Near { pick, lo, what } => {
            if let Some(op) = aim(map, pick, lo, what) {
                step(map, model, brk, op);
            }
            return;
        }
    };
    if refused {
        assert_eq!(
            map.iter().cloned().collect::<Vec<_>>(),
            before,
            "refused call changed the map"
        );
    }
    check(map, model);
}

/// The map is well formed and describes exactly the model's memory, as maximal runs.
fn check(map: &Map, model: &Model) {
    let areas: Vec<&Area<FileOff>> = map.iter().collect();
    for a in &areas {
        assert!(a.start < a.end, "empty area {a:?}");
        assert!(
            a.start.is_multiple_of(PAGE) && a.end.is_multiple_of(PAGE),
            "unaligned area {a:?}"
        );
        assert!(a.end <= USER_END, "area past USER_END {a:?}");
    }
    for w in areas.windows(2) {
        assert!(w[0].end <= w[1].start, "unsorted or overlapping: {w:?}");
    }
    let want = model.all_runs();
    assert_eq!(areas.iter().map(|a| run_of(a)).collect::<Vec<_>>(), want);
    assert_eq!(map.len(), want.len());
    assert_eq!(map.total_size(), model.pages.len() as u64 * PAGE);
    map.check_invariants().unwrap();
    for p in MBASE / PAGE - 2..MBASE / PAGE + SPAN + 12 {
        let got = map
            .find(p * PAGE + 123)
            .map(|a| run_of(a).2[(p - a.start / PAGE) as usize]);
        assert_eq!(got.as_ref(), model.pages.get(&p), "find page {p:#x}");
    }
}

/// Runs `ops` from an empty map.
fn run(ops: Vec<Op>) {
    let mut map = Map::new();
    let mut model = Model::default();
    let mut brk = HEAP;
    for op in ops {
        step(&mut map, &mut model, &mut brk, op);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn operations_match_the_page_model(ops in prop::collection::vec(op(), 1..80)) {
        run(ops);
    }

    #[test]
    fn wild_arguments_match_the_page_model(
        setup in prop::collection::vec(op(), 10..30),
        ops in prop::collection::vec(wild_op(), 1..40),
    ) {
        run(setup.into_iter().chain(ops).collect());
    }
}
