//! Tests of the error paths: every error leaves the tree unchanged and leaks no frame.

use super::*;
use crate::{MapError, OutOfMemory, UnmapError};

const K4: PageSize = PageSize::Size4K;
const M2: PageSize = PageSize::Size2M;
const G1: PageSize = PageSize::Size1G;
const RW: PageFlags = PageFlags::KERNEL_RW_NX;
const MISALIGNED: MapError = MapError::Misaligned;
const RANGE: MapError = MapError::PhysicalOutOfRange;

/// Runs a failing `map` and checks the error and that nothing changed.
fn map_fails(
    mem: &mut EmuMem,
    frames: &mut EmuFrames,
    pt: &mut PageTable,
    (virt, phys, size): (u64, u64, PageSize),
    expected: MapError,
) {
    let before = snapshot(mem);
    let (allocated, freed, live) = (frames.allocated, frames.freed, frames.outstanding());
    assert_eq!(pt.map(mem, frames, virt, phys, size, RW), Err(expected));
    assert_eq!(snapshot(mem), before, "tree changed by a failed map");
    assert_eq!(frames.outstanding(), live, "frames leaked by a failed map");
    let (new, returned) = (frames.allocated - allocated, frames.freed - freed);
    assert_eq!(new, returned, "allocations not given back");
}

#[test]
fn already_mapped_at_every_size() {
    let (mut mem, mut frames, mut pt) = setup();
    for (i, size) in PageSize::ALL.into_iter().enumerate() {
        let virt = (i as u64 + 1) << 39;
        pt.map(&mut mem, &mut frames, virt, 0, size, RW).unwrap();
        let job = (virt, size.bytes(), size);
        map_fails(&mut mem, &mut frames, &mut pt, job, MapError::AlreadyMapped);
        // The original mapping is intact.
        assert_eq!(pt.translate(&mem, virt).map(|t| t.0), Some(0));
    }
}

#[test]
fn misaligned_and_out_of_range() {
    let (mut mem, mut frames, mut pt) = setup();
    let (m, f, p) = (&mut mem, &mut frames, &mut pt);
    map_fails(m, f, p, (0x1001, 0x2000, K4), MISALIGNED);
    map_fails(m, f, p, (0x1000, 0x2800, K4), MISALIGNED);
    map_fails(m, f, p, (0x1000, 0x20_0000, M2), MISALIGNED);
    map_fails(m, f, p, (0x20_0000, 0x1000, M2), MISALIGNED);
    map_fails(m, f, p, (0x20_0000, 0x20_0000, G1), MISALIGNED);
    map_fails(m, f, p, (0x4000_0000, 0x20_0000, G1), MISALIGNED);
    map_fails(m, f, p, (0x1000, 1 << 52, K4), RANGE);
    map_fails(m, f, p, (0x1000, !0xfff, K4), RANGE);
    assert_eq!(frames.allocated, 1, "only the root");
}

#[test]
fn non_canonical() {
    let (mut mem, mut frames, mut pt) = setup();
    for virt in [
        0x0000_8000_0000_0000u64,
        0xFFFF_7FFF_FFFF_F000,
        0x0001_0000_0000_0000,
    ] {
        map_fails(
            &mut mem,
            &mut frames,
            &mut pt,
            (virt, 0, K4),
            MapError::NonCanonical,
        );
        assert_eq!(pt.unmap(&mut mem, virt, K4), Err(UnmapError::NonCanonical));
        assert_eq!(
            pt.protect(&mut mem, virt, K4, RW),
            Err(UnmapError::NonCanonical)
        );
        assert_eq!(pt.translate(&mem, virt), None);
    }
}

#[test]
fn huge_page_conflicts() {
    let (mut mem, mut frames, mut pt) = setup();
    let (m, f, p) = (&mut mem, &mut frames, &mut pt);
    // 2 MiB leaf at 2 MiB; 4 KiB leaf at 4 MiB; 1 GiB leaf at 1 GiB (all under PML4[0]).
    p.map(m, f, 0x20_0000, 0x20_0000, M2, RW).unwrap();
    p.map(m, f, 0x40_0000, 0x1000, K4, RW).unwrap();
    p.map(m, f, 0x4000_0000, 0x4000_0000, G1, RW).unwrap();
    let conflict = MapError::HugePageConflict;
    // 4 KiB under a 2 MiB leaf (at its start and inside).
    map_fails(m, f, p, (0x20_0000, 0x1000, K4), conflict);
    map_fails(m, f, p, (0x3F_F000, 0x1000, K4), conflict);
    // 4 KiB and 2 MiB under a 1 GiB leaf.
    map_fails(m, f, p, (0x4000_1000, 0x1000, K4), conflict);
    map_fails(m, f, p, (0x4020_0000, 0x20_0000, M2), conflict);
    // 2 MiB over a PT (4 MiB has one), 1 GiB over a PD.
    map_fails(m, f, p, (0x40_0000, 0x20_0000, M2), conflict);
    map_fails(m, f, p, (0, 0, G1), conflict);
    // Even an empty PT blocks a 2 MiB map until pruned.
    p.unmap(m, 0x40_0000, K4).unwrap();
    map_fails(m, f, p, (0x40_0000, 0x20_0000, M2), conflict);
    assert_eq!(p.prune_empty_tables(m, f), 1);
    p.map(m, f, 0x40_0000, 0x60_0000, M2, RW).unwrap();
}

