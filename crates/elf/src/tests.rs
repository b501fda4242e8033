//! Tests of the crate: a hand-made ELF builder shared by all of them, unit tests per module,
//! real compiled binaries (when a compiler is installed) and property-based fuzzing.

mod build;
mod entry_tests;
mod fuzz;
mod parse_tests;
mod real;
mod shebang_tests;
mod stack_tests;

use crate::*;

/// Every guarantee an accepted image documents, checked against the file it came from.
pub(super) fn check_invariants(file: &[u8], img: &ElfImage) {
    assert!(!img.segments.is_empty());
    assert_eq!(img.phent, 56);
    assert!(img.phnum >= 1 && img.phnum <= MAX_PHNUM);
    let mut prev_end: Option<u64> = None;
    for seg in &img.segments {
        assert!(seg.mem_size > 0, "{seg:?}");
        assert!(seg.file_size <= seg.mem_size, "{seg:?}");
        let file_end = seg.file_offset.checked_add(seg.file_size).unwrap();
        assert!(file_end <= file.len() as u64, "{seg:?}");
        let end = seg.vaddr.checked_add(seg.mem_size).unwrap();
        assert!(end <= USER_END, "{seg:?}");
        assert_eq!(seg.end(), end);
        if let Some(prev) = prev_end {
            assert!(prev <= seg.vaddr, "segments out of order or overlapping");
        }
        prev_end = Some(end);
    }
    let first = img.segments.first().unwrap();
    let last = img.segments.last().unwrap();
    assert_eq!(img.lowest_vaddr, first.vaddr / PAGE_SIZE * PAGE_SIZE);
    assert_eq!(
        img.highest_vaddr,
        last.end().div_ceil(PAGE_SIZE) * PAGE_SIZE
    );
    assert!(img.lowest_vaddr < img.highest_vaddr && img.highest_vaddr <= USER_END);
    assert_eq!(img.lowest_vaddr % PAGE_SIZE, 0);
    assert_eq!(img.highest_vaddr % PAGE_SIZE, 0);
    assert_eq!(img.span(), img.highest_vaddr - img.lowest_vaddr);
    if let Some(tls) = &img.tls {
        assert!(tls.file_size <= tls.mem_size);
        assert!(tls.vaddr.checked_add(tls.mem_size).is_some());
    }
    if let Some(interp) = &img.interpreter {
        assert!(!interp.is_empty() && interp.len() < 4096);
        assert!(!interp.contains(&0));
    }
}
