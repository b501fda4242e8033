//! Tests of the symbol table: round trips through `build` and `Table`, property tests against a
//! linear-scan model, and corrupt or truncated blobs.

use super::*;
use proptest::prelude::*;
use std::{string::String, vec::Vec};

fn sample() -> Vec<u8> {
    build(&[
        (0x2000, 0x100, "kmain"),
        (0x1000, 0x80, "_start"),
        (0x3000, 0, "unsized"),
        (0x4000, 0x10, "after_unsized"),
        (0x2000, 0x999, "duplicate_of_kmain"),
        (0x5000, 0x20, "é_unicode"),
    ])
}

#[test]
fn round_trip_sample() {
    let blob = sample();
    let t = Table::parse(&blob).expect("valid");
    assert_eq!(t.len(), 5);
    assert!(!t.is_empty());
    let names: Vec<&str> = t.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        ["_start", "kmain", "unsized", "after_unsized", "é_unicode"]
    );
    assert_eq!(
        t.get(1),
        Some(Symbol {
            addr: 0x2000,
            size: 0x100,
            name: "kmain"
        })
    );
    assert_eq!(t.get(5), None);

    assert_eq!(t.lookup(0xfff), None); // below the first symbol
    assert_eq!(t.lookup(0x1000), Some(("_start", 0)));
    assert_eq!(t.lookup(0x107f), Some(("_start", 0x7f)));
    assert_eq!(t.lookup(0x1080), None); // gap after a sized symbol
    assert_eq!(t.lookup(0x20ff), Some(("kmain", 0xff)));
    assert_eq!(t.lookup(0x2100), None);
    assert_eq!(t.lookup(0x3000), Some(("unsized", 0)));
    assert_eq!(t.lookup(0x3fff), Some(("unsized", 0xfff)));
    assert_eq!(t.lookup(0x4005), Some(("after_unsized", 5)));
    assert_eq!(t.lookup(0x5010), Some(("é_unicode", 0x10)));
    assert_eq!(t.lookup(u64::MAX), None);
}

#[test]
fn trailing_padding_is_accepted() {
    let mut blob = sample();
    blob.resize(blob.len() + 4096, 0);
    let t = Table::parse(&blob).expect("padded");
    assert_eq!(t.lookup(0x2010), Some(("kmain", 0x10)));
    assert_eq!(t.len(), 5);
}

#[test]
fn empty_tables() {
    let blob = build(&[]);
    assert_eq!(blob.len(), HEADER_LEN);
    let t = Table::parse(&blob).expect("empty table");
    assert!(t.is_empty());
    assert_eq!(t.lookup(0), None);
    assert_eq!(t.iter().count(), 0);
    // An all-zero section (xtask did not patch it) is not a table.
    assert!(Table::parse(&[0u8; 4096]).is_none());
}

#[test]
fn last_unsized_symbol_extends_to_the_end() {
    let blob = build(&[(0x10, 0, "tail")]);
    let t = Table::parse(&blob).expect("valid");
    assert_eq!(t.lookup(u64::MAX), Some(("tail", u64::MAX - 0x10)));
}

#[test]
fn long_names_are_truncated_on_char_boundaries() {
    let ascii = "a".repeat(300);
    let multi = "é".repeat(200); // 400 bytes, 2 per char
    let blob = build(&[(1, 1, &ascii), (2, 1, &multi)]);
    let t = Table::parse(&blob).expect("valid");
    assert_eq!(t.lookup(1).map(|(n, _)| n.len()), Some(255));
    let (name, _) = t.lookup(2).expect("found");
    assert_eq!(name.len(), 254);
    assert!(multi.starts_with(name));
}

#[test]
fn huge_sizes_are_clamped() {
    let blob = build(&[(0, u64::MAX, "everything")]);
    let t = Table::parse(&blob).expect("valid");
    assert_eq!(t.get(0).map(|s| s.size), Some(u64::from(u32::MAX)));
    assert_eq!(
        t.lookup(u64::from(u32::MAX) - 1),
        Some(("everything", u64::from(u32::MAX) - 1))
    );
    assert_eq!(t.lookup(u64::from(u32::MAX)), None);
}

fn header(count: u32, strtab_len: u32) -> Vec<u8> {
    let mut b = MAGIC.to_vec();
    b.extend_from_slice(&count.to_le_bytes());
    b.extend_from_slice(&strtab_len.to_le_bytes());
    b
}

fn entry(addr: u64, size: u32, name_off: u32) -> Vec<u8> {
    let mut b = addr.to_le_bytes().to_vec();
    b.extend_from_slice(&size.to_le_bytes());
    b.extend_from_slice(&name_off.to_le_bytes());
    b
}

#[test]
fn invalid_headers_are_rejected() {
    assert!(Table::parse(&[]).is_none());
    assert!(Table::parse(b"EXOKSYM1").is_none());
    let mut bad = sample();
    bad[7] = b'2';
    assert!(Table::parse(&bad).is_none());
    // Counts or strtab lengths running past the input.
    assert!(Table::parse(&header(1, 0)).is_none());
    assert!(Table::parse(&header(u32::MAX, u32::MAX)).is_none());
    assert!(Table::parse(&header(0, 1)).is_none());
    // Unsorted entries.
    let mut b = header(2, 0);
    b.extend(entry(0x20, 0, 0));
    b.extend(entry(0x10, 0, 0));
    assert!(Table::parse(&b).is_none());
}

