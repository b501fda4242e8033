//! Tests of table reclamation: `unmap_and_prune`, `prune_empty_tables`, `destroy`, and the
//! upper-half sharing helpers that constrain them.

use super::*;
use crate::{Mapping, OutOfMemory, USER_PML4_END};

const K4: PageSize = PageSize::Size4K;
const M2: PageSize = PageSize::Size2M;
const G1: PageSize = PageSize::Size1G;
const RW: PageFlags = PageFlags::USER_RW_NX;
const KERNEL: u64 = 0xFFFF_8000_0000_0000;

#[test]
fn destroy_frees_exactly_the_tables() {
    let (mut mem, mut frames, mut pt) = setup();
    // 4 KiB pages in two PTs of one PD; a 2 MiB page in another PDPT; a 1 GiB page.
    let pages = [
        (0x1000, K4),
        (0x2000, K4),
        (0x20_0000 + 0x1000, K4),
        (0x80_0000_0000, M2),
        (0x100_0000_0000, G1),
    ];
    for (i, (virt, size)) in pages.into_iter().enumerate() {
        let phys = (i as u64 + 1) << 30;
        pt.map(&mut mem, &mut frames, virt, phys, size, RW).unwrap();
    }
    // root + [PML4 0: PDPT, PD, 2 PTs] + [PML4 1: PDPT, PD] + [PML4 2: PDPT] = 8.
    assert_eq!(frames.outstanding(), 8);
    let mut seen: Vec<Mapping> = Vec::new();
    let freed = pt.destroy(&mut mem, &mut frames, USER_PML4_END, |m| seen.push(m));
    assert_eq!(freed, 8);
    assert_eq!(frames.outstanding(), 0);
    assert_eq!(frames.allocated, frames.freed);
    let got: Vec<_> = seen.iter().map(|m| (m.virt, m.size)).collect();
    assert_eq!(got, pages);
    assert_eq!(seen[3].phys, 4 << 30);
}

#[test]
fn destroy_leaves_upper_half_alone() {
    let (mut mem, mut frames, mut kernel) = setup();
    kernel
        .map(
            &mut mem,
            &mut frames,
            KERNEL,
            0x20_0000,
            M2,
            PageFlags::KERNEL_RX,
        )
        .unwrap();
    let mut process = PageTable::new_sharing_upper_half(&mut mem, &mut frames, &kernel).unwrap();
    process
        .map(&mut mem, &mut frames, 0x1000, 0x5000, K4, RW)
        .unwrap();
    assert_eq!(
        process.translate(&mem, KERNEL + 5).map(|t| t.0),
        Some(0x20_0005)
    );
    let before = frames.outstanding();
    let mut leaves = Vec::new();
    let freed = process.destroy(&mut mem, &mut frames, USER_PML4_END, |m| {
        leaves.push(m.virt)
    });
    // Process root + its PDPT, PD, PT; the kernel's tables survive and still translate.
    assert_eq!(freed, 4);
    assert_eq!(leaves, [0x1000]);
    assert_eq!(frames.outstanding(), before - 4);
    assert_eq!(
        kernel.translate(&mem, KERNEL + 5).map(|t| t.0),
        Some(0x20_0005)
    );
    // Destroying everything (a tree sharing nothing) frees the rest.
    let freed = kernel.destroy(&mut mem, &mut frames, 9999, |_| {});
    assert_eq!(freed, 3);
    assert_eq!(frames.outstanding(), 0);
}

#[test]
fn unmap_keeps_tables_and_prune_frees_them() {
    let (mut mem, mut frames, mut pt) = setup();
    pt.map(&mut mem, &mut frames, 0x1000, 0x1000, K4, RW)
        .unwrap();
    pt.map(&mut mem, &mut frames, 0x80_0000_0000, 0x1000, K4, RW)
        .unwrap();
    assert_eq!(frames.outstanding(), 7);
    pt.unmap(&mut mem, 0x1000, K4).unwrap();
    pt.unmap(&mut mem, 0x80_0000_0000, K4).unwrap();
    assert_eq!(frames.outstanding(), 7, "plain unmap frees nothing");
    assert_eq!(pt.prune_empty_tables(&mut mem, &mut frames), 6);
    assert_eq!(frames.outstanding(), 1);
    assert_eq!(mem.read_entry(pt.root(), 0), 0);
    assert_eq!(pt.prune_empty_tables(&mut mem, &mut frames), 0);
}

