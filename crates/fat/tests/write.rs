//! Writes through exo-fat (create, append, overwrite, mkdir, rename, unlink, rmdir, truncate,
//! long names, many files in one directory), then checks the image with `fsck.fat -n` and
//! reads it back with mtools.

mod common;
use common::*;

use std::sync::Arc;

use exo_abi::mode::{S_IFBLK, S_IFDIR, S_IFIFO, S_IFREG};
use exo_abi::Errno;
use exo_vfs::{FileSystem, Inode, SetAttr, RENAME_EXCHANGE, RENAME_NOREPLACE};

fn mkdir(d: &Arc<dyn Inode>, name: &str) -> Arc<dyn Inode> {
    d.create(name.as_bytes(), S_IFDIR | 0o755, 0, 0, 0).unwrap()
}

fn mkfile(d: &Arc<dyn Inode>, name: &str, data: &[u8]) -> Arc<dyn Inode> {
    let f = d.create(name.as_bytes(), S_IFREG | 0o644, 0, 0, 0).unwrap();
    if !data.is_empty() {
        assert_eq!(f.write_at(0, data).unwrap(), data.len());
    }
    f
}

fn write_and_check(bits: u32, kib: u32) {
    if !tools() {
        return;
    }
    let img = mkfs(bits, kib);
    let disk = load(&img);
    let fs = mount(&disk, b"");
    let root = fs.root();

    // Create, append, overwrite.
    let f = mkfile(&root, "A Long File Name.txt", b"hello");
    f.write_at(5, b", world").unwrap();
    f.write_at(0, b"J").unwrap();
    assert_eq!(f.metadata().size, 12);
    assert_eq!(read_all(&f), b"Jello, world");
    // A gap reads as zeros; a large file spans many clusters.
    let big = bytes(bits as u64, 300_000);
    let g = mkfile(&root, "big.bin", &big[..1000]);
    g.write_at(1000, &big[1000..]).unwrap();
    let sparse = mkfile(&root, "gap", b"");
    sparse.write_at(10_000, b"end").unwrap();
    assert_eq!(read_all(&sparse)[..10_000], vec![0u8; 10_000][..]);

    // Directories, nested, with many files in one.
    let d = mkdir(&root, "Some Directory");
    let sub = mkdir(&d, "sub");
    assert_eq!(d.metadata().nlink, 3);
    for i in 0..200 {
        mkfile(&sub, &format!("file with a long name {i:03}.dat"), format!("content {i}").as_bytes());
    }
    assert_eq!(names(&sub).len(), 200);
    assert_eq!(root.create(b"big.BIN", S_IFREG | 0o644, 0, 0, 0).err(), Some(Errno::EEXIST), "names are case-insensitive");

    // Rename in place (case change), across directories, over a file, a directory.
    root.rename(b"gap", &root, b"GAP.bin", 0).unwrap();
    root.rename(b"GAP.bin", &d, b"moved gap.bin", 0).unwrap();
    let victim = mkfile(&d, "victim", b"old contents");
    d.rename(b"moved gap.bin", &d, b"victim", 0).unwrap();
    assert_eq!(victim.metadata().nlink, 0, "the replaced file is gone");
    assert_eq!(d.lookup(b"victim").unwrap().metadata().size, 10_003);
    let e = mkdir(&root, "elsewhere");
    d.rename(b"sub", &e, b"Renamed Sub Directory", 0).unwrap();
    assert_eq!((d.metadata().nlink, e.metadata().nlink), (2, 3));
    let moved = walk(&fs, "/elsewhere/Renamed Sub Directory").unwrap();
    assert_eq!(moved.lookup(b"..").unwrap().metadata().ino, e.metadata().ino, "'..' follows the move");
    assert_eq!(root.rename(b"big.bin", &root, b"A Long File Name.txt", RENAME_NOREPLACE).err(), Some(Errno::EEXIST));
    assert_eq!(root.rename(b"big.bin", &root, b"elsewhere", 0).err(), Some(Errno::EISDIR));
    assert_eq!(root.rename(b"elsewhere", &root, b"big.bin", 0).err(), Some(Errno::ENOTDIR));
    assert_eq!(root.rename(b"big.bin", &root, b"x", RENAME_EXCHANGE).err(), Some(Errno::EINVAL));

    // Unlink, rmdir, truncate.
    mkfile(&root, "doomed", b"bye");
    root.unlink(b"doomed").unwrap();
    assert_eq!(root.lookup(b"doomed").err(), Some(Errno::ENOENT));
    assert_eq!(root.unlink(b"elsewhere").err(), Some(Errno::EISDIR));
    assert_eq!(root.rmdir(b"elsewhere").err(), Some(Errno::ENOTEMPTY));
    assert_eq!(root.rmdir(b"big.bin").err(), Some(Errno::ENOTDIR));
    mkdir(&root, "empty dir");
    root.rmdir(b"empty dir").unwrap();
    g.truncate(70_000).unwrap();
    assert_eq!(g.metadata().size, 70_000);
    g.truncate(80_000).unwrap();
    assert_eq!(&read_all(&g)[70_000..], &vec![0u8; 10_000][..]);

    // No symlinks, hard links, device nodes, FIFOs.
    assert_eq!(root.symlink(b"l", b"big.bin", 0, 0).err(), Some(Errno::EPERM));
    assert_eq!(root.link(b"h", &g).err(), Some(Errno::EPERM));
    assert_eq!(root.create(b"dev", S_IFBLK | 0o600, 0, 0, 1).err(), Some(Errno::EPERM));
    assert_eq!(root.create(b"fifo", S_IFIFO | 0o600, 0, 0, 0).err(), Some(Errno::EPERM));

    fs.sync().unwrap();
    drop((f, g, sparse, d, sub, e, moved, victim, root));
    fs.unmount().unwrap();
    save(&disk, &img);

    let (ok, report) = fsck(&img);
    assert!(ok, "fsck.fat -n:\n{report}");
    assert_eq!(mls(&img, "/"), ["A Long File Name.txt", "Some Directory", "big.bin", "elsewhere"]);
    assert_eq!(mget(&img, "/A Long File Name.txt"), b"Jello, world");
    let mut want = big[..70_000].to_vec();
    want.resize(80_000, 0);
    assert_eq!(mget(&img, "/big.bin"), want);
    assert_eq!(mls(&img, "/Some Directory"), ["victim"]);
    assert_eq!(mget(&img, "/Some Directory/victim").len(), 10_003);
    let listed = mls(&img, "/elsewhere/Renamed Sub Directory");
    assert_eq!(listed.len(), 200);
    assert_eq!(listed[7], "file with a long name 007.dat");
    assert_eq!(mget(&img, "/elsewhere/Renamed Sub Directory/file with a long name 199.dat"), b"content 199");

    // Mount again: everything is still there.
    let disk = load(&img);
    let fs = mount(&disk, b"ro");
    assert_eq!(read_all(&walk(&fs, "/a long file name.TXT").unwrap()), b"Jello, world");
    assert_eq!(fs.root().create(b"new", S_IFREG | 0o644, 0, 0, 0).err(), Some(Errno::EROFS));
    assert!(fs.read_only());
    let _ = std::fs::remove_file(&img);
}

