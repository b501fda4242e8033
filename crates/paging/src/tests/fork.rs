//! Tests of `fork_user_half`: copy-on-write marking on both sides, shared frames, the
//! callback, the kernel half, and all-or-nothing behaviour on allocation failure.

use super::*;
use crate::{Mapping, OutOfMemory, USER_PML4_END};

const K4: PageSize = PageSize::Size4K;
const M2: PageSize = PageSize::Size2M;
const G1: PageSize = PageSize::Size1G;
const KERNEL: u64 = 0xFFFF_8000_0000_0000;
const COW_RO: PageFlags = PageFlags::COW;

/// A parent with a kernel half and a varied user half.
fn parent() -> (EmuMem, EmuFrames, PageTable) {
    let (mut mem, mut frames, mut pt) = setup();
    let m = &mut mem;
    let f = &mut frames;
    pt.map(m, f, KERNEL, 0x20_0000, M2, PageFlags::KERNEL_RX)
        .unwrap();
    let dirty = PageFlags::DIRTY | PageFlags::ACCESSED;
    pt.map(m, f, 0x1000, 0xA000, K4, PageFlags::USER_RW_NX | dirty)
        .unwrap();
    pt.map(m, f, 0x2000, 0xB000, K4, PageFlags::USER_RX)
        .unwrap();
    pt.map(
        m,
        f,
        0x3000,
        0xC000,
        K4,
        PageFlags::USER_RW_NX | PageFlags::SHARED,
    )
    .unwrap();
    pt.map(m, f, 0x4000, 0xD000, K4, PageFlags::USER_RO_NX | COW_RO)
        .unwrap();
    pt.map(m, f, 0x5000, 0xE000, K4, PageFlags::KERNEL_RW_NX)
        .unwrap();
    pt.map(m, f, 0x20_0000, 0x40_0000, M2, PageFlags::USER_RW_NX)
        .unwrap();
    pt.map(m, f, 0x40_0000_0000, 0x8000_0000, G1, PageFlags::USER_RW_NX)
        .unwrap();
    (mem, frames, pt)
}

#[test]
fn fork_marks_both_sides_cow() {
    let (mut mem, mut frames, mut pt) = parent();
    let before = mappings(&mem, &pt);
    let mut shared: Vec<Mapping> = Vec::new();
    let child = pt
        .fork_user_half(&mut mem, &mut frames, |m| shared.push(m))
        .unwrap();

    let cow = |f: PageFlags| (f - PageFlags::WRITABLE) | PageFlags::COW;
    let clean = |f: PageFlags| f - PageFlags::DIRTY - PageFlags::ACCESSED;
    for (virt, phys, size, flags) in before {
        let child_view = child.translate(&mem, virt);
        let parent_view = pt.translate(&mem, virt);
        if virt >= KERNEL {
            assert_eq!(
                parent_view,
                Some((phys, size, flags)),
                "kernel half untouched"
            );
            assert_eq!(child_view, parent_view, "kernel half shared");
            continue;
        }
        let writable_user = flags.contains(PageFlags::WRITABLE | PageFlags::USER);
        let expect_parent = if writable_user && !flags.contains(PageFlags::SHARED) {
            cow(flags)
        } else {
            flags
        };
        assert_eq!(
            parent_view,
            Some((phys, size, expect_parent)),
            "parent {virt:#x}"
        );
        assert_eq!(
            child_view,
            Some((phys, size, clean(expect_parent))),
            "child {virt:#x}"
        );
    }
    // Spot checks of the rules.
    let (_, _, f) = pt.translate(&mem, 0x1000).unwrap();
    assert!(f.contains(PageFlags::COW | PageFlags::DIRTY) && !f.contains(PageFlags::WRITABLE));
    let (_, _, f) = child.translate(&mem, 0x40_0000_0000).unwrap();
    assert!(f.contains(PageFlags::COW | PageFlags::HUGE) && !f.contains(PageFlags::WRITABLE));
    let (_, _, f) = child.translate(&mem, 0x3000).unwrap();
    assert!(f.contains(PageFlags::WRITABLE | PageFlags::SHARED) && !f.contains(PageFlags::COW));

    // The callback saw every user leaf once, as the child maps it.
    let user: Vec<_> = mappings(&mem, &child)
        .into_iter()
        .filter(|m| m.0 < KERNEL)
        .collect();
    let reported: Vec<_> = shared
        .iter()
        .map(|m| (m.virt, m.phys, m.size, m.flags))
        .collect();
    assert_eq!(reported, user);
    assert_eq!(reported.len(), 7);
}

