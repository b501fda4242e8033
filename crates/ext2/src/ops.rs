//! Directory operations on single names: lookup, create (files, directories, device nodes,
//! FIFOs, sockets, fast and slow symlinks), link, unlink and rmdir. Structure changes hold the
//! volume's `tree` lock, then the directory's state, then the child's.

use alloc::sync::Arc;

use exo_abi::mode::*;
use exo_abi::Errno;
use exo_vfs::{Inode, PATH_MAX};

use crate::dinode::{DiskInode, FL_IMMUTABLE, FL_PINNED};
use crate::dir::{ftype_code, DirImage};
use crate::fs::corrupt;
use crate::inode::{Ext2Inode, State};
use crate::Result;

/// Linux ext2's link limit.
pub(crate) const LINK_MAX: u16 = 32000;

pub(crate) use exo_vfs::{check_component, is_dots};

fn check_new_name(name: &[u8]) -> Result<()> {
    check_component(name)?;
    if is_dots(name) {
        return Err(Errno::EEXIST);
    }
    Ok(())
}

impl Ext2Inode {
    /// The ext2 inode behind `other` if it belongs to the same volume (`EXDEV` otherwise).
    pub(crate) fn same_vol<'a>(&self, other: &'a Arc<dyn Inode>) -> Result<&'a Ext2Inode> {
        match other.as_any().downcast_ref::<Ext2Inode>() {
            Some(n) if Arc::ptr_eq(&n.vol, &self.vol) => Ok(n),
            _ => Err(Errno::EXDEV),
        }
    }

    pub(crate) fn lookup_node(&self, name: &[u8]) -> Result<Arc<Ext2Inode>> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        check_component(name)?;
        let ino = {
            let mut st = self.lock();
            if st.d.links == 0 {
                return Err(Errno::ENOENT);
            }
            let img = st.dir(&self.vol, self.ino)?;
            match name {
                b"." => self.ino,
                b".." => {
                    let off = img.dotdot.ok_or_else(|| corrupt(self.ino, "no '..' entry"))?;
                    crate::bytes::r32(&img.data, off as usize)
                }
                _ => img.find(name).ok_or(Errno::ENOENT)?.ino,
            }
        };
        if ino == self.ino && name != b"." && !(name == b".." && ino == crate::fs::ROOT_INO) {
            return Err(corrupt(self.ino, "directory entry refers to its own directory"));
        }
        self.vol.get_inode(ino)
    }

    /// Adds the entry `name` → `ino` to this directory (state `st` locked), appending a block
    /// if no block has room. Writes the changed bytes.
    pub(crate) fn add_entry(&self, st: &mut State, name: &[u8], ino: u32, code: u8) -> Result<()> {
        let vol = &self.vol;
        let img = st.dir(vol, self.ino)?;
        let range = match img.insert(name, ino, code) {
            Some(r) => r,
            None => {
                // A new block at the end of the directory.
                let lblk = u64::from(img.nblocks());
                if (lblk + 1) * vol.bs() > crate::dir::MAX_DIR_BYTES {
                    return Err(Errno::ENOSPC);
                }
                let (phys, _) = st.mapper(vol, self.ino).map_alloc(lblk, 1)?;
                st.mapper(vol, self.ino).flush()?;
                let img = st.dir.as_mut().ok_or(Errno::EIO)?;
                if let Err(e) = img.push_block() {
                    let _ = st.mapper(vol, self.ino).free_from(lblk);
                    return Err(e);
                }
                let img = st.dir.as_mut().ok_or(Errno::EIO)?;
                let r = img.insert(name, ino, code).ok_or(Errno::EIO)?;
                st.d.size = st.d.size.saturating_add(vol.bs());
                let s = (lblk * vol.bs()) as usize;
                let block = img.data.get(s..s + vol.bs() as usize).ok_or(Errno::EIO)?;
                vol.write_block(phys, block)?;
                (r.0, r.0)
            }
        };
        st.write_dir_range(vol, self.ino, range)
    }

    pub(crate) fn create_node(&self, name: &[u8], mode: u32, uid: u32, gid: u32, rdev: u64, target: Option<&[u8]>) -> Result<Arc<Ext2Inode>> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        check_new_name(name)?;
        let ftype = mode & S_IFMT;
        match (ftype, target) {
            (S_IFREG | S_IFDIR | S_IFIFO | S_IFCHR | S_IFBLK | S_IFSOCK, None) => {}
            (S_IFLNK, Some(t)) if t.is_empty() => return Err(Errno::ENOENT),
            (S_IFLNK, Some(t)) if t.len() >= PATH_MAX || t.len() as u64 >= self.vol.bs() => return Err(Errno::ENAMETOOLONG),
            (S_IFLNK, Some(_)) => {}
            _ => return Err(Errno::EINVAL),
        }
        let vol = self.vol.clone();
        vol.check_writable()?;
        let _tree = vol.tree.lock();
        vol.reap_orphans()?;
        let mut st = self.lock();
        if st.d.links == 0 {
            return Err(Errno::ENOENT);
        }
        if st.d.flags & FL_IMMUTABLE != 0 {
            return Err(Errno::EPERM);
        }
        if st.dir(&vol, self.ino)?.find(name).is_some() {
            return Err(Errno::EEXIST);
        }
        let is_dir = ftype == S_IFDIR;
        if is_dir && st.d.links >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        let ino = vol.alloc.lock().alloc_inode(&vol.geo, &*vol.dev, vol.inode_group(self.ino), is_dir)?;
        let now = vol.now();
        let d = DiskInode::new(&vol.geo, (ftype | (mode & 0o7777)) as u16, uid, gid, now);
        let node = Ext2Inode::new(vol.clone(), ino, d);
        let built = {
            let mut ns = node.lock();
            self.init_new(&node, &mut ns, ftype, rdev, target)
        };
        let added = built.and_then(|()| self.add_entry(&mut st, name, ino, if vol.geo.has_filetype() { ftype_code(ftype) } else { 0 }));
        if let Err(e) = added {
            // Undo: free what the new inode got.
            let mut ns = node.lock();
            let _ = ns.mapper(&vol, ino).free_from(0);
            ns.d.links = 0;
            ns.d.dtime = now.sec as u32;
            let _ = vol.write_dinode(ino, &mut ns.d);
            let _ = vol.alloc.lock().free_inode(&vol.geo, &*vol.dev, ino, is_dir);
            return Err(e);
        }
        if is_dir {
            st.d.links += 1;
        }
        st.dir_modified(&vol, self.ino)?;
        vol.insert_new(ino, &node);
        Ok(node)
    }

    /// Fills a new inode: a directory's first block, a symlink's target, a device number;
    /// then writes its record.
    fn init_new(&self, node: &Ext2Inode, ns: &mut State, ftype: u32, rdev: u64, target: Option<&[u8]>) -> Result<()> {
        let vol = &self.vol;
        let ino = node.ino;
        match ftype {
            S_IFDIR => {
                let (phys, _) = ns.mapper(vol, ino).map_alloc(0, 1)?;
                ns.mapper(vol, ino).flush()?;
                let mut img = DirImage::new(crate::sb::zeroed(0)?, vol.geo.block_size, vol.geo.has_filetype(), vol.geo.inodes_count, ino)?;
                img.push_block()?;
                img.init_dots(ino, self.ino);
                vol.write_block(phys, &img.data)?;
                ns.d.size = vol.bs();
                ns.d.links = 2;
                ns.dir = Some(img);
            }
            S_IFLNK => {
                let t = target.unwrap_or(&[]);
                ns.d.size = t.len() as u64;
                if t.len() < 60 {
                    ns.d.set_block_bytes(t);
                } else {
                    let (phys, _) = ns.mapper(vol, ino).map_alloc(0, 1)?;
                    ns.mapper(vol, ino).flush()?;
                    let mut block = crate::sb::zeroed(vol.geo.block_size as usize)?;
                    block.get_mut(..t.len()).ok_or(Errno::ENAMETOOLONG)?.copy_from_slice(t);
                    vol.write_block(phys, &block)?;
                }
            }
            S_IFCHR | S_IFBLK => ns.d.set_rdev(rdev),
            _ => {}
        }
        vol.write_dinode(ino, &mut ns.d)
    }

    pub(crate) fn link_node(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<()> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        check_new_name(name)?;
        let t = self.same_vol(target)?;
        if t.is_dir() {
            return Err(Errno::EPERM);
        }
        let vol = self.vol.clone();
        vol.check_writable()?;
        let _tree = vol.tree.lock();
        let mut st = self.lock();
        if st.d.links == 0 {
            return Err(Errno::ENOENT);
        }
        if st.dir(&vol, self.ino)?.find(name).is_some() {
            return Err(Errno::EEXIST);
        }
        if st.d.flags & FL_IMMUTABLE != 0 {
            return Err(Errno::EPERM);
        }
        let mut ts = t.lock();
        if ts.d.links == 0 {
            return Err(Errno::ENOENT);
        }
        if ts.d.flags & FL_PINNED != 0 {
            return Err(Errno::EPERM);
        }
        if ts.d.links >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        let code = if vol.geo.has_filetype() { ftype_code(u32::from(ts.d.mode)) } else { 0 };
        self.add_entry(&mut st, name, t.ino, code)?;
        ts.d.links += 1;
        ts.d.ctime = vol.now();
        vol.write_dinode(t.ino, &mut ts.d)?;
        st.dir_modified(&vol, self.ino)
    }

    /// `unlink` (`want_dir == false`) or `rmdir` (`want_dir == true`).
    pub(crate) fn remove_entry(&self, name: &[u8], want_dir: bool) -> Result<()> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        check_component(name)?;
        match (name, want_dir) {
            (b"." | b"..", false) => return Err(Errno::EISDIR),
            (b".", true) => return Err(Errno::EINVAL),
            (b"..", true) => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        let vol = self.vol.clone();
        vol.check_writable()?;
        let _tree = vol.tree.lock();
        vol.reap_orphans()?;
        let mut st = self.lock();
        let rec = st.dir(&vol, self.ino)?.find(name).ok_or(Errno::ENOENT)?;
        if rec.ino == self.ino {
            return Err(corrupt(self.ino, "directory entry refers to its own directory"));
        }
        let victim = vol.get_inode(rec.ino)?;
        match (victim.is_dir(), want_dir) {
            (true, false) => return Err(Errno::EISDIR),
            (false, true) => return Err(Errno::ENOTDIR),
            _ => {}
        }
        let mut vs = victim.lock();
        if (vs.d.flags | st.d.flags) & FL_PINNED != 0 {
            return Err(Errno::EPERM);
        }
        if want_dir && vs.dir(&vol, victim.ino)?.count != 0 {
            return Err(Errno::ENOTEMPTY);
        }
        let img = st.dir.as_mut().ok_or(Errno::EIO)?;
        let range = img.remove(&rec);
        st.write_dir_range(&vol, self.ino, range)?;
        let now = vol.now();
        if want_dir {
            vs.d.links = 0;
            st.d.links = st.d.links.saturating_sub(1);
        } else {
            vs.d.links = vs.d.links.saturating_sub(1);
        }
        vs.d.ctime = now;
        vol.write_dinode(victim.ino, &mut vs.d)?;
        if vs.d.links == 0 {
            vol.add_orphan(victim.ino);
        }
        st.dir_modified(&vol, self.ino)
    }
}
