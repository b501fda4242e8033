//! Corruption fuzzer: random bytes over the metadata of a populated image (superblock, group
//! descriptors, bitmaps, inode table, directory and indirect blocks) and truncated images.
//! Every mount and every operation afterwards must return `Ok` or `Err` — never panic,
//! overflow, hang or allocate without bound. `EXO_EXT2_FUZZ_CASES` sets the iterations.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use exo_abi::mode::*;
use exo_blockdev::{BlockIo, MemDisk};
use exo_vfs::{FileSystem, Inode};


/// Byte ranges holding metadata, from debugfs.
fn metadata_ranges(image: &[u8], bs: u64) -> Vec<(u64, u64)> {
    let mut r = vec![(1024, 2048), (bs.max(2048), bs.max(2048) + bs)];
    let (_, out) = debugfs(image, false, &["stats", "blocks /", "blocks /dir", "blocks /dir/sub", "stat /big", "stat /mid"]);
    let num = |s: &str| s.trim_matches(|c: char| !c.is_ascii_digit()).parse::<u64>().ok();
    for line in out.lines() {
        for key in ["Block bitmap at ", "Inode bitmap at ", "Inode table at "] {
            if let Some(p) = line.find(key) {
                let rest = &line[p + key.len()..];
                let span = rest.split_whitespace().next().unwrap_or("");
                let mut it = span.split('-').filter_map(num);
                if let Some(a) = it.next() {
                    let b = it.next().unwrap_or(a);
                    r.push((a * bs, (b + 1) * bs));
                }
            }
        }
        if line.contains("IND)") {
            for part in line.split(", ") {
                if part.contains("IND)") {
                    if let Some(b) = part.split(':').nth(1).and_then(num) {
                        r.push((b * bs, (b + 1) * bs));
                    }
                }
            }
        }
    }
    // `blocks` output: a line of block numbers.
    for line in out.lines() {
        if !line.is_empty() && line.split_whitespace().all(|w| w.parse::<u64>().is_ok()) {
            for w in line.split_whitespace() {
                let b: u64 = w.parse().unwrap();
                r.push((b * bs, (b + 1) * bs));
            }
        }
    }
    r
}

fn build(bs: u64) -> Vec<u8> {
    let src = scratch("fsrc");
    std::fs::create_dir_all(src.join("dir/sub")).unwrap();
    for i in 0..40 {
        std::fs::write(src.join(format!("dir/file{i}")), pattern(i * 50, i as u64)).unwrap();
    }
    std::fs::write(src.join("big"), pattern(600_000, 1)).unwrap();
    std::fs::write(src.join("mid"), pattern(30_000, 2)).unwrap();
    std::fs::write(src.join("dir/sub/x"), b"x").unwrap();
    std::os::unix::fs::symlink("dir/sub/x", src.join("link")).unwrap();
    std::os::unix::fs::symlink("l/".repeat(50), src.join("slow")).unwrap();
    let img = mkfs(2048, &["-t", "ext2", "-b", &bs.to_string(), "-N", "96", "-I", "128"], Some(&src));
    let _ = std::fs::remove_dir_all(&src);
    img
}

/// Walks and reads everything (bounded), then tries changes if writable.
fn exercise(fs: &Arc<exo_ext2::Ext2Fs>, rng: &mut Rng) {
    let mut stack: Vec<(Arc<dyn Inode>, u32)> = vec![(fs.root(), 0)];
    let mut visited = 0;
    let mut buf = vec![0u8; 65536];
    while let Some((dir, depth)) = stack.pop() {
        visited += 1;
        if visited > 200 {
            break;
        }
        let mut names = Vec::new();
        let _ = dir.read_dir(0, &mut |e| {
            names.push(e.name);
            names.len() < 200
        });
        let mut out = Vec::new();
        let _ = dir.read_dirents(0, &mut out, 4096);
        for n in names {
            let Ok(child) = dir.lookup(&n) else { continue };
            let m = child.metadata();
            if m.is_dir() {
                if depth < 6 && n != b"." && n != b".." {
                    stack.push((child, depth + 1));
                }
            } else if m.is_symlink() {
                let _ = child.readlink();
            } else {
                let _ = child.read_at(0, &mut buf);
                let _ = child.read_at(m.size.saturating_sub(100), &mut buf);
                let _ = child.read_at(rng.below(m.size.max(1)), &mut buf[..4096]);
            }
        }
    }
    let _ = fs.statfs();
    if fs.read_only() {
        return;
    }
    let root = fs.root();
    let _ = root.create(b"newfile", S_IFREG | 0o644, 0, 0, 0).and_then(|f| f.write_at(rng.below(1 << 20), &buf[..5000]).map(|_| ()));
    let _ = root.create(b"newdir", S_IFDIR | 0o755, 0, 0, 0);
    let _ = root.symlink(b"newlink", &[b'a'; 300], 0, 0);
    if let Ok(d) = root.lookup(b"dir") {
        let _ = root.rename(b"newfile", &d, b"file3", 0);
        let _ = d.rename(b"sub", &root, b"sub-moved", 0);
        let _ = d.unlink(b"file5");
        let _ = d.rmdir(b"sub");
        let _ = d.create(b"more", S_IFREG | 0o600, 0, 0, 0);
    }
    if let Ok(f) = root.lookup(b"big") {
        let _ = f.truncate(rng.below(700_000));
        let _ = f.write_at(rng.below(2_000_000), &buf[..3000]);
    }
    let _ = root.unlink(b"mid");
    let _ = root.rmdir(b"newdir");
    let _ = fs.sync();
    let _ = fs.unmount();
}

