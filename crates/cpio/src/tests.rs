//! Unit tests: writer → reader round trips, names, concatenated archives. Malformed input is in
//! `tests/errors.rs`, archives of GNU cpio in `tests/gnu.rs`, property tests in `tests/props.rs`.

mod errors;
mod gnu;
mod props;

use crate::*;
use std::vec::Vec;

/// Every entry of `archive`, panicking on the first error.
pub(crate) fn all(archive: &[u8]) -> Vec<Entry<'_>> {
    entries(archive)
        .collect::<Result<Vec<_>, _>>()
        .expect("a valid archive")
}

/// A small archive with every kind of entry.
pub(crate) fn sample(w: &mut Writer) {
    w.dir("/bin", 0o755);
    w.file("/bin/hello", 0o755, b"\x7fELF...");
    w.file("empty", 0o644, b"");
    w.dir("tmp", 0o1777);
    w.symlink("/sbin/init", "/init");
    w.node("dev/console", S_IFCHR | 0o600, 5, 1);
    w.node("dev/fifo", S_IFIFO | 0o644, 0, 0);
}

fn check_sample(es: &[Entry<'_>]) {
    let names: Vec<&[u8]> = es.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            &b"bin"[..],
            b"bin/hello",
            b"empty",
            b"tmp",
            b"sbin/init",
            b"dev/console",
            b"dev/fifo"
        ]
    );
    let [bin, hello, empty, tmp, init, console, fifo] = es else {
        panic!("7 entries expected, got {}", es.len());
    };
    assert!(bin.is_dir() && bin.permissions() == 0o755 && bin.nlink == 2);
    assert!(bin.data.is_empty());
    assert!(hello.is_file() && hello.mode == S_IFREG | 0o755);
    assert_eq!(hello.data, b"\x7fELF...");
    assert!(empty.is_file() && empty.data.is_empty() && empty.permissions() == 0o644);
    assert_eq!(tmp.mode, S_IFDIR | 0o1777);
    assert!(init.is_symlink() && init.mode == S_IFLNK | 0o777);
    assert_eq!(init.data, b"/init");
    assert_eq!(console.file_type(), S_IFCHR);
    assert_eq!((console.rdev_major, console.rdev_minor), (5, 1));
    assert_eq!(console.permissions(), 0o600);
    assert_eq!(fifo.mode, S_IFIFO | 0o644);
    for (i, e) in es.iter().enumerate() {
        assert_eq!(e.ino, i as u32 + 1, "{:?}", e.name);
        assert_eq!((e.uid, e.gid, e.mtime), (0, 0, 0));
        assert_eq!((e.dev_major, e.dev_minor), (0, 0));
        if !e.is_dir() {
            assert_eq!(e.nlink, 1);
        }
        if e.file_type() != S_IFCHR {
            assert_eq!((e.rdev_major, e.rdev_minor), (0, 0));
        }
    }
}

#[test]
fn round_trip_every_kind() {
    let mut w = Writer::new();
    sample(&mut w);
    let a = w.finish();
    assert_eq!(&a[..6], MAGIC_NEWC);
    assert_eq!(a.len() % 512, 0);
    check_sample(&all(&a));
    let mut it = entries(&a);
    assert_eq!(it.by_ref().count(), 7);
    assert_eq!(
        it.offset(),
        a.len(),
        "the padding after the trailer is consumed"
    );
}

#[test]
fn round_trip_with_checksums() {
    let mut w = Writer::with_checksums();
    sample(&mut w);
    let a = w.finish();
    assert_eq!(&a[..6], MAGIC_CRC);
    check_sample(&all(&a));
}

#[test]
fn padding_for_every_name_and_data_length() {
    let mut w = Writer::new();
    let names = ["a", "ab", "abc", "abcd", "abcde"];
    for (i, n) in names.iter().enumerate() {
        for len in 0..6 {
            let data: Vec<u8> = (0..len).map(|b| b as u8 + 1).collect();
            w.file(&std::format!("{n}{i}{len}"), 0o600, &data);
        }
    }
    let a = w.finish();
    let es = all(&a);
    assert_eq!(es.len(), names.len() * 6);
    for (k, e) in es.iter().enumerate() {
        let len = k % 6;
        assert_eq!(e.data.len(), len);
        assert!(e.data.iter().enumerate().all(|(j, &b)| b == j as u8 + 1));
    }
}

#[test]
fn output_is_reproducible() {
    let build = || {
        let mut w = Writer::new();
        sample(&mut w);
        w.finish()
    };
    assert_eq!(build(), build());
    let empty = Writer::new().finish();
    assert_eq!(empty.len(), 512);
    assert!(all(&empty).is_empty());
}

