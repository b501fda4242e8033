//! [`FatNode`]: one file or directory of a mounted FAT volume as an `exo_vfs::Inode`. It holds
//! one pin on the driver's node id while it lives (so the id, which is the inode number, stays
//! the same across renames) and a cached `stat` view that makes `metadata` free of I/O.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use exo_abi::mode::{DT_DIR, DT_REG, S_IFDIR, S_IFMT, S_IFREG};
use exo_abi::Errno;
use exo_vfs::{DirEntry, DirEntryRef, Inode, Metadata, SetAttr, StatFs};
use hadris_fs::{Attributes, DirCursor, FileType, Name, NodeId};

use crate::fs::{fail, Shared, State};
use crate::MSDOS_SUPER_MAGIC;

/// Entries a directory listing collects under the lock before handing them out unlocked.
const LIST_BATCH: usize = 64;

/// What a [`FatNode`] remembers between operations.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cached {
    pub(crate) meta: Metadata,
    pub(crate) attrs: Attributes,
    /// Removed from its directory (its clusters are free: data operations fail with `EIO`).
    pub(crate) removed: bool,
}

/// A file or directory of a mounted FAT volume.
pub struct FatNode {
    pub(crate) fs: Arc<Shared>,
    pub(crate) id: NodeId,
    pub(crate) dir: bool,
    pub(crate) cache: spin::Mutex<Cached>,
}

impl Drop for FatNode {
    fn drop(&mut self) {
        // No lock but the queue's leaf lock: the next operation releases the pin.
        let mut q = self.fs.dropped.lock();
        if q.try_reserve(1).is_ok() {
            q.push(self.id);
        }
    }
}

/// A name as the driver sees it: trailing dots dropped, as Linux vfat does (`foo.` is `foo`),
/// unless the name is nothing but dots.
pub(crate) fn name_of(name: &[u8]) -> &Name {
    let end = name.iter().rposition(|&b| b != b'.').map_or(name.len(), |i| i + 1);
    Name::new(&name[..end])
}

pub(crate) use exo_vfs::is_dots;

impl FatNode {
    pub(crate) fn new(fs: Arc<Shared>, id: NodeId, cached: Cached) -> FatNode {
        FatNode { fs, id, dir: cached.meta.is_dir(), cache: spin::Mutex::new(cached) }
    }

    pub(crate) fn same_fs<'a>(&self, other: &'a Arc<dyn Inode>) -> Result<&'a FatNode, Errno> {
        match other.as_any().downcast_ref::<FatNode>() {
            Some(n) if Arc::ptr_eq(&n.fs, &self.fs) => Ok(n),
            _ => Err(Errno::EXDEV),
        }
    }

    pub(crate) fn check_dir(&self) -> Result<(), Errno> {
        if self.dir {
            Ok(())
        } else {
            Err(Errno::ENOTDIR)
        }
    }

    fn check_file(&self) -> Result<(), Errno> {
        if self.dir {
            return Err(Errno::EISDIR);
        }
        if self.cache.lock().removed {
            log::warn!("vfat: data operation on removed file {}", self.id.get());
            return Err(Errno::EIO);
        }
        Ok(())
    }

    pub(crate) fn check_writable(&self) -> Result<(), Errno> {
        if self.fs.read_only {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }

    /// Re-reads the cached metadata from the driver (keeping the link count of a directory).
    fn refresh(&self, st: &mut State) -> Result<(), Errno> {
        let meta = st.fat.stat(self.id).map_err(fail)?;
        let mut c = self.cache.lock();
        let subdirs = c.meta.nlink.saturating_sub(2);
        let removed = c.removed;
        *c = self.fs.cached(self.id, &meta, subdirs);
        c.removed = removed;
        Ok(())
    }

    pub(crate) fn add_links(&self, delta: i64) {
        let mut c = self.cache.lock();
        c.meta.nlink = c.meta.nlink.saturating_add_signed(delta).max(2);
    }

    /// Marks the live inode of `id` (if any) as removed.
    pub(crate) fn mark_removed(st: &State, id: NodeId) {
        if let Some(n) = st.nodes.get(&id.get()).and_then(alloc::sync::Weak::upgrade) {
            let mut c = n.cache.lock();
            c.removed = true;
            c.meta.nlink = 0;
        }
    }

    /// Removes `name` (a directory if `dir`), returning the removed node's id.
    pub(crate) fn remove(&self, st: &mut State, name: &[u8], dir: bool) -> Result<NodeId, Errno> {
        let id = st.fat.lookup(self.id, name_of(name)).map_err(fail)?;
        let r = if dir { st.fat.rmdir(self.id, name_of(name)) } else { st.fat.unlink(self.id, name_of(name)) };
        if r.is_ok() {
            Self::mark_removed(st, id);
        }
        st.fat.forget(id, 1);
        r.map_err(fail)?;
        Ok(id)
    }

    /// Sets this directory's modification time to now after an entry was added or removed
    /// (Linux vfat does; the root directory has no entry to hold it). A failure is only logged:
    /// the change itself is done.
    pub(crate) fn touch_dir(&self, st: &mut State) {
        if self.id == st.fat.root() {
            return;
        }
        let now = self.fs.opts.clock.now();
        let Ok(t) = hadris_fs::DateTime::new(now.sec, 0) else { return };
        match st.fat.setattr(self.id, &hadris_fs::SetAttr::new().with_modified(t)) {
            Ok(()) => {
                let mut c = self.cache.lock();
                c.meta.mtime = exo_vfs::Time::new(now.sec & !1, 0);
                c.meta.ctime = c.meta.mtime;
            }
            Err(e) => {
                fail(e);
            }
        }
    }

    fn parent_ino(&self, st: &mut State) -> u64 {
        match st.fat.parent(self.id) {
            Ok(p) => {
                st.fat.forget(p, 1);
                p.get()
            }
            Err(e) => {
                fail(e);
                self.id.get()
            }
        }
    }
}