#[test]
fn corrupt_names_only_affect_their_entry() {
    let mut b = header(4, 7);
    b.extend(entry(0x10, 0x10, 0)); // valid: "ok"
    b.extend(entry(0x20, 0x10, 1000)); // offset out of range
    b.extend(entry(0x30, 0x10, 4)); // length runs past the strtab
    b.extend(entry(0x40, 0x10, 0)); // valid again
    b.extend_from_slice(&[2, 0, b'o', b'k', 9, 0, b'x']);
    let t = Table::parse(&b).expect("structure valid");
    assert_eq!(t.len(), 4);
    assert_eq!(t.lookup(0x15), Some(("ok", 5)));
    assert_eq!(t.lookup(0x25), None);
    assert_eq!(t.lookup(0x35), None);
    assert_eq!(t.lookup(0x45), Some(("ok", 5)));
    assert_eq!(t.iter().map(|s| s.addr).collect::<Vec<_>>(), [0x10, 0x40]);

    // Invalid UTF-8 name.
    let mut b = header(1, 3);
    b.extend(entry(0x10, 0, 0));
    b.extend_from_slice(&[1, 0, 0xFF]);
    assert_eq!(
        Table::parse(&b).expect("valid structure").lookup(0x10),
        None
    );
}

/// Reference: linear scan over the deduplicated, sorted symbols.
fn model_lookup(syms: &[(u64, u64, String)], addr: u64) -> Option<(String, u64)> {
    let mut sorted: Vec<&(u64, u64, String)> = syms.iter().collect();
    sorted.sort_by_key(|s| s.0);
    sorted.dedup_by_key(|s| s.0);
    let s = sorted.iter().rev().find(|s| s.0 <= addr)?;
    let off = addr - s.0;
    if s.1 > 0 && off >= s.1 {
        return None;
    }
    Some((s.2.clone(), off))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_random(syms in proptest::collection::vec((0u64..0x1_0000, 0u64..0x200, "[a-zA-Z_:0-9]{0,20}"), 0..60),
                         probes in proptest::collection::vec(0u64..0x1_1000, 0..40),
                         padding in 0usize..64) {
        let input: Vec<(u64, u64, &str)> = syms.iter().map(|(a, s, n)| (*a, *s, n.as_str())).collect();
        let mut blob = build(&input);
        blob.resize(blob.len() + padding, 0);
        let t = Table::parse(&blob).expect("built blobs parse");

        // Every symbol at its start, middle and one past its end.
        for (addr, size, _) in &syms {
            for probe in [*addr, addr + size / 2, addr + size] {
                let got = t.lookup(probe).map(|(n, o)| (String::from(n), o));
                prop_assert_eq!(got, model_lookup(&syms, probe), "probe {:#x}", probe);
            }
        }
        for probe in probes {
            let got = t.lookup(probe).map(|(n, o)| (String::from(n), o));
            prop_assert_eq!(got, model_lookup(&syms, probe), "probe {:#x}", probe);
        }
        let addrs: Vec<u64> = t.iter().map(|s| s.addr).collect();
        prop_assert!(addrs.windows(2).all(|w| w[0] < w[1]));
        let mut uniq: Vec<u64> = syms.iter().map(|s| s.0).collect();
        uniq.sort();
        uniq.dedup();
        prop_assert_eq!(addrs, uniq);
    }

    #[test]
    fn random_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..600),
                                with_magic in any::<bool>(),
                                probes in proptest::collection::vec(any::<u64>(), 0..20)) {
        if with_magic && bytes.len() >= 16 {
            bytes[..8].copy_from_slice(&MAGIC);
            // Keep counts small enough to fit sometimes.
            bytes[8] %= 40;
            bytes[9..12].fill(0);
            bytes[12] %= 200;
            bytes[13..16].fill(0);
        }
        if let Some(t) = Table::parse(&bytes) {
            for p in probes {
                if let Some((name, off)) = t.lookup(p) {
                    prop_assert!(off <= p);
                    prop_assert!(name.len() <= u16::MAX as usize);
                }
            }
            prop_assert!(t.iter().count() <= t.len());
        }
    }

    #[test]
    fn truncated_or_corrupted_blobs_never_panic(cut in 0usize..2000, pos in 0usize..2000, val in any::<u8>(), probe in 0u64..0x4000) {
        let syms: Vec<(u64, u64, String)> = (0..50u64).map(|i| (i * 0x100, i % 3 * 0x40, std::format!("sym{i}"))).collect();
        let input: Vec<(u64, u64, &str)> = syms.iter().map(|(a, s, n)| (*a, *s, n.as_str())).collect();
        let blob = build(&input);
        let cut_at = cut.min(blob.len());
        // Any truncation that removes part of the strtab or entries is detected.
        prop_assert_eq!(Table::parse(&blob[..cut_at]).is_some(), cut_at == blob.len());
        let mut corrupt = blob.clone();
        let i = pos % corrupt.len();
        corrupt[i] = val;
        if let Some(t) = Table::parse(&corrupt) {
            let _ = t.lookup(probe);
            let _ = t.iter().count();
        }
    }
}
