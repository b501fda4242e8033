//! One mounted volume: [`Vol`] (device, geometry, allocator, the table of live inodes, the
//! orphan list, the structure lock) and [`Ext2Fs`], the [`FileSystem`] the kernel mounts.
//!
//! # Locks (per volume), outermost first
//!
//! 1. `tree`: held by every change of the directory structure (create, link, unlink, rmdir,
//!    rename). Only its holder locks more than one inode.
//! 2. Inode state mutexes ([`Ext2Inode`]'s record, mapping cache and directory image).
//!    Without `tree`, a thread holds at most one.
//! 3. `alloc` (bitmaps, descriptors, superblock), then `inodes` (the table), then `orphans`:
//!    leaves; `inodes` is held while reading an inode record.
//!
//! Every lock is an `exo_sleeplock` lock: disk I/O happens under all of them. Dropping an
//! inode takes no lock: an unlinked inode still open is recorded in `orphans` when its last
//! link goes, and freed by the first sync or structure change after its last reference is gone.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use exo_abi::Errno;
use exo_blockdev::BlockIo;
use exo_sleeplock::Mutex;
use exo_vfs::{Clock, FileSystem, Inode, StatFs, Time};

use crate::balloc::Alloc;
use crate::dinode::{DiskInode, FL_EXTENTS, FL_INLINE_DATA};
use crate::inode::Ext2Inode;
use crate::sb::{self, Geometry, SbUpdate};
use crate::{MountOptions, Result, EXT2_MAGIC};

pub(crate) const ROOT_INO: u32 = 2;

/// State shared by every inode of a volume.
pub(crate) struct Vol {
    pub dev: Arc<dyn BlockIo>,
    pub geo: Geometry,
    pub id: u64,
    pub clock: Arc<dyn Clock>,
    pub read_only: AtomicBool,
    pub alloc: Mutex<Alloc>,
    pub tree: Mutex<()>,
    inodes: Mutex<BTreeMap<u32, Weak<Ext2Inode>>>,
    /// Live entries after the last pruning of dead ones.
    pruned_at: Mutex<usize>,
    orphans: Mutex<Vec<u32>>,
    itables: Vec<u64>,
    /// `s_state` found at mount (restored, with the clean bit, at unmount).
    state_at_mount: u16,
    mnt_count: u16,
    overhead: u64,
}

/// Logs corruption of `ino` and returns `EUCLEAN`.
pub(crate) fn corrupt(ino: u32, what: &str) -> Errno {
    log::warn!("ext2: inode {ino}: {what}");
    Errno::EUCLEAN
}

impl Vol {
    pub fn now(&self) -> Time {
        self.clock.now()
    }

    pub fn bs(&self) -> u64 {
        u64::from(self.geo.block_size)
    }

    pub fn read_block(&self, blk: u64, buf: &mut [u8]) -> Result<()> {
        self.dev.read_at(blk.checked_mul(self.bs()).ok_or(Errno::EIO)?, buf)
    }

    pub fn write_block(&self, blk: u64, buf: &[u8]) -> Result<()> {
        self.dev.write_at(blk.checked_mul(self.bs()).ok_or(Errno::EIO)?, buf)
    }