impl Inode for FatNode {
    fn metadata(&self) -> Metadata {
        self.cache.lock().meta
    }

    fn fs_id(&self) -> u64 {
        self.fs.id
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn file_type(&self) -> u32 {
        if self.dir {
            S_IFDIR
        } else {
            S_IFREG
        }
    }

    fn names_stable(&self) -> bool {
        true
    }

    fn statfs(&self) -> Result<StatFs, Errno> {
        let mut st = self.fs.lock();
        let s = st.fat.statfs().map_err(fail)?;
        let bsize = s.block_size() as u64;
        Ok(StatFs {
            fs_type: MSDOS_SUPER_MAGIC,
            bsize,
            blocks: s.total_blocks(),
            bfree: s.free_blocks(),
            bavail: s.free_blocks(),
            files: 0,
            ffree: 0,
            fsid: self.fs.id,
            namelen: 255,
            frsize: bsize,
        })
    }

    fn set_attr(&self, attr: &SetAttr) -> Result<(), Errno> {
        self.check_writable()?;
        let o = &self.fs.opts;
        if attr.uid.is_some_and(|u| u != o.uid) || attr.gid.is_some_and(|g| g != o.gid) {
            return Err(Errno::EPERM);
        }
        let mut change = hadris_fs::SetAttr::new();
        if let Some(mode) = attr.mode {
            // Linux's fat_sanitize_mode_change: r and x bits cannot change; the w bits are
            // all (subject to the mask) or, for a file only, none (the read-only attribute).
            let (cur, attrs) = {
                let c = self.cache.lock();
                (c.meta.mode, c.attrs)
            };
            let mask = if self.dir { o.dmask } else { o.fmask };
            let perm = mode & 0o777 & !mask;
            if perm & 0o555 != cur & 0o555 {
                return Err(Errno::EPERM);
            }
            let all_w = 0o222 & !mask;
            let w = perm & 0o222;
            if self.dir {
                if w != all_w {
                    return Err(Errno::EPERM);
                }
            } else {
                if w != 0 && w != all_w {
                    return Err(Errno::EPERM);
                }
                let ro = if w == 0 { attrs | Attributes::READ_ONLY } else { attrs.without(Attributes::READ_ONLY) };
                if ro != attrs {
                    change = change.with_attributes(ro);
                }
            }
        }
        let time = |t: exo_vfs::Time| hadris_fs::DateTime::new(t.sec, t.nsec).map_err(|_| Errno::EINVAL);
        if let Some(t) = attr.atime {
            change = change.with_accessed(time(t)?);
        }
        if let Some(t) = attr.mtime {
            change = change.with_modified(time(t)?);
        }
        let mut st = self.fs.lock();
        if let Some(len) = attr.size {
            self.check_file()?;
            st.fat.truncate(self.id, len).map_err(fail)?;
            if attr.mtime.is_none() {
                let now = self.fs.opts.clock.now();
                change = change.with_modified(time(now)?);
            }
        }
        if self.dir && self.id == st.fat.root() {
            return Ok(());
        }
        if !change.is_empty() {
            st.fat.setattr(self.id, &change).map_err(fail)?;
        }
        self.refresh(&mut st)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.check_file()?;
        let mut st = self.fs.lock();
        st.fat.read(self.id, offset, buf).map_err(fail)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize, Errno> {
        self.check_file()?;
        self.check_writable()?;
        if buf.is_empty() {
            return Ok(0);
        }
        let mut st = self.fs.lock();
        let n = match st.fat.write(self.id, offset, buf) {
            Ok(n) => n,
            Err(e) if e.kind() == hadris_io::ErrorKind::NoSpace => {
                // The driver writes all or nothing: write what still fits (a short write).
                let cl = self.fs.cluster as u64;
                let free = st.fat.statfs().map_err(fail)?.free_blocks();
                let size = self.cache.lock().meta.size;
                let room = size.div_ceil(cl).saturating_mul(cl).saturating_add(free.saturating_mul(cl));
                let fits = room.saturating_sub(offset).min(buf.len() as u64) as usize;
                if fits == 0 || fits == buf.len() {
                    return Err(Errno::ENOSPC);
                }
                st.fat.write(self.id, offset, &buf[..fits]).map_err(fail)?
            }
            Err(e) => return Err(fail(e)),
        };
        let now = self.fs.opts.clock.now();
        let mut c = self.cache.lock();
        let end = offset.saturating_add(n as u64);
        if end > c.meta.size {
            c.meta.size = end;
            let cl = self.fs.cluster as u64;
            c.meta.blocks = end.div_ceil(cl).saturating_mul(cl) / 512;
        }
        // FAT keeps modification times to two seconds.
        c.meta.mtime = exo_vfs::Time::new(now.sec & !1, 0);
        c.meta.ctime = c.meta.mtime;
        Ok(n)
    }

    fn fsync(&self, _datasync: bool) -> Result<(), Errno> {
        if self.fs.read_only {
            return Ok(());
        }
        let mut st = self.fs.lock();
        st.fat.fsync(self.id).map_err(fail)
    }

    fn truncate(&self, len: u64) -> Result<(), Errno> {
        self.set_attr(&SetAttr { size: Some(len), ..SetAttr::default() })
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        self.check_dir()?;
        let mut st = self.fs.lock();
        let id = match name {
            b"." => return Ok(self.fs.node_for_live(&mut st, self.id)?),
            b".." => st.fat.parent(self.id).map_err(fail)?,
            _ => st.fat.lookup(self.id, name_of(name)).map_err(fail)?,
        };
        Ok(self.fs.node_for(&mut st, id)?)
    }

    fn create(&self, name: &[u8], mode: u32, _uid: u32, _gid: u32, _rdev: u64) -> Result<Arc<dyn Inode>, Errno> {
        self.check_dir()?;
        let dir = match mode & S_IFMT {
            S_IFREG => false,
            S_IFDIR => true,
            _ => return Err(Errno::EPERM),
        };
        self.check_writable()?;
        if is_dots(name) {
            return Err(Errno::EEXIST);
        }
        let mut st = self.fs.lock();
        let attrs = hadris_fs::SetAttr::new();
        let id = if dir { st.fat.mkdir(self.id, name_of(name), &attrs) } else { st.fat.create(self.id, name_of(name), &attrs) }
            .map_err(fail)?;
        if dir {
            self.add_links(1);
        }
        self.touch_dir(&mut st);
        Ok(self.fs.node_for(&mut st, id)?)
    }

    fn unlink(&self, name: &[u8]) -> Result<(), Errno> {
        self.check_dir()?;
        self.check_writable()?;
        let mut st = self.fs.lock();
        self.remove(&mut st, name, false)?;
        self.touch_dir(&mut st);
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> Result<(), Errno> {
        self.check_dir()?;
        self.check_writable()?;
        if name == b"." {
            return Err(Errno::EINVAL);
        }
        if name == b".." {
            return Err(Errno::ENOTEMPTY);
        }
        let mut st = self.fs.lock();
        self.remove(&mut st, name, true)?;
        self.add_links(-1);
        self.touch_dir(&mut st);
        Ok(())
    }

    fn rename(&self, old_name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8], flags: u32) -> Result<(), Errno> {
        self.rename_entry(old_name, new_dir, new_name, flags)
    }

    fn read_dir(&self, cursor: u64, emit: &mut dyn FnMut(DirEntry) -> bool) -> Result<(), Errno> {
        self.read_dir_ref(cursor, &mut |e| emit(e.to_owned()))
    }

    fn read_dir_ref(&self, cursor: u64, emit: &mut dyn FnMut(DirEntryRef<'_>) -> bool) -> Result<(), Errno> {
        self.check_dir()?;
        let mut cursor = cursor;
        if cursor == 0 {
            if !emit(DirEntryRef { ino: self.id.get(), kind: DT_DIR, name: b".", next_cursor: 1 }) {
                return Ok(());
            }
            cursor = 1;
        }
        if cursor == 1 {
            let up = {
                let mut st = self.fs.lock();
                self.parent_ino(&mut st)
            };
            if !emit(DirEntryRef { ino: up, kind: DT_DIR, name: b"..", next_cursor: 2 }) {
                return Ok(());
            }
            cursor = 2;
        }
        let mut batch: Vec<DirEntry> = Vec::new();
        loop {
            batch.clear();
            let mut done = false;
            {
                let mut st = self.fs.lock();
                let mut at = DirCursor::from_raw(cursor - 2);
                while batch.len() < LIST_BATCH {
                    match st.fat.readdir(self.id, at).map_err(fail)? {
                        Some(e) => {
                            at = e.next_cursor();
                            let kind = if e.file_type() == FileType::Dir { DT_DIR } else { DT_REG };
                            batch.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                            batch.push(DirEntry {
                                ino: e.node().get(),
                                kind,
                                name: e.name().as_bytes().to_vec(),
                                next_cursor: at.into_raw().saturating_add(2),
                            });
                        }
                        None => {
                            done = true;
                            break;
                        }
                    }
                }
            }
            for e in &batch {
                if !emit(e.as_ref()) {
                    return Ok(());
                }
                cursor = e.next_cursor;
            }
            if done {
                return Ok(());
            }
        }
    }
}
