//! The namespace layer: [`Namespace`] (mount table, path resolution, and the operations that
//! change names), [`PathRef`] (a dentry within a mount — what a cwd, a root or an open file's
//! path is) and [`Lookup`] (the per-call context: root, starting directory, credentials).

mod dentry;
mod mount;
mod namehash;
mod ops;
mod recent;
mod remove;
mod walk;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::Errno;
use exo_sleeplock::Mutex;
use spin::RwLock;

use crate::inode::{FileSystem, Inode, Result};
use crate::perm::Cred;
use crate::types::Metadata;

pub use dentry::Dentry;
pub use mount::Mount;
pub use namehash::set_name_hash_key;
use mount::MountTable;
use recent::Recent;

/// A location in the namespace: a dentry and the mount it is seen through.
#[derive(Clone)]
pub struct PathRef {
    pub mount: Arc<Mount>,
    pub dentry: Arc<Dentry>,
}

impl PathRef {
    /// The inode.
    pub fn inode(&self) -> &Arc<dyn Inode> {
        self.dentry.inode()
    }

    /// The inode's metadata.
    pub fn metadata(&self) -> Metadata {
        self.dentry.inode().metadata()
    }

    /// Whether the name was removed (e.g. a cwd whose directory was deleted: `getcwd` then
    /// fails with `ENOENT`, `/proc/self/cwd` shows " (deleted)").
    pub fn is_deleted(&self) -> bool {
        self.dentry.is_deleted()
    }

    /// Whether the mount is read-only (the kernel refuses opens for writing, `EROFS`).
    pub fn is_readonly(&self) -> bool {
        self.mount.is_readonly()
    }

    /// The flags of the mount the path is in (`MS_RDONLY`, `MS_NOSUID`, `MS_NODEV`,
    /// `MS_NOEXEC` …), for the kernel's checks (exec honours `MS_NOEXEC` and `MS_NOSUID`).
    pub fn mount_flags(&self) -> u64 {
        self.mount.flags()
    }

    /// Whether this is the root of its mount.
    pub fn is_mount_root(&self) -> bool {
        Arc::ptr_eq(&self.dentry, self.mount.root())
    }
}

impl PartialEq for PathRef {
    fn eq(&self, other: &PathRef) -> bool {
        Arc::ptr_eq(&self.mount, &other.mount) && Arc::ptr_eq(&self.dentry, &other.dentry)
    }
}

impl Eq for PathRef {}

impl fmt::Debug for PathRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathRef(mount {}, dentry {} {:?})", self.mount.id(), self.dentry.id(), String::from_utf8_lossy(&self.dentry.name()))
    }
}

/// Context of one resolution: where `/` and relative paths start, how to treat the final
/// component, and who asks.
#[derive(Clone, Debug)]
pub struct Lookup {
    /// The process root (`chroot`); `..` never climbs above it and absolute symlinks restart here.
    pub root: PathRef,
    /// Where relative paths start: the cwd, or the directory of an `*at` call's dirfd.
    pub cwd: PathRef,
    /// Follow a symlink in the final component (false for `O_NOFOLLOW`, `lstat`, `AT_SYMLINK_NOFOLLOW`).
    pub follow_final_symlink: bool,
    /// The result must be a directory (`O_DIRECTORY`, `chdir`): `ENOTDIR` otherwise.
    pub must_be_dir: bool,
    pub cred: Cred,
}

impl Lookup {
    /// A context that follows final symlinks and accepts any type.
    pub fn new(root: PathRef, cwd: PathRef, cred: Cred) -> Lookup {
        Lookup { root, cwd, follow_final_symlink: true, must_be_dir: false, cred }
    }

    /// The same context with `follow_final_symlink` set to `follow`.
    pub fn follow(mut self, follow: bool) -> Lookup {
        self.follow_final_symlink = follow;
        self
    }

    /// The same context with `must_be_dir` set to `dir`.
    pub fn directory(mut self, dir: bool) -> Lookup {
        self.must_be_dir = dir;
        self
    }
}

/// One line of `/proc/mounts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountInfo {
    pub mount_id: u64,
    /// Where it is mounted, absolute from the namespace root.
    pub path: Vec<u8>,
    /// [`FileSystem::name`], e.g. "tmpfs".
    pub fs_name: String,
    pub fs_id: u64,
    /// `MS_*` flags.
    pub flags: u64,
}

