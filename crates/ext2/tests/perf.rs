//! Cost figures (printed) and the I/O pattern the kernel's block cache relies on: a sequential
//! 64 MiB write and read must reach the device in large contiguous calls, not block by block.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use common::*;
use exo_abi::mode::*;
use exo_blockdev::{BlockIo, MemDisk};
use exo_ext2::{Ext2Fs, MountOptions};
use exo_vfs::FileSystem;

/// Counts device calls and the bytes they move.
struct Counting {
    disk: Arc<MemDisk>,
    reads: AtomicU64,
    writes: AtomicU64,
}

impl BlockIo for Counting {
    fn size(&self) -> u64 {
        self.disk.size()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> exo_blockdev::Result<()> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.disk.read_at(offset, buf)
    }
    fn write_at(&self, offset: u64, buf: &[u8]) -> exo_blockdev::Result<()> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.disk.write_at(offset, buf)
    }
    fn flush(&self) -> exo_blockdev::Result<()> {
        self.disk.flush()
    }
}

#[test]
fn sequential_io_uses_large_runs_and_many_files_are_fast() {
    if !have_tools() {
        return;
    }
    let disk = Arc::new(MemDisk::new(mkfs(160 * 1024, &["-t", "ext2", "-b", "4096"], None)));
    let dev = Arc::new(Counting { disk: disk.clone(), reads: AtomicU64::new(0), writes: AtomicU64::new(0) });
    let fs = Ext2Fs::mount(dev.clone(), 1, MountOptions { read_only: false, clock: clock(), type_name: "ext2" }).unwrap();
    let root = fs.root();
    let f = root.create(b"seq", S_IFREG | 0o644, 0, 0, 0).unwrap();
    let chunk = pattern(1 << 20, 1);
    let w0 = dev.writes.load(Ordering::Relaxed);
    let t = Instant::now();
    for i in 0..64u64 {
        f.write_at(i << 20, &chunk).unwrap();
    }
    f.fsync(false).unwrap();
    let writes = dev.writes.load(Ordering::Relaxed) - w0;
    println!("64 MiB sequential write: {writes} device writes, {:?}", t.elapsed());
    // Per 1 MiB call: the data run (split at most by an indirect block), the inode, the
    // indirect blocks.
    assert!(writes < 64 * 5, "{writes} device writes");
    let r0 = dev.reads.load(Ordering::Relaxed);
    let mut buf = vec![0u8; 1 << 20];
    let t = Instant::now();
    for i in 0..64u64 {
        assert_eq!(f.read_at(i << 20, &mut buf).unwrap(), 1 << 20);
    }
    let reads = dev.reads.load(Ordering::Relaxed) - r0;
    println!("64 MiB sequential read: {reads} device reads, {:?}", t.elapsed());
    assert!(reads < 64 * 4, "{reads} device reads");
    assert!(buf == chunk);
    drop(f);

    let dir = root.create(b"many", S_IFDIR | 0o755, 0, 0, 0).unwrap();
    let block = pattern(4096, 2);
    let t = Instant::now();
    let mut files = Vec::new();
    for i in 0..10_000 {
        let f = dir.create(format!("file-{i:05}").as_bytes(), S_IFREG | 0o644, 0, 0, 0).unwrap();
        f.write_at(0, &block).unwrap();
        files.push(f);
    }
    println!("10,000 x (create + write 4 KiB): {:?}", t.elapsed());
    let t = Instant::now();
    let mut total = 0;
    for f in &files {
        total += f.metadata().size;
    }
    assert_eq!(total, 4096 * 10_000);
    println!("10,000 x metadata: {:?}", t.elapsed());
    let t = Instant::now();
    for i in 0..10_000 {
        dir.lookup(format!("file-{i:05}").as_bytes()).unwrap();
    }
    println!("10,000 x lookup (cached directory): {:?}", t.elapsed());
    drop(files);
    let t = Instant::now();
    for i in 0..10_000 {
        dir.unlink(format!("file-{i:05}").as_bytes()).unwrap();
    }
    println!("10,000 x unlink: {:?}", t.elapsed());
    drop((dir, root));
    fs.unmount().unwrap();
    fsck(&disk.image());
}