#[test]
fn child_tables_are_private_and_freed_by_destroy() {
    let (mut mem, mut frames, mut pt) = parent();
    let parent_tables = frames.outstanding();
    let child = pt.fork_user_half(&mut mem, &mut frames, |_| {}).unwrap();
    // Child: root + PML4[0] PDPT + PD + PT; PDPT under the 1 GiB page is in the same PDPT.
    // (0x40_0000_0000 is PML4 0, PDPT 256.)
    assert_eq!(frames.outstanding() - parent_tables, 4);
    // The trees are independent in the user half.
    let mut child = child;
    child.unmap(&mut mem, 0x1000, K4).unwrap();
    assert!(pt.translate(&mem, 0x1000).is_some());
    child
        .map(
            &mut mem,
            &mut frames,
            0x9000,
            0xF000,
            K4,
            PageFlags::USER_RW_NX,
        )
        .unwrap();
    assert_eq!(pt.translate(&mem, 0x9000), None);
    assert_eq!(
        child.destroy(&mut mem, &mut frames, USER_PML4_END, |_| {}),
        4
    );
    assert_eq!(frames.outstanding(), parent_tables);
    assert_eq!(pt.translate(&mem, KERNEL).map(|t| t.0), Some(0x20_0000));
}

#[test]
fn fork_skips_empty_tables() {
    let (mut mem, mut frames, mut pt) = setup();
    pt.map(
        &mut mem,
        &mut frames,
        0x1000,
        0xA000,
        K4,
        PageFlags::USER_RW_NX,
    )
    .unwrap();
    pt.map(
        &mut mem,
        &mut frames,
        0x80_0000_0000,
        0xB000,
        K4,
        PageFlags::USER_RW_NX,
    )
    .unwrap();
    pt.unmap(&mut mem, 0x80_0000_0000, K4).unwrap();
    let before = frames.outstanding();
    let child = pt.fork_user_half(&mut mem, &mut frames, |_| {}).unwrap();
    // Only the non-empty path (PDPT, PD, PT) and the root are built.
    assert_eq!(frames.outstanding() - before, 4);
    assert_eq!(mem.read_entry(child.root(), 1), 0);
    assert_eq!(frames.allocated - frames.freed, frames.outstanding());
}

#[test]
fn fork_out_of_memory_changes_nothing() {
    // The child needs 4 tables; fail at each allocation in turn.
    for budget in 0..4 {
        let (mut mem, mut frames, mut pt) = parent();
        let before = snapshot(&mem);
        let live = frames.outstanding();
        let freed = frames.freed;
        let allocated = frames.allocated;
        frames.limit(budget);
        let mut calls = 0;
        let result = pt.fork_user_half(&mut mem, &mut frames, |_| calls += 1);
        assert_eq!(result, Err(OutOfMemory), "budget {budget}");
        assert_eq!(calls, 0, "no callback on failure");
        assert_eq!(snapshot(&mem), before, "parent changed");
        assert_eq!(frames.outstanding(), live, "tables leaked");
        assert_eq!(frames.allocated - allocated, budget);
        assert_eq!(frames.freed - freed, budget);
    }
    let (mut mem, mut frames, mut pt) = parent();
    frames.limit(4);
    assert!(pt.fork_user_half(&mut mem, &mut frames, |_| {}).is_ok());
}

#[test]
fn forking_a_fork_keeps_cow() {
    let (mut mem, mut frames, mut pt) = parent();
    let mut child = pt.fork_user_half(&mut mem, &mut frames, |_| {}).unwrap();
    let mut count = 0;
    let grandchild = child
        .fork_user_half(&mut mem, &mut frames, |_| count += 1)
        .unwrap();
    assert_eq!(count, 7);
    assert_eq!(
        grandchild.translate(&mem, 0x1000),
        child.translate(&mem, 0x1000)
    );
    let (_, _, f) = grandchild.translate(&mem, 0x20_0000).unwrap();
    assert_eq!(f, PageFlags::USER_RO_NX | PageFlags::COW | PageFlags::HUGE);
}

#[test]
fn next_present_skips_absent_entries() {
    let (mut mem, mut frames, mut pt) = setup();
    pt.map(&mut mem, &mut frames, 0x1000, 0xA000, K4, PageFlags::USER_RW_NX).unwrap();
    pt.map(&mut mem, &mut frames, 0x40_0000_0000, 0xB000, K4, PageFlags::USER_RW_NX).unwrap();
    let root = pt.root();
    // PML4 entry 0 covers both pages (0x40_0000_0000 is 256 GiB: PDPT entry 256).
    assert_eq!(mem.next_present(root, 0), 0);
    let pdpt = mem.read_entry(root, 0) & 0x000f_ffff_ffff_f000;
    assert_eq!(mem.next_present(pdpt, 0), 0);
    assert_eq!(mem.next_present(pdpt, 1), 256);
    assert_eq!(mem.next_present(pdpt, 257), 512);
    assert_eq!(mem.next_present(pdpt, 600), 512);
}
