//! Mount state, large files (triple indirect, `large_file`), filling the volume to ENOSPC,
//! special files, extended-attribute blocks on deletion, orphans at unmount — each checked
//! by `e2fsck -fn` and debugfs.

mod common;

use std::sync::Arc;

use common::*;
use exo_abi::mode::*;
use exo_abi::Errno;
use exo_blockdev::MemDisk;
use exo_vfs::FileSystem;

fn stats(image: &[u8]) -> String {
    debugfs(image, false, &["stats"]).1
}

fn field(stats: &str, name: &str) -> String {
    stats.lines().find(|l| l.starts_with(name)).map(|l| l[name.len()..].trim().to_string()).unwrap_or_default()
}

#[test]
fn state_not_clean_while_mounted_clean_after_unmount() {
    if !have_tools() {
        return;
    }
    let disk = Arc::new(MemDisk::new(mkfs(4096, &["-t", "ext2"], None)));
    let before = stats(&disk.image());
    assert_eq!(field(&before, "Filesystem state:"), "clean");
    let fs = mount(&disk, false).unwrap();
    let during = stats(&disk.image());
    assert_eq!(field(&during, "Filesystem state:"), "not clean");
    let count = |s: &str| field(s, "Mount count:").parse::<u32>().unwrap();
    assert_eq!(count(&during), count(&before) + 1);
    fs.unmount().unwrap();
    assert_eq!(fs.root().create(b"x", S_IFREG | 0o644, 0, 0, 0).err(), Some(Errno::EROFS));
    let after = stats(&disk.image());
    assert_eq!(field(&after, "Filesystem state:"), "clean");
    fsck(&disk.image());
    // A read-only mount writes nothing at all.
    let writes = disk.writes();
    let fs = mount(&disk, true).unwrap();
    assert_eq!(fs.root().create(b"x", S_IFREG | 0o644, 0, 0, 0).err(), Some(Errno::EROFS));
    fs.unmount().unwrap();
    assert_eq!(disk.writes(), writes);
}

fn large_file(args: &[&str], offset: u64) {
    let disk = Arc::new(MemDisk::new(mkfs(16 * 1024, args, None)));
    let fs = mount(&disk, false).unwrap();
    let f = fs.root().create(b"large", S_IFREG | 0o644, 0, 0, 0).unwrap();
    f.write_at(0, b"start").unwrap();
    f.write_at(offset, b"far away").unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(f.read_at(offset, &mut buf).unwrap(), 8);
    assert_eq!(&buf, b"far away");
    assert_eq!(f.read_at(offset - 8, &mut buf).unwrap(), 8);
    assert_eq!(buf, [0; 8]);
    let m = f.metadata();
    assert_eq!(m.size, offset + 8);
    drop(f);
    fs.unmount().unwrap();
    let image = disk.image();
    fsck(&image);
    let (_, out) = debugfs(&image, false, &["stat /large"]);
    assert!(out.contains(&format!("Size: {}", offset + 8)), "{out}");
    assert!(out.contains("(TIND)"), "{out}");
    assert!(field(&stats(&image), "Filesystem features:").contains("large_file"), "large_file set");
    // Truncating frees the whole tree.
    let disk = Arc::new(MemDisk::new(image));
    let fs = mount(&disk, false).unwrap();
    let free0 = fs.statfs().bfree;
    let f = fs.root().lookup(b"large").unwrap();
    f.truncate(3).unwrap();
    assert_eq!(fs.statfs().bfree, free0 + 4); // data, then the triple, double and single indirect blocks
    drop(f);
    fs.unmount().unwrap();
    fsck(&disk.image());
}

#[test]
fn large_files_use_triple_indirect_blocks() {
    if have_tools() {
        large_file(&["-t", "ext2", "-b", "1024"], 80 << 20);
        large_file(&["-t", "ext2", "-b", "4096", "-O", "^large_file"], 5 << 30);
    }
}