#[test]
fn writes_fat12() {
    write_and_check(12, 1440);
}

#[test]
fn writes_fat16() {
    write_and_check(16, 20 * 1024);
}

#[test]
fn writes_fat32() {
    write_and_check(32, 40 * 1024);
}

/// chmod toggles the read-only attribute; other mode changes and chown are EPERM (Linux).
#[test]
fn modes_and_attributes() {
    if !tools() {
        return;
    }
    let img = mkfs(32, 40 * 1024);
    let disk = load(&img);
    let fs = mount(&disk, b"uid=5,gid=6,umask=022");
    let root = fs.root();
    let f = mkfile(&root, "file", b"x");
    assert_eq!(f.metadata().mode, S_IFREG | 0o755);
    f.set_attr(&SetAttr { mode: Some(0o555), ..Default::default() }).unwrap();
    assert_eq!(f.metadata().mode, S_IFREG | 0o555);
    f.set_attr(&SetAttr { mode: Some(0o755), ..Default::default() }).unwrap();
    assert_eq!(f.metadata().mode, S_IFREG | 0o755);
    f.set_attr(&SetAttr { mode: Some(0o555), ..Default::default() }).unwrap();
    assert_eq!(f.set_attr(&SetAttr { mode: Some(0o700), ..Default::default() }).err(), Some(Errno::EPERM));
    assert_eq!(f.set_attr(&SetAttr { uid: Some(0), ..Default::default() }).err(), Some(Errno::EPERM));
    f.set_attr(&SetAttr { uid: Some(5), gid: Some(6), ..Default::default() }).unwrap();
    let d = mkdir(&root, "dir");
    assert_eq!(d.set_attr(&SetAttr { mode: Some(0o555), ..Default::default() }).err(), Some(Errno::EPERM));
    // Timestamps: two-second mtime, ctime = mtime, atime a date.
    let t = exo_vfs::Time::new(NOW - 86_400 * 3 + 4321, 0);
    f.set_attr(&SetAttr { mtime: Some(t), atime: Some(t), ..Default::default() }).unwrap();
    let m = f.metadata();
    assert_eq!(m.mtime.sec, t.sec & !1);
    assert_eq!(m.ctime, m.mtime);
    assert_eq!(m.atime.sec, t.sec - t.sec % 86_400);
    let w = mkfile(&root, "stamped", b"abc");
    assert_eq!(w.metadata().mtime.sec, NOW & !1);
    let old = exo_vfs::Time::new(NOW - 1000, 0);
    d.set_attr(&SetAttr { mtime: Some(old), ..Default::default() }).unwrap();
    assert_eq!(d.metadata().mtime, old);
    mkfile(&d, "new entry", b"");
    assert_eq!(d.metadata().mtime.sec, NOW & !1, "a directory's mtime moves with its entries");
    // Identity: one object per file, inode number kept across a rename.
    let ino = f.metadata().ino;
    root.rename(b"file", &d, b"renamed", 0).unwrap();
    let again = d.lookup(b"RENAMED").unwrap();
    assert!(Arc::ptr_eq(&again, &f));
    assert_eq!(again.metadata().ino, ino);
    drop((f, again, w, d, root));
    fs.unmount().unwrap();
    save(&disk, &img);
    let (ok, report) = fsck(&img);
    assert!(ok, "fsck.fat -n:\n{report}");
    let listing = String::from_utf8(
        std::process::Command::new("mattrib").arg("-i").arg(&img).arg("::/dir/renamed").env("MTOOLS_SKIP_CHECK", "1").output().unwrap().stdout,
    )
    .unwrap();
    assert!(listing.contains('R'), "read-only attribute on disk: {listing}");
    let _ = std::fs::remove_file(&img);
}

