//! Damaged images: random bytes over the boot sector, the FATs, directories and data, loops in
//! cluster chains, truncated images. Mounting, walking, reading and writing must answer errors
//! (EUCLEAN, EIO, EINVAL...) and never panic or hang.

mod common;
use common::*;

use std::sync::Arc;
use std::time::{Duration, Instant};

use exo_abi::mode::{S_IFDIR, S_IFREG};
use exo_blockdev::{BlockIo, MemDisk};
use exo_fat::{probe, FatFs, FatMountOptions};
use exo_vfs::{FileSystem, Inode};

/// A populated image of each FAT type.
fn populated(bits: u32) -> Vec<u8> {
    let kib = match bits {
        12 => 1440,
        16 => 20 * 1024,
        _ => 33 * 1024,
    };
    let img = mkfs(bits, kib);
    mmd(&img, "/dir one");
    mmd(&img, "/dir one/deeper directory");
    for i in 0..20 {
        mput(&img, &format!("/dir one/a long name {i}.txt"), &bytes(i, 700 * i as usize));
    }
    mput(&img, "/dir one/deeper directory/big file.bin", &bytes(99, 150_000));
    mput(&img, "/ROOT.TXT", b"root file");
    let data = std::fs::read(&img).unwrap();
    let _ = std::fs::remove_file(&img);
    data
}

/// Byte ranges of the boot sector, the FATs and the start of the directories/data.
fn regions(img: &[u8]) -> Vec<(usize, usize)> {
    let u16at = |i: usize| u16::from_le_bytes([img[i], img[i + 1]]) as usize;
    let bps = u16at(11).max(512);
    let reserved = u16at(14);
    let fats = img[16] as usize;
    let fat_size = match u16at(22) {
        0 => u32::from_le_bytes([img[36], img[37], img[38], img[39]]) as usize,
        n => n,
    };
    let fat_start = reserved * bps;
    let fat_end = fat_start + fats * fat_size * bps;
    vec![(0, 90), (0, bps), (fat_start, fat_start + 64), (fat_start, fat_end), (fat_end, (fat_end + 64 * 1024).min(img.len()))]
}

/// Walks the whole tree (bounded), reads every file and tries a few changes.
fn exercise(fs: &FatFs) {
    fn walk_dir(d: &Arc<dyn Inode>, depth: u32, budget: &mut u32) {
        if depth > 8 {
            return;
        }
        let mut entries = Vec::new();
        let _ = d.read_dir(0, &mut |e| {
            entries.push(e.name);
            entries.len() < 500
        });
        for name in entries {
            if *budget == 0 {
                return;
            }
            *budget -= 1;
            if name == b"." || name == b".." {
                continue;
            }
            let Ok(child) = d.lookup(&name) else { continue };
            let m = child.metadata();
            if m.is_dir() {
                walk_dir(&child, depth + 1, budget);
            } else {
                let mut buf = vec![0u8; 64 * 1024];
                let mut off = 0u64;
                while off < m.size.min(1 << 20) {
                    match child.read_at(off, &mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => off += n as u64,
                    }
                }
                let _ = child.write_at(m.size / 2, b"scribble");
                let _ = child.truncate(m.size / 3);
            }
        }
    }
    let root = fs.root();
    let mut budget = 2000;
    walk_dir(&root, 0, &mut budget);
    let _ = root.create(b"new file with a long name", S_IFREG | 0o644, 0, 0, 0).map(|f| f.write_at(0, &[7u8; 5000]));
    let _ = root.create(b"newdir", S_IFDIR | 0o755, 0, 0, 0);
    let _ = root.rename(b"ROOT.TXT", &root, b"renamed root file", 0);
    let _ = root.unlink(b"renamed root file");
    let _ = root.rmdir(b"newdir");
    let _ = root.statfs();
    let _ = fs.sync();
    let _ = fs.unmount();
}

fn try_mount(image: Vec<u8>) {
    let disk: Arc<dyn BlockIo> = Arc::new(MemDisk::new(image));
    let _ = probe(&*disk);
    let opts = FatMountOptions::parse(b"", clock()).unwrap();
    if let Ok(fs) = FatFs::mount(disk, 1, opts) {
        exercise(&fs);
    }
}