#[test]
fn fill_to_enospc_then_free_everything() {
    if !have_tools() {
        return;
    }
    let disk = Arc::new(MemDisk::new(mkfs(2048, &["-t", "ext2", "-b", "1024", "-N", "64"], None)));
    let fs = mount(&disk, false).unwrap();
    let root = fs.root();
    let free0 = fs.statfs();
    let chunk = pattern(50_000, 3);
    let mut files = 0;
    let mut hit = false;
    'outer: for i in 0..1000 {
        let f = match root.create(format!("f{i}").as_bytes(), S_IFREG | 0o644, 0, 0, 0) {
            Ok(f) => f,
            Err(e) => {
                assert_eq!(e, Errno::ENOSPC);
                hit = true;
                break;
            }
        };
        files += 1;
        let mut off = 0;
        while off < 200_000 {
            match f.write_at(off, &chunk) {
                Ok(n) => {
                    off += n as u64;
                    if n < chunk.len() {
                        // A short write: the next one says ENOSPC.
                        assert_eq!(f.write_at(off, &chunk).err(), Some(Errno::ENOSPC));
                        hit = true;
                        break 'outer;
                    }
                }
                Err(e) => {
                    assert_eq!(e, Errno::ENOSPC);
                    hit = true;
                    break 'outer;
                }
            }
        }
    }
    assert!(hit && files > 1);
    assert_eq!(fs.statfs().bfree, 0);
    fs.sync().unwrap();
    fsck(&disk.image());
    for i in 0..files {
        root.unlink(format!("f{i}").as_bytes()).unwrap();
    }
    fs.sync().unwrap();
    let end = fs.statfs();
    assert_eq!((end.bfree, end.ffree), (free0.bfree, free0.ffree));
    fs.unmount().unwrap();
    fsck(&disk.image());
}

#[test]
fn special_files_and_xattr_blocks() {
    if !have_tools() {
        return;
    }
    let image = mkfs(4096, &["-t", "ext2", "-b", "1024", "-I", "128"], None);
    // Files with extended attributes (in a block, the inodes being 128 bytes); one shared.
    let (image, _) = debugfs(&image, true, &["write /etc/hostname withxattr", "ea_set /withxattr user.test somevalue", "write /etc/hostname keep", "ea_set /keep user.test othervalue"]);
    let (_, out) = debugfs(&image, false, &["stat /withxattr"]);
    assert!(out.contains("File ACL: ") && !out.contains("File ACL: 0\n"), "{out}");
    let disk = Arc::new(MemDisk::new(image));
    let fs = mount(&disk, false).unwrap();
    let root = fs.root();
    root.create(b"fifo", S_IFIFO | 0o600, 0, 0, 0).unwrap();
    root.create(b"sock", S_IFSOCK | 0o600, 0, 0, 0).unwrap();
    let c = root.create(b"chr", S_IFCHR | 0o600, 0, 0, makedev(4, 64)).unwrap();
    let b = root.create(b"blk", S_IFBLK | 0o600, 0, 0, makedev(259, 70000)).unwrap();
    assert_eq!(c.metadata().rdev, makedev(4, 64));
    assert_eq!(b.metadata().rdev, makedev(259, 70000));
    assert_eq!(c.read_at(0, &mut [0u8; 4]).err(), Some(Errno::EINVAL));
    root.unlink(b"withxattr").unwrap();
    drop((c, b));
    fs.unmount().unwrap();
    let image = disk.image();
    fsck(&image);
    let (_, out) = debugfs(&image, false, &["stat /blk", "stat /chr", "ls -l /"]);
    assert!(out.contains("Type: block special") && out.contains("Device major/minor number: 259:70000"), "{out}");
    let disk = Arc::new(MemDisk::new(image));
    let fs = mount(&disk, true).unwrap();
    assert_eq!(fs.root().lookup(b"blk").unwrap().metadata().rdev, makedev(259, 70000));
    assert_eq!(fs.root().lookup(b"fifo").unwrap().file_type(), S_IFIFO);
}

#[test]
fn open_unlinked_files_are_freed_at_unmount() {
    if !have_tools() {
        return;
    }
    let disk = Arc::new(MemDisk::new(mkfs(4096, &["-t", "ext2"], None)));
    let fs = mount(&disk, false).unwrap();
    let free0 = fs.statfs();
    let f = fs.root().create(b"tmp", S_IFREG | 0o644, 0, 0, 0).unwrap();
    f.write_at(0, &pattern(100_000, 1)).unwrap();
    let d = fs.root().create(b"dir", S_IFDIR | 0o755, 0, 0, 0).unwrap();
    fs.root().unlink(b"tmp").unwrap();
    fs.root().rmdir(b"dir").unwrap();
    assert_eq!(d.lookup(b"x").err(), Some(Errno::ENOENT));
    assert_eq!(d.create(b"x", S_IFREG, 0, 0, 0).err(), Some(Errno::ENOENT));
    let mut buf = vec![0u8; 100_000];
    assert_eq!(f.read_at(0, &mut buf).unwrap(), 100_000);
    assert_eq!(buf, pattern(100_000, 1));
    fs.sync().unwrap();
    assert!(fs.statfs().bfree < free0.bfree, "still in use");
    drop((f, d));
    fs.unmount().unwrap();
    fsck(&disk.image());
    let fs = mount(&disk, true).unwrap();
    assert_eq!((fs.statfs().bfree, fs.statfs().ffree), (free0.bfree, free0.ffree));
}