/// A full volume answers ENOSPC and stays consistent.
#[test]
fn full_volume() {
    if !tools() {
        return;
    }
    let img = mkfs(12, 720);
    let disk = load(&img);
    let fs = mount(&disk, b"");
    let root = fs.root();
    let f = mkfile(&root, "filler", b"");
    let chunk = vec![0xA5u8; 64 * 1024];
    let mut off = 0u64;
    let err = loop {
        match f.write_at(off, &chunk) {
            Ok(n) => off += n as u64,
            Err(e) => break e,
        }
        assert!(off < 2 << 20);
    };
    assert_eq!(err, Errno::ENOSPC);
    assert_eq!(fs.statfs().bfree, 0);
    drop((f, root));
    fs.unmount().unwrap();
    save(&disk, &img);
    let (ok, report) = fsck(&img);
    assert!(ok, "fsck.fat -n:\n{report}");
    assert_eq!(mget(&img, "/filler").len() as u64, off);
    let _ = std::fs::remove_file(&img);
}

/// A file's size reaches its directory entry by fsync, or once its inode is dropped (at the
/// next operation), without a sync of the whole volume.
#[test]
fn sizes_reach_the_disk() {
    if !tools() {
        return;
    }
    let img = mkfs(16, 20 * 1024);
    let disk = load(&img);
    let fs = mount(&disk, b"");
    let root = fs.root();
    let a = mkfile(&root, "synced file", &bytes(1, 9000));
    a.fsync(false).unwrap();
    let flushes = disk.flushes();
    assert!(flushes > 0, "fsync flushes the device");
    let b = mkfile(&root, "dropped file", &bytes(2, 7000));
    drop(b);
    let _ = fs.statfs();
    save(&disk, &img);
    assert_eq!(mget(&img, "/synced file"), bytes(1, 9000));
    assert_eq!(mget(&img, "/dropped file"), bytes(2, 7000));
    drop((a, root));
    fs.unmount().unwrap();
    save(&disk, &img);
    let (ok, report) = fsck(&img);
    assert!(ok, "fsck.fat -n:\n{report}");
    let _ = std::fs::remove_file(&img);
}

