//! Tests of the address helpers, `map`, `translate`, `unmap` and `protect` on success paths.

use super::*;
use crate::entry::{is_present, table_addr};
use crate::{
    canonicalize, is_canonical, pml4_index, table_indices, virt_from_indices, Level, PHYS_ADDR_MASK,
};

const K4: PageSize = PageSize::Size4K;
const M2: PageSize = PageSize::Size2M;
const G1: PageSize = PageSize::Size1G;

#[test]
fn canonical_addresses() {
    assert!(is_canonical(0));
    assert!(is_canonical(0x0000_7FFF_FFFF_FFFF));
    assert!(!is_canonical(0x0000_8000_0000_0000));
    assert!(!is_canonical(0xFFFF_7FFF_FFFF_FFFF));
    assert!(is_canonical(0xFFFF_8000_0000_0000));
    assert!(is_canonical(u64::MAX));
    assert_eq!(canonicalize(0x0000_8000_0000_0000), 0xFFFF_8000_0000_0000);
    assert_eq!(canonicalize(0x1234_0000_0000_1000), 0x1000);
}

#[test]
fn indices_of_addresses() {
    let virt = 0xFFFF_8123_4567_8ABC;
    let idx = table_indices(virt);
    assert_eq!(idx, [0x102, 0x8d, 0x2b, 0x78]);
    assert_eq!(pml4_index(virt), 0x102);
    assert_eq!(virt_from_indices(idx, 0xABC), virt);
    assert_eq!(virt_from_indices([511, 511, 511, 511], 0xfff), u64::MAX);
    assert_eq!(Level::Pd.index_of(virt), 0x2b);
    assert_eq!(Level::Pml4.shift(), 39);
    assert_eq!(Level::Pdpt.entry_span(), 1 << 30);
    assert_eq!(Level::Pml4.lower(), Some(Level::Pdpt));
    assert_eq!(Level::Pt.lower(), None);
    assert_eq!(Level::Pml4.leaf_size(), None);
}

#[test]
fn page_size_properties() {
    assert_eq!(K4.bytes(), 4096);
    assert_eq!(M2.bytes(), 2 << 20);
    assert_eq!(G1.bytes(), 1 << 30);
    assert!(M2.is_aligned(0x20_0000) && !M2.is_aligned(0x20_1000));
    assert_eq!(G1.align_down(0x7FFF_FFFF), 0x4000_0000);
    for size in PageSize::ALL {
        assert_eq!(size.level().leaf_size(), Some(size));
    }
}

#[test]
fn flag_constants() {
    let rw = PageFlags::KERNEL_RW_NX;
    assert!(rw.contains(PageFlags::PRESENT | PageFlags::WRITABLE | PageFlags::NO_EXECUTE));
    assert!(!rw.contains(PageFlags::USER));
    assert_eq!(PageFlags::USER_RW_NX, rw | PageFlags::USER);
    assert!(!PageFlags::KERNEL_RX.contains(PageFlags::NO_EXECUTE));
    assert!(!PageFlags::USER_RO_NX.contains(PageFlags::WRITABLE));
    assert_eq!(PageFlags::COW.bits(), 1 << 9);
    assert_eq!(PageFlags::SHARED.bits(), 1 << 10);
    assert_eq!(PageFlags::NO_EXECUTE.bits(), 1 << 63);
    assert_eq!(PageFlags::all().bits() & PHYS_ADDR_MASK, 0);
}

#[test]
fn round_trip_every_size() {
    let cases = [
        (0x40_0000_1000u64, 0x1234_5000u64, K4),
        (0x80_0020_0000, 0x4_0060_0000, M2),
        (0xFFFF_9000_4000_0000, 0x8_4000_0000, G1),
    ];
    let (mut mem, mut frames, mut pt) = setup();
    for (virt, phys, size) in cases {
        pt.map(
            &mut mem,
            &mut frames,
            virt,
            phys,
            size,
            PageFlags::KERNEL_RW_NX,
        )
        .unwrap();
        let expect = expected_flags(PageFlags::KERNEL_RW_NX, size);
        assert_eq!(pt.translate(&mem, virt), Some((phys, size, expect)));
    }
    for (virt, phys, size) in cases {
        assert_eq!(pt.unmap(&mut mem, virt, size), Ok(phys));
        assert_eq!(pt.translate(&mem, virt), None);
    }
    assert!(mappings(&mem, &pt).is_empty());
}

