//! The tmpfs inode: [`TmpNode`], its metadata and timestamps, its lock-free teardown, and the
//! [`Inode`] implementation, which dispatches to the directory (`dir.rs`, `rename.rs`) and file
//! (`file.rs`) code.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;

use exo_abi::mode::{S_IFCHR, S_IFBLK, S_IFDIR, S_IFLNK, S_IFREG};
use exo_abi::Errno;
use spin::{Mutex, RwLock};

use super::dir::Dir;
use super::file::FileData;
use super::{Shared, PAGE_SIZE};
use crate::inode::{Inode, Result};
use crate::types::{DirEntry, DirEntryRef, Metadata, SetAttr, StatFs, Time};

/// Nominal directory size per entry, as Linux tmpfs reports (`BOGO_DIRENT_SIZE`).
const DIRENT_SIZE: u64 = 20;
/// Largest link count (`EMLINK` beyond).
pub(crate) const LINK_MAX: u64 = u32::MAX as u64;

/// Mutable metadata (leaf lock).
pub(crate) struct Meta {
    pub(crate) perm: u32,
    pub(crate) nlink: u64,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) atime: Time,
    pub(crate) mtime: Time,
    pub(crate) ctime: Time,
}

pub(crate) enum Body {
    Dir(RwLock<Dir>),
    File(RwLock<FileData>),
    Symlink(Vec<u8>),
    /// FIFO, socket or device node: metadata only; the kernel implements the I/O.
    Special,
}

/// A tmpfs inode.
pub struct TmpNode {
    pub(crate) me: Weak<TmpNode>,
    pub(crate) fs: Arc<Shared>,
    pub(crate) ino: u64,
    /// `S_IFMT` bits, fixed.
    pub(crate) ftype: u32,
    pub(crate) rdev: u64,
    pub(crate) meta: Mutex<Meta>,
    /// Directories: the parent directory (empty for the root). Leaf lock; changed under `tree`.
    pub(crate) parent: Mutex<Weak<TmpNode>>,
    pub(crate) body: Body,
    /// Extended attributes (leaf lock; their bytes are charged to the size budget in pages,
    /// see `xattr.rs`).
    pub(crate) xattrs: Mutex<crate::xattr::XattrSet>,
}

impl TmpNode {
    pub(crate) fn new_root(fs: &Arc<Shared>, perm: u32, uid: u32, gid: u32) -> Arc<TmpNode> {
        fs.reserve_inode(true);
        TmpNode::build(fs, S_IFDIR, perm, uid, gid, 0, None, Weak::new())
    }

    /// A new node (not yet linked anywhere); `ENOSPC` past the inode limit. `symlink` is the
    /// target for `S_IFLNK`.
    pub(crate) fn alloc(
        fs: &Arc<Shared>,
        ftype: u32,
        perm: u32,
        uid: u32,
        gid: u32,
        rdev: u64,
        symlink: Option<&[u8]>,
        parent: Weak<TmpNode>,
    ) -> Result<Arc<TmpNode>> {
        if !fs.reserve_inode(false) {
            return Err(Errno::ENOSPC);
        }
        Ok(TmpNode::build(fs, ftype, perm, uid, gid, rdev, symlink, parent))
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        fs: &Arc<Shared>,
        ftype: u32,
        perm: u32,
        uid: u32,
        gid: u32,
        rdev: u64,
        symlink: Option<&[u8]>,
        parent: Weak<TmpNode>,
    ) -> Arc<TmpNode> {
        let now = fs.now();
        let body = match ftype {
            S_IFDIR => Body::Dir(RwLock::new(Dir::new())),
            S_IFREG => Body::File(RwLock::new(FileData::new())),
            S_IFLNK => Body::Symlink(symlink.unwrap_or_default().to_vec()),
            _ => Body::Special,
        };
        let nlink = if ftype == S_IFDIR { 2 } else { 1 };
        let rdev = if ftype == S_IFCHR || ftype == S_IFBLK { rdev } else { 0 };
        Arc::new_cyclic(|me| TmpNode {
            me: me.clone(),
            fs: fs.clone(),
            ino: fs.alloc_ino(),
            ftype,
            rdev,
            meta: Mutex::new(Meta { perm: perm & 0o7777, nlink, uid, gid, atime: now, mtime: now, ctime: now }),
            parent: Mutex::new(parent),
            body,
            xattrs: Mutex::new(crate::xattr::XattrSet::new()),
        })
    }