/// A mount namespace: a tree of mounts plus the operations that resolve and change names.
pub struct Namespace {
    root: Arc<Mount>,
    table: RwLock<MountTable>,
    /// Serializes every change made through the namespace (outermost lock). A sleeping lock:
    /// it is held across inode calls, which may wait for a disk.
    mutate: Mutex<()>,
    next_mount_id: AtomicU64,
    /// Recently looked-up dentries kept alive (see `recent.rs`).
    recent: Recent,
}

impl Namespace {
    /// A namespace whose root mount is `root_fs` (flags 0).
    pub fn new(root_fs: Arc<dyn FileSystem>) -> Namespace {
        let root = Mount::new(1, root_fs, None, 0);
        Namespace { table: RwLock::new(MountTable::new(root.clone())), root, mutate: Mutex::new(()), next_mount_id: AtomicU64::new(2), recent: Recent::new() }
    }

    /// The root of the namespace (the root directory of the root mount).
    pub fn root(&self) -> PathRef {
        PathRef { mount: self.root.clone(), dentry: self.root.root().clone() }
    }

    /// Mounts `fs` on the directory `at` (a resolved path, hence already the top of any mount
    /// stack there; the new mount stacks on top and hides what `at` showed). `ENOTDIR` if `at`
    /// is not a directory, `ENOENT` if it was deleted, `EBUSY` if `fs` is already mounted in
    /// this namespace or `at` is stale (something was mounted on it since it was resolved).
    pub fn mount(&self, at: &PathRef, fs: Arc<dyn FileSystem>, flags: u64) -> Result<()> {
        let _m = self.mutate.lock();
        if !at.dentry.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if at.dentry.is_deleted() {
            return Err(Errno::ENOENT);
        }
        // Built before taking the table lock: this calls into the file system.
        let id = self.next_mount_id.fetch_add(1, Ordering::Relaxed);
        let fs_id = fs.id();
        let mount = Mount::new(id, fs, Some((at.mount.clone(), at.dentry.clone())), flags);
        let mut table = self.table.write();
        if !table.contains(&at.mount) {
            return Err(Errno::EINVAL);
        }
        if table.has_fs(fs_id) || table.by_point.contains_key(&(at.mount.id(), at.dentry.id())) {
            return Err(Errno::EBUSY);
        }
        table.add(mount);
        Ok(())
    }

    /// Unmounts the mount whose root is `at`: `EINVAL` if `at` is not the root of a mount of
    /// this namespace, `EBUSY` for the namespace root or a mount with mounts below it. Paths
    /// into the mount that are still held keep working (like Linux's lazy `MNT_DETACH`).
    pub fn umount(&self, at: &PathRef) -> Result<()> {
        let _m = self.mutate.lock();
        if !at.is_mount_root() {
            return Err(Errno::EINVAL);
        }
        let mut table = self.table.write();
        if !table.contains(&at.mount) {
            return Err(Errno::EINVAL);
        }
        if at.mount.parent().is_none() || table.has_children(&at.mount) {
            return Err(Errno::EBUSY);
        }
        table.remove(&at.mount);
        drop(table);
        // Kept dentries may belong to the unmounted file system: let it go.
        self.recent.clear();
        Ok(())
    }

    /// How many recently used dentries (with their inodes) the namespace keeps alive: its
    /// dentry cache. 64 by default; the kernel sizes it from the memory (a disk file system's
    /// lookup costs a directory search and an inode read, as Linux's dcache saves).
    pub fn set_dentry_cache_capacity(&self, capacity: usize) {
        self.recent.set_capacity(capacity);
    }

    /// Lets go of up to `wanted` cached dentries, least recently used first (memory pressure);
    /// returns how many.
    pub fn shrink_dentry_cache(&self, wanted: usize) -> usize {
        self.recent.shrink(wanted)
    }

    /// Dentries the cache keeps alive now.
    pub fn dentry_cache_len(&self) -> usize {
        self.recent.len()
    }

    /// Moves the mount whose root is `from` onto the directory `to` (`mount --move`, `MS_MOVE`;
    /// `switch_root` moves the new root onto `/`). Mounts below it move with it, and paths held
    /// into it stay valid. `EINVAL` if `from` is not the root of a mount of this namespace or is
    /// the namespace root; `ELOOP` if `to` lies inside the mount being moved (a mount cannot go
    /// under itself, Linux's error); `ENOTDIR`, `ENOENT` (deleted) and `EBUSY` (something already
    /// mounted on `to`) as for [`Namespace::mount`].
    pub fn move_mount(&self, from: &PathRef, to: &PathRef) -> Result<()> {
        let _m = self.mutate.lock();
        if !from.is_mount_root() || from.mount.parent().is_none() {
            return Err(Errno::EINVAL);
        }
        if !to.dentry.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if to.dentry.is_deleted() {
            return Err(Errno::ENOENT);
        }
        let mut table = self.table.write();
        if !table.contains(&from.mount) || !table.contains(&to.mount) {
            return Err(Errno::EINVAL);
        }
        // `to` may not be inside the moved mount (or any mount below it).
        let mut m = Some(to.mount.clone());
        while let Some(cur) = m {
            if Arc::ptr_eq(&cur, &from.mount) {
                return Err(Errno::ELOOP);
            }
            m = cur.parent();
        }
        if table.by_point.contains_key(&(to.mount.id(), to.dentry.id())) {
            return Err(Errno::EBUSY);
        }
        table.relink(&from.mount, to.mount.clone(), to.dentry.clone());
        drop(table);
        self.recent.clear();
        Ok(())
    }

