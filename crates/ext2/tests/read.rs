//! Images populated by `mke2fs -d` (and debugfs, e2fsck -D) read through the crate: every file,
//! directory, symlink and attribute must match the source tree, for each block size and for
//! revision 0; ext4 images mount read-only or not at all, as documented.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use common::*;
use exo_blockdev::MemDisk;
use exo_vfs::FileSystem;

/// A source tree exercising every kind of node and every mapping level.
fn populate(root: &Path) {
    let w = |p: &str, data: &[u8]| std::fs::write(root.join(p), data).unwrap();
    std::fs::create_dir_all(root.join("a/b/c")).unwrap();
    std::fs::create_dir_all(root.join("many")).unwrap();
    w("empty", b"");
    w("small", b"hello ext2\n");
    w("block", &pattern(4096, 1));
    w("a/seventy", &pattern(70_000, 2));
    w("a/b/single", &pattern(300_000, 3));
    w("a/b/c/double", &pattern(3_000_000, 4));
    for i in 0..300 {
        w(&format!("many/file-with-a-longish-name-{i:04}"), format!("{i}").as_bytes());
    }
    // A sparse file: a hole, data at 1 MiB, a hole at the end.
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::File::create(root.join("sparse")).unwrap();
        f.seek(SeekFrom::Start(1 << 20)).unwrap();
        f.write_all(&pattern(5000, 5)).unwrap();
        f.set_len(3 << 20).unwrap();
    }
    std::os::unix::fs::symlink("a/b/single", root.join("fastlink")).unwrap();
    let long: String = "d/".repeat(100) + "target";
    std::os::unix::fs::symlink(&long, root.join("slowlink")).unwrap();
    std::fs::hard_link(root.join("small"), root.join("a/hardlink")).unwrap();
    std::fs::set_permissions(root.join("small"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::set_permissions(root.join("a/b"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::set_permissions(root.join("block"), std::fs::Permissions::from_mode(0o4755)).unwrap();
}

fn check_image(args: &[&str], index_dirs: bool) {
    let src = scratch("src");
    populate(&src);
    let mut image = mkfs(16 * 1024, args, Some(&src));
    if index_dirs {
        // e2fsck -D builds htree indexes (the directories get EXT2_INDEX_FL).
        let dir = scratch("idx");
        let p = dir.join("img");
        write_sparse(&p, &image);
        let st = std::process::Command::new(tool("e2fsck").unwrap()).args(["-fyD"]).arg(&p).status().unwrap();
        assert!(st.code().unwrap_or(8) <= 2);
        image = std::fs::read(&p).unwrap();
        let (_, out) = debugfs(&image, false, &["stat /many"]);
        assert!(out.contains("Flags: 0x1000") || out.contains("Flags: 0x00001000"), "not indexed: {out}");
    }
    let disk = Arc::new(MemDisk::new(image));
    let fs = mount(&disk, true).unwrap();
    assert!(fs.read_only());
    let mut want = BTreeMap::new();
    walk_host(&src, "", &mut want);
    let mut got = BTreeMap::new();
    walk_fs(&fs.root(), "", &mut got);
    assert_eq!(want.len(), got.len());
    for (k, v) in &want {
        assert_eq!(Some(v), got.get(k), "{k} differs ({args:?})");
    }
    // Hard links share the inode and count two links.
    let root = fs.root();
    let a = root.lookup(b"small").unwrap();
    let b = root.lookup(b"a").unwrap().lookup(b"hardlink").unwrap();
    assert!(Arc::ptr_eq(&a, &b), "one live object per inode");
    assert_eq!(a.metadata().nlink, 2);
    // The sparse file has fewer blocks than its size.
    let sp = root.lookup(b"sparse").unwrap().metadata();
    assert_eq!(sp.size, 3 << 20);
    assert!(sp.blocks * 512 < 1 << 20, "sparse file fully allocated: {} blocks", sp.blocks);
    // Directory link counts: 2 + subdirectories.
    assert_eq!(root.lookup(b"a").unwrap().metadata().nlink, 3);
    let st = fs.statfs();
    assert_eq!(st.fs_type, 0xEF53);
    assert!(st.bavail <= st.bfree && st.bfree < st.blocks);
    // getdents-style listing with a small buffer resumes correctly.
    let many = root.lookup(b"many").unwrap();
    let mut cursor = 0;
    let mut seen = 0;
    loop {
        let mut out = Vec::new();
        let (next, _) = many.read_dirents(cursor, &mut out, 300).unwrap();
        if out.is_empty() {
            break;
        }
        let mut p = 0;
        while p < out.len() {
            seen += 1;
            p += u16::from_le_bytes([out[p + 16], out[p + 17]]) as usize;
        }
        cursor = next;
    }
    assert_eq!(seen, 302);
    fs.unmount().unwrap();
    // A read-only mount writes nothing.
    let _ = std::fs::remove_dir_all(&src);
}

#[test]
fn reads_1k_blocks() {
    if have_tools() {
        check_image(&["-t", "ext2", "-b", "1024"], false);
    }
}

#[test]
fn reads_2k_blocks() {
    if have_tools() {
        check_image(&["-t", "ext2", "-b", "2048"], false);
    }
}

#[test]
fn reads_4k_blocks_and_128_byte_inodes() {
    if have_tools() {
        check_image(&["-t", "ext2", "-b", "4096", "-I", "128"], false);
    }
}

#[test]
fn reads_htree_directories_linearly() {
    if have_tools() {
        check_image(&["-t", "ext2", "-b", "1024"], true);
    }
}

#[test]
fn reads_ext3_without_recovery() {
    if have_tools() {
        check_image(&["-t", "ext3", "-b", "4096"], false);
    }
}

#[test]
fn reads_revision_0() {
    if have_tools() {
        check_image(&["-t", "ext2", "-r", "0", "-b", "1024"], false);
    }
}

#[test]
fn ext4_without_extents_is_read_only_and_with_extents_refused() {
    if !have_tools() {
        return;
    }
    let src = scratch("src4");
    populate(&src);
    let image = mkfs(16 * 1024, &["-t", "ext4", "-O", "^extents,^64bit,^flex_bg,^metadata_csum,^huge_file,^dir_nlink,^extra_isize"], Some(&src));
    let disk = Arc::new(MemDisk::new(image.clone()));
    // Still has uninit_bg (gdt_csum) or similar → rw refused, ro fine.
    let (_, sb) = debugfs(&image, false, &["stats"]);
    println!("{}", sb.lines().find(|l| l.contains("features")).unwrap_or(""));
    match mount(&disk, false) {
        Err(e) => assert_eq!(e, exo_abi::Errno::EINVAL),
        Ok(fs) => fs.unmount().unwrap(),
    }
    let fs = mount(&disk, true).unwrap();
    let mut want = BTreeMap::new();
    walk_host(&src, "", &mut want);
    let mut got = BTreeMap::new();
    walk_fs(&fs.root(), "", &mut got);
    assert_eq!(want, got);
    // The default ext4 (extents, 64bit, metadata_csum): refused.
    let image = mkfs(16 * 1024, &["-t", "ext4"], None);
    let disk = Arc::new(MemDisk::new(image));
    assert_eq!(mount(&disk, true).err(), Some(exo_abi::Errno::EINVAL));
    assert_eq!(mount(&disk, false).err(), Some(exo_abi::Errno::EINVAL));
    // ext4 without extents but with the default read-only features: ro only.
    let image = mkfs(16 * 1024, &["-t", "ext4", "-O", "^extents,^64bit"], Some(&src));
    let disk = Arc::new(MemDisk::new(image));
    assert_eq!(mount(&disk, false).err(), Some(exo_abi::Errno::EINVAL));
    let fs = mount(&disk, true).unwrap();
    let mut got = BTreeMap::new();
    walk_fs(&fs.root(), "", &mut got);
    assert_eq!(want, got);
    let _ = std::fs::remove_dir_all(&src);
}

#[test]
fn probe_and_rejects() {
    let disk = MemDisk::new(vec![0u8; 1 << 20]);
    assert!(!exo_ext2::probe(&disk));
    let disk = Arc::new(disk);
    assert_eq!(mount(&disk, true).err(), Some(exo_abi::Errno::EINVAL));
    assert_eq!(exo_ext2::probe_type(&*disk), None);
    if have_tools() {
        for t in ["ext2", "ext3", "ext4"] {
            let image = mkfs(8192, &["-t", t], None);
            assert!(exo_ext2::probe(&MemDisk::new(image.clone())));
            assert_eq!(exo_ext2::probe_type(&MemDisk::new(image)), Some(t));
        }
    }
}

/// Captures `log` lines (one logger per test binary).
struct Capture;

static LINES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, r: &log::Record) {
        LINES.lock().unwrap().push(format!("{}", r.args()));
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

fn logged(needle: &str) -> bool {
    LINES.lock().unwrap().iter().any(|l| l.contains(needle))
}

#[test]
fn refusals_and_corruption_are_logged() {
    let _ = log::set_logger(&CAPTURE);
    log::set_max_level(log::LevelFilter::Warn);
    if !have_tools() {
        return;
    }
    // ext3 with a journal needing recovery: refused, naming the feature.
    let image = mkfs(8 * 1024, &["-t", "ext3"], None);
    let (image, _) = debugfs(&image, true, &["feature needs_recovery"]);
    let disk = Arc::new(MemDisk::new(image));
    assert_eq!(mount(&disk, true).err(), Some(exo_abi::Errno::EINVAL));
    assert!(logged("needs_recovery"));
    // Extents.
    let disk = Arc::new(MemDisk::new(mkfs(8 * 1024, &["-t", "ext4"], None)));
    assert_eq!(mount(&disk, true).err(), Some(exo_abi::Errno::EINVAL));
    assert!(logged("extents"));
    // A corrupted inode is named.
    let src = scratch("logsrc");
    std::fs::write(src.join("f"), pattern(20_000, 1)).unwrap();
    let image = mkfs(4096, &["-t", "ext2", "-b", "1024"], Some(&src));
    let (image, _) = debugfs(&image, true, &["sif /f block[1] 4000000"]);
    let disk = Arc::new(MemDisk::new(image));
    let fs = mount(&disk, true).unwrap();
    let f = fs.root().lookup(b"f").unwrap();
    let ino = f.metadata().ino;
    assert_eq!(f.read_at(0, &mut vec![0u8; 20_000]).err(), Some(exo_abi::Errno::EUCLEAN));
    assert!(logged(&format!("inode {ino}: block pointer 4000000 outside the volume")), "{:?}", LINES.lock().unwrap());
    let _ = std::fs::remove_dir_all(&src);
}
