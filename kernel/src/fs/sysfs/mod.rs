//! sysfs: the `sysfs` file system (`mount -t sysfs sysfs /sys`), read-only, showing the
//! devices the kernel knows as Linux lays them out where glibc, busybox, python and udev-less
//! tools read: `devices/system/cpu/{online,possible,present}` and `cpuN/`, `class/tty`,
//! `class/mem`, `class/block` (links into `block/<disk>[/<partition>]` with `dev`, `size` in
//! 512-byte sectors, `ro`, `removable`/`partition`), `class/net/<if>/{address, mtu,
//! operstate, ifindex, flags, type, …}`, `dev/char` and `dev/block` "major:minor" links. The
//! tree is built from the device tables at each lookup and listing (`tree`). An inode is its
//! path. Writes fail with `EACCES`, creating names as the VFS's defaults say (no such
//! operation here).

mod tree;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use exo_abi::mode::*;
use exo_abi::Errno;
use exo_vfs::{DirEntry, FileSystem, Inode, Metadata, Result, StatFs, NAME_MAX};

use self::tree::Kind;

/// `statfs.f_type` of sysfs (Linux `SYSFS_MAGIC`).
pub const SYSFS_MAGIC: u64 = 0x6265_6572;

/// One sysfs instance.
pub struct SysFs {
    id: u64,
}

impl SysFs {
    /// A new instance with a fresh file-system id.
    pub fn new() -> Arc<SysFs> {
        Arc::new(SysFs { id: super::new_fs_id() })
    }
}

impl FileSystem for SysFs {
    fn root(&self) -> Arc<dyn Inode> {
        Arc::new(SysNode { fs_id: self.id, path: String::new(), kind: Kind::Dir })
    }
    fn name(&self) -> &str {
        "sysfs"
    }
    fn magic(&self) -> u64 {
        SYSFS_MAGIC
    }
    fn id(&self) -> u64 {
        self.id
    }
    fn statfs(&self) -> StatFs {
        statfs(self.id)
    }
}

fn statfs(id: u64) -> StatFs {
    StatFs { fs_type: SYSFS_MAGIC, bsize: 4096, fsid: id, namelen: NAME_MAX as u64, frsize: 4096, ..StatFs::default() }
}

/// The open(2) check Linux's kernfs makes: a file opened for writing without a store
/// operation (all of them here) is `EACCES`, even for root.
pub fn check_open(inode: &dyn Inode, write: bool) -> Result<()> {
    match inode.as_any().downcast_ref::<SysNode>() {
        Some(node) if write && matches!(node.kind, Kind::File(_)) => Err(Errno::EACCES),
        _ => Ok(()),
    }
}

/// A sysfs inode: a path and what was there when it was looked up.
pub struct SysNode {
    fs_id: u64,
    path: String,
    kind: Kind,
}

/// An inode number from the path (FNV-1a), stable across lookups; the root is 1.
fn ino_of(path: &str) -> u64 {
    if path.is_empty() {
        return 1;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h | 2
}

fn mode_of(kind: &Kind) -> u32 {
    match kind {
        Kind::Dir => S_IFDIR | 0o755,
        Kind::File(_) => S_IFREG | 0o444,
        Kind::Link(_) => S_IFLNK | 0o777,
    }
}

impl SysNode {
    fn child_path(&self, name: &str) -> String {
        if self.path.is_empty() { String::from(name) } else { alloc::format!("{}/{}", self.path, name) }
    }

    fn parent_path(&self) -> &str {
        self.path.rsplit_once('/').map_or("", |(p, _)| p)
    }
}

impl Inode for SysNode {
    fn metadata(&self) -> Metadata {
        let mode = mode_of(&self.kind);
        let size = match &self.kind {
            Kind::File(_) => 4096,
            Kind::Link(target) => target.len() as u64,
            Kind::Dir => 0,
        };
        let time = crate::fs::now();
        Metadata {
            ino: ino_of(&self.path),
            mode,
            nlink: if mode & S_IFMT == S_IFDIR { 2 } else { 1 },
            size,
            blksize: 4096,
            atime: time,
            mtime: time,
            ctime: time,
            dev: self.fs_id,
            ..Metadata::default()
        }
    }

    fn fs_id(&self) -> u64 {
        self.fs_id
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn file_type(&self) -> u32 {
        mode_of(&self.kind) & S_IFMT
    }

    fn statfs(&self) -> Result<StatFs> {
        Ok(statfs(self.fs_id))
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let Kind::File(_) = self.kind else {
            return Err(if self.file_type() == S_IFDIR { Errno::EISDIR } else { Errno::EINVAL });
        };
        // The current text (the looked-up one may be stale: a link went down).
        let tree = tree::build();
        let Some(Kind::File(text)) = tree.find(&self.path) else { return Err(Errno::ENOENT) };
        let Some(rest) = usize::try_from(offset).ok().and_then(|o| text.as_bytes().get(o..)) else { return Ok(0) };
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }

    fn write_at(&self, _offset: u64, _buf: &[u8]) -> Result<usize> {
        Err(if self.file_type() == S_IFDIR { Errno::EISDIR } else { Errno::EACCES })
    }

    fn truncate(&self, _len: u64) -> Result<()> {
        Err(if self.file_type() == S_IFDIR { Errno::EISDIR } else { Errno::EACCES })
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        if self.file_type() != S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let name = core::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        let path = self.child_path(name);
        let kind = tree::build().find(&path).cloned().ok_or(Errno::ENOENT)?;
        Ok(Arc::new(SysNode { fs_id: self.fs_id, path, kind }))
    }

    fn read_dir(&self, cursor: u64, emit: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        if self.file_type() != S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let tree = tree::build();
        let parent = String::from(self.parent_path());
        let mut entries: Vec<(String, u64, u32)> = alloc::vec![
            (String::from("."), ino_of(&self.path), S_IFDIR),
            (String::from(".."), ino_of(&parent), S_IFDIR),
        ];
        for (name, kind) in tree.children(&self.path) {
            entries.push((String::from(name), ino_of(&self.child_path(name)), mode_of(kind)));
        }
        for (i, (name, ino, mode)) in entries.into_iter().enumerate() {
            let next = i as u64 + 1;
            if next > cursor && !emit(DirEntry { ino, kind: dirent_type(mode), name: name.into_bytes(), next_cursor: next }) {
                break;
            }
        }
        Ok(())
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        match &self.kind {
            Kind::Link(target) => Ok(target.clone().into_bytes()),
            _ => Err(Errno::EINVAL),
        }
    }
}
