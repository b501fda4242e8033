//! tmpfs directories: the entry table ([`Dir`]) with stable listing cookies, and lookup,
//! creation, hard links, removal and listing on [`TmpNode`].
//!
//! Every entry gets a cookie when it is inserted, from a per-directory counter that only grows;
//! the listing walks entries in cookie order, so a cursor (`next_cursor` = cookie + 1) stays
//! valid whatever is inserted or removed meanwhile. Cursor 0 is `.`, 1 is `..`.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::mode::{dirent_type, DT_DIR, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK};
use exo_abi::Errno;

use spin::Mutex;

use super::listing::Listing;
use super::node::{TmpNode, LINK_MAX};
use crate::inode::{Inode, Result};
use crate::dirents::push_dirent64;
use crate::types::{DirEntryRef, PATH_MAX};

/// First cookie of a real entry (0 and 1 are `.` and `..`).
const FIRST_COOKIE: u64 = 2;
/// Entries copied out per lock hold while listing.
const LIST_BATCH: usize = 64;

/// The entries of one directory.
pub(crate) struct Dir {
    /// Name → cookie.
    names: BTreeMap<Vec<u8>, u64>,
    /// Cookie → (name, node), in listing order.
    slots: BTreeMap<u64, (Vec<u8>, Arc<TmpNode>)>,
    next_cookie: u64,
    /// The listing image, built by the first listing after a change (see `listing.rs`).
    listing: Mutex<Option<Arc<Listing>>>,
    /// Set when the directory has been removed: nothing may be created in it any more.
    pub(crate) removed: bool,
}

impl Dir {
    pub(crate) fn new() -> Dir {
        Dir { names: BTreeMap::new(), slots: BTreeMap::new(), next_cookie: FIRST_COOKIE, listing: Mutex::new(None), removed: false }
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn get(&self, name: &[u8]) -> Option<&Arc<TmpNode>> {
        let cookie = self.names.get(name)?;
        self.slots.get(cookie).map(|(_, node)| node)
    }

    pub(crate) fn insert(&mut self, name: &[u8], node: Arc<TmpNode>) {
        *self.listing.get_mut() = None;
        let cookie = self.next_cookie;
        self.next_cookie = self.next_cookie.saturating_add(1);
        self.names.insert(name.to_vec(), cookie);
        self.slots.insert(cookie, (name.to_vec(), node));
    }

    pub(crate) fn remove(&mut self, name: &[u8]) -> Option<Arc<TmpNode>> {
        *self.listing.get_mut() = None;
        let cookie = self.names.remove(name)?;
        self.slots.remove(&cookie).map(|(_, node)| node)
    }

    /// Empties the table, returning the nodes (teardown).
    pub(crate) fn take_all(&mut self) -> Vec<Arc<TmpNode>> {
        *self.listing.get_mut() = None;
        self.names.clear();
        core::mem::take(&mut self.slots).into_values().map(|(_, node)| node).collect()
    }
}

/// Checks a name for a new entry: `ENOENT` if empty, `ENAMETOOLONG`, `EINVAL` for `/` or NUL,
/// `EEXIST` for `.` and `..`.
pub(crate) fn check_new_name(name: &[u8]) -> Result<()> {
    check_component(name)?;
    if is_dots(name) {
        return Err(Errno::EEXIST);
    }
    Ok(())
}

pub(crate) use crate::types::{check_component, is_dots};

impl TmpNode {
    pub(crate) fn lookup_node(&self, name: &[u8]) -> Result<Arc<TmpNode>> {
        let dir = self.dir()?;
        check_component(name)?;
        match name {
            b"." => self.arc(),
            b".." => match self.parent_node() {
                Some(p) => Ok(p),
                None => self.arc(),
            },
            _ => {
                let d = dir.read();
                if d.removed {
                    return Err(Errno::ENOENT);
                }
                d.get(name).cloned().ok_or(Errno::ENOENT)
            }
        }
    }

