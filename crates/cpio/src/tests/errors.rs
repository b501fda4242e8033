//! Malformed archives: each error kind, where it is reported, and that the iterator stops.

use crate::tests::all;
use crate::*;
use std::format;
use std::vec::Vec;

const MODE: usize = 1;
const FILESIZE: usize = 6;
const NAMESIZE: usize = 11;
const CHECK: usize = 12;

/// One hand-made entry: the header (`fields` in header order), the name field as given (its
/// NUL included or not) and the data, each padded to 4 bytes.
fn raw(magic: &[u8; 6], fields: [u32; 13], name_field: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = magic.to_vec();
    for f in fields {
        v.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    v.extend_from_slice(name_field);
    v.resize(v.len().next_multiple_of(4), 0);
    v.extend_from_slice(data);
    v.resize(v.len().next_multiple_of(4), 0);
    v
}

/// Header fields of a regular file with `data` and the NUL-terminated name of `name_len` bytes.
fn file_fields(name_len: usize, data: &[u8]) -> [u32; 13] {
    let mut f = [0u32; 13];
    f[MODE] = S_IFREG | 0o644;
    f[FILESIZE] = data.len() as u32;
    f[NAMESIZE] = name_len as u32 + 1;
    f
}

fn trailer() -> Vec<u8> {
    raw(MAGIC_NEWC, file_fields(10, &[]), b"TRAILER!!!\0", &[])
}

/// The results up to and including the first error; asserts the iterator stays fused.
fn run(archive: &[u8]) -> (usize, Option<CpioError>) {
    let mut it = entries(archive);
    let mut ok = 0;
    for r in it.by_ref() {
        match r {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(it.next().is_none(), "fused after {e:?}");
                return (ok, Some(e));
            }
        }
    }
    (ok, None)
}

fn first_error(archive: &[u8]) -> CpioError {
    run(archive).1.expect("an error")
}

#[test]
fn hand_made_archive_is_valid() {
    let a = [
        raw(MAGIC_NEWC, file_fields(1, b"abc"), b"f\0", b"abc"),
        trailer(),
    ]
    .concat();
    let es = all(&a);
    assert_eq!(es.len(), 1);
    assert_eq!((es[0].name, es[0].data), (&b"f"[..], &b"abc"[..]));
}

#[test]
fn bad_magic() {
    let mut odc = raw(MAGIC_NEWC, file_fields(1, b""), b"f\0", b"");
    odc[5] = b'7'; // 070707: the old portable format
    assert_eq!(first_error(&odc), CpioError::BadMagic { offset: 0 });
    assert_eq!(first_error(b"1"), CpioError::BadMagic { offset: 0 });
    assert_eq!(
        first_error(b"hello world"),
        CpioError::BadMagic { offset: 0 }
    );
    // An ordinary entry must be followed by a header at once.
    let mut w = Writer::new();
    w.file("f", 0o644, b"data");
    let a = w.finish();
    let end = HEADER_LEN + 2 + 4; // header, "f\0", "data"
    let mut bad = a[..end].to_vec();
    bad.extend_from_slice(&[0; 4]);
    bad.extend_from_slice(MAGIC_NEWC);
    assert_eq!(first_error(&bad), CpioError::BadMagic { offset: end });
    // Garbage after a trailer, aligned or not.
    let mut g = a.clone();
    g.extend_from_slice(b"GARBAGE!");
    assert_eq!(run(&g), (1, Some(CpioError::BadMagic { offset: a.len() })));
    let mut u = a.clone();
    u.push(0);
    u.extend_from_slice(&a[..200]);
    assert_eq!(
        run(&u),
        (
            1,
            Some(CpioError::BadMagic {
                offset: a.len() + 1
            })
        )
    );
}

#[test]
fn bad_hex() {
    let good = raw(MAGIC_NEWC, file_fields(1, b""), b"f\0", b"");
    for (at, c) in [
        (6, b'g'),
        (14 + 7, b' '),
        (54, b'x'),
        (94 + 3, b'-'),
        (102, 0),
    ] {
        let mut a = [good.clone(), trailer()].concat();
        a[at] = c;
        let field = 6 + (at - 6) / 8 * 8;
        assert_eq!(
            first_error(&a),
            CpioError::BadHex { offset: field },
            "byte {at}"
        );
    }
    // Both cases of hex digits are accepted.
    let mut a = [good, trailer()].concat();
    a[6..14].copy_from_slice(b"00ABcdEf");
    assert_eq!(all(&a)[0].ino, 0xabcdef);
}

