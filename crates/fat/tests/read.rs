//! Images made by mkfs.vfat (FAT12, FAT16, FAT32) and populated by mtools — long names, nested
//! directories, a large file — read through exo-fat and compared with what was put in.

mod common;
use common::*;

use exo_abi::mode::{S_IFDIR, S_IFREG};
use exo_abi::Errno;
use exo_vfs::FileSystem;

fn check_type(bits: u32, kib: u32, big: usize) {
    if !tools() {
        return;
    }
    let img = mkfs(bits, kib);
    mmd(&img, "/docs");
    mmd(&img, "/docs/Nested Directory With A Long Name");
    let small = b"hello, vfat\n".to_vec();
    let large = bytes(bits as u64, big);
    mput(&img, "/HELLO.TXT", &small);
    mput(&img, "/A file with a rather long name.text", &bytes(1, 5000));
    mput(&img, "/MixedCase.Md", b"mixed");
    mput(&img, "/docs/Nested Directory With A Long Name/big.bin", &large);
    mput(&img, "/docs/empty", b"");
    let disk = load(&img);
    let fs = mount(&disk, b"uid=1000,gid=100,fmask=0133,dmask=022");
    assert_eq!(fs.name(), "vfat");
    assert_eq!(fs.magic(), 0x4d44);

    let root = fs.root();
    assert_eq!(names(&root), ["A file with a rather long name.text", "HELLO.TXT", "MixedCase.Md", "docs"]);
    assert_eq!(read_all(&walk(&fs, "/HELLO.TXT").unwrap()), small);
    // Case-insensitive, case-preserving lookups.
    assert_eq!(read_all(&walk(&fs, "/hello.txt").unwrap()), small);
    assert_eq!(read_all(&walk(&fs, "/a FILE with a rather long NAME.text").unwrap()), bytes(1, 5000));
    assert_eq!(read_all(&walk(&fs, "/mixedcase.md").unwrap()), b"mixed");
    let deep = walk(&fs, "/DOCS/nested directory with a long name/BIG.BIN").unwrap();
    assert_eq!(deep.metadata().size, big as u64);
    assert_eq!(read_all(&deep), large);
    assert_eq!(walk(&fs, "/docs/empty").unwrap().metadata().size, 0);
    assert_eq!(walk(&fs, "/nope").err(), Some(Errno::ENOENT));
    assert_eq!(walk(&fs, "/HELLO.TXT/x").err(), Some(Errno::ENOTDIR));

    // Ownership and modes from the options; identity and link counts.
    let m = walk(&fs, "/HELLO.TXT").unwrap().metadata();
    assert_eq!((m.mode, m.uid, m.gid, m.nlink, m.dev), (S_IFREG | 0o644, 1000, 100, 1, 7));
    let d = walk(&fs, "/docs").unwrap().metadata();
    assert_eq!((d.mode, d.nlink), (S_IFDIR | 0o755, 3));
    assert_eq!(root.metadata().nlink, 3);
    let a = walk(&fs, "/docs").unwrap();
    let b = walk(&fs, "/DOCS").unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b), "one live inode per file");
    assert_eq!(a.metadata().ino, b.metadata().ino);
    // readdir's inode numbers are the ones lookups give.
    let mut inos = Vec::new();
    root.read_dir(0, &mut |e| {
        inos.push((e.name.clone(), e.ino));
        true
    })
    .unwrap();
    for (name, ino) in inos {
        if name != b"." && name != b".." {
            assert_eq!(root.lookup(&name).unwrap().metadata().ino, ino, "{}", String::from_utf8_lossy(&name));
        }
    }
    let s = fs.statfs();
    assert_eq!(s.fs_type, 0x4d44);
    assert!(s.bfree > 0 && s.bfree < s.blocks && s.bsize >= 512, "{s:?}");
    fs.unmount().unwrap();
    let _ = std::fs::remove_file(&img);
}

#[test]
fn reads_fat12() {
    check_type(12, 1440, 200_000);
}

#[test]
fn reads_fat16() {
    check_type(16, 20 * 1024, 3_000_000);
}

#[test]
fn reads_fat32() {
    check_type(32, 40 * 1024, 5_000_000);
}

/// Listing with a small buffer resumes exactly at each cursor.
#[test]
fn listing_resumes_at_cursors() {
    if !tools() {
        return;
    }
    let img = mkfs(32, 40 * 1024);
    mmd(&img, "/d");
    for i in 0..150 {
        mput(&img, &format!("/d/a long file name number {i:03}.txt"), format!("{i}").as_bytes());
    }
    let disk = load(&img);
    let fs = mount(&disk, b"");
    let d = walk(&fs, "/d").unwrap();
    let mut all = Vec::new();
    let mut cursor = 0;
    loop {
        let mut got = 0;
        d.read_dir(cursor, &mut |e| {
            if got == 7 {
                return false;
            }
            got += 1;
            cursor = e.next_cursor;
            all.push(String::from_utf8(e.name).unwrap());
            true
        })
        .unwrap();
        if got == 0 {
            break;
        }
    }
    assert_eq!(all.len(), 152);
    assert_eq!(&all[..2], [".", ".."]);
    for i in 0..150 {
        assert_eq!(all[i + 2], format!("a long file name number {i:03}.txt"));
    }
    let _ = std::fs::remove_file(&img);
}