    /// The inode number.
    pub fn ino(&self) -> u64 {
        self.ino
    }

    pub(crate) fn is_dir(&self) -> bool {
        self.ftype == S_IFDIR
    }

    /// The directory body, or `ENOTDIR`.
    pub(crate) fn dir(&self) -> Result<&RwLock<Dir>> {
        match &self.body {
            Body::Dir(d) => Ok(d),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// A strong reference to this node.
    pub(crate) fn arc(&self) -> Result<Arc<TmpNode>> {
        self.me.upgrade().ok_or(Errno::ENOENT)
    }

    pub(crate) fn parent_node(&self) -> Option<Arc<TmpNode>> {
        self.parent.lock().upgrade()
    }

    /// Sets `mtime` and `ctime` to `now` (the content changed).
    pub(crate) fn touch_modified(&self, now: Time) {
        let mut m = self.meta.lock();
        m.mtime = now;
        m.ctime = now;
    }

    /// Sets `ctime` to `now` (the inode changed).
    pub(crate) fn touch_changed(&self, now: Time) {
        self.meta.lock().ctime = now;
    }

    /// Updates `atime` after a read with Linux's default `relatime` rule: only if it is not
    /// newer than `mtime`/`ctime` or is at least a day old.
    pub(crate) fn touch_accessed(&self) {
        let now = self.fs.now();
        let mut m = self.meta.lock();
        if m.atime <= m.mtime || m.atime <= m.ctime || now.sec.saturating_sub(m.atime.sec) >= 86_400 {
            m.atime = now;
        }
    }

    /// Adds `delta` (±1) to the link count.
    pub(crate) fn add_links(&self, delta: i64) {
        let mut m = self.meta.lock();
        m.nlink = if delta < 0 { m.nlink.saturating_sub(delta.unsigned_abs()) } else { m.nlink.saturating_add(delta as u64) };
    }

    /// Whether `self` is `ancestor` or lies below it (walks parent pointers; call under `tree`).
    pub(crate) fn is_within(&self, ancestor: &TmpNode) -> bool {
        let mut cur = match self.arc() {
            Ok(c) => c,
            Err(_) => return false,
        };
        loop {
            if core::ptr::eq(&*cur, ancestor) {
                return true;
            }
            match cur.parent_node() {
                Some(p) => cur = p,
                None => return false,
            }
        }
    }

    /// The tmpfs node behind `inode` if it belongs to the same instance, else `EXDEV`.
    pub(crate) fn same_fs<'a>(&self, inode: &'a Arc<dyn Inode>) -> Result<&'a TmpNode> {
        match inode.as_any().downcast_ref::<TmpNode>() {
            Some(n) if Arc::ptr_eq(&n.fs, &self.fs) => Ok(n),
            _ => Err(Errno::EXDEV),
        }
    }
}

