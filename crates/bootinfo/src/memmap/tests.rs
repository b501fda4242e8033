//! Tests of `MemoryMap`: hand-picked cases and a property test of `normalize()` against a
//! byte-granular model of a small address space.

use super::*;
use proptest::prelude::*;
use std::vec::Vec;

use MemoryKind::*;

fn region(start: u64, end: u64, kind: MemoryKind) -> MemoryRegion {
    MemoryRegion { start, end, kind }
}

#[test]
fn from_e820_types() {
    assert_eq!(MemoryKind::from_e820(1), Usable);
    assert_eq!(MemoryKind::from_e820(2), Reserved);
    assert_eq!(MemoryKind::from_e820(3), AcpiReclaimable);
    assert_eq!(MemoryKind::from_e820(4), AcpiNvs);
    assert_eq!(MemoryKind::from_e820(5), BadMemory);
    assert_eq!(MemoryKind::from_e820(0), Reserved);
    assert_eq!(MemoryKind::from_e820(12), Reserved);
    assert_eq!(MemoryKind::from_e820(u32::MAX), Reserved);
}

#[test]
fn push_ignores_empty_and_saturates() {
    let mut m = MemoryMap::new();
    assert!(!m.push_raw(0x1000, 0, Usable));
    assert!(m.push_raw(u64::MAX - 10, 100, Reserved));
    assert_eq!(m.regions(), &[region(u64::MAX - 10, u64::MAX, Reserved)]);
    assert!(!m.is_normalized());
    // A region at u64::MAX itself has no room: it saturates to empty and is ignored.
    assert!(!m.push_raw(u64::MAX, 5, Reserved));
    assert_eq!(m.regions().len(), 1);
}

#[test]
fn push_overflow_sets_flag() {
    let mut m = MemoryMap::new();
    for i in 0..MemoryMap::CAPACITY as u64 {
        assert!(m.push_raw(i * 0x2000, 0x1000, Usable));
    }
    assert!(!m.overflowed());
    assert!(!m.push_raw(0x1_0000_0000, 0x1000, Usable));
    assert!(m.overflowed());
    assert_eq!(m.regions().len(), MemoryMap::CAPACITY);
}

#[test]
fn normalize_typical_e820() {
    let mut m = MemoryMap::new();
    // A QEMU-like map, deliberately out of order, with an overlapping reserved hole.
    m.push_raw(0x10_0000, 0x7ee_0000, Usable);
    m.push_raw(0, 0x9_fc00, Usable);
    m.push_raw(0x9_fc00, 0x400, Reserved);
    m.push_raw(0xf_0000, 0x1_0000, Reserved);
    m.push_raw(0x7fe_0000, 0x2_0000, AcpiReclaimable);
    m.push_raw(0x200_0000, 0x123, BadMemory);
    m.normalize();
    assert_eq!(
        m.regions(),
        &[
            region(0, 0x9_f000, Usable),
            region(0x9_fc00, 0xa_0000, Reserved),
            region(0xf_0000, 0x10_0000, Reserved),
            region(0x10_0000, 0x200_0000, Usable),
            region(0x200_0000, 0x200_0123, BadMemory),
            region(0x200_1000, 0x7fe_0000, Usable),
            region(0x7fe_0000, 0x800_0000, AcpiReclaimable),
        ]
    );
    assert_eq!(m.total_usable(), 0x9_f000 + 0x1f0_0000 + 0x5fdf000);
    assert!(m.is_normalized());
    // Idempotent.
    let before: Vec<_> = m.regions().to_vec();
    m.normalize();
    assert_eq!(m.regions(), &before[..]);
}

#[test]
fn normalize_merges_same_kind_and_drops_tiny_usable() {
    let mut m = MemoryMap::new();
    m.push_raw(0x1000, 0x1000, Usable);
    m.push_raw(0x2000, 0x1000, Usable);
    m.push_raw(0x2800, 0x2000, Usable);
    m.push_raw(0x10_0100, 0x800, Usable); // less than a page once aligned: dropped
    m.push_raw(0x20_0000, 0x10, AcpiNvs);
    m.push_raw(0x20_0010, 0x10, AcpiNvs);
    m.normalize();
    assert_eq!(
        m.regions(),
        &[
            region(0x1000, 0x4000, Usable),
            region(0x20_0000, 0x20_0020, AcpiNvs)
        ]
    );
}

#[test]
fn normalize_handles_top_of_address_space() {
    let mut m = MemoryMap::new();
    m.push_raw(u64::MAX - 0x800, 0x800, Usable); // page-aligning the start overflows: dropped
    m.push_raw(u64::MAX - 0x2fff, 0x1000, Usable);
    m.push_raw(u64::MAX - 0x100, u64::MAX, Reserved);
    m.normalize();
    assert_eq!(
        m.regions(),
        &[
            region(u64::MAX - 0x2fff, u64::MAX - 0x1fff, Usable),
            region(u64::MAX - 0x100, u64::MAX, Reserved),
        ]
    );
}

