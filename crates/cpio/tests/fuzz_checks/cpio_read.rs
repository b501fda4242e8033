//! Fuzz target `cpio_read`: any bytes as an initramfs. The reader must not panic, overflow or
//! loop: it ends after at most one item per 110-byte header (+1 for the error), every name
//! and content it yields lies inside the archive, names hold no NUL, offsets only grow, an
//! error offset lies inside the archive, the iterator stays fused, and a clean end means the
//! whole archive was consumed.
//! Shared by `tests/hostfuzz.rs` (cargo test) and `fuzz/` (libFuzzer).

use exo_cpio::{entries, HEADER_LEN};

fn inside(archive: &[u8], part: &[u8]) -> bool {
    let (a, p) = (archive.as_ptr() as usize, part.as_ptr() as usize);
    part.is_empty() || (p >= a && p + part.len() <= a + archive.len())
}

pub fn check(archive: &[u8]) {
    let mut it = entries(archive);
    let mut items = 0usize;
    let mut last = 0usize;
    let mut failed = false;
    while let Some(item) = it.next() {
        items += 1;
        assert!(items <= archive.len() / HEADER_LEN + 1, "too many items");
        match item {
            Ok(e) => {
                assert!(inside(archive, e.name) && inside(archive, e.data));
                assert!(!e.name.contains(&0));
                if let Some(n) = e.normalized_name() {
                    assert!(
                        !n.is_empty() && !n.starts_with(b"/") && !n.ends_with(b"/") && n != b"."
                    );
                }
                let _ = (
                    e.file_type(),
                    e.permissions(),
                    e.is_file(),
                    e.is_dir(),
                    e.is_symlink(),
                );
                assert!(it.offset() > last && it.offset() <= archive.len());
                last = it.offset();
            }
            Err(err) => {
                assert!(err.offset() <= archive.len(), "{err:?}");
                failed = true;
            }
        }
    }
    assert!(it.next().is_none(), "not fused");
    if !failed {
        assert_eq!(it.offset(), archive.len());
    }
}
