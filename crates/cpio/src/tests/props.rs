//! Property tests: random archives round-trip; random bytes, mutated and truncated archives
//! never panic and the iteration always ends, within a bound set by the input's length.

use crate::*;
use proptest::prelude::*;
use std::string::String;
use std::vec::Vec;

/// One random entry to write.
#[derive(Clone, Debug)]
enum Item {
    File(String, u32, Vec<u8>),
    Dir(String, u32),
    Symlink(String, String),
    Node(String, u32, u32, u32),
}

fn name() -> impl Strategy<Value = String> {
    "[a-z0-9._/-]{1,24}".prop_filter("not a root-only name", |n| {
        !n.trim_start_matches('/').is_empty()
    })
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        (
            name(),
            0u32..0o10000,
            proptest::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(n, m, d)| Item::File(n, m, d)),
        (name(), 0u32..0o10000).prop_map(|(n, m)| Item::Dir(n, m)),
        (name(), "[ -~]{0,40}").prop_map(|(n, t)| Item::Symlink(n, t)),
        (
            name(),
            prop::sample::select(std::vec![S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK]),
            0u32..0o10000,
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(|(n, t, m, a, b)| Item::Node(n, t | m, a, b)),
    ]
}

fn build(items: &[Item], crc: bool) -> Vec<u8> {
    let mut w = if crc {
        Writer::with_checksums()
    } else {
        Writer::new()
    };
    for it in items {
        match it {
            Item::File(n, m, d) => w.file(n, *m, d),
            Item::Dir(n, m) => w.dir(n, *m),
            Item::Symlink(n, t) => w.symlink(n, t),
            Item::Node(n, m, a, b) => w.node(n, *m, *a, *b),
        }
    }
    w.finish()
}

/// Iterate over `input` to the end; the number of results is bounded because each entry takes
/// at least 111 bytes. Returns (entries, error).
fn drain(input: &[u8]) -> (usize, Option<CpioError>) {
    let bound = input.len() / 111 + 2;
    let mut it = entries(input);
    let mut ok = 0;
    let mut err = None;
    for r in it.by_ref().take(bound + 1) {
        match r {
            Ok(e) => {
                ok += 1;
                assert!(e.data.len() <= input.len() && e.name.len() <= input.len());
            }
            Err(e) => {
                assert!(err.is_none(), "a second error after {err:?}");
                assert!(e.offset() <= input.len(), "{e:?}");
                err = Some(e);
            }
        }
    }
    assert!(
        ok + usize::from(err.is_some()) <= bound,
        "{ok} entries from {} bytes",
        input.len()
    );
    assert!(it.next().is_none(), "the iteration did not end");
    (ok, err)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn round_trip(items in proptest::collection::vec(item(), 0..12), crc in any::<bool>()) {
        let a = build(&items, crc);
        prop_assert_eq!(a.len() % 512, 0);
        let es = crate::tests::all(&a);
        prop_assert_eq!(es.len(), items.len());
        for (e, it) in es.iter().zip(&items) {
            let (n, mode, data, rdev): (&String, u32, &[u8], (u32, u32)) = match it {
                Item::File(n, m, d) => (n, S_IFREG | m, d, (0, 0)),
                Item::Dir(n, m) => (n, S_IFDIR | m, &[], (0, 0)),
                Item::Symlink(n, t) => (n, S_IFLNK | 0o777, t.as_bytes(), (0, 0)),
                Item::Node(n, m, a, b) => (n, *m, &[], (*a, *b)),
            };
            prop_assert_eq!(e.name, n.trim_start_matches('/').as_bytes());
            prop_assert_eq!(e.mode, mode);
            prop_assert_eq!(e.data, data);
            prop_assert_eq!((e.rdev_major, e.rdev_minor), rdev);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        drain(&bytes);
    }

    #[test]
    fn header_like_noise_never_panics(
        fields in proptest::collection::vec("[0-9a-fA-F]{8}|[0-9g ]{8}", 13),
        crc in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut input = if crc { MAGIC_CRC.to_vec() } else { MAGIC_NEWC.to_vec() };
        for f in &fields {
            input.extend_from_slice(f.as_bytes());
        }
        input.extend_from_slice(&tail);
        drain(&input);
    }

    #[test]
    fn mutated_archives_never_panic(
        items in proptest::collection::vec(item(), 1..6),
        crc in any::<bool>(),
        edits in proptest::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(b"0179aAfF\0 g\xff".to_vec())),
            1..8,
        ),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut a = build(&items, crc);
        for (at, byte) in &edits {
            let i = at.index(a.len());
            a[i] = *byte;
        }
        let len = cut.index(a.len() + 1);
        drain(&a[..len]);
        drain(&a);
    }

    #[test]
    fn every_truncation_is_an_error(
        items in proptest::collection::vec(item(), 0..5),
        crc in any::<bool>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let a = build(&items, crc);
        let end = a.windows(11).rposition(|w| w == b"TRAILER!!!\0").unwrap() + 11;
        let len = cut.index(a.len() + 1);
        let (ok, err) = drain(&a[..len]);
        if len < end && len > 0 {
            prop_assert!(err.is_some(), "cut at {len} of {end}: no error, {ok} entries");
            // All entries can be complete only if the cut is in the trailer or the padding before it.
            prop_assert!(ok < items.len() || len + 3 >= end - 121, "cut at {len} of {end}: {ok} entries");
        } else if len >= end {
            prop_assert_eq!((ok, err), (items.len(), None));
        }
    }
}