/// Root is inode 1; a file unlinked while in use answers EIO (FAT keeps no orphan data);
/// lookups of `.` and `..` give the directory and its parent.
#[test]
fn unlinked_while_open_and_dots() {
    if !tools() {
        return;
    }
    let img = mkfs(32, 40 * 1024);
    let disk = load(&img);
    let fs = mount(&disk, b"");
    let root = fs.root();
    assert_eq!(root.metadata().ino, 1);
    let d = mkdir(&root, "dir");
    assert!(Arc::ptr_eq(&d.lookup(b".").unwrap(), &d));
    assert!(Arc::ptr_eq(&d.lookup(b"..").unwrap(), &root));
    assert!(Arc::ptr_eq(&root.lookup(b"..").unwrap(), &root));
    let f = mkfile(&d, "open file", b"data");
    d.unlink(b"open file").unwrap();
    assert_eq!(f.metadata().nlink, 0);
    let mut buf = [0u8; 4];
    assert_eq!(f.read_at(0, &mut buf).err(), Some(Errno::EIO));
    assert_eq!(f.write_at(0, b"x").err(), Some(Errno::EIO));
    // The name can be used again at once.
    let g = mkfile(&d, "open file", b"new");
    assert_eq!(read_all(&g), b"new");
    drop((f, g, d, root));
    fs.unmount().unwrap();
    save(&disk, &img);
    let (ok, report) = fsck(&img);
    assert!(ok, "fsck.fat -n:\n{report}");
    let _ = std::fs::remove_file(&img);
}

/// A directory replacing an empty live directory elsewhere: link counts and the victim's state.
#[test]
fn rename_directory_over_directory() {
    if !tools() {
        return;
    }
    let img = mkfs(16, 20 * 1024);
    let disk = load(&img);
    let fs = mount(&disk, b"");
    let root = fs.root();
    let a = mkdir(&root, "a");
    let b = mkdir(&root, "b");
    let src = mkdir(&a, "source dir");
    mkfile(&src, "inside", b"x");
    let victim = mkdir(&b, "target dir");
    mkfile(&victim, "blocker", b"y");
    assert_eq!(a.rename(b"source dir", &b, b"target dir", 0).err(), Some(Errno::ENOTEMPTY));
    victim.unlink(b"blocker").unwrap();
    a.rename(b"source dir", &b, b"target dir", 0).unwrap();
    assert_eq!(victim.metadata().nlink, 0);
    assert_eq!((root.metadata().nlink, a.metadata().nlink, b.metadata().nlink), (4, 2, 3));
    let moved = b.lookup(b"TARGET DIR").unwrap();
    assert!(Arc::ptr_eq(&moved, &src));
    assert_eq!(read_all(&moved.lookup(b"inside").unwrap()), b"x");
    assert!(Arc::ptr_eq(&moved.lookup(b"..").unwrap(), &b));
    assert_eq!(b.rename(b"target dir", &moved, b"loop", 0).err(), Some(Errno::EINVAL));
    drop((a, b, src, victim, moved, root));
    fs.unmount().unwrap();
    save(&disk, &img);
    let (ok, report) = fsck(&img);
    assert!(ok, "fsck.fat -n:\n{report}");
    assert_eq!(mget(&img, "/b/target dir/inside"), b"x");
    let _ = std::fs::remove_file(&img);
}