    /// Creates a node of any type (`target` is the symlink body for `S_IFLNK`).
    pub(crate) fn create_node(
        &self,
        name: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
        rdev: u64,
        target: Option<&[u8]>,
    ) -> Result<Arc<TmpNode>> {
        let dir = self.dir()?;
        check_new_name(name)?;
        let ftype = mode & S_IFMT;
        match (ftype, target) {
            (S_IFREG | S_IFDIR | S_IFIFO | S_IFCHR | S_IFBLK | S_IFSOCK, None) => {}
            (S_IFLNK, Some(t)) if t.is_empty() => return Err(Errno::ENOENT),
            (S_IFLNK, Some(t)) if t.len() >= PATH_MAX => return Err(Errno::ENAMETOOLONG),
            (S_IFLNK, Some(_)) => {}
            _ => return Err(Errno::EINVAL),
        }
        let _tree = self.fs.tree.lock();
        let mut d = dir.write();
        if d.removed {
            return Err(Errno::ENOENT);
        }
        if d.get(name).is_some() {
            return Err(Errno::EEXIST);
        }
        if ftype == S_IFDIR && self.meta.lock().nlink >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        let node = TmpNode::alloc(&self.fs, ftype, mode, uid, gid, rdev, target, self.me.clone())?;
        d.insert(name, node.clone());
        if ftype == S_IFDIR {
            self.add_links(1);
        }
        self.touch_modified(self.fs.now());
        Ok(node)
    }