fn fuzz(bs: u64, cases: u64, seed: u64, budget: Duration) {
    let base = build(bs);
    let ranges = metadata_ranges(&base, bs);
    assert!(ranges.len() >= 5, "{ranges:?}");
    let mut rng = Rng(seed);
    let start = Instant::now();
    let mut mounted = 0;
    let mut done = 0;
    for _ in 0..cases {
        if start.elapsed() > budget {
            break;
        }
        done += 1;
        let mut img = base.clone();
        let k = rng.below(8) + 1;
        for _ in 0..k {
            let (a, b) = ranges[rng.below(ranges.len() as u64) as usize];
            let n = rng.below(4) + 1;
            for _ in 0..n {
                let pos = (a + rng.below(b - a)) as usize;
                if let Some(byte) = img.get_mut(pos) {
                    *byte = match rng.below(4) {
                        0 => 0,
                        1 => 0xFF,
                        _ => rng.next() as u8,
                    };
                }
            }
        }
        if rng.below(10) == 0 {
            img.truncate(rng.below(img.len() as u64) as usize);
        }
        let disk = Arc::new(MemDisk::new(img));
        let _ = exo_ext2::probe(&*disk as &dyn BlockIo);
        let ro = rng.below(3) == 0;
        if let Ok(fs) = mount(&disk, ro) {
            mounted += 1;
            exercise(&fs, &mut rng);
        }
    }
    println!("block size {bs}: {done} corrupted images, {mounted} mounted, {:?}", start.elapsed());
    assert!(mounted > done / 10, "too few images mounted to exercise anything");
}

fn cases() -> u64 {
    std::env::var("EXO_EXT2_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1500)
}

#[test]
fn corrupted_metadata_never_panics_1k() {
    if have_tools() {
        fuzz(1024, cases(), 0x1234_5678, Duration::from_secs(60));
    }
}

#[test]
fn corrupted_metadata_never_panics_4k() {
    if have_tools() {
        fuzz(4096, cases(), 0x8765_4321, Duration::from_secs(60));
    }
}

#[test]
fn directed_corruptions_give_euclean() {
    use exo_abi::Errno;
    if !have_tools() {
        return;
    }
    let base = build(1024);
    let (img, _) = debugfs(&base, true, &["sif /big block[2] 99999999", "sif /dir size 1000000000", "sif /mid block[IND] 3000000"]);
    let disk = Arc::new(MemDisk::new(img));
    let fs = mount(&disk, false).unwrap();
    let root = fs.root();
    let big = root.lookup(b"big").unwrap();
    let mut buf = vec![0u8; 8192];
    assert_eq!(big.read_at(0, &mut buf).err(), Some(Errno::EUCLEAN));
    let dir = root.lookup(b"dir").unwrap();
    assert_eq!(dir.lookup(b"file1").err(), Some(Errno::EUCLEAN));
    assert_eq!(dir.read_dir(0, &mut |_| true).err(), Some(Errno::EUCLEAN));
    let mid = root.lookup(b"mid").unwrap();
    assert_eq!(mid.read_at(20_000, &mut buf).err(), Some(Errno::EUCLEAN));
    // Freeing the corrupted file skips the bad pointers (logged) and keeps going.
    drop(mid);
    root.unlink(b"mid").unwrap();
    fs.sync().unwrap();
    // A bad rec_len in the root directory.
    let (img, out) = debugfs(&base, false, &["blocks /"]);
    let blk: u64 = out.lines().last().unwrap().split_whitespace().next().unwrap().parse().unwrap();
    let mut img = img;
    img[(blk * 1024 + 4) as usize] = 3;
    let disk = Arc::new(MemDisk::new(img));
    let fs = mount(&disk, true).unwrap();
    assert_eq!(fs.root().lookup(b"big").err(), Some(Errno::EUCLEAN));
    // A truncated image does not mount.
    let disk = Arc::new(MemDisk::new(base[..base.len() / 2].to_vec()));
    assert_eq!(mount(&disk, true).err(), Some(Errno::EUCLEAN));
}

#[test]
fn directory_loops_are_euclean() {
    use exo_abi::Errno;
    if !have_tools() {
        return;
    }
    let base = build(1024);
    let (_, out) = debugfs(&base, false, &["blocks /dir", "stat /dir/sub"]);
    let blk: u64 = out.lines().find(|l| !l.is_empty() && l.split_whitespace().all(|w| w.parse::<u64>().is_ok())).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    let sub_ino: u32 = out.split("Inode: ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    // /dir's '..' now names /dir/sub: a loop dir → sub → dir → …
    let mut img = base.clone();
    let at = (blk * 1024 + 12) as usize;
    img[at..at + 4].copy_from_slice(&sub_ino.to_le_bytes());
    let disk = Arc::new(MemDisk::new(img));
    let fs = mount(&disk, false).unwrap();
    let root = fs.root();
    let sub = root.lookup(b"dir").unwrap().lookup(b"sub").unwrap();
    root.create(b"mover", S_IFDIR | 0o755, 0, 0, 0).unwrap();
    assert_eq!(root.rename(b"mover", &sub, b"moved", 0).err(), Some(Errno::EUCLEAN));
    // Plain lookups of the loop terminate (each is one step).
    let up = sub.lookup(b"..").unwrap().lookup(b"..").unwrap();
    assert_eq!(up.metadata().ino, u64::from(sub_ino));
}