    pub fn check_writable(&self) -> Result<()> {
        if self.read_only.load(Ordering::Relaxed) {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }

    pub fn alloc_blocks(&self, goal: u64, want: u32) -> Result<(u64, u32)> {
        self.alloc.lock().alloc_blocks(&self.geo, &*self.dev, goal, want)
    }

    pub fn free_blocks(&self, start: u64, count: u64) -> Result<()> {
        self.alloc.lock().free_blocks(&self.geo, &*self.dev, start, count)
    }

    /// First block of the group holding `ino`'s record (allocation goal for a new file).
    pub fn inode_goal(&self, ino: u32) -> u64 {
        let g = ino.saturating_sub(1) / self.geo.inodes_per_group;
        self.geo.group_first_block(g)
    }

    pub fn inode_group(&self, ino: u32) -> u32 {
        ino.saturating_sub(1) / self.geo.inodes_per_group
    }

    fn inode_offset(&self, ino: u32) -> Result<u64> {
        if ino == 0 || ino > self.geo.inodes_count {
            log::warn!("ext2: inode number {ino} out of range");
            return Err(Errno::EUCLEAN);
        }
        let g = (ino - 1) / self.geo.inodes_per_group;
        let i = (ino - 1) % self.geo.inodes_per_group;
        let table = *self.itables.get(g as usize).ok_or(Errno::EUCLEAN)?;
        Ok(table * self.bs() + u64::from(i) * u64::from(self.geo.inode_size))
    }

    pub fn read_dinode(&self, ino: u32) -> Result<DiskInode> {
        let mut raw = sb::zeroed(self.geo.inode_size as usize)?;
        self.dev.read_at(self.inode_offset(ino)?, &mut raw)?;
        Ok(DiskInode::parse(raw, &self.geo))
    }

    pub fn write_dinode(&self, ino: u32, d: &mut DiskInode) -> Result<()> {
        d.store();
        self.dev.write_at(self.inode_offset(ino)?, &d.raw)
    }

    /// The one live in-memory inode for `ino`, read from disk if there is none.
    pub fn get_inode(self: &Arc<Self>, ino: u32) -> Result<Arc<Ext2Inode>> {
        let mut table = self.inodes.lock();
        if let Some(node) = table.get(&ino).and_then(Weak::upgrade) {
            return Ok(node);
        }
        let d = self.read_dinode(ino)?;
        if d.links == 0 || d.mode == 0 {
            return Err(corrupt(ino, "a directory entry refers to a free inode"));
        }
        use exo_abi::mode::*;
        if !matches!(d.ftype(), S_IFREG | S_IFDIR | S_IFLNK | S_IFCHR | S_IFBLK | S_IFIFO | S_IFSOCK) {
            return Err(corrupt(ino, "bad file type"));
        }
        if d.flags & (FL_EXTENTS | FL_INLINE_DATA) != 0 {
            return Err(corrupt(ino, "extents or inline data on a volume without those features"));
        }
        let node = Ext2Inode::new(self.clone(), ino, d);
        self.insert_locked(&mut table, ino, &node);
        Ok(node)
    }

    fn insert_locked(&self, table: &mut BTreeMap<u32, Weak<Ext2Inode>>, ino: u32, node: &Arc<Ext2Inode>) {
        table.insert(ino, Arc::downgrade(node));
        let mut pruned = self.pruned_at.lock();
        if table.len() > 2 * (*pruned).max(64) {
            table.retain(|_, w| w.strong_count() > 0);
            *pruned = table.len();
        }
    }

    /// Registers a freshly created inode.
    pub fn insert_new(&self, ino: u32, node: &Arc<Ext2Inode>) {
        let mut table = self.inodes.lock();
        self.insert_locked(&mut table, ino, node);
    }

    /// Records an inode whose last link is gone (freed once nobody holds it).
    pub fn add_orphan(&self, ino: u32) {
        self.orphans.lock().push(ino);
    }

    /// Frees the orphans nobody holds any more. It takes no inode lock, so callers may hold
    /// some.
    pub fn reap_orphans(&self) -> Result<()> {
        let dead: Vec<u32> = {
            let mut orphans = self.orphans.lock();
            if orphans.is_empty() {
                return Ok(());
            }
            let mut table = self.inodes.lock();
            let mut dead = Vec::new();
            orphans.retain(|ino| {
                let alive = table.get(ino).is_some_and(|w| w.strong_count() > 0);
                if !alive {
                    table.remove(ino);
                    dead.push(*ino);
                }
                alive
            });
            dead
        };
        let mut res = Ok(());
        for ino in dead {
            res = res.and(self.free_inode_now(ino));
        }
        res
    }

    /// Frees an unlinked inode's blocks, its extended-attribute block reference and the inode.
    fn free_inode_now(&self, ino: u32) -> Result<()> {
        use exo_abi::mode::*;
        let mut d = self.read_dinode(ino)?;
        if d.links != 0 {
            return Ok(());
        }
        let maps_blocks = match d.ftype() {
            S_IFREG | S_IFDIR => true,
            S_IFLNK => !d.is_fast_symlink(self.geo.block_size),
            _ => false,
        };
        if maps_blocks {
            let mut cache = crate::bmap::MapCache::default();
            crate::bmap::Mapper { vol: self, d: &mut d, c: &mut cache, ino }.free_from(0)?;
        }
        self.release_xattr(&mut d)?;
        let is_dir = d.is_dir();
        d.dtime = self.now().sec as u32;
        d.size = 0;
        d.blocks = 0;
        d.block = [0; crate::dinode::N_BLOCKS];
        self.write_dinode(ino, &mut d)?;
        self.alloc.lock().free_inode(&self.geo, &*self.dev, ino, is_dir)
    }

    /// Drops the inode's reference to its extended-attribute block (freeing the block when it
    /// was the last one).
    fn release_xattr(&self, d: &mut DiskInode) -> Result<()> {
        let b = core::mem::take(&mut d.file_acl);
        if b == 0 {
            return Ok(());
        }
        if !self.geo.valid_block(b) {
            log::warn!("ext2: extended attribute block {b} outside the volume");
            return Ok(());
        }
        let mut raw = sb::zeroed(self.geo.block_size as usize)?;
        self.read_block(b, &mut raw)?;
        if crate::bytes::r32(&raw, 0) != 0xEA02_0000 {
            log::warn!("ext2: extended attribute block {b}: bad magic, left alone");
            return Ok(());
        }
        d.blocks = d.blocks.saturating_sub(self.bs() / 512);
        let refs = crate::bytes::r32(&raw, 4);
        if refs <= 1 {
            self.free_blocks(b, 1)
        } else {
            crate::bytes::w32(&mut raw, 4, refs - 1);
            self.write_block(b, &raw)
        }
    }

    /// Writes the allocator's state (and the superblock, with `state`).
    pub fn flush_meta(&self, state: Option<u16>) -> Result<()> {
        if self.read_only.load(Ordering::Relaxed) {
            return Ok(());
        }
        let now = self.now().sec as u32;
        let state = state.unwrap_or(self.state_at_mount & !sb::STATE_VALID);
        // The counters and features are filled in by `Alloc::flush`.
        let upd = SbUpdate { free_blocks: 0, free_inodes: 0, state, mtime: None, wtime: now, mnt_count: self.mnt_count, ro_compat: 0 };
        self.alloc.lock().flush(&self.geo, &*self.dev, Some(upd))
    }

    /// Sets `large_file` once a file grows past 2 GiB.
    pub fn note_large_file(&self, size: u64) {
        if size > i32::MAX as u64 {
            let mut a = self.alloc.lock();
            if a.ro_compat & sb::RO_COMPAT_LARGE_FILE == 0 {
                // Written with the superblock at the next sync.
                a.ro_compat |= sb::RO_COMPAT_LARGE_FILE;
            }
        }
    }

    pub fn statfs(&self) -> StatFs {
        let a = self.alloc.lock();
        let g = &self.geo;
        StatFs {
            fs_type: EXT2_MAGIC,
            bsize: self.bs(),
            blocks: g.blocks_count.saturating_sub(self.overhead),
            bfree: a.free_blocks,
            bavail: a.free_blocks.saturating_sub(g.r_blocks_count),
            files: u64::from(g.inodes_count),
            ffree: u64::from(a.free_inodes),
            fsid: self.id,
            namelen: 255,
            frsize: self.bs(),
        }
    }
}

/// Whether group `g` holds a superblock backup.
fn has_super(geo: &Geometry, g: u32) -> bool {
    if geo.ro_compat & sb::RO_COMPAT_SPARSE_SUPER == 0 || g <= 1 {
        return true;
    }
    let is_pow = |b: u32| {
        let mut n = g;
        while n % b == 0 {
            n /= b;
        }
        n == 1
    };
    is_pow(3) || is_pow(5) || is_pow(7)
}

/// A mounted ext2 (or ext3/ext4 without the features it cannot handle) volume.
pub struct Ext2Fs {
    pub(crate) vol: Arc<Vol>,
    root: Arc<Ext2Inode>,
    name: &'static str,
}

impl Ext2Fs {
    /// Mounts the volume on `dev`. `EINVAL`: not ext2, or an incompatible feature (or a
    /// read-write mount of a volume with features this driver cannot write); `EUCLEAN`: the
    /// superblock or group descriptors are corrupted; `EROFS`: read-write on a read-only device.
    pub fn mount(dev: Arc<dyn BlockIo>, id: u64, options: MountOptions) -> Result<Arc<Ext2Fs>> {
        let mut sb_raw = sb::zeroed(sb::SB_SIZE)?;
        if dev.size() < sb::SB_OFFSET + sb::SB_SIZE as u64 {
            return Err(Errno::EINVAL);
        }
        dev.read_at(sb::SB_OFFSET, &mut sb_raw)?;
        let geo = Geometry::parse(&sb_raw, dev.size())?;
        let writable = geo.check_features()?;
        if !options.read_only && !writable {
            log::warn!("ext2: read-write mount refused (see the feature above)");
            return Err(Errno::EINVAL);
        }
        if !options.read_only && dev.read_only() {
            return Err(Errno::EROFS);
        }
        let (gdt_off, gdt_len) = sb::gdt_bytes(&geo)?;
        let mut gdt = sb::zeroed(gdt_len)?;
        dev.read_at(gdt_off, &mut gdt)?;
        let alloc = Alloc::new(&geo, gdt, gdt_off, sb_raw.clone())?;
        let itables: Vec<u64> = alloc.gds.iter().map(|d| d.inode_table).collect();
        let state = crate::bytes::r16(&sb_raw, 58);
        if state & sb::STATE_VALID == 0 || state & 2 != 0 {
            log::warn!("ext2: mounting a volume that was not cleanly unmounted or has errors; run e2fsck");
        }
        let gdt_blocks = (u64::from(geo.groups) * u64::from(geo.desc_size)).div_ceil(u64::from(geo.block_size));
        let reserved_gdt = u64::from(crate::bytes::r16(&sb_raw, 206));
        let mut overhead = u64::from(geo.first_data_block);
        for g in 0..geo.groups {
            if has_super(&geo, g) {
                overhead += 1 + gdt_blocks + reserved_gdt;
            }
            overhead += 2 + geo.itable_blocks();
        }
        let mnt_count = crate::bytes::r16(&sb_raw, 52).wrapping_add(u16::from(!options.read_only));
        let vol = Arc::new(Vol {
            dev,
            geo,
            id,
            clock: options.clock,
            read_only: AtomicBool::new(options.read_only),
            alloc: Mutex::new(alloc),
            tree: Mutex::new(()),
            inodes: Mutex::new(BTreeMap::new()),
            pruned_at: Mutex::new(0),
            orphans: Mutex::new(Vec::new()),
            itables,
            state_at_mount: state,
            mnt_count,
            overhead,
        });
        let root = vol.get_inode(ROOT_INO)?;
        if !root.is_dir() {
            log::warn!("ext2: the root inode is not a directory");
            return Err(Errno::EUCLEAN);
        }
        if !options.read_only {
            let now = vol.now().sec as u32;
            let upd = SbUpdate { free_blocks: 0, free_inodes: 0, state: state & !sb::STATE_VALID, mtime: Some(now), wtime: now, mnt_count, ro_compat: 0 };
            vol.alloc.lock().flush(&vol.geo, &*vol.dev, Some(upd))?;
            vol.dev.flush()?;
        }
        Ok(Arc::new(Ext2Fs { vol, root, name: options.type_name }))
    }