    /// Replaces the flags of the mount whose root is `at` (`mount -o remount`); `EINVAL` if `at`
    /// is not the root of a mount of this namespace.
    pub fn remount(&self, at: &PathRef, flags: u64) -> Result<()> {
        let _m = self.mutate.lock();
        if !at.is_mount_root() || !self.table.read().contains(&at.mount) {
            return Err(Errno::EINVAL);
        }
        at.mount.set_flags(flags);
        Ok(())
    }

    /// Every mount, in mount order (the root first), for `/proc/mounts`.
    pub fn mounts(&self) -> Vec<MountInfo> {
        let list = self.table.read().list.clone();
        let root = self.root();
        list.iter()
            .map(|m| MountInfo {
                mount_id: m.id(),
                path: self.path_of(&PathRef { mount: m.clone(), dentry: m.root().clone() }, &root),
                fs_name: String::from(m.fs().name()),
                fs_id: m.fs().id(),
                flags: m.flags(),
            })
            .collect()
    }

    /// The absolute path of `path` as seen from `root` (`getcwd`, `/proc/self/cwd`): follows
    /// dentry parents and mount points up to `root`. If `root` is never met (the path lies
    /// outside the process root) the result is the path from the namespace root prefixed with
    /// "(unreachable)", as Linux's `getcwd` reports. A deleted path still yields its last name;
    /// check [`PathRef::is_deleted`].
    pub fn path_of(&self, path: &PathRef, root: &PathRef) -> Vec<u8> {
        let mut names: Vec<Vec<u8>> = Vec::new();
        let mut cur = path.clone();
        let mut reachable = true;
        loop {
            if cur == *root {
                break;
            }
            if cur.is_mount_root() {
                match cur.mount.parent_link() {
                    Some((m, d)) => {
                        cur = PathRef { mount: m.clone(), dentry: d.clone() };
                        continue;
                    }
                    None => {
                        reachable = false;
                        break;
                    }
                }
            }
            match cur.dentry.parent() {
                Some(parent) => {
                    names.push(cur.dentry.name());
                    cur.dentry = parent;
                }
                None => {
                    reachable = false;
                    break;
                }
            }
        }
        let mut out = if reachable { Vec::new() } else { b"(unreachable)".to_vec() };
        for name in names.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(name);
        }
        if names.is_empty() {
            out.push(b'/');
        }
        out
    }

    /// What a walk entering `p` sees: `p`, or the root of the mount stacked on it (the top of
    /// the stack). The kernel uses it for the root of init after mounting the root file system
    /// on top of `/`.
    pub fn covering(&self, p: &PathRef) -> PathRef {
        self.cross_mounts(p.clone())
    }

    /// `p`, or the root of the mount stacked on it (repeatedly).
    fn cross_mounts(&self, mut p: PathRef) -> PathRef {
        while p.dentry.mounted.load(Ordering::Relaxed) > 0 {
            let top = self.table.read().by_point.get(&(p.mount.id(), p.dentry.id())).cloned();
            match top {
                Some(m) => p = PathRef { dentry: m.root().clone(), mount: m },
                None => break,
            }
        }
        p
    }

    /// Whether a mount of this namespace covers `p`.
    fn is_mountpoint(&self, mount: &Arc<Mount>, dentry: &Arc<Dentry>) -> bool {
        dentry.mounted.load(Ordering::Relaxed) > 0 && self.table.read().by_point.contains_key(&(mount.id(), dentry.id()))
    }

    /// The child `name` of the directory `dir`, crossing into mounts stacked on it.
    fn child(&self, dir: &PathRef, name: &[u8]) -> Result<PathRef> {
        let dentry = dir.dentry.lookup_child(name, &self.recent)?;
        Ok(self.cross_mounts(PathRef { mount: dir.mount.clone(), dentry }))
    }
}