fn fuzz(bits: u32, rounds: u64) {
    if !tools() {
        return;
    }
    // `EXO_FAT_FUZZ_ROUNDS=N` runs longer campaigns by hand.
    let rounds = std::env::var("EXO_FAT_FUZZ_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(rounds);
    let seed: u64 = std::env::var("EXO_FAT_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let base = populated(bits);
    // The undamaged image works.
    {
        let disk: Arc<dyn BlockIo> = Arc::new(MemDisk::new(base.clone()));
        assert!(probe(&*disk));
        let fs = FatFs::mount(disk, 1, FatMountOptions::parse(b"", clock()).unwrap()).unwrap();
        assert_eq!(read_all(&walk(&fs, "/root.txt").unwrap()), b"root file");
    }
    let regions = regions(&base);
    let start = Instant::now();
    for round in 0..rounds {
        let r = bytes((seed << 32) + round * 7 + bits as u64, 64);
        let (lo, hi) = regions[r[0] as usize % regions.len()];
        let mut img = base.clone();
        let n = 1 + r[1] as usize % 24;
        for k in 0..n {
            let pos = lo + (u32::from_le_bytes([r[2 + k * 2], r[3 + k * 2], r[50], r[51]]) as usize) % (hi - lo).max(1);
            img[pos] = r[k + 20];
        }
        let t = Instant::now();
        try_mount(img);
        assert!(t.elapsed() < Duration::from_secs(20), "round {round} took {:?}", t.elapsed());
    }
    println!("FAT{bits}: {rounds} damaged images in {:?}", start.elapsed());
}

#[test]
fn random_damage_fat12() {
    fuzz(12, 150);
}

#[test]
fn random_damage_fat16() {
    fuzz(16, 150);
}

#[test]
fn random_damage_fat32() {
    fuzz(32, 60);
}

/// Every cluster of the FAT pointing at itself or at the first data cluster (chain loops):
/// errors, no hang.
#[test]
fn chain_loops() {
    if !tools() {
        return;
    }
    for bits in [16u32, 32] {
        let base = populated(bits);
        let u16at = |i: usize| u16::from_le_bytes([base[i], base[i + 1]]) as usize;
        let fat = u16at(14) * u16at(11);
        for pattern in 0..2 {
            let mut img = base.clone();
            for c in 2..400usize {
                let target = if pattern == 0 { c } else { 2 + (c + 1) % 398 };
                if bits == 16 {
                    img[fat + c * 2..fat + c * 2 + 2].copy_from_slice(&(target as u16).to_le_bytes());
                } else if c != 2 {
                    // (the FAT32 root directory's own chain, cluster 2, stays valid)
                    img[fat + c * 4..fat + c * 4 + 4].copy_from_slice(&(target as u32).to_le_bytes());
                }
            }
            let t = Instant::now();
            try_mount(img);
            assert!(t.elapsed() < Duration::from_secs(20));
        }
    }
}

/// Images cut short anywhere: the mount fails or reads fail; nothing panics.
#[test]
fn truncated_images() {
    if !tools() {
        return;
    }
    let base = populated(16);
    for len in [0usize, 1, 100, 511, 512, 513, 4096, 20_000, base.len() / 4, base.len() / 2, base.len() - 512] {
        try_mount(base[..len].to_vec());
    }
    // Pure garbage is not FAT.
    for seed in 0..20 {
        let g = bytes(seed, 256 * 1024);
        let disk: Arc<dyn BlockIo> = Arc::new(MemDisk::new(g.clone()));
        let _ = probe(&*disk);
        try_mount(g);
    }
    let zero: Arc<dyn BlockIo> = Arc::new(MemDisk::new(vec![0u8; 64 * 1024]));
    assert!(!probe(&*zero));
    assert!(FatFs::mount(zero, 1, FatMountOptions::parse(b"", clock()).unwrap()).is_err());
}

/// Device errors reach the caller as EIO.
#[test]
fn device_errors_are_eio() {
    if !tools() {
        return;
    }
    let base = populated(16);
    let disk = Arc::new(MemDisk::new(base));
    let fs = mount(&disk, b"");
    let f = walk(&fs, "/dir one/deeper directory/big file.bin").unwrap();
    disk.fail_reads(0..u64::MAX);
    let mut buf = [0u8; 4096];
    assert_eq!(f.read_at(100_000, &mut buf).err(), Some(exo_abi::Errno::EIO));
    disk.heal();
    disk.fail_writes(0..u64::MAX);
    assert_eq!(fs.root().create(b"x", S_IFREG | 0o644, 0, 0, 0).err(), Some(exo_abi::Errno::EIO));
    disk.heal();
    assert_eq!(f.read_at(0, &mut buf).unwrap(), 4096);
}