#[test]
fn offsets_within_pages() {
    let (mut mem, mut frames, mut pt) = setup();
    let flags = PageFlags::USER_RX;
    pt.map(&mut mem, &mut frames, 0x1000, 0xA000, K4, flags)
        .unwrap();
    pt.map(&mut mem, &mut frames, 0x4000_0000, 0x20_0000, M2, flags)
        .unwrap();
    pt.map(
        &mut mem,
        &mut frames,
        0x80_0000_0000,
        0xC000_0000,
        G1,
        flags,
    )
    .unwrap();
    assert_eq!(pt.translate(&mem, 0x1FFF).map(|t| t.0), Some(0xAFFF));
    assert_eq!(pt.translate(&mem, 0x1001).map(|t| t.0), Some(0xA001));
    assert_eq!(
        pt.translate(&mem, 0x401F_FFFF).map(|t| t.0),
        Some(0x3F_FFFF)
    );
    assert_eq!(
        pt.translate(&mem, 0x4012_3456).map(|t| t.0),
        Some(0x32_3456)
    );
    assert_eq!(
        pt.translate(&mem, 0x80_3FFF_FFFF).map(|t| t.0),
        Some(0xFFFF_FFFF)
    );
    assert_eq!(pt.translate(&mem, 0x2000), None);
    assert_eq!(pt.translate(&mem, 0x4020_0000), None);
    assert_eq!(pt.translate(&mem, 0x80_4000_0000), None);
    assert_eq!(pt.translate(&mem, 0x0000_8000_0000_0000), None);
}

#[test]
fn flags_round_trip() {
    let (mut mem, mut frames, mut pt) = setup();
    let all_caller = PageFlags::all() - PageFlags::HUGE;
    let sets = [
        PageFlags::empty(),
        PageFlags::KERNEL_MMIO,
        PageFlags::USER_RW_NX | PageFlags::GLOBAL,
        PageFlags::USER_RO_NX | PageFlags::COW,
        PageFlags::USER_RW_NX | PageFlags::SHARED | PageFlags::DIRTY | PageFlags::ACCESSED,
        all_caller,
        // HUGE is managed by the crate whatever the caller says.
        PageFlags::HUGE | PageFlags::WRITABLE,
    ];
    for (i, flags) in sets.into_iter().enumerate() {
        for size in PageSize::ALL {
            let virt = (i as u64 * 8 + size as u64 + 1) << 30;
            pt.map(&mut mem, &mut frames, virt, size.bytes() * 3, size, flags)
                .unwrap();
            let (phys, got_size, got) = pt.translate(&mem, virt).unwrap();
            assert_eq!((phys, got_size), (size.bytes() * 3, size));
            assert_eq!(got, expected_flags(flags, size), "{flags:?} at {size:?}");
        }
    }
    // Bits outside the defined flags never reach the entry (they would corrupt the address).
    let junk = PageFlags::from_bits_retain(0x000F_0000_0000_F000 | (1 << 11) | (1 << 52));
    pt.map(
        &mut mem,
        &mut frames,
        0x7000_0000_0000,
        0x5000,
        K4,
        junk | PageFlags::WRITABLE,
    )
    .unwrap();
    assert_eq!(
        pt.translate(&mem, 0x7000_0000_0000),
        Some((0x5000, K4, PageFlags::PRESENT | PageFlags::WRITABLE))
    );
}

#[test]
fn intermediate_entries() {
    let (mut mem, mut frames, mut pt) = setup();
    let virt = 0x1234_5678_9000;
    pt.map(
        &mut mem,
        &mut frames,
        virt,
        0x9000,
        K4,
        PageFlags::KERNEL_RO_NX,
    )
    .unwrap();
    let rw = PageFlags::PRESENT | PageFlags::WRITABLE;
    let root = pt.root();
    let path = |mem: &EmuMem| {
        let mut table = root;
        let mut out = Vec::new();
        for (depth, idx) in table_indices(virt).into_iter().enumerate().take(3) {
            let e = mem.read_entry(table, idx);
            assert!(is_present(e), "depth {depth}");
            out.push(PageFlags::from_bits_truncate(e));
            table = table_addr(e);
        }
        out
    };
    // A kernel leaf: intermediates are P|W, never USER or NX.
    assert_eq!(path(&mem), [rw, rw, rw]);
    assert_eq!(frames.allocated, 4);
    // A user leaf in the same PT widens the existing intermediates with USER.
    pt.map(
        &mut mem,
        &mut frames,
        virt + 0x1000,
        0xA000,
        K4,
        PageFlags::USER_RO_NX,
    )
    .unwrap();
    assert_eq!(path(&mem), [rw | PageFlags::USER; 3]);
    assert_eq!(frames.allocated, 4, "the path was reused");
    // A user leaf created from scratch gets USER intermediates directly.
    let (mut mem2, mut frames2, mut pt2) = setup();
    pt2.map(
        &mut mem2,
        &mut frames2,
        0x2000,
        0xB000,
        K4,
        PageFlags::USER_RW_NX,
    )
    .unwrap();
    let e = mem2.read_entry(pt2.root(), 0);
    assert_eq!(PageFlags::from_bits_truncate(e), rw | PageFlags::USER);
}

