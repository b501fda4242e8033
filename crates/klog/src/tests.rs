//! Unit and property tests of the ring and the formats.

use std::vec::Vec;
use std::string::String;

use proptest::prelude::*;

use super::*;

fn read_all<const N: usize>(ring: &Ring<N>) -> Vec<(Header, Vec<u8>)> {
    let mut cursor = ring.first();
    let mut out = Vec::new();
    let mut text = [0u8; TEXT_MAX];
    while let Some(h) = ring.read(&mut cursor, &mut text).unwrap() {
        out.push((h, text[..usize::from(h.len)].to_vec()));
    }
    out
}

#[test]
fn records_keep_order_fields_and_strip_one_newline() {
    let mut ring = Ring::<4096>::new();
    assert_eq!(ring.push(1000, LOG_KERN, 6, b"hello\n"), 0);
    assert_eq!(ring.push_with(2_500_000, LOG_USER, 3, |w| {
        let _ = write!(w, "x={}", 42);
    }), 1);
    let all = read_all(&ring);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].0, Header { seq: 0, ts_ns: 1000, facility: 0, level: 6, len: 5 });
    assert_eq!(all[0].1, b"hello");
    assert_eq!(all[1].0.prio(), 11);
    assert_eq!(all[1].1, b"x=42");
}

#[test]
fn oldest_records_are_dropped_and_cursors_notice() {
    let mut ring = Ring::<2048>::new();
    let mut early = ring.first();
    for i in 0..100u64 {
        ring.push(i, 0, 6, std::format!("message number {i}").as_bytes());
    }
    assert!(ring.first_seq() > 0);
    assert_eq!(ring.next_seq(), 100);
    let mut text = [0u8; 64];
    assert_eq!(ring.read(&mut early, &mut text), Err(Overwritten));
    let all = read_all(&ring);
    assert_eq!(all.first().unwrap().0.seq, ring.first_seq());
    assert_eq!(all.last().unwrap().1, b"message number 99");
    for w in all.windows(2) {
        assert_eq!(w[0].0.seq + 1, w[1].0.seq);
    }
}

#[test]
fn long_texts_are_cut() {
    let mut ring = Ring::<4096>::new();
    ring.push(0, 0, 4, &[b'a'; 3000]);
    let all = read_all(&ring);
    assert_eq!(all[0].1.len(), TEXT_MAX);
}

#[test]
fn clear_keeps_sequence_numbers() {
    let mut ring = Ring::<4096>::new();
    ring.push(0, 0, 4, b"a");
    ring.clear();
    assert!(read_all(&ring).is_empty());
    assert_eq!(ring.push(0, 0, 4, b"b"), 1);
    assert_eq!(read_all(&ring)[0].0.seq, 1);
}

#[test]
fn kmsg_format_and_escapes() {
    let h = Header { seq: 7, ts_ns: 1_234_567_000, facility: 0, level: 6, len: 0 };
    let mut out = [0u8; 64];
    let n = format_kmsg(&h, b"a\tb\\c\x7f", &mut out).unwrap();
    assert_eq!(&out[..n], b"6,7,1234567,-;a\\x09b\\x5cc\\x7f\n");
    let mut small = [0u8; 10];
    assert_eq!(format_kmsg(&h, b"hello", &mut small), None);
}

#[test]
fn syslog_format_prefixes_every_line() {
    let h = Header { seq: 0, ts_ns: 3_000_123_000, facility: 1, level: 5, len: 0 };
    let mut out = [0u8; 128];
    let n = format_syslog(&h, b"one\ntwo", true, &mut out).unwrap();
    let s = String::from_utf8(out[..n].to_vec()).unwrap();
    assert_eq!(s, "<13>[    3.000123] one\n<13>[    3.000123] two\n");
    assert_eq!(syslog_len(&h, b"one\ntwo", true), n);
    assert_eq!(syslog_len(&h, b"x", false), "[    3.000123] x\n".len());
    assert_eq!(format_syslog(&h, b"one", true, &mut out[..5]), None);
}

#[test]
fn prefixes_parse_like_linux() {
    assert_eq!(parse_prefix(b"<3>hi"), Some((None, 3, 3)));
    assert_eq!(parse_prefix(b"<14>hi"), Some((Some(1), 6, 4)));
    assert_eq!(parse_prefix(b"<>x"), Some((None, 0, 2)));
    assert_eq!(parse_prefix(b"<3x"), None);
    assert_eq!(parse_prefix(b"3>"), None);
    assert_eq!(parse_prefix(b"<99999999999999999999999>"), Some((Some((99999999999999999999999u128 as u64 >> 3) as u8), (99999999999999999999999u128 as u64 & 7) as u8, 25)));
}

proptest! {
    #[test]
    fn ring_keeps_a_suffix_of_what_was_pushed(lens in proptest::collection::vec(0usize..1200, 1..200)) {
        let mut ring = Ring::<4096>::new();
        for (i, &len) in lens.iter().enumerate() {
            let text: Vec<u8> = (0..len).map(|j| b'a' + ((i + j) % 26) as u8).collect();
            ring.push(i as u64, 0, 6, &text);
        }
        let all = read_all(&ring);
        prop_assert!(!all.is_empty());
        prop_assert_eq!(all.last().unwrap().0.seq, lens.len() as u64 - 1);
        for (h, text) in &all {
            let i = h.seq as usize;
            let want: Vec<u8> = (0..lens[i].min(TEXT_MAX)).map(|j| b'a' + ((i + j) % 26) as u8).collect();
            prop_assert_eq!(text, &want);
            prop_assert_eq!(h.ts_ns, i as u64);
        }
        let used: usize = all.iter().map(|(h, _)| HEADER + usize::from(h.len)).sum();
        prop_assert!(used <= 4096);
    }
}
