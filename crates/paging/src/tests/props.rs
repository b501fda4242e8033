//! Property test: random sequences of map / unmap / unmap_and_prune / protect / prune, on
//! addresses chosen so that paths and page ranges collide often, compared with a `BTreeMap`
//! model; after every step the table frames held equal the tables reachable from the root.

use super::*;
use crate::{virt_from_indices, MapError, UnmapError, PHYS_ADDR_MASK, USER_PML4_END};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::vec;

/// virt -> (phys, size, flags as translate must report them).
type Model = BTreeMap<u64, (u64, PageSize, PageFlags)>;

const CALLER_FLAGS: [PageFlags; 11] = [
    PageFlags::WRITABLE,
    PageFlags::USER,
    PageFlags::WRITE_THROUGH,
    PageFlags::NO_CACHE,
    PageFlags::ACCESSED,
    PageFlags::DIRTY,
    PageFlags::HUGE,
    PageFlags::GLOBAL,
    PageFlags::COW,
    PageFlags::SHARED,
    PageFlags::NO_EXECUTE,
];

#[derive(Debug, Clone)]
enum Op {
    Map {
        virt: u64,
        size: PageSize,
        phys: u64,
        flags: PageFlags,
    },
    Unmap {
        virt: u64,
        size: PageSize,
        prune: bool,
    },
    UnmapExisting {
        pick: usize,
        prune: bool,
    },
    Protect {
        pick: usize,
        flags: PageFlags,
    },
    Prune,
}

fn size_strategy() -> impl Strategy<Value = PageSize> {
    prop_oneof![
        Just(PageSize::Size4K),
        Just(PageSize::Size2M),
        Just(PageSize::Size1G)
    ]
}

/// Addresses from a few indices per level, so that mappings share tables and overlap.
fn addr_strategy() -> impl Strategy<Value = (u64, PageSize)> {
    let pick = || prop::sample::select(vec![0usize, 1, 511]);
    let pml4 = prop::sample::select(vec![0usize, 1, 255, 256, 511]);
    (pml4, pick(), pick(), pick(), size_strategy()).prop_map(|(a, b, c, d, size)| {
        let idx = match size {
            PageSize::Size4K => [a, b, c, d],
            PageSize::Size2M => [a, b, c, 0],
            PageSize::Size1G => [a, b, 0, 0],
        };
        (virt_from_indices(idx, 0), size)
    })
}

fn flags_strategy() -> impl Strategy<Value = PageFlags> {
    any::<u16>().prop_map(|bits| {
        CALLER_FLAGS
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .fold(PageFlags::empty(), |acc, (_, f)| acc | *f)
    })
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (addr_strategy(), any::<u64>(), flags_strategy()).prop_map(|((virt, size), raw, flags)| {
            let phys = (raw & PHYS_ADDR_MASK & ((1 << 44) - 1)) & !size.offset_mask();
            Op::Map { virt, size, phys, flags }
        }),
        1 => (addr_strategy(), any::<bool>())
            .prop_map(|((virt, size), prune)| Op::Unmap { virt, size, prune }),
        2 => (any::<usize>(), any::<bool>())
            .prop_map(|(pick, prune)| Op::UnmapExisting { pick, prune }),
        1 => (any::<usize>(), flags_strategy()).prop_map(|(pick, flags)| Op::Protect { pick, flags }),
        1 => Just(Op::Prune),
    ]
}

/// The model mapping that contains `virt`, if any.
fn model_lookup(model: &Model, virt: u64) -> Option<(u64, (u64, PageSize, PageFlags))> {
    let (&start, &m) = model.range(..=virt).next_back()?;
    (virt - start < m.1.bytes()).then_some((start, m))
}

fn overlaps(model: &Model, virt: u64, size: PageSize) -> bool {
    model_lookup(model, virt).is_some()
        || model
            .range(virt..=virt + size.offset_mask())
            .next()
            .is_some()
}

/// The number of tables reachable from `root`, computed from raw entry bits.
fn count_tables(mem: &EmuMem, table: u64, level: u8) -> usize {
    let mut n = 1;
    if level == 1 {
        return n;
    }
    for i in 0..512 {
        let e = mem.read_entry(table, i);
        let huge = level < 4 && e & (1 << 7) != 0;
        if e & 1 != 0 && !huge {
            n += count_tables(mem, e & PHYS_ADDR_MASK, level - 1);
        }
    }
    n
}

