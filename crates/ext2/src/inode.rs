//! [`Ext2Inode`]: the one in-memory object of an inode number (see the table in
//! [`Vol`](crate::fs::Vol)), holding the inode record, its block-mapping cache and, for a
//! directory, the directory image — all under one sleeping mutex — and the
//! [`exo_vfs::Inode`] implementation (dispatching to `file.rs`, `ops.rs`, `rename.rs`).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use exo_abi::mode::*;
use exo_abi::Errno;
use exo_sleeplock::{Mutex, MutexGuard};
use exo_vfs::{DirEntry, DirEntryRef, Inode, Metadata, SetAttr, StatFs};

use crate::bmap::{MapCache, Mapper};
use crate::dinode::{DiskInode, FL_INDEX};
use crate::dir::{dtype, DirImage, MAX_DIR_BYTES};
use crate::fs::{corrupt, Vol};
use crate::Result;

pub(crate) struct State {
    pub d: DiskInode,
    pub map: MapCache,
    pub dir: Option<DirImage>,
}

/// One ext2 inode in memory.
pub struct Ext2Inode {
    pub(crate) vol: Arc<Vol>,
    pub(crate) ino: u32,
    ftype: u32,
    pub(crate) st: Mutex<State>,
}

impl State {
    pub fn mapper<'a>(&'a mut self, vol: &'a Vol, ino: u32) -> Mapper<'a> {
        Mapper { vol, d: &mut self.d, c: &mut self.map, ino }
    }

    /// The directory image, read from disk on first use.
    pub fn dir(&mut self, vol: &Vol, ino: u32) -> Result<&mut DirImage> {
        if self.dir.is_none() {
            let bs = vol.bs();
            let size = self.d.size;
            if size % bs != 0 || size > MAX_DIR_BYTES {
                return Err(corrupt(ino, "directory size is not a multiple of the block size, or too large"));
            }
            if self.d.blocks.saturating_mul(512) < size {
                return Err(corrupt(ino, "directory has fewer blocks than its size"));
            }
            // Grown run by run, so a corrupted size costs no more memory than the blocks
            // actually mapped.
            let mut data: Vec<u8> = Vec::new();
            let mut m = self.mapper(vol, ino);
            let nblocks = size / bs;
            let mut l = 0;
            while l < nblocks {
                let p = m.map(l)?;
                if p == 0 {
                    return Err(corrupt(ino, "hole in a directory"));
                }
                // Extend the run of physically contiguous blocks.
                let mut n = 1;
                while l + n < nblocks && n < 256 && m.map(l + n)? == p + n {
                    n += 1;
                }
                let s = data.len();
                let len = (n * bs) as usize;
                data.try_reserve(len).map_err(|_| Errno::ENOMEM)?;
                data.resize(s + len, 0);
                let dst = data.get_mut(s..).ok_or(Errno::EIO)?;
                vol.read_block(p, dst)?;
                l += n;
            }
            let img = DirImage::new(data, vol.geo.block_size, vol.geo.has_filetype(), vol.geo.inodes_count, ino)?;
            self.dir = Some(img);
        }
        self.dir.as_mut().ok_or(Errno::EIO)
    }

    /// Writes bytes `range` of the directory image to disk.
    pub fn write_dir_range(&mut self, vol: &Vol, ino: u32, range: (u32, u32)) -> Result<()> {
        let bs = vol.geo.block_size;
        let (s, e) = range;
        if e <= s {
            return Ok(());
        }
        let lblk = u64::from(s / bs);
        let p = self.mapper(vol, ino).map(lblk)?;
        if p == 0 {
            return Err(corrupt(ino, "hole in a directory"));
        }
        let bytes = self.dir.as_ref().and_then(|d| d.data.get(s as usize..e as usize)).ok_or(Errno::EIO)?;
        vol.dev.write_at(p * vol.bs() + u64::from(s % bs), bytes)
    }

    /// A directory changed: mtime/ctime now, the htree flag cleared (the index is not kept
    /// up to date), the record written.
    pub fn dir_modified(&mut self, vol: &Vol, ino: u32) -> Result<()> {
        let now = vol.now();
        self.d.mtime = now;
        self.d.ctime = now;
        self.d.flags &= !FL_INDEX;
        vol.write_dinode(ino, &mut self.d)
    }
}

impl Ext2Inode {
    pub(crate) fn new(vol: Arc<Vol>, ino: u32, d: DiskInode) -> Arc<Ext2Inode> {
        let ftype = d.ftype();
        Arc::new(Ext2Inode { vol, ino, ftype, st: Mutex::new(State { d, map: MapCache::default(), dir: None }) })
    }

    pub(crate) fn is_dir(&self) -> bool {
        self.ftype == S_IFDIR
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock()
    }

    /// The inode number.
    pub fn ino(&self) -> u32 {
        self.ino
    }