#[test]
fn unmap_and_prune_frees_only_emptied_tables() {
    let (mut mem, mut frames, mut pt) = setup();
    pt.map(&mut mem, &mut frames, 0x1000, 0xA000, K4, RW)
        .unwrap();
    pt.map(&mut mem, &mut frames, 0x2000, 0xB000, K4, RW)
        .unwrap();
    pt.map(&mut mem, &mut frames, 0x4000_0000, 0x4000_0000, G1, RW)
        .unwrap();
    assert_eq!(frames.outstanding(), 4);
    // The PT still holds 0x2000: nothing freed.
    assert_eq!(
        pt.unmap_and_prune(&mut mem, &mut frames, 0x1000, K4),
        Ok(0xA000)
    );
    assert_eq!(frames.outstanding(), 4);
    // PT and PD become empty; the PDPT still holds the 1 GiB page.
    assert_eq!(
        pt.unmap_and_prune(&mut mem, &mut frames, 0x2000, K4),
        Ok(0xB000)
    );
    assert_eq!(frames.outstanding(), 2);
    assert_eq!(
        pt.translate(&mem, 0x4000_0000).map(|t| t.0),
        Some(0x4000_0000)
    );
    // Last leaf: the PDPT goes too, the root stays.
    assert_eq!(
        pt.unmap_and_prune(&mut mem, &mut frames, 0x4000_0000, G1),
        Ok(0x4000_0000)
    );
    assert_eq!(frames.outstanding(), 1);
    assert_eq!(frames.allocated, frames.freed + 1);
}

#[test]
fn pruning_keeps_upper_half_pdpts() {
    let (mut mem, mut frames, mut pt) = setup();
    pt.map(
        &mut mem,
        &mut frames,
        KERNEL,
        0,
        K4,
        PageFlags::KERNEL_RW_NX,
    )
    .unwrap();
    pt.map(
        &mut mem,
        &mut frames,
        KERNEL + (1 << 30),
        0,
        K4,
        PageFlags::KERNEL_RW_NX,
    )
    .unwrap();
    assert_eq!(frames.outstanding(), 6);
    pt.unmap_and_prune(&mut mem, &mut frames, KERNEL, K4)
        .unwrap();
    // PT and PD freed, the shared PDPT kept.
    assert_eq!(frames.outstanding(), 4);
    pt.unmap(&mut mem, KERNEL + (1 << 30), K4).unwrap();
    assert_eq!(pt.prune_empty_tables(&mut mem, &mut frames), 2);
    assert_eq!(frames.outstanding(), 2);
    assert_ne!(mem.read_entry(pt.root(), 256), 0);
}

#[test]
fn prefill_upper_half_shares_later_kernel_mappings() {
    let (mut mem, mut frames, mut kernel) = setup();
    kernel
        .map(
            &mut mem,
            &mut frames,
            KERNEL,
            0,
            K4,
            PageFlags::KERNEL_RW_NX,
        )
        .unwrap();
    // One upper PDPT exists already; 255 are created.
    assert_eq!(kernel.prefill_upper_half(&mut mem, &mut frames), Ok(255));
    assert_eq!(kernel.prefill_upper_half(&mut mem, &mut frames), Ok(0));
    let process = PageTable::new_sharing_upper_half(&mut mem, &mut frames, &kernel).unwrap();
    let late = 0xFFFF_FF00_0000_0000;
    kernel
        .map(
            &mut mem,
            &mut frames,
            late,
            0x7000,
            K4,
            PageFlags::KERNEL_RW_NX,
        )
        .unwrap();
    assert_eq!(process.translate(&mem, late).map(|t| t.0), Some(0x7000));
    // User halves stay separate.
    kernel
        .map(&mut mem, &mut frames, 0x1000, 0x8000, K4, RW)
        .unwrap();
    assert_eq!(process.translate(&mem, 0x1000), None);
}

