//! Mounts: one [`Mount`] per mounted file system (its root dentry, where it is mounted, its
//! flags) and the namespace's table of them, indexed by mount point.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::dentry::Dentry;
use crate::inode::FileSystem;
use crate::types::MS_RDONLY;

/// One mounted file system.
pub struct Mount {
    id: u64,
    fs: Arc<dyn FileSystem>,
    /// `fs.id()`, read once so the table never calls the file system under its lock.
    fs_id: u64,
    root: Arc<Dentry>,
    /// Parent mount and the dentry (in the parent) this mount covers; `None` for the
    /// namespace's root mount. Changed only by `move_mount` (`MS_MOVE`), under the namespace's
    /// mutation and table locks; the lock itself is a leaf.
    parent: spin::RwLock<Option<(Arc<Mount>, Arc<Dentry>)>>,
    /// Set once by `umount`: the mount is out of the table and, like a lazily unmounted
    /// mount on Linux, its own root for whoever still holds a path into it (`..` stops at
    /// its root, `path_of` calls it unreachable).
    detached: AtomicBool,
    flags: AtomicU64,
}

impl Mount {
    pub(crate) fn new(id: u64, fs: Arc<dyn FileSystem>, parent: Option<(Arc<Mount>, Arc<Dentry>)>, flags: u64) -> Arc<Mount> {
        let root = Dentry::new_root(fs.root());
        let fs_id = fs.id();
        Arc::new(Mount { id, fs, fs_id, root, parent: spin::RwLock::new(parent), detached: AtomicBool::new(false), flags: AtomicU64::new(flags) })
    }

    /// Mount id, unique within the namespace.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The mounted file system.
    pub fn fs(&self) -> &Arc<dyn FileSystem> {
        &self.fs
    }

    /// Root dentry of the mounted file system.
    pub fn root(&self) -> &Arc<Dentry> {
        &self.root
    }

    /// The mount this one is mounted on (`None` for the namespace root and once unmounted).
    pub fn parent(&self) -> Option<Arc<Mount>> {
        self.parent_link().map(|(m, _)| m)
    }

    /// The covered dentry, in [`Mount::parent`] (`None` for the namespace root and once
    /// unmounted).
    pub fn mountpoint(&self) -> Option<Arc<Dentry>> {
        self.parent_link().map(|(_, d)| d)
    }

    /// `MS_*` flags.
    pub fn flags(&self) -> u64 {
        self.flags.load(Ordering::Relaxed)
    }

    pub(crate) fn set_flags(&self, flags: u64) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    /// Whether the mount is read-only (`MS_RDONLY`, or a file system that refuses changes).
    pub fn is_readonly(&self) -> bool {
        self.flags() & MS_RDONLY != 0 || self.fs.read_only()
    }

    pub(crate) fn parent_link(&self) -> Option<(Arc<Mount>, Arc<Dentry>)> {
        if self.detached.load(Ordering::Acquire) {
            return None;
        }
        self.parent.read().clone()
    }

    pub(crate) fn set_parent(&self, parent: (Arc<Mount>, Arc<Dentry>)) {
        *self.parent.write() = Some(parent);
    }
}

/// Every mount of a namespace.
pub(crate) struct MountTable {
    /// In mount order (the root first).
    pub(crate) list: Vec<Arc<Mount>>,
    /// (parent mount id, mount-point dentry id) → the mount on top of it.
    pub(crate) by_point: BTreeMap<(u64, u64), Arc<Mount>>,
}

impl MountTable {
    pub(crate) fn new(root: Arc<Mount>) -> MountTable {
        let mut list = Vec::new();
        list.push(root);
        MountTable { list, by_point: BTreeMap::new() }
    }

    pub(crate) fn contains(&self, mount: &Arc<Mount>) -> bool {
        self.list.iter().any(|m| Arc::ptr_eq(m, mount))
    }

    pub(crate) fn has_children(&self, mount: &Arc<Mount>) -> bool {
        self.list.iter().any(|m| m.parent().is_some_and(|p| Arc::ptr_eq(&p, mount)))
    }

    pub(crate) fn has_fs(&self, fs_id: u64) -> bool {
        self.list.iter().any(|m| m.fs_id == fs_id)
    }

    pub(crate) fn add(&mut self, mount: Arc<Mount>) {
        if let Some((parent, point)) = mount.parent_link() {
            point.mounted.fetch_add(1, Ordering::Relaxed);
            self.by_point.insert((parent.id(), point.id()), mount.clone());
        }
        self.list.push(mount);
    }

    pub(crate) fn remove(&mut self, mount: &Arc<Mount>) {
        self.list.retain(|m| !Arc::ptr_eq(m, mount));
        self.unlink_point(mount);
        mount.detached.store(true, Ordering::Release);
    }

    /// Takes `mount` off its mount point (it stays in the list).
    fn unlink_point(&mut self, mount: &Arc<Mount>) {
        if let Some((parent, point)) = mount.parent_link() {
            self.by_point.remove(&(parent.id(), point.id()));
            point.mounted.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Moves `mount` onto `point` of `parent` (`MS_MOVE`; the caller checked the rules).
    pub(crate) fn relink(&mut self, mount: &Arc<Mount>, parent: Arc<Mount>, point: Arc<Dentry>) {
        self.unlink_point(mount);
        point.mounted.fetch_add(1, Ordering::Relaxed);
        self.by_point.insert((parent.id(), point.id()), mount.clone());
        mount.set_parent((parent, point));
    }
}