#[test]
fn truncated() {
    let mut w = Writer::new();
    w.dir("d", 0o755);
    w.file("d/file-with-a-name", 0o644, b"0123456789");
    let a = w.finish();
    let second = 112;
    let t = |len: usize| first_error(&a[..len]);
    assert_eq!(t(4), CpioError::Truncated { offset: 0 }, "inside the magic");
    assert_eq!(
        t(60),
        CpioError::Truncated { offset: 0 },
        "inside the header"
    );
    assert_eq!(
        t(111),
        CpioError::Truncated { offset: 0 },
        "inside the name"
    );
    assert_eq!(
        t(second),
        CpioError::Truncated { offset: second },
        "no next header"
    );
    assert_eq!(
        t(second + 120),
        CpioError::Truncated { offset: second },
        "in the name"
    );
    assert_eq!(
        t(second + 135),
        CpioError::Truncated { offset: second },
        "in the data"
    );
    let after = second + 144; // header, 19-byte name padded to 22, 10 bytes of data padded

    assert_eq!(&a[after..after + 6], MAGIC_NEWC);
    assert_eq!(
        run(&a[..after]),
        (2, Some(CpioError::Truncated { offset: after }))
    );
    assert_eq!(
        t(after + 50),
        CpioError::Truncated { offset: after },
        "in the trailer"
    );
    // Sizes far beyond the input.
    let mut f = file_fields(1, b"");
    f[FILESIZE] = u32::MAX;
    let huge = [raw(MAGIC_NEWC, f, b"f\0", b""), trailer()].concat();
    assert_eq!(first_error(&huge), CpioError::Truncated { offset: 0 });
    let mut f = file_fields(1, b"");
    f[NAMESIZE] = u32::MAX;
    let huge = [raw(MAGIC_NEWC, f, b"f\0", b""), trailer()].concat();
    assert_eq!(first_error(&huge), CpioError::Truncated { offset: 0 });
}

#[test]
fn name_not_terminated() {
    // The name size leaves out the NUL, so the last byte of the name is 'e'.
    let mut f = file_fields(4, b"");
    f[NAMESIZE] = 4;
    let a = [raw(MAGIC_NEWC, f, b"name", b""), trailer()].concat();
    assert_eq!(first_error(&a), CpioError::NameNotTerminated { offset: 0 });
    let mut f = file_fields(0, b"");
    f[NAMESIZE] = 0;
    let a = [raw(MAGIC_NEWC, f, b"", b""), trailer()].concat();
    assert_eq!(first_error(&a), CpioError::NameNotTerminated { offset: 0 });
    // A NUL inside the name ends the name, as it does for C.
    let a = [
        raw(MAGIC_NEWC, file_fields(3, b""), b"a\0b\0", b""),
        trailer(),
    ]
    .concat();
    assert_eq!(all(&a)[0].name, b"a");
}

#[test]
fn bad_checksum() {
    let mut w = Writer::with_checksums();
    w.file("a", 0o644, b"ok");
    w.file("b", 0o644, &[0xff; 300]);
    let a = w.finish();
    assert_eq!(all(&a).len(), 2);
    let second = a[1..].windows(6).position(|x| x == MAGIC_CRC).unwrap() + 1;
    let mut bad = a.clone();
    bad[second + HEADER_LEN + 4 + 17] = 0xfe;
    assert_eq!(
        run(&bad),
        (
            1,
            Some(CpioError::BadChecksum {
                offset: second,
                expected: 300 * 0xff,
                actual: 300 * 0xff - 1
            })
        )
    );
    // The same fields in a 070701 header are not checked.
    let mut f = file_fields(1, b"x");
    f[CHECK] = 12345;
    let plain = [raw(MAGIC_NEWC, f, b"f\0", b"x"), trailer()].concat();
    assert_eq!(all(&plain)[0].data, b"x");
    let crc = [raw(MAGIC_CRC, f, b"f\0", b"x"), trailer()].concat();
    assert_eq!(
        first_error(&crc),
        CpioError::BadChecksum {
            offset: 0,
            expected: 12345,
            actual: u32::from(b'x')
        }
    );
    // Only regular files are checked (GNU cpio writes 0 for symbolic links).
    f[MODE] = S_IFLNK | 0o777;
    let link = [raw(MAGIC_CRC, f, b"f\0", b"x"), trailer()].concat();
    assert_eq!(all(&link)[0].data, b"x");
}

#[test]
fn error_after_valid_entries_keeps_them() {
    let mut w = Writer::new();
    w.file("a", 0o644, b"1");
    w.file("b", 0o644, b"2");
    let mut a = w.finish();
    let third = a[1..].windows(6).position(|x| x == MAGIC_NEWC).unwrap() + 1;
    let third = a[third + 1..]
        .windows(6)
        .position(|x| x == MAGIC_NEWC)
        .unwrap()
        + third
        + 1;
    a[third] = b'X'; // the trailer's magic
    assert_eq!(run(&a), (2, Some(CpioError::BadMagic { offset: third })));
}