#[test]
fn prefill_upper_half_rolls_back() {
    let (mut mem, mut frames, mut kernel) = setup();
    let before = snapshot(&mem);
    frames.limit(100);
    assert_eq!(
        kernel.prefill_upper_half(&mut mem, &mut frames),
        Err(OutOfMemory)
    );
    assert_eq!(snapshot(&mem), before);
    assert_eq!(frames.outstanding(), 1);
    assert_eq!(frames.allocated, 101);
}

#[test]
fn new_sharing_upper_half_without_memory() {
    let (mut mem, mut frames, kernel) = setup();
    frames.limit(0);
    let result = PageTable::new_sharing_upper_half(&mut mem, &mut frames, &kernel);
    assert_eq!(result, Err(OutOfMemory));
    assert_eq!(frames.outstanding(), 1);
}

#[test]
fn next_mapped_skips_absent_subtrees() {
    let (mut mem, mut frames, mut pt) = setup();
    assert_eq!(pt.next_mapped(&mem, 0, 1 << 47), None);
    for (virt, size) in [(0x5000, K4), (0x40_0000, M2), (0x80_0000_0000, K4), (0x8000_0000_0000 - 0x1000, K4)] {
        pt.map(&mut mem, &mut frames, virt, 1 << 30, size, RW).unwrap();
    }
    let all: Vec<u64> = core::iter::successors(pt.next_mapped(&mem, 0, 1 << 47), |&a| {
        pt.next_mapped(&mem, a + 0x1000, 1 << 47)
    })
    .collect();
    // Every 4 KiB step of the 2 MiB page is "mapped" (512 of them), plus the three small pages.
    assert_eq!(all.len(), 3 + 512);
    assert_eq!(all[0], 0x5000);
    assert_eq!(all[1], 0x40_0000);
    assert_eq!(all[513], 0x80_0000_0000);
    assert_eq!(all[514], 0x8000_0000_0000 - 0x1000);
    // `from` inside a leaf is returned as is; `end` is exclusive.
    assert_eq!(pt.next_mapped(&mem, 0x40_1234, 0x50_0000), Some(0x40_1234));
    assert_eq!(pt.next_mapped(&mem, 0x6000, 0x40_0000), None);
    // Past the user half: the kernel half (nothing mapped in this emulated tree).
    assert_eq!(pt.next_mapped(&mem, 0x8000_0000_0000, u64::MAX), None);
    assert_eq!(pt.next_mapped(&mem, KERNEL, u64::MAX), None);
}

/// Counts the entries read through it (to check what a walk costs).
struct CountingMem<'a> {
    inner: &'a EmuMem,
    reads: core::cell::Cell<usize>,
}

impl TableMemory for CountingMem<'_> {
    fn read_entry(&self, table_paddr: u64, index: usize) -> u64 {
        self.reads.set(self.reads.get() + 1);
        self.inner.read_entry(table_paddr, index)
    }
    fn write_entry(&mut self, _table_paddr: u64, _index: usize, _value: u64) {
        unreachable!("next_mapped only reads")
    }
}

#[test]
fn next_mapped_scans_one_page_table_without_rewalking() {
    // A thread stack as musl makes it: 33 pages, only the top one touched. Finding it used to
    // walk down from the root for every absent page (4 reads each, 132 in all).
    let (mut mem, mut frames, mut pt) = setup();
    let (start, pages) = (0x7f00_0000_0000u64, 33u64);
    let top = start + (pages - 1) * 0x1000;
    pt.map(&mut mem, &mut frames, top, 1 << 30, K4, RW).unwrap();
    let counting = CountingMem { inner: &mem, reads: core::cell::Cell::new(0) };
    assert_eq!(pt.next_mapped(&counting, start, start + pages * 0x1000), Some(top));
    assert!(counting.reads.get() <= 4 + pages as usize, "{} reads", counting.reads.get());
    // The range's end stops the scan inside the table.
    counting.reads.set(0);
    assert_eq!(pt.next_mapped(&counting, start, top), None);
    assert!(counting.reads.get() <= 4 + pages as usize, "{} reads", counting.reads.get());
    // Crossing into the next page table (a PT boundary) still finds pages there.
    let far = 0x7f00_0020_0000u64 + 0x3000;
    pt.map(&mut mem, &mut frames, far, 2 << 30, K4, RW).unwrap();
    assert_eq!(pt.next_mapped(&mem, top + 0x1000, u64::MAX >> 17), Some(far));
}