    fn list(&self, cursor: u64, emit: &mut dyn FnMut(DirEntryRef<'_>) -> bool) -> Result<()> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let mut cursor = cursor;
        let mut recs = Vec::new();
        let mut names: Vec<u8> = Vec::new();
        loop {
            recs.clear();
            names.clear();
            {
                let mut st = self.lock();
                if st.d.links == 0 {
                    return Err(Errno::ENOENT);
                }
                let img = st.dir(&self.vol, self.ino)?;
                img.list_from(cursor, 64, &mut recs);
                for r in &recs {
                    names.extend_from_slice(img.name(r));
                }
            }
            if recs.is_empty() {
                return Ok(());
            }
            let mut pos = 0usize;
            for r in &recs {
                let name = names.get(pos..pos + r.name_len as usize).unwrap_or(&[]);
                pos += r.name_len as usize;
                let next = u64::from(r.off) + u64::from(r.rec_len);
                let e = DirEntryRef { ino: u64::from(r.ino), kind: dtype(r.ftype), name, next_cursor: next };
                if !emit(e) {
                    return Ok(());
                }
                cursor = next;
            }
        }
    }
}

impl Inode for Ext2Inode {
    fn metadata(&self) -> Metadata {
        let st = self.lock();
        let d = &st.d;
        let rdev = if matches!(self.ftype, S_IFCHR | S_IFBLK) { d.rdev() } else { 0 };
        Metadata {
            ino: u64::from(self.ino),
            mode: u32::from(d.mode),
            nlink: u64::from(d.links),
            uid: d.uid,
            gid: d.gid,
            size: d.size,
            rdev,
            blksize: self.vol.bs(),
            blocks: d.blocks,
            atime: d.atime,
            mtime: d.mtime,
            ctime: d.ctime,
            dev: self.vol.id,
        }
    }

    fn fs_id(&self) -> u64 {
        self.vol.id
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn file_type(&self) -> u32 {
        self.ftype
    }

    fn names_stable(&self) -> bool {
        true
    }

    fn statfs(&self) -> Result<StatFs> {
        Ok(self.vol.statfs())
    }

    fn set_attr(&self, attr: &SetAttr) -> Result<()> {
        self.vol.check_writable()?;
        if self.lock().d.flags & crate::dinode::FL_IMMUTABLE != 0 {
            return Err(Errno::EPERM);
        }
        if let Some(size) = attr.size {
            match self.ftype {
                S_IFREG => {}
                S_IFDIR => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            }
            self.truncate_inner(size, attr.mtime.is_none())?;
        }
        let mut st = self.lock();
        let d = &mut st.d;
        if let Some(m) = attr.mode {
            d.mode = ((u32::from(d.mode) & S_IFMT) | (m & 0o7777)) as u16;
        }
        if let Some(u) = attr.uid {
            d.uid = u;
        }
        if let Some(g) = attr.gid {
            d.gid = g;
        }
        if let Some(t) = attr.atime {
            d.atime = t;
        }
        if let Some(t) = attr.mtime {
            d.mtime = t;
        }
        d.ctime = self.vol.now();
        self.vol.write_dinode(self.ino, &mut st.d)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        match self.ftype {
            S_IFREG => self.read_data(offset, buf),
            S_IFDIR => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        match self.ftype {
            S_IFREG => {
                self.vol.check_writable()?;
                self.write_data(offset, buf)
            }
            S_IFDIR => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    fn fsync(&self, _datasync: bool) -> Result<()> {
        if self.vol.read_only.load(core::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        // Data and the inode record are written through to the block layer by every call;
        // what remains is the allocator's state, then the device flush.
        self.vol.flush_meta(None)?;
        self.vol.dev.flush()
    }

    fn truncate(&self, len: u64) -> Result<()> {
        match self.ftype {
            S_IFREG => {
                self.vol.check_writable()?;
                self.truncate_inner(len, true)
            }
            S_IFDIR => Err(Errno::EISDIR),
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
        if self.ftype != S_IFLNK {
            return Err(Errno::EINVAL);
        }
        let (fast, size, bytes) = {
            let st = self.lock();
            (st.d.is_fast_symlink(self.vol.geo.block_size), st.d.size, st.d.block_bytes())
        };
        if size == 0 || size >= exo_vfs::PATH_MAX as u64 || size >= self.vol.bs() {
            return Err(corrupt(self.ino, "bad symlink size"));
        }
        let mut out = Vec::new();
        out.try_reserve_exact(size as usize).map_err(|_| Errno::ENOMEM)?;
        if fast {
            out.extend_from_slice(bytes.get(..size as usize).ok_or_else(|| corrupt(self.ino, "fast symlink longer than 60 bytes"))?);
        } else {
            out.resize(size as usize, 0);
            let n = self.read_data(0, &mut out)?;
            out.truncate(n);
        }
        Ok(out)
    }

    fn read_dir(&self, cursor: u64, emit: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        self.list(cursor, &mut |e| emit(e.to_owned()))
    }

    fn read_dir_ref(&self, cursor: u64, emit: &mut dyn FnMut(DirEntryRef<'_>) -> bool) -> Result<()> {
        self.list(cursor, emit)
    }
}
