//! Interoperability with GNU cpio: two archives it wrote (`testdata/gnu-*.cpio`, made with
//! `cpio -o -H newc|crc --owner=0:0` from a tree whose times were all set to 1704164645), and,
//! when `cpio` is installed, archives it writes now and extracts from our writer.

use crate::tests::all;
use crate::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::string::String;
use std::vec::Vec;
use std::{eprintln, format, fs, vec};

const GNU_NEWC: &[u8] = include_bytes!("../../testdata/gnu-newc.cpio");
const GNU_CRC: &[u8] = include_bytes!("../../testdata/gnu-crc.cpio");
const MTIME: u32 = 1_704_164_645;

/// (name, mode, contents) of the fixtures, in archive order.
const FIXTURE: &[(&str, u32, &[u8])] = &[
    (".", S_IFDIR | 0o755, b""),
    ("etc", S_IFDIR | 0o755, b""),
    ("etc/hostname", S_IFREG | 0o644, b"exo\n"),
    ("bin", S_IFDIR | 0o755, b""),
    ("bin/hello.txt", S_IFREG | 0o600, b"hello, cpio\n"),
    ("bin/link", S_IFLNK | 0o777, b"../etc/hostname"),
    ("empty", S_IFREG | 0o644, b""),
];

fn check_fixture(archive: &[u8]) {
    let es = all(archive);
    assert_eq!(es.len(), FIXTURE.len());
    for (e, &(name, mode, data)) in es.iter().zip(FIXTURE) {
        assert_eq!(e.name, name.as_bytes());
        assert_eq!(e.mode, mode, "{name}");
        assert_eq!(e.data, data, "{name}");
        assert_eq!((e.uid, e.gid, e.mtime), (0, 0, MTIME), "{name}");
        assert_eq!(
            e.nlink,
            if e.is_dir() {
                2 + (name == ".") as u32 * 2
            } else {
                1
            }
        );
        assert_ne!(e.ino, 0);
    }
    assert_eq!(es[0].normalized_name(), None);
    assert_eq!(es[2].normalized_name(), Some(&b"etc/hostname"[..]));
}

#[test]
fn reads_gnu_newc() {
    assert_eq!(&GNU_NEWC[..6], MAGIC_NEWC);
    check_fixture(GNU_NEWC);
}

#[test]
fn reads_gnu_crc_and_checks_its_sums() {
    assert_eq!(&GNU_CRC[..6], MAGIC_CRC);
    check_fixture(GNU_CRC);
    let at = GNU_CRC
        .windows(12)
        .position(|w| w == b"hello, cpio\n")
        .unwrap();
    let mut bad = GNU_CRC.to_vec();
    bad[at] ^= 1;
    let errors: Vec<CpioError> = entries(&bad).filter_map(Result::err).collect();
    assert!(
        matches!(errors[..], [CpioError::BadChecksum { .. }]),
        "{errors:?}"
    );
}

/// `cpio`, or `None` (with a note) when it is not installed.
fn gnu_cpio() -> Option<&'static str> {
    let found = Command::new("cpio")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("note: GNU cpio is not installed; skipping the live interoperability test");
    }
    found.then_some("cpio")
}

fn scratch(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("exo-cpio-{}-{what}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// Run `cpio args` in `dir` with `input` on stdin; returns stdout.
fn cpio(cpio: &str, dir: &Path, args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new(cpio)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cpio {args:?}: {err}");
    assert!(!err.contains("error"), "cpio {args:?}: {err}");
    out.stdout
}

#[test]
fn reads_what_gnu_cpio_writes_now() {
    let Some(gnu) = gnu_cpio() else { return };
    let dir = scratch("gnu-o");
    fs::create_dir(dir.join("sub")).unwrap();
    let big: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    fs::write(dir.join("sub/big"), &big).unwrap();
    fs::write(dir.join("abc"), b"abc").unwrap();
    std::os::unix::fs::symlink("sub/big", dir.join("ln")).unwrap();
    for (format, magic) in [("newc", MAGIC_NEWC), ("crc", MAGIC_CRC)] {
        let a = cpio(gnu, &dir, &["-o", "-H", format], b"sub\nsub/big\nabc\nln\n");
        assert_eq!(&a[..6], magic);
        let es = all(&a);
        let got: Vec<(&[u8], u32, &[u8])> =
            es.iter().map(|e| (e.name, e.file_type(), e.data)).collect();
        assert_eq!(
            got,
            [
                (&b"sub"[..], S_IFDIR, &b""[..]),
                (b"sub/big", S_IFREG, &big[..]),
                (b"abc", S_IFREG, b"abc"),
                (b"ln", S_IFLNK, b"sub/big"),
            ]
        );
    }
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn gnu_cpio_reads_what_we_write() {
    let Some(gnu) = gnu_cpio() else { return };
    for crc in [false, true] {
        let dir = scratch(if crc { "gnu-i-crc" } else { "gnu-i" });
        let mut w = if crc {
            Writer::with_checksums()
        } else {
            Writer::new()
        };
        let odd = vec![0xa5u8; 1001];
        w.dir("/d", 0o750);
        w.file("/d/odd", 0o640, &odd);
        w.file("top", 0o755, b"#!/bin/sh\n");
        w.symlink("/d/ln", "odd");
        w.node("/d/console", S_IFCHR | 0o600, 5, 1);
        let a = w.finish();
        let list = cpio(gnu, &dir, &["-t", "-v"], &a);
        let list = String::from_utf8_lossy(&list);
        assert!(list.contains("d/ln -> odd"), "{list}");
        assert!(
            list.lines()
                .any(|l| l.starts_with("crw-------") && l.contains("5,")),
            "{list}"
        );
        // Extract everything but the device node (creating it needs privileges).
        let mut w2 = if crc {
            Writer::with_checksums()
        } else {
            Writer::new()
        };
        w2.dir("/d", 0o750);
        w2.file("/d/odd", 0o640, &odd);
        w2.file("top", 0o755, b"#!/bin/sh\n");
        w2.symlink("/d/ln", "odd");
        cpio(gnu, &dir, &["-i", "-d", "--quiet"], &w2.finish());
        assert_eq!(fs::read(dir.join("d/odd")).unwrap(), odd);
        assert_eq!(fs::read(dir.join("top")).unwrap(), b"#!/bin/sh\n");
        assert_eq!(fs::read_link(dir.join("d/ln")).unwrap(), Path::new("odd"));
        use std::os::unix::fs::PermissionsExt;
        let perm = |p: &str| fs::metadata(dir.join(p)).unwrap().permissions().mode() & 0o7777;
        assert_eq!(perm("top"), 0o755);
        assert_eq!(perm("d/odd"), 0o640);
        let _ = fs::remove_dir_all(dir);
    }
}
