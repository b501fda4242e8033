//! Power loss, simulated by copying the disk image at a moment the volume is still mounted:
//! `e2fsck -fy` must repair whatever the copy holds, and what was `fsync`ed (file and
//! directory) must be intact afterwards.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::*;
use exo_abi::mode::*;
use exo_blockdev::MemDisk;
use exo_vfs::FileSystem;

/// `e2fsck -fy` on a copy; returns the repaired image and the exit code (0 or 1 expected).
fn repair(image: &[u8]) -> (Vec<u8>, i32) {
    let dir = scratch("crash");
    let p = dir.join("img");
    write_sparse(&p, image);
    let out = Command::new(tool("e2fsck").unwrap()).args(["-fy"]).arg(&p).output().unwrap();
    let code = out.status.code().unwrap_or(99);
    assert!(code <= 1, "e2fsck -fy exit {code}:\n{}", String::from_utf8_lossy(&out.stdout));
    let img = std::fs::read(&p).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (img, code)
}

#[test]
fn fsynced_files_survive_a_crash() {
    if !have_tools() {
        return;
    }
    let disk = Arc::new(MemDisk::new(mkfs(16 * 1024, &["-t", "ext2", "-b", "1024"], None)));
    let fs = mount(&disk, false).unwrap();
    let root = fs.root();
    let dir = root.create(b"dir", S_IFDIR | 0o755, 0, 0, 0).unwrap();
    let kept = dir.create(b"kept", S_IFREG | 0o644, 0, 0, 0).unwrap();
    let data = pattern(300_000, 7);
    kept.write_at(0, &data).unwrap();
    kept.fsync(false).unwrap();
    dir.fsync(false).unwrap();
    root.fsync(false).unwrap();
    // A clean snapshot right after fsync: only the mount state says "not clean".
    fsck(&disk.image());
    // More work that is never synced: allocations whose bitmaps are still in memory, an
    // unlinked file still open (an orphan), a rename.
    let other = root.create(b"unsynced", S_IFREG | 0o644, 0, 0, 0).unwrap();
    other.write_at(0, &pattern(200_000, 8)).unwrap();
    let open = root.create(b"orphan", S_IFREG | 0o644, 0, 0, 0).unwrap();
    open.write_at(0, &pattern(50_000, 9)).unwrap();
    root.unlink(b"orphan").unwrap();
    dir.rename(b"kept", &root, b"kept-moved", 0).unwrap();
    let crashed = disk.image();
    let (fixed, code) = repair(&crashed);
    assert_eq!(code, 1, "the crash left something to repair");
    fsck(&fixed);
    // The fsynced file is intact under one of its names.
    let (_, out) = debugfs(&fixed, false, &["ls -l /", "ls -l /dir"]);
    let disk2 = Arc::new(MemDisk::new(fixed));
    let fs2 = mount(&disk2, true).unwrap();
    let f = fs2.root().lookup(b"kept-moved").or_else(|_| fs2.root().lookup(b"dir").and_then(|d| d.lookup(b"kept"))).unwrap_or_else(|e| panic!("{e:?}\n{out}"));
    let mut got = vec![0u8; data.len()];
    assert_eq!(f.read_at(0, &mut got).unwrap(), data.len());
    assert!(got == data);
    drop((kept, other, open, dir, root));
    fs.unmount().unwrap();
}
