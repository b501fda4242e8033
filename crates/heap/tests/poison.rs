//! Debug poisoning (debug builds only): freed objects hold 0xDE after their link word, newly
//! carved ones 0xA5; writes after free and frees with the wrong size class are caught.
#![cfg(debug_assertions)]

mod common;

use common::*;
use exo_heap::{POISON_FREED, POISON_FRESH};

const LINK: usize = std::mem::size_of::<usize>();

/// The `len` bytes at `p + from`.
fn bytes(p: *mut u8, from: usize, len: usize) -> Vec<u8> {
    // SAFETY: every caller reads inside a slab object of at least `from + len` bytes; slab
    // memory stays allocated (by the test page source) and initialized while the heap holds it.
    unsafe { std::slice::from_raw_parts(p.add(from), len).to_vec() }
}

#[test]
fn fresh_objects_are_filled_with_a5() {
    let h = heap();
    // Tier 2 hands a carved object out directly: all of it is fresh poison.
    let p = alloc(&h, 0, layout(512, 8));
    assert!(bytes(p, 0, 512).iter().all(|&b| b == POISON_FRESH));
    // Tier 1 objects went through a refill batch: the link word was used, the rest is fresh.
    let q = alloc(&h, 0, layout(64, 8));
    assert!(bytes(q, LINK, 64 - LINK).iter().all(|&b| b == POISON_FRESH));
    free(&h, 0, p, layout(512, 8));
    free(&h, 0, q, layout(64, 8));
}

#[test]
fn freed_objects_are_filled_with_de_except_the_link() {
    let h = heap();
    for size in [16, 128, 256, 1024, 4096] {
        let l = layout(size, 8);
        let p = alloc(&h, 1, l);
        // SAFETY: a live block of `size` bytes.
        unsafe { p.write_bytes(0x11, size) };
        free(&h, 1, p, l);
        assert!(
            bytes(p, LINK, size - LINK)
                .iter()
                .all(|&b| b == POISON_FREED),
            "{size}: freed object not poisoned"
        );
        // Handed out again (LIFO), the poison is still there: no stale user data leaks.
        assert_eq!(alloc(&h, 1, l), p);
        assert!(bytes(p, LINK, size - LINK)
            .iter()
            .all(|&b| b == POISON_FREED));
        free(&h, 1, p, l);
    }
}

#[test]
#[should_panic(expected = "written after free")]
fn a_write_after_free_is_detected_on_reuse() {
    let h = heap();
    let l = layout(32, 8);
    let p = alloc(&h, 0, l);
    free(&h, 0, p, l);
    // SAFETY: deliberately writes into a freed object; the memory itself is still allocated
    // (the heap holds it), so this is a logic error for the heap to catch, not UB.
    unsafe { p.add(20).write(0) };
    let _ = h.alloc_on(0, l);
}

#[test]
#[should_panic(expected = "written after free")]
fn a_write_after_free_is_detected_in_a_slab() {
    let h = heap();
    let l = layout(2048, 8);
    let p = alloc(&h, 0, l);
    let _keep = alloc(&h, 0, l);
    free(&h, 0, p, l);
    // SAFETY: as above.
    unsafe { p.add(2000).write(1) };
    let _ = h.alloc_on(0, l);
}

#[test]
#[should_panic(expected = "another size class")]
fn a_free_with_the_wrong_class_is_detected() {
    let h = heap();
    let p = alloc(&h, 0, layout(64, 8));
    free(&h, 0, p, layout(128, 8));
}