#[test]
fn protect_changes_flags_and_keeps_frame() {
    let (mut mem, mut frames, mut pt) = setup();
    let dirty = PageFlags::DIRTY | PageFlags::ACCESSED;
    for (i, size) in PageSize::ALL.into_iter().enumerate() {
        let virt = (i as u64 + 1) << 39;
        let phys = size.bytes() * 5;
        pt.map(
            &mut mem,
            &mut frames,
            virt,
            phys,
            size,
            PageFlags::KERNEL_RW_NX | dirty,
        )
        .unwrap();
        let old = pt
            .protect(&mut mem, virt, size, PageFlags::KERNEL_RX)
            .unwrap();
        assert_eq!(old, expected_flags(PageFlags::KERNEL_RW_NX | dirty, size));
        // ACCESSED and DIRTY survive; the rights are replaced.
        let expect = expected_flags(PageFlags::KERNEL_RX | dirty, size);
        assert_eq!(pt.translate(&mem, virt), Some((phys, size, expect)));
    }
}

#[test]
fn protect_to_user_widens_path() {
    let (mut mem, mut frames, mut pt) = setup();
    pt.map(
        &mut mem,
        &mut frames,
        0x20_0000,
        0x1000,
        K4,
        PageFlags::KERNEL_RW_NX,
    )
    .unwrap();
    assert!(!PageFlags::from_bits_truncate(mem.read_entry(pt.root(), 0)).contains(PageFlags::USER));
    pt.protect(&mut mem, 0x20_0000, K4, PageFlags::USER_RW_NX)
        .unwrap();
    assert!(PageFlags::from_bits_truncate(mem.read_entry(pt.root(), 0)).contains(PageFlags::USER));
    let (_, _, flags) = pt.translate(&mem, 0x20_0000).unwrap();
    assert_eq!(flags, PageFlags::USER_RW_NX);
}

#[test]
fn upper_half_mappings_walk_canonical() {
    let (mut mem, mut frames, mut pt) = setup();
    let kernel = 0xFFFF_FFFF_8000_0000;
    pt.map(
        &mut mem,
        &mut frames,
        kernel,
        0x20_0000,
        M2,
        PageFlags::KERNEL_RX,
    )
    .unwrap();
    pt.map(
        &mut mem,
        &mut frames,
        0x40_0000,
        0x20_0000,
        M2,
        PageFlags::USER_RX,
    )
    .unwrap();
    let all = mappings(&mem, &pt);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].0, 0x40_0000);
    assert_eq!(
        all[1],
        (
            kernel,
            0x20_0000,
            M2,
            expected_flags(PageFlags::KERNEL_RX, M2)
        )
    );
    let mut user = Vec::new();
    pt.for_each_mapping_in(&mem, 0..crate::USER_PML4_END, |m| user.push(m.virt));
    assert_eq!(user, [0x40_0000]);
    let mut none = Vec::new();
    pt.for_each_mapping_in(&mem, 300..9999, |m| none.push(m.virt));
    assert_eq!(none, [kernel]);
}

#[test]
fn adopt_existing_root() {
    let (mut mem, mut frames, mut pt) = setup();
    pt.map(
        &mut mem,
        &mut frames,
        0x5000,
        0x7000,
        K4,
        PageFlags::KERNEL_RO_NX,
    )
    .unwrap();
    let root = pt.into_root();
    assert!(PageTable::from_root(root + 8).is_none());
    assert!(PageTable::from_root(1 << 52).is_none());
    let adopted = PageTable::from_root(root).unwrap();
    assert_eq!(adopted.translate(&mem, 0x5123).map(|t| t.0), Some(0x7123));
}
