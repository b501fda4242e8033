//! Helpers of the ext2 integration tests: e2fsprogs (mke2fs, debugfs, e2fsck) on image files,
//! mounting an image held in a `MemDisk`, and reading a whole tree through the crate.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use exo_blockdev::{BlockIo, MemDisk};
use exo_ext2::{Ext2Fs, MountOptions};
use exo_vfs::{Cred, FileSystem, Inode, Lookup, Namespace, Time};

/// The path of an e2fsprogs tool, if installed.
pub fn tool(name: &str) -> Option<PathBuf> {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return Some(p);
        }
    }
    None
}

/// False (after printing the skip line) when e2fsprogs is missing.
pub fn have_tools() -> bool {
    if tool("mke2fs").is_some() && tool("e2fsck").is_some() && tool("debugfs").is_some() {
        true
    } else {
        println!("skipped: e2fsprogs not installed");
        false
    }
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A fresh scratch directory.
pub fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("exo-ext2-{}-{}-{}", std::process::id(), tag, SEQ.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs mke2fs on a new image of `size_kib` KiB with `args`; returns the image bytes.
pub fn mkfs(size_kib: u64, args: &[&str], populate: Option<&Path>) -> Vec<u8> {
    let dir = scratch("mkfs");
    let img = dir.join("img");
    let mut cmd = Command::new(tool("mke2fs").unwrap());
    cmd.args(["-q", "-F"]).args(args).env("MKE2FS_CONFIG", "/etc/mke2fs.conf").env("E2FSPROGS_FAKE_TIME", "1700000000");
    if let Some(p) = populate {
        cmd.arg("-d").arg(p);
    }
    cmd.arg(&img).arg(format!("{size_kib}k"));
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "mke2fs {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&img).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

/// Writes an image as a sparse file (zero blocks are skipped), to spare the disk.
pub fn write_sparse(path: &Path, image: &[u8]) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::File::create(path).unwrap();
    for (i, chunk) in image.chunks(4096).enumerate() {
        if chunk.iter().any(|&b| b != 0) {
            f.seek(SeekFrom::Start(i as u64 * 4096)).unwrap();
            f.write_all(chunk).unwrap();
        }
    }
    f.set_len(image.len() as u64).unwrap();
}

/// Runs debugfs `-w` commands (one per element) on the image and returns it and stdout.
pub fn debugfs(image: &[u8], write: bool, cmds: &[&str]) -> (Vec<u8>, String) {
    let dir = scratch("debugfs");
    let img = dir.join("img");
    write_sparse(&img, image);
    let script = dir.join("cmds");
    std::fs::write(&script, cmds.join("\n") + "\n").unwrap();
    let mut cmd = Command::new(tool("debugfs").unwrap());
    if write {
        cmd.arg("-w");
    }
    let out = cmd.arg("-f").arg(&script).arg(&img).output().unwrap();
    let bytes = std::fs::read(&img).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (bytes, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `e2fsck -fn`: panics with its output unless the image is clean.
pub fn fsck(image: &[u8]) {
    let dir = scratch("fsck");
    let img = dir.join("img");
    write_sparse(&img, image);
    let out = Command::new(tool("e2fsck").unwrap()).args(["-fn"]).arg(&img).output().unwrap();
    if !out.status.success() {
        let keep = std::env::temp_dir().join(format!("exo-ext2-failed-{}.img", std::process::id()));
        let _ = std::fs::copy(&img, &keep);
        panic!(
            "e2fsck -fn failed ({:?}), image kept at {}:\n{}\n{}",
            out.status.code(),
            keep.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

pub fn clock() -> Arc<dyn exo_vfs::Clock> {
    Arc::new(|| {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        Time::new(d.as_secs() as i64, d.subsec_nanos())
    })
}

pub fn mount(disk: &Arc<MemDisk>, read_only: bool) -> Result<Arc<Ext2Fs>, exo_abi::Errno> {
    let dev: Arc<dyn BlockIo> = disk.clone();
    Ext2Fs::mount(dev, 7, MountOptions { read_only, clock: clock(), type_name: "ext2" })
}

pub fn namespace(fs: &Arc<Ext2Fs>) -> (Namespace, Lookup) {
    let ns = Namespace::new(fs.clone() as Arc<dyn FileSystem>);
    let ctx = Lookup::new(ns.root(), ns.root(), Cred::root());
    (ns, ctx)
}

/// What a tree holds, as compared between the host and the crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File { mode: u32, uid: u32, gid: u32, data: Vec<u8>, mtime: i64 },
    Dir { mode: u32, uid: u32, gid: u32 },
    Link { target: Vec<u8> },
}

/// Reads every node below `dir` through the crate (paths relative, `/`-separated).
pub fn walk_fs(dir: &Arc<dyn Inode>, prefix: &str, out: &mut BTreeMap<String, Node>) {
    let mut names = Vec::new();
    dir.read_dir(0, &mut |e| {
        names.push(e.name.clone());
        true
    })
    .unwrap();
    for name in names {
        if name == b"." || name == b".." || name == b"lost+found" {
            continue;
        }
        let child = dir.lookup(&name).unwrap();
        let m = child.metadata();
        let path = format!("{prefix}{}", String::from_utf8_lossy(&name));
        if m.is_dir() {
            out.insert(path.clone(), Node::Dir { mode: m.mode, uid: m.uid, gid: m.gid });
            walk_fs(&child, &format!("{path}/"), out);
        } else if m.is_symlink() {
            out.insert(path, Node::Link { target: child.readlink().unwrap() });
        } else {
            let mut data = vec![0u8; m.size as usize];
            let n = child.read_at(0, &mut data).unwrap();
            assert_eq!(n as u64, m.size, "{path}");
            out.insert(path, Node::File { mode: m.mode, uid: m.uid, gid: m.gid, data, mtime: m.mtime.sec });
        }
    }
}

/// Reads every node below a host directory.
pub fn walk_host(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Node>) {
    use std::os::unix::fs::MetadataExt;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let path = format!("{prefix}{}", e.file_name().to_string_lossy());
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        if m.is_dir() {
            out.insert(path.clone(), Node::Dir { mode: m.mode(), uid: m.uid(), gid: m.gid() });
            walk_host(&e.path(), &format!("{path}/"), out);
        } else if m.file_type().is_symlink() {
            use std::os::unix::ffi::OsStrExt;
            out.insert(path, Node::Link { target: std::fs::read_link(e.path()).unwrap().as_os_str().as_bytes().to_vec() });
        } else {
            out.insert(path, Node::File { mode: m.mode(), uid: m.uid(), gid: m.gid(), data: std::fs::read(e.path()).unwrap(), mtime: m.mtime() });
        }
    }
}

/// Deterministic pseudo-random bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
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

/// The tests' xorshift generator (seeded by each test).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len() as u64) as usize]
    }
}