impl Drop for TmpNode {
    fn drop(&mut self) {
        self.fs.release_inode();
        self.fs.release_pages(super::xattr::pages_for(self.xattrs.get_mut().bytes()));
        match &mut self.body {
            Body::File(f) => f.get_mut().release(&self.fs),
            // Tear a dropped directory tree down iteratively: a deep tree must not recurse.
            Body::Dir(d) => {
                let mut stack = d.get_mut().take_all();
                while let Some(child) = stack.pop() {
                    if let Some(mut node) = Arc::into_inner(child) {
                        if let Body::Dir(cd) = &mut node.body {
                            stack.append(&mut cd.get_mut().take_all());
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

impl Inode for TmpNode {
    fn metadata(&self) -> Metadata {
        let (size, blocks) = match &self.body {
            Body::Dir(d) => (2 * DIRENT_SIZE + DIRENT_SIZE * d.read().len() as u64, 0),
            Body::File(f) => {
                let f = f.read();
                (f.size, f.pages() * (PAGE_SIZE / 512))
            }
            Body::Symlink(t) => (t.len() as u64, 0),
            Body::Special => (0, 0),
        };
        let m = self.meta.lock();
        Metadata {
            ino: self.ino,
            mode: self.ftype | m.perm,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            size,
            rdev: self.rdev,
            blksize: PAGE_SIZE,
            blocks,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
            dev: self.fs.id,
        }
    }

    fn names_stable(&self) -> bool {
        true
    }

    fn fs_id(&self) -> u64 {
        self.fs.id
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn file_type(&self) -> u32 {
        self.ftype
    }

    fn statfs(&self) -> Result<StatFs> {
        Ok(self.fs.statfs())
    }

    fn set_attr(&self, attr: &SetAttr) -> Result<()> {
        let now = self.fs.now();
        if let Some(size) = attr.size {
            match &self.body {
                Body::File(f) => f.write().truncate(&self.fs, size)?,
                Body::Dir(_) => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            }
        }
        let mut m = self.meta.lock();
        if let Some(mode) = attr.mode {
            m.perm = mode & 0o7777;
        }
        if let Some(uid) = attr.uid {
            m.uid = uid;
        }
        if let Some(gid) = attr.gid {
            m.gid = gid;
        }
        if let Some(t) = attr.atime {
            m.atime = t;
        }
        match (attr.mtime, attr.size) {
            (Some(t), _) => m.mtime = t,
            (None, Some(_)) => m.mtime = now,
            (None, None) => {}
        }
        m.ctime = now;
        Ok(())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        match &self.body {
            Body::File(f) => {
                let n = f.read().read(offset, buf);
                if !buf.is_empty() {
                    self.touch_accessed();
                }
                Ok(n)
            }
            Body::Dir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        match &self.body {
            Body::File(f) => {
                let mut f = f.write();
                let n = f.write(&self.fs, offset, buf)?;
                if n > 0 {
                    self.touch_modified(self.fs.now());
                }
                Ok(n)
            }
            Body::Dir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    fn truncate(&self, len: u64) -> Result<()> {
        match &self.body {
            Body::File(f) => {
                let mut f = f.write();
                f.truncate(&self.fs, len)?;
                self.touch_modified(self.fs.now());
                Ok(())
            }
            Body::Dir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        Ok(self.lookup_node(name)?)
    }

    fn create(&self, name: &[u8], mode: u32, uid: u32, gid: u32, rdev: u64) -> Result<Arc<dyn Inode>> {
        Ok(self.create_node(name, mode, uid, gid, rdev, None)?)
    }

    fn symlink(&self, name: &[u8], target: &[u8], uid: u32, gid: u32) -> Result<Arc<dyn Inode>> {
        Ok(self.create_node(name, S_IFLNK | 0o777, uid, gid, 0, Some(target))?)
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<()> {
        self.link_node(name, target)
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        self.remove_entry(name, false)
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        self.remove_entry(name, true)
    }

    fn rename(&self, old_name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8], flags: u32) -> Result<()> {
        self.rename_entry(old_name, new_dir, new_name, flags)
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        match &self.body {
            Body::Symlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn read_dir(&self, cursor: u64, emit: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        self.list(cursor, &mut |entry| emit(entry.to_owned()))
    }

    fn read_dir_ref(&self, cursor: u64, emit: &mut dyn FnMut(DirEntryRef<'_>) -> bool) -> Result<()> {
        self.list(cursor, emit)
    }

    fn read_dirents(&self, cursor: u64, out: &mut Vec<u8>, space: usize) -> Result<(u64, bool)> {
        self.list_dirents(cursor, out, space)
    }

    fn get_xattr(&self, name: &[u8]) -> Result<Vec<u8>> {
        self.xattr_get(name)
    }

    fn set_xattr(&self, name: &[u8], value: &[u8], flags: u32) -> Result<()> {
        self.xattr_set(name, Some(value), flags)
    }

    fn list_xattr(&self, out: &mut Vec<u8>) -> Result<()> {
        self.xattrs.lock().list(out)
    }

    fn remove_xattr(&self, name: &[u8]) -> Result<()> {
        self.xattr_set(name, None, 0)
    }
}