    /// Final sync, then marks the volume clean (`s_state` valid). Later changes fail with
    /// `EROFS`. Nothing to do for a read-only mount.
    pub fn unmount(&self) -> Result<()> {
        let v = &self.vol;
        if v.read_only.load(Ordering::Relaxed) {
            return Ok(());
        }
        let _tree = v.tree.lock();
        v.reap_orphans()?;
        v.flush_meta(Some(v.state_at_mount | sb::STATE_VALID))?;
        v.dev.flush()?;
        v.read_only.store(true, Ordering::Relaxed);
        Ok(())
    }
}

impl FileSystem for Ext2Fs {
    fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }

    fn name(&self) -> &str {
        self.name
    }

    fn magic(&self) -> u64 {
        EXT2_MAGIC
    }

    fn id(&self) -> u64 {
        self.vol.id
    }

    fn statfs(&self) -> StatFs {
        self.vol.statfs()
    }

    fn sync(&self) -> Result<()> {
        if self.vol.read_only.load(Ordering::Relaxed) {
            return Ok(());
        }
        let _tree = self.vol.tree.lock();
        self.vol.reap_orphans()?;
        self.vol.flush_meta(None)?;
        self.vol.dev.flush()
    }

    fn read_only(&self) -> bool {
        self.vol.read_only.load(Ordering::Relaxed)
    }
}
