//! Helpers of the host tests: FAT images made by `mkfs.vfat` and populated with mtools, mounted
//! through exo-fat on a `MemDisk`, and checked back with `fsck.fat` and mtools.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use exo_blockdev::{BlockIo, MemDisk};
use exo_fat::{FatFs, FatMountOptions};
use exo_vfs::{FileSystem, Inode, Time};

pub const NOW: i64 = 1_700_000_000;

pub fn clock() -> Arc<dyn exo_vfs::Clock> {
    Arc::new(|| Time::new(NOW, 0))
}

/// Whether mkfs.vfat, fsck.fat and mtools are installed (else the test prints "skipped").
pub fn tools() -> bool {
    let ok = ["mkfs.vfat", "fsck.fat", "mcopy", "mmd", "mdir", "mtype"].iter().all(|t| {
        Command::new("sh").arg("-c").arg(format!("command -v {t} || test -x /usr/sbin/{t} || test -x /sbin/{t}")).output().is_ok_and(|o| o.status.success())
    });
    if !ok {
        println!("skipped: mkfs.vfat/fsck.fat/mtools not installed");
    }
    ok
}

fn sbin(tool: &str) -> String {
    for dir in ["/usr/sbin", "/sbin"] {
        let p = format!("{dir}/{tool}");
        if std::path::Path::new(&p).exists() {
            return p;
        }
    }
    tool.to_string()
}

/// A fresh path in the temp directory.
pub fn tmp(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir().join(format!("exo-fat-{}-{n}-{name}", std::process::id()))
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.env("MTOOLS_SKIP_CHECK", "1").output().expect("run tool");
    assert!(out.status.success(), "{cmd:?} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

/// A new image file of `kib` KiB formatted as FAT`bits`.
pub fn mkfs(bits: u32, kib: u32) -> PathBuf {
    let img = tmp(&format!("fat{bits}.img"));
    let _ = std::fs::remove_file(&img);
    let mut cmd = Command::new(sbin("mkfs.vfat"));
    cmd.args(["-C", "-F", &bits.to_string(), "-n", "EXOTEST"]);
    if bits == 32 {
        cmd.args(["-s", "1"]);
    }
    run(cmd.arg(&img).arg(kib.to_string()));
    img
}

pub fn mmd(img: &PathBuf, dir: &str) {
    run(Command::new("mmd").arg("-i").arg(img).arg(format!("::{dir}")));
}

/// Copies host bytes into the image at `path`.
pub fn mput(img: &PathBuf, path: &str, data: &[u8]) {
    let src = tmp("src");
    std::fs::write(&src, data).unwrap();
    run(Command::new("mcopy").arg("-i").arg(img).arg(&src).arg(format!("::{path}")));
    let _ = std::fs::remove_file(&src);
}

/// The bytes of `path` in the image, read by mtools.
pub fn mget(img: &PathBuf, path: &str) -> Vec<u8> {
    run(Command::new("mtype").arg("-i").arg(img).arg(format!("::{path}"))).stdout
}

/// Long names in `dir`, as mtools lists them (`mdir -b` prints full paths).
pub fn mls(img: &PathBuf, dir: &str) -> Vec<String> {
    let out = run(Command::new("mdir").arg("-b").arg("-i").arg(img).arg(format!("::{dir}")));
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_end_matches('/').rsplit('/').next().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// `fsck.fat -n` on the image: its exit status and report.
pub fn fsck(img: &PathBuf) -> (bool, String) {
    let out = Command::new(sbin("fsck.fat")).arg("-n").arg(img).output().expect("fsck.fat");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

pub fn mount(disk: &Arc<MemDisk>, opts: &[u8]) -> Arc<FatFs> {
    let dev: Arc<dyn BlockIo> = disk.clone();
    FatFs::mount(dev, 7, FatMountOptions::parse(opts, clock()).unwrap()).expect("mount")
}

pub fn load(img: &PathBuf) -> Arc<MemDisk> {
    Arc::new(MemDisk::new(std::fs::read(img).unwrap()))
}

pub fn save(disk: &MemDisk, img: &PathBuf) {
    std::fs::write(img, disk.image()).unwrap();
}

/// Resolves a `/`-separated path from the root (no `.`/`..` handling beyond the inode's).
pub fn walk(fs: &FatFs, path: &str) -> Result<Arc<dyn Inode>, exo_abi::Errno> {
    let mut cur = fs.root();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        cur = cur.lookup(c.as_bytes())?;
    }
    Ok(cur)
}

/// Whole contents of a file.
pub fn read_all(f: &Arc<dyn Inode>) -> Vec<u8> {
    let size = f.metadata().size as usize;
    let mut buf = vec![0u8; size + 100];
    let mut got = 0;
    loop {
        let n = f.read_at(got as u64, &mut buf[got..]).unwrap();
        if n == 0 {
            break;
        }
        got += n;
    }
    buf.truncate(got);
    buf
}

/// Names in a directory (without `.` and `..`), sorted.
pub fn names(dir: &Arc<dyn Inode>) -> Vec<String> {
    let mut v = Vec::new();
    dir.read_dir(0, &mut |e| {
        if e.name != b"." && e.name != b".." {
            v.push(String::from_utf8(e.name).unwrap());
        }
        true
    })
    .unwrap();
    v.sort();
    v
}

/// Deterministic pseudo-random bytes.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