#[test]
fn normalize_worst_case_fits() {
    // One big usable range with 127 reserved holes: 255 output regions, none lost.
    let mut m = MemoryMap::new();
    m.push_raw(0, 0x1000 * 512, Usable);
    for i in 0..127u64 {
        m.push_raw(0x1000 * (2 * i + 1), 0x1000, Reserved);
    }
    m.normalize();
    assert_eq!(m.regions().len(), 255);
    assert_eq!(m.total_usable(), 0x1000 * (512 - 127));
    // Still accepts no more raw entries than the capacity allows.
    assert!(!m.push_raw(0x100_0000, 0x1000, Usable));
    assert!(m.overflowed());
}

#[test]
fn empty_map_normalizes_to_empty() {
    let mut m = MemoryMap::new();
    m.normalize();
    assert!(m.is_empty());
    assert_eq!(m.total_usable(), 0);
}

// ---- Property test against a model -------------------------------------------------------

/// Model granularity: entry boundaries are multiples of this many bytes (1/8 page), so one
/// model cell per unit classifies every byte.
const UNIT: u64 = 512;
const UNITS: u64 = 96; // 12 pages
const UNITS_PER_PAGE: u64 = PAGE_SIZE / UNIT;

fn kind_strategy() -> impl Strategy<Value = MemoryKind> {
    prop_oneof![
        Just(Usable),
        Just(Reserved),
        Just(AcpiReclaimable),
        Just(AcpiNvs),
        Just(BadMemory)
    ]
}

fn entry_strategy() -> impl Strategy<Value = (u64, u64, MemoryKind)> {
    (0..UNITS, 0..UNITS / 2, kind_strategy())
}

/// Expected kind of each unit after normalization, from the first `CAPACITY` entries.
fn model(entries: &[(u64, u64, MemoryKind)]) -> Vec<Option<MemoryKind>> {
    let mut raw: Vec<Option<MemoryKind>> = std::vec![None; (UNITS * 2) as usize];
    for &(s, l, k) in entries.iter().filter(|e| e.1 > 0).take(MemoryMap::CAPACITY) {
        for u in s..s + l {
            let cell = &mut raw[u as usize];
            *cell = match *cell {
                Some(old) if old.restrictiveness() >= k.restrictiveness() => Some(old),
                _ => Some(k),
            };
        }
    }
    // Usable survives only where its whole page is usable.
    let mut out = raw.clone();
    for (u, cell) in out.iter_mut().enumerate() {
        if *cell == Some(Usable) {
            let page = u as u64 / UNITS_PER_PAGE;
            let all = (page * UNITS_PER_PAGE..(page + 1) * UNITS_PER_PAGE)
                .all(|v| raw[v as usize] == Some(Usable));
            if !all {
                *cell = None;
            }
        }
    }
    out
}

fn kind_at(regions: &[MemoryRegion], addr: u64) -> Option<MemoryKind> {
    regions
        .iter()
        .find(|r| r.start <= addr && addr < r.end)
        .map(|r| r.kind)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn normalize_matches_model(entries in proptest::collection::vec(entry_strategy(), 0..140)) {
        let mut m = MemoryMap::new();
        for &(s, l, k) in &entries {
            m.push_raw(s * UNIT, l * UNIT, k);
        }
        let nonempty = entries.iter().filter(|e| e.1 > 0).count();
        prop_assert_eq!(m.overflowed(), nonempty > MemoryMap::CAPACITY);
        m.normalize();
        let rs = m.regions();

        for r in rs {
            prop_assert!(r.start < r.end, "empty region {:?}", r);
            prop_assert!(r.start % UNIT == 0 && r.end % UNIT == 0);
            if r.kind == Usable {
                prop_assert!(r.start % PAGE_SIZE == 0 && r.end % PAGE_SIZE == 0, "unaligned {:?}", r);
            }
        }
        for w in rs.windows(2) {
            prop_assert!(w[0].end <= w[1].start, "unsorted/overlapping {:?}", w);
            prop_assert!(!(w[0].end == w[1].start && w[0].kind == w[1].kind), "unmerged {:?}", w);
        }
        let expected = model(&entries);
        for (u, want) in expected.iter().enumerate() {
            let addr = u as u64 * UNIT;
            prop_assert_eq!(kind_at(rs, addr), *want, "unit {} (addr {:#x})", u, addr);
        }
        let usable_units = expected.iter().filter(|k| **k == Some(Usable)).count() as u64;
        prop_assert_eq!(m.total_usable(), usable_units * UNIT);

        // Normalizing again changes nothing.
        let before: Vec<_> = rs.to_vec();
        m.normalize();
        prop_assert_eq!(m.regions(), &before[..]);
    }

    #[test]
    fn normalize_never_panics_on_wild_values(entries in proptest::collection::vec((any::<u64>(), any::<u64>(), 0u32..8), 0..200)) {
        let mut m = MemoryMap::new();
        for &(s, l, t) in &entries {
            m.push_raw(s, l, MemoryKind::from_e820(t));
        }
        m.normalize();
        for w in m.regions().windows(2) {
            prop_assert!(w[0].end <= w[1].start);
        }
        prop_assert!(m.regions().iter().all(|r| r.start < r.end));
    }
}