    pub(crate) fn link_node(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<()> {
        let dir = self.dir()?;
        check_new_name(name)?;
        let target = self.same_fs(target)?;
        if target.is_dir() {
            return Err(Errno::EPERM);
        }
        let target = target.arc()?;
        let _tree = self.fs.tree.lock();
        let mut d = dir.write();
        if d.removed {
            return Err(Errno::ENOENT);
        }
        if d.get(name).is_some() {
            return Err(Errno::EEXIST);
        }
        let nlink = target.meta.lock().nlink;
        if nlink == 0 {
            return Err(Errno::ENOENT);
        }
        if nlink >= LINK_MAX {
            return Err(Errno::EMLINK);
        }
        d.insert(name, target.clone());
        let now = self.fs.now();
        target.add_links(1);
        target.touch_changed(now);
        self.touch_modified(now);
        Ok(())
    }

    /// `unlink` (`want_dir == false`) or `rmdir` (`want_dir == true`).
    pub(crate) fn remove_entry(&self, name: &[u8], want_dir: bool) -> Result<()> {
        let dir = self.dir()?;
        check_component(name)?;
        match (name, want_dir) {
            (b"." | b"..", false) => return Err(Errno::EISDIR),
            (b".", true) => return Err(Errno::EINVAL),
            (b"..", true) => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        let _tree = self.fs.tree.lock();
        let mut d = dir.write();
        let victim = d.get(name).cloned().ok_or(Errno::ENOENT)?;
        match (victim.is_dir(), want_dir) {
            (true, false) => return Err(Errno::EISDIR),
            (false, true) => return Err(Errno::ENOTDIR),
            (true, true) => {
                let mut vd = victim.dir()?.write();
                if vd.len() != 0 {
                    return Err(Errno::ENOTEMPTY);
                }
                vd.removed = true;
            }
            (false, false) => {}
        }
        d.remove(name);
        drop(d);
        let now = self.fs.now();
        if want_dir {
            victim.meta.lock().nlink = 0;
            self.add_links(-1);
        } else {
            victim.add_links(-1);
        }
        victim.touch_changed(now);
        self.touch_modified(now);
        Ok(())
    }

    /// Lists from `cursor`: each batch of names is copied under the directory's read lock into
    /// two scratch buffers reused across batches (so the listing allocates twice, not once per
    /// entry), then emitted with no lock held.
    pub(crate) fn list(&self, cursor: u64, emit: &mut dyn FnMut(DirEntryRef<'_>) -> bool) -> Result<()> {
        let dir = self.dir()?;
        let parent_ino = self.parent_node().map_or(self.ino, |p| p.ino);
        if dir.read().removed {
            return Err(Errno::ENOENT);
        }
        let mut cursor = cursor;
        // (ino, d_type, name range in `names`, next cursor); never grows past its capacity.
        let mut batch: Vec<(u64, u8, usize, usize, u64)> = Vec::new();
        let mut names: Vec<u8> = Vec::new();
        batch.try_reserve_exact(LIST_BATCH + 2).map_err(|_| Errno::ENOMEM)?;
        names.try_reserve(LIST_BATCH * 16).map_err(|_| Errno::ENOMEM)?;
        loop {
            batch.clear();
            names.clear();
            if cursor == 0 {
                names.push(b'.');
                batch.push((self.ino, DT_DIR, 0, 1, 1));
            }
            if cursor <= 1 {
                let start = names.len();
                names.extend_from_slice(b"..");
                batch.push((parent_ino, DT_DIR, start, start + 2, 2));
            }
            {
                let d = dir.read();
                let from = cursor.max(FIRST_COOKIE);
                for (&cookie, (name, node)) in d.slots.range(from..).take(LIST_BATCH) {
                    let start = names.len();
                    names.try_reserve(name.len()).map_err(|_| Errno::ENOMEM)?;
                    names.extend_from_slice(name);
                    batch.push((node.ino, dirent_type(node.ftype), start, names.len(), cookie.saturating_add(1)));
                }
            }
            if batch.is_empty() {
                break;
            }
            for &(ino, kind, start, end, next_cursor) in &batch {
                let name = names.get(start..end).unwrap_or_default();
                if !emit(DirEntryRef { ino, kind, name, next_cursor }) {
                    self.touch_accessed();
                    return Ok(());
                }
                cursor = next_cursor;
            }
            if cursor == u64::MAX {
                break;
            }
        }
        self.touch_accessed();
        Ok(())
    }

    /// [`Inode::read_dirents`] for tmpfs: `.` and `..` are encoded, then the records that fit
    /// are copied from the directory's listing image (see `listing.rs`). Without memory for the
    /// image, records are encoded straight from the entry table under the directory's read
    /// lock (released and taken again every `LIST_BATCH` entries; the buffer is kernel memory,
    /// so nothing but the allocator runs under it).
    pub(crate) fn list_dirents(&self, cursor: u64, out: &mut Vec<u8>, space: usize) -> Result<(u64, bool)> {
        let dir = self.dir()?;
        let parent_ino = self.parent_node().map_or(self.ino, |p| p.ino);
        if dir.read().removed {
            return Err(Errno::ENOENT);
        }
        let start = out.len();
        let mut cursor = cursor;
        let full = 'list: {
            if cursor == 0 {
                match push_dirent64(out, space, self.ino, DT_DIR, b".", 1) {
                    Ok(true) => cursor = 1,
                    Ok(false) => break 'list true,
                    Err(e) if out.len() == start => return Err(e),
                    Err(_) => break 'list false,
                }
            }
            if cursor == 1 {
                match push_dirent64(out, space, parent_ino, DT_DIR, b"..", 2) {
                    Ok(true) => cursor = 2,
                    Ok(false) => break 'list true,
                    Err(e) if out.len() == start => return Err(e),
                    Err(_) => break 'list false,
                }
            }
            let listing = {
                let d = dir.read();
                let mut cached = d.listing.lock();
                if cached.is_none() {
                    *cached = Listing::build(&d.slots);
                }
                cached.clone()
            };
            if let Some(listing) = listing {
                match listing.copy_from(cursor.max(FIRST_COOKIE), out, space.saturating_sub(out.len())) {
                    Some((next, full)) => {
                        cursor = next;
                        break 'list full;
                    }
                    None if out.len() == start => return Err(Errno::ENOMEM),
                    None => break 'list false,
                }
            }
            // No memory for the image: encode straight from the table.
            loop {
                let d = dir.read();
                let mut seen = 0;
                for (&cookie, (name, node)) in d.slots.range(cursor.max(FIRST_COOKIE)..).take(LIST_BATCH) {
                    seen += 1;
                    let next = cookie.saturating_add(1);
                    match push_dirent64(out, space, node.ino, dirent_type(node.ftype), name, next) {
                        Ok(true) => cursor = next,
                        Ok(false) => break 'list true,
                        Err(e) if out.len() == start => return Err(e),
                        Err(_) => break 'list false,
                    }
                }
                if seen < LIST_BATCH || cursor == u64::MAX {
                    break 'list false;
                }
            }
        };
        self.touch_accessed();
        Ok((cursor, full))
    }
}