#[test]
fn out_of_memory_at_every_depth_leaks_nothing() {
    // A fresh path needs 3 tables (PDPT, PD, PT); fail the 1st, 2nd and 3rd allocation.
    for budget in 0..3 {
        let (mut mem, mut frames, mut pt) = setup();
        frames.limit(budget);
        map_fails(
            &mut mem,
            &mut frames,
            &mut pt,
            (0x1000, 0x1000, K4),
            MapError::OutOfMemory,
        );
        assert_eq!(frames.allocated, 1 + budget);
        assert_eq!(frames.allocated, frames.freed + frames.outstanding());
        assert_eq!(frames.outstanding(), 1, "only the root remains");
        frames.unlimited();
        pt.map(&mut mem, &mut frames, 0x1000, 0x1000, K4, RW)
            .unwrap();
        assert_eq!(frames.outstanding(), 4);
    }
    // Midway along an existing path: PML4[0] and its PDPT exist, a new PD + PT are needed.
    let (mut mem, mut frames, mut pt) = setup();
    pt.map(&mut mem, &mut frames, 0, 0, G1, RW).unwrap();
    frames.limit(1);
    let job = (0x4000_0000 * 2, 0, K4);
    map_fails(&mut mem, &mut frames, &mut pt, job, MapError::OutOfMemory);
    assert_eq!(frames.outstanding(), 2);
    assert_eq!(frames.allocated, frames.freed + frames.outstanding());
}

#[test]
fn bogus_frame_from_source_is_refused() {
    let (mut mem, mut frames, mut pt) = setup();
    frames.bogus_next = Some(0x1234);
    map_fails(
        &mut mem,
        &mut frames,
        &mut pt,
        (0x1000, 0x1000, K4),
        MapError::OutOfMemory,
    );
    assert_eq!(frames.bogus_returned, [0x1234]);
    frames.bogus_next = Some(1 << 52);
    assert_eq!(PageTable::new(&mut frames), Err(OutOfMemory));
    assert_eq!(frames.bogus_returned, [0x1234, 1 << 52]);
}

#[test]
fn new_table_without_memory() {
    let (_mem, mut frames) = machine();
    frames.limit(0);
    assert_eq!(PageTable::new(&mut frames), Err(OutOfMemory));
    assert_eq!(frames.allocated, 0);
}

#[test]
fn unmap_and_protect_errors() {
    let (mut mem, mut frames, mut pt) = setup();
    pt.map(&mut mem, &mut frames, 0x20_0000, 0x20_0000, M2, RW)
        .unwrap();
    pt.map(&mut mem, &mut frames, 0x40_0000, 0x1000, K4, RW)
        .unwrap();
    let before = snapshot(&mem);
    let cases = [
        (0x60_0000, K4, UnmapError::NotMapped),
        (0x41_0000, K4, UnmapError::NotMapped),
        (0x8000_0000, G1, UnmapError::NotMapped),
        (0x20_0000, K4, UnmapError::SizeMismatch { actual: M2 }),
        (0x30_0000, K4, UnmapError::SizeMismatch { actual: M2 }),
        (0x40_0000, M2, UnmapError::SizeMismatch { actual: K4 }),
        (0x20_1000, M2, UnmapError::Misaligned),
        (0x40_0800, K4, UnmapError::Misaligned),
    ];
    for (virt, size, err) in cases {
        assert_eq!(pt.unmap(&mut mem, virt, size), Err(err), "unmap {virt:#x}");
        assert_eq!(
            pt.protect(&mut mem, virt, size, RW),
            Err(err),
            "protect {virt:#x}"
        );
        let pruned = pt.unmap_and_prune(&mut mem, &mut frames, virt, size);
        assert_eq!(pruned, Err(err), "unmap_and_prune {virt:#x}");
    }
    assert_eq!(snapshot(&mem), before);
}

#[test]
fn errors_display() {
    use std::string::ToString;
    assert!(MapError::HugePageConflict.to_string().contains("size"));
    let mismatch = UnmapError::SizeMismatch { actual: M2 };
    assert!(mismatch.to_string().contains("Size2M"));
    assert!(!OutOfMemory.to_string().is_empty());
}