#[test]
fn header_text_is_newc() {
    let mut w = Writer::new();
    w.file("x", 0o644, b"hi");
    let a = w.finish();
    let head = core::str::from_utf8(&a[..HEADER_LEN]).unwrap();
    let fields = [
        "070701", "00000001", "000081A4", "00000000", "00000000", "00000001", "00000000",
        "00000002", "00000000", "00000000", "00000000", "00000000", "00000002", "00000000",
    ];
    // magic, ino 1, mode 0100644, uid, gid, nlink 1, mtime, size 2, dev, rdev, namesize 2, check
    assert_eq!(head, fields.concat());
    // 110 + 2 name bytes are a multiple of 4: no padding before the data.
    assert_eq!(&a[HEADER_LEN..HEADER_LEN + 2], b"x\0");
    assert_eq!(&a[HEADER_LEN + 2..HEADER_LEN + 6], b"hi\0\0");
    assert_eq!(&a[HEADER_LEN + 6..HEADER_LEN + 12], MAGIC_NEWC);
}

#[test]
fn normalized_names() {
    let e = |name: &'static [u8]| Entry {
        name,
        ino: 1,
        mode: S_IFREG,
        uid: 0,
        gid: 0,
        nlink: 1,
        mtime: 0,
        dev_major: 0,
        dev_minor: 0,
        rdev_major: 0,
        rdev_minor: 0,
        data: &[],
    };
    let n = |name: &'static [u8]| e(name).normalized_name();
    assert_eq!(n(b"."), None);
    assert_eq!(n(b"./"), None);
    assert_eq!(n(b"/"), None);
    assert_eq!(n(b""), None);
    assert_eq!(n(b"./."), None);
    assert_eq!(n(b"./bin/sh"), Some(&b"bin/sh"[..]));
    assert_eq!(n(b"/init"), Some(&b"init"[..]));
    assert_eq!(n(b"//etc/"), Some(&b"etc"[..]));
    assert_eq!(n(b"bin/tests"), Some(&b"bin/tests"[..]));
    assert_eq!(n(b"..x"), Some(&b"..x"[..]));
    assert_eq!(e(b"./bin").name, b"./bin", "the raw name is kept");
}

fn two_archives() -> (Vec<u8>, Vec<u8>) {
    let mut a = Writer::new();
    a.dir("bin", 0o755);
    a.file("bin/a", 0o755, b"first");
    let mut b = Writer::with_checksums();
    b.file("bin/b", 0o755, b"second!");
    b.symlink("bin/c", "b");
    (a.finish(), b.finish())
}

fn names(archive: &[u8]) -> Vec<Vec<u8>> {
    all(archive).iter().map(|e| e.name.to_vec()).collect()
}

#[test]
fn concatenated_archives() {
    let (a, b) = two_archives();
    let expect: Vec<Vec<u8>> = [&b"bin"[..], b"bin/a", b"bin/b", b"bin/c"]
        .iter()
        .map(|n| n.to_vec())
        .collect();
    // Block-padded, with extra NULs between, and with only 4-byte padding.
    assert_eq!(names(&[a.clone(), b.clone()].concat()), expect);
    assert_eq!(
        names(&[a.clone(), std::vec![0; 4096], b.clone(), std::vec![0; 8]].concat()),
        expect
    );
    let used = a.windows(11).rposition(|x| x == b"TRAILER!!!\0").unwrap() + 11;
    let tight = &a[..align4(used).unwrap()];
    assert!(tight.len() < a.len());
    assert_eq!(names(&[tight, &b[..]].concat()), expect);
    // NULs before the first archive are skipped too.
    assert_eq!(names(&[std::vec![0; 12], a.clone()].concat()), expect[..2]);
    let both = [a, b].concat();
    let es = all(&both);
    assert_eq!(es[3].data, b"b");
    assert_eq!(es[2].ino, 1, "the second archive numbers its own inodes");
}

#[test]
fn empty_and_zero_inputs_hold_no_entry() {
    assert_eq!(entries(&[]).count(), 0);
    assert_eq!(entries(&[0; 1000]).count(), 0);
}

#[test]
fn trailer_padding_may_be_missing_at_the_end() {
    let mut w = Writer::new();
    w.file("f", 0o644, b"x");
    let a = w.finish();
    let end = a.windows(11).rposition(|x| x == b"TRAILER!!!\0").unwrap() + 11;
    assert_ne!(end % 4, 0, "the test needs an unpadded trailer end");
    assert_eq!(names(&a[..end]), [b"f".to_vec()]);
}

#[test]
fn errors_display_their_offset() {
    let e = CpioError::BadChecksum {
        offset: 124,
        expected: 1,
        actual: 2,
    };
    assert_eq!(e.offset(), 124);
    let s = std::format!("{e}");
    assert!(
        s.contains("124") && s.contains("0x1") && s.contains("0x2"),
        "{s}"
    );
    assert!(std::format!("{}", CpioError::Truncated { offset: 8 }).contains("truncated"));
}