#[test]
fn device_errors_reach_the_caller_as_eio() {
    if !have_tools() {
        return;
    }
    let src = scratch("eio");
    std::fs::write(src.join("f"), pattern(50_000, 4)).unwrap();
    std::fs::create_dir(src.join("d")).unwrap();
    let disk = Arc::new(MemDisk::new(mkfs(4096, &["-t", "ext2", "-b", "1024"], Some(&src))));
    let _ = std::fs::remove_dir_all(&src);
    let fs = mount(&disk, false).unwrap();
    let root = fs.root();
    let f = root.lookup(b"f").unwrap();
    let d = root.lookup(b"d").unwrap();
    // Every read and write of the device fails from now on.
    disk.fail_reads(0..u64::MAX);
    disk.fail_writes(0..u64::MAX);
    let mut buf = vec![0u8; 50_000];
    assert_eq!(f.read_at(0, &mut buf).err(), Some(Errno::EIO));
    assert_eq!(f.write_at(0, b"x").err(), Some(Errno::EIO));
    assert_eq!(root.create(b"new", S_IFREG | 0o644, 0, 0, 0).err(), Some(Errno::EIO));
    assert_eq!(d.read_dir(0, &mut |_| true).err(), Some(Errno::EIO));
    assert_eq!(f.fsync(false).err(), Some(Errno::EIO));
    assert_eq!(fs.sync().err(), Some(Errno::EIO));
    assert_eq!(fs.unmount().err(), Some(Errno::EIO));
    assert_eq!(mount(&disk, true).err(), Some(Errno::EIO));
    disk.heal();
    // Reads work again; the volume is still consistent enough for e2fsck -fy.
    assert_eq!(f.read_at(0, &mut buf).unwrap(), 50_000);
    assert!(buf == pattern(50_000, 4));
    drop((f, d, root));
    fs.unmount().unwrap();
}

#[test]
fn immutable_and_append_only_flags_are_honoured() {
    if !have_tools() {
        return;
    }
    let src = scratch("flags");
    std::fs::write(src.join("imm"), b"immutable").unwrap();
    std::fs::write(src.join("app"), b"append").unwrap();
    std::fs::create_dir(src.join("idir")).unwrap();
    std::fs::write(src.join("idir/x"), b"x").unwrap();
    let image = mkfs(4096, &["-t", "ext2", "-b", "1024"], Some(&src));
    let _ = std::fs::remove_dir_all(&src);
    let (image, _) = debugfs(&image, true, &["sif /imm flags 0x10", "sif /app flags 0x20", "sif /idir flags 0x10"]);
    let disk = Arc::new(MemDisk::new(image));
    let fs = mount(&disk, false).unwrap();
    let root = fs.root();
    let imm = root.lookup(b"imm").unwrap();
    let app = root.lookup(b"app").unwrap();
    let idir = root.lookup(b"idir").unwrap();
    assert_eq!(imm.write_at(0, b"y").err(), Some(Errno::EPERM));
    assert_eq!(imm.truncate(0).err(), Some(Errno::EPERM));
    assert_eq!(imm.set_attr(&exo_vfs::SetAttr { mode: Some(0o777), ..Default::default() }).err(), Some(Errno::EPERM));
    assert_eq!(root.unlink(b"imm").err(), Some(Errno::EPERM));
    assert_eq!(root.rename(b"imm", &root, b"other", 0).err(), Some(Errno::EPERM));
    assert_eq!(root.link(b"imm2", &imm).err(), Some(Errno::EPERM));
    assert_eq!(app.write_at(0, b"y").err(), Some(Errno::EPERM));
    assert_eq!(app.write_at(6, b" more").unwrap(), 5);
    assert_eq!(app.truncate(0).err(), Some(Errno::EPERM));
    assert_eq!(root.unlink(b"app").err(), Some(Errno::EPERM));
    assert_eq!(idir.create(b"new", S_IFREG | 0o644, 0, 0, 0).err(), Some(Errno::EPERM));
    assert_eq!(idir.unlink(b"x").err(), Some(Errno::EPERM));
    drop((imm, app, idir, root));
    fs.unmount().unwrap();
    fsck(&disk.image());
}