/// Threads working on one volume at once (the sleeping lock serializes the driver).
#[test]
fn concurrent_writers() {
    if !tools() {
        return;
    }
    let img = mkfs(32, 40 * 1024);
    let disk = load(&img);
    let fs = mount(&disk, b"");
    let root = fs.root();
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let root = root.clone();
            std::thread::spawn(move || {
                let d = mkdir(&root, &format!("thread {t}"));
                for i in 0..40u64 {
                    let f = mkfile(&d, &format!("file number {i}"), &bytes(t * 100 + i, 3000));
                    f.write_at(3000, b"tail").unwrap();
                    if i % 3 == 0 {
                        d.rename(format!("file number {i}").as_bytes(), &d, format!("renamed {i}").as_bytes(), 0).unwrap();
                    }
                    if i % 5 == 0 {
                        let _ = root.lookup(b"thread 0").map(|x| names(&x));
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for t in 0..4u64 {
        assert_eq!(names(&root.lookup(format!("thread {t}").as_bytes()).unwrap()).len(), 40);
    }
    drop(root);
    fs.unmount().unwrap();
    save(&disk, &img);
    let (ok, report) = fsck(&img);
    assert!(ok, "fsck.fat -n:\n{report}");
    let mut want = bytes(3 * 100 + 7, 3000);
    want.extend_from_slice(b"tail");
    assert_eq!(mget(&img, "/thread 3/file number 7"), want);
    let _ = std::fs::remove_file(&img);
}

/// Names: trailing dots are dropped (Linux vfat), characters FAT forbids are EINVAL, names over
/// 255 characters ENAMETOOLONG, non-ASCII names round-trip through mtools.
#[test]
fn name_rules() {
    if !tools() {
        return;
    }
    let img = mkfs(16, 20 * 1024);
    let disk = load(&img);
    let fs = mount(&disk, b"");
    let root = fs.root();
    let f = mkfile(&root, "trail.", b"t");
    assert!(Arc::ptr_eq(&root.lookup(b"trail").unwrap(), &f));
    assert!(Arc::ptr_eq(&root.lookup(b"TRAIL..").unwrap(), &f));
    for bad in [&b"a*b"[..], b"a:b", b"q?", b"\xff\xfe"] {
        assert_eq!(root.create(bad, S_IFREG | 0o644, 0, 0, 0).err(), Some(Errno::EINVAL), "{bad:?}");
    }
    mkfile(&root, &"x".repeat(255), b"");
    assert_eq!(root.create("y".repeat(256).as_bytes(), S_IFREG | 0o644, 0, 0, 0).err(), Some(Errno::ENAMETOOLONG));
    mkfile(&root, "\u{e9}t\u{e9} \u{65e5}\u{672c}.txt", b"utf");
    drop((f, root));
    fs.unmount().unwrap();
    save(&disk, &img);
    let (ok, report) = fsck(&img);
    assert!(ok, "fsck.fat -n:\n{report}");
    let listed = mls(&img, "/");
    assert!(listed.contains(&"trail".to_string()), "{listed:?}");
    assert!(listed.contains(&"x".repeat(255)), "{listed:?}");
    let _ = std::fs::remove_file(&img);
}