fn check(mem: &EmuMem, frames: &EmuFrames, pt: &PageTable, model: &Model) {
    let want: Vec<_> = model.iter().map(|(&v, &(p, s, f))| (v, p, s, f)).collect();
    assert_eq!(mappings(mem, pt), want);
    for (&virt, &(phys, size, flags)) in model {
        for off in [0, size.bytes() / 2 + 8, size.bytes() - 1] {
            assert_eq!(
                pt.translate(mem, virt + off),
                Some((phys + off, size, flags))
            );
        }
    }
    assert_eq!(
        frames.outstanding(),
        count_tables(mem, pt.root(), 4),
        "table frames leaked"
    );
    // next_mapped: the first mapped address at or after `from`, by the model.
    let next = |from: u64| {
        model
            .iter()
            .filter(|(&v, &(_, s, _))| v.saturating_add(s.bytes()) > from)
            .map(|(&v, _)| v.max(from))
            .min()
    };
    let froms = model.keys().flat_map(|&v| [v.saturating_sub(0x1000), v, v.saturating_add(0x1000)]).chain([0]);
    for from in froms {
        assert_eq!(pt.next_mapped(mem, from, u64::MAX), next(from), "next_mapped from {from:#x}");
    }
}

fn apply(mem: &mut EmuMem, frames: &mut EmuFrames, pt: &mut PageTable, model: &mut Model, op: Op) {
    match op {
        Op::Map {
            virt,
            size,
            phys,
            flags,
        } => {
            let result = pt.map(mem, frames, virt, phys, size, flags);
            if overlaps(model, virt, size) {
                let expected = match model.get(&virt) {
                    Some(&(_, s, _)) if s == size => MapError::AlreadyMapped,
                    _ => MapError::HugePageConflict,
                };
                assert_eq!(result, Err(expected));
                return;
            }
            match result {
                Ok(()) => {}
                // Only an empty table left by a plain unmap may be in the way; prune it.
                Err(MapError::HugePageConflict) if size != PageSize::Size4K => {
                    check(mem, frames, pt, model);
                    pt.prune_empty_tables(mem, frames);
                    pt.map(mem, frames, virt, phys, size, flags).unwrap();
                }
                Err(e) => panic!("map {virt:#x} {size:?}: {e:?}"),
            }
            model.insert(virt, (phys, size, expected_flags(flags, size)));
        }
        Op::Unmap { virt, size, prune } => {
            let expected = match model_lookup(model, virt) {
                None => Err(UnmapError::NotMapped),
                Some((_, (_, s, _))) if s != size => Err(UnmapError::SizeMismatch { actual: s }),
                Some((_, (p, _, _))) => Ok(p),
            };
            let result = if prune {
                pt.unmap_and_prune(mem, frames, virt, size)
            } else {
                pt.unmap(mem, virt, size)
            };
            assert_eq!(result, expected);
            if result.is_ok() {
                model.remove(&virt);
            }
        }
        Op::UnmapExisting { pick, prune } => {
            let Some((&virt, &(phys, size, _))) = model.iter().nth(pick % model.len().max(1))
            else {
                return;
            };
            let result = if prune {
                pt.unmap_and_prune(mem, frames, virt, size)
            } else {
                pt.unmap(mem, virt, size)
            };
            assert_eq!(result, Ok(phys));
            model.remove(&virt);
        }
        Op::Protect { pick, flags } => {
            let Some((&virt, &(phys, size, old))) = model.iter().nth(pick % model.len().max(1))
            else {
                return;
            };
            assert_eq!(pt.protect(mem, virt, size, flags), Ok(old));
            let kept = old & (PageFlags::ACCESSED | PageFlags::DIRTY);
            model.insert(virt, (phys, size, expected_flags(flags | kept, size)));
        }
        Op::Prune => {
            pt.prune_empty_tables(mem, frames);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn agrees_with_model(ops in prop::collection::vec(op_strategy(), 1..60)) {
        let (mut mem, mut frames, mut pt) = setup();
        let mut model = Model::new();
        let mut upper_pml4 = BTreeSet::new();
        for op in ops {
            if let Op::Map { virt, .. } = op {
                if crate::pml4_index(virt) >= USER_PML4_END {
                    upper_pml4.insert(crate::pml4_index(virt));
                }
            }
            apply(&mut mem, &mut frames, &mut pt, &mut model, op);
            check(&mem, &frames, &pt, &model);
        }
        // Unmap everything, prune: only the root and the (shared) upper-half PDPTs remain.
        let all: Vec<_> = model.iter().map(|(&v, &(p, s, _))| (v, p, s)).collect();
        for (virt, phys, size) in all {
            prop_assert_eq!(pt.unmap(&mut mem, virt, size), Ok(phys));
        }
        pt.prune_empty_tables(&mut mem, &mut frames);
        prop_assert!(mappings(&mem, &pt).is_empty());
        let upper_kept = (USER_PML4_END..512)
            .filter(|&i| mem.read_entry(pt.root(), i) != 0)
            .count();
        prop_assert_eq!(upper_kept, upper_pml4.len());
        prop_assert_eq!(frames.outstanding(), 1 + upper_kept);
        prop_assert!((0..USER_PML4_END).all(|i| mem.read_entry(pt.root(), i) == 0));
        // Tearing the whole (private) tree down returns every table frame.
        pt.destroy(&mut mem, &mut frames, 512, |_| panic!("no leaf left"));
        prop_assert_eq!(frames.outstanding(), 0);
        prop_assert_eq!(frames.allocated, frames.freed);
    }
}
