//! The allocator: group descriptors, the superblock counters and the block and inode bitmaps,
//! kept in memory (bitmaps loaded on first use) and written back by [`Alloc::flush`] (sync,
//! fsync, unmount). Blocks are allocated in contiguous runs from a goal (the block after the
//! previous one of the same file, or the start of the inode's group), inodes in the parent's
//! group (files) or in a group with room to spare (directories).

use alloc::vec::Vec;

use exo_abi::Errno;
use exo_blockdev::BlockIo;

use crate::bitmap;
use crate::sb::{store_sb, zeroed, GroupDesc, Geometry, SbUpdate, INCOMPAT_64BIT};
use crate::Result;

struct Map {
    bits: Vec<u8>,
    dirty: bool,
    /// No clear bit below this one.
    hint: u32,
}

/// Allocation state of one mounted volume (under the file system's `alloc` lock).
pub(crate) struct Alloc {
    pub gds: Vec<GroupDesc>,
    gdt_raw: Vec<u8>,
    gdt_off: u64,
    gd_dirty: bool,
    block_maps: Vec<Option<Map>>,
    inode_maps: Vec<Option<Map>>,
    pub free_blocks: u64,
    pub free_inodes: u32,
    pub sb_raw: Vec<u8>,
    pub ro_compat: u32,
}

impl Alloc {
    pub fn new(geo: &Geometry, gdt_raw: Vec<u8>, gdt_off: u64, sb_raw: Vec<u8>) -> Result<Alloc> {
        let is64 = geo.incompat & INCOMPAT_64BIT != 0;
        let mut gds = Vec::new();
        gds.try_reserve_exact(geo.groups as usize).map_err(|_| Errno::ENOMEM)?;
        let (mut free_blocks, mut free_inodes) = (0u64, 0u64);
        for g in 0..geo.groups {
            let off = g as usize * geo.desc_size as usize;
            let d = GroupDesc::parse(gdt_raw.get(off..off + geo.desc_size as usize).unwrap_or(&[]), is64);
            d.check(g, geo)?;
            free_blocks += u64::from(d.free_blocks);
            free_inodes += u64::from(d.free_inodes);
            gds.push(d);
        }
        let mut block_maps = Vec::new();
        block_maps.try_reserve_exact(geo.groups as usize).map_err(|_| Errno::ENOMEM)?;
        block_maps.resize_with(geo.groups as usize, || None);
        let mut inode_maps = Vec::new();
        inode_maps.try_reserve_exact(geo.groups as usize).map_err(|_| Errno::ENOMEM)?;
        inode_maps.resize_with(geo.groups as usize, || None);
        Ok(Alloc {
            gds,
            gdt_raw,
            gdt_off,
            gd_dirty: false,
            block_maps,
            inode_maps,
            free_blocks,
            free_inodes: free_inodes.min(u64::from(geo.inodes_count)) as u32,
            sb_raw,
            ro_compat: geo.ro_compat,
        })
    }

    fn map<'a>(maps: &'a mut [Option<Map>], loc: u64, g: u32, geo: &Geometry, dev: &dyn BlockIo) -> Result<&'a mut Map> {
        let slot = maps.get_mut(g as usize).ok_or(Errno::EIO)?;
        if slot.is_none() {
            let mut bits = zeroed(geo.block_size as usize)?;
            dev.read_at(loc * u64::from(geo.block_size), &mut bits)?;
            *slot = Some(Map { bits, dirty: false, hint: 0 });
        }
        slot.as_mut().ok_or(Errno::EIO)
    }

    /// Allocates up to `max` contiguous blocks, starting at `goal` if it is free, else at the
    /// first free block after it (in its group, then in the following groups). Returns the
    /// first block and the count (at least 1); `ENOSPC` if the volume is full.
    pub fn alloc_blocks(&mut self, geo: &Geometry, dev: &dyn BlockIo, goal: u64, max: u32) -> Result<(u64, u32)> {
        if self.free_blocks == 0 {
            return Err(Errno::ENOSPC);
        }
        let goal = if geo.valid_block(goal) { goal } else { u64::from(geo.first_data_block) };
        let g0 = geo.block_group(goal).min(geo.groups.saturating_sub(1));
        for k in 0..=geo.groups {
            let g = ((u64::from(g0) + u64::from(k)) % u64::from(geo.groups)) as u32;
            let Some(gd) = self.gds.get(g as usize).copied() else { break };
            if gd.free_blocks == 0 {
                continue;
            }
            let limit = geo.blocks_in_group(g);
            let map = Self::map(&mut self.block_maps, gd.block_bitmap, g, geo, dev)?;
            let from = if k == 0 { (goal - geo.group_first_block(g)) as u32 } else { 0 };
            let from = from.max(if from == 0 { map.hint } else { 0 });
            let found = bitmap::find_clear(&map.bits, from, limit).or_else(|| if k == 0 && from > 0 { bitmap::find_clear(&map.bits, map.hint, from) } else { None });
            let Some(bit) = found else {
                log::warn!("ext2: group {g}: descriptor says {} free blocks, bitmap has none", gd.free_blocks);
                continue;
            };
            let n = bitmap::clear_run(&map.bits, bit, max.max(1), limit).max(1);
            for i in bit..bit + n {
                bitmap::set(&mut map.bits, i);
            }
            map.dirty = true;
            if bit <= map.hint {
                map.hint = bit + n;
            }
            let gdm = self.gds.get_mut(g as usize).ok_or(Errno::EIO)?;
            gdm.free_blocks = gdm.free_blocks.saturating_sub(n);
            self.free_blocks = self.free_blocks.saturating_sub(u64::from(n));
            self.gd_dirty = true;
            return Ok((geo.group_first_block(g) + u64::from(bit), n));
        }
        Err(Errno::ENOSPC)
    }

    /// Frees `count` blocks from `start`. Blocks outside the volume or already free are
    /// corruption: logged and skipped.
    pub fn free_blocks(&mut self, geo: &Geometry, dev: &dyn BlockIo, start: u64, count: u64) -> Result<()> {
        for b in start..start.saturating_add(count) {
            if !geo.valid_block(b) {
                log::warn!("ext2: freeing block {b} outside the volume");
                continue;
            }
            let g = geo.block_group(b);
            let Some(gd) = self.gds.get(g as usize).copied() else { continue };
            let map = Self::map(&mut self.block_maps, gd.block_bitmap, g, geo, dev)?;
            let bit = (b - geo.group_first_block(g)) as u32;
            if !bitmap::clear(&mut map.bits, bit) {
                log::warn!("ext2: block {b} freed twice (corrupted block pointers)");
                continue;
            }
            map.dirty = true;
            map.hint = map.hint.min(bit);
            if let Some(gdm) = self.gds.get_mut(g as usize) {
                gdm.free_blocks = gdm.free_blocks.saturating_add(1);
            }
            self.free_blocks = self.free_blocks.saturating_add(1);
            self.gd_dirty = true;
        }
        Ok(())
    }

    /// Allocates an inode: a directory in a group with free inodes and blocks at or above the
    /// average, anything else in `near`'s group if possible.
    pub fn alloc_inode(&mut self, geo: &Geometry, dev: &dyn BlockIo, near: u32, dir: bool) -> Result<u32> {
        if self.free_inodes == 0 {
            return Err(Errno::ENOSPC);
        }
        let groups = geo.groups.max(1);
        let start = if dir {
            let avg_i = self.free_inodes / groups;
            let avg_b = self.free_blocks / u64::from(groups);
            let first = near.wrapping_mul(7).wrapping_add(1) % groups;
            (0..groups)
                .map(|k| (first + k) % groups)
                .find(|&g| self.gds.get(g as usize).is_some_and(|d| d.free_inodes >= avg_i.max(1) && u64::from(d.free_blocks) >= avg_b))
                .unwrap_or(near % groups)
        } else {
            near % groups
        };
        for k in 0..groups {
            let g = (start + k) % groups;
            let Some(gd) = self.gds.get(g as usize).copied() else { break };
            if gd.free_inodes == 0 {
                continue;
            }
            let limit = u64::from(geo.inodes_per_group).min(u64::from(geo.inodes_count).saturating_sub(u64::from(g) * u64::from(geo.inodes_per_group))) as u32;
            let map = Self::map(&mut self.inode_maps, gd.inode_bitmap, g, geo, dev)?;
            // Never hand out a reserved inode (below s_first_ino).
            let low = if g == 0 { geo.first_ino - 1 } else { 0 };
            let Some(bit) = bitmap::find_clear(&map.bits, map.hint.max(low), limit) else {
                log::warn!("ext2: group {g}: descriptor says {} free inodes, bitmap has none", gd.free_inodes);
                continue;
            };
            bitmap::set(&mut map.bits, bit);
            map.dirty = true;
            map.hint = bit + 1;
            let gdm = self.gds.get_mut(g as usize).ok_or(Errno::EIO)?;
            gdm.free_inodes = gdm.free_inodes.saturating_sub(1);
            if dir {
                gdm.used_dirs = gdm.used_dirs.saturating_add(1);
            }
            self.free_inodes = self.free_inodes.saturating_sub(1);
            self.gd_dirty = true;
            return Ok(g * geo.inodes_per_group + bit + 1);
        }
        Err(Errno::ENOSPC)
    }

    pub fn free_inode(&mut self, geo: &Geometry, dev: &dyn BlockIo, ino: u32, dir: bool) -> Result<()> {
        if ino == 0 || ino > geo.inodes_count {
            return Ok(());
        }
        let g = (ino - 1) / geo.inodes_per_group;
        let bit = (ino - 1) % geo.inodes_per_group;
        let Some(gd) = self.gds.get(g as usize).copied() else { return Ok(()) };
        let map = Self::map(&mut self.inode_maps, gd.inode_bitmap, g, geo, dev)?;
        if !bitmap::clear(&mut map.bits, bit) {
            log::warn!("ext2: inode {ino} freed twice");
            return Ok(());
        }
        map.dirty = true;
        map.hint = map.hint.min(bit);
        if let Some(gdm) = self.gds.get_mut(g as usize) {
            gdm.free_inodes = gdm.free_inodes.saturating_add(1);
            if dir {
                gdm.used_dirs = gdm.used_dirs.saturating_sub(1);
            }
        }
        self.free_inodes = self.free_inodes.saturating_add(1);
        self.gd_dirty = true;
        Ok(())
    }

    /// Writes dirty bitmaps, the group descriptors and (if `sb` is given) the superblock.
    pub fn flush(&mut self, geo: &Geometry, dev: &dyn BlockIo, sb: Option<SbUpdate>) -> Result<()> {
        let bs = u64::from(geo.block_size);
        for (g, slot) in self.block_maps.iter_mut().enumerate() {
            if let (Some(m), Some(gd)) = (slot.as_mut(), self.gds.get(g)) {
                if m.dirty {
                    dev.write_at(gd.block_bitmap * bs, &m.bits)?;
                    m.dirty = false;
                }
            }
        }
        for (g, slot) in self.inode_maps.iter_mut().enumerate() {
            if let (Some(m), Some(gd)) = (slot.as_mut(), self.gds.get(g)) {
                if m.dirty {
                    dev.write_at(gd.inode_bitmap * bs, &m.bits)?;
                    m.dirty = false;
                }
            }
        }
        let is64 = geo.incompat & INCOMPAT_64BIT != 0;
        if self.gd_dirty {
            let ds = geo.desc_size as usize;
            for (g, gd) in self.gds.iter().enumerate() {
                if let Some(rec) = self.gdt_raw.get_mut(g * ds..(g + 1) * ds) {
                    gd.store_counts(rec, is64);
                }
            }
            dev.write_at(self.gdt_off, &self.gdt_raw)?;
            self.gd_dirty = false;
        }
        if let Some(mut u) = sb {
            u.free_blocks = self.free_blocks;
            u.free_inodes = self.free_inodes;
            u.ro_compat = self.ro_compat;
            store_sb(&mut self.sb_raw, &u, is64);
            dev.write_at(crate::sb::SB_OFFSET, &self.sb_raw)?;
        }
        Ok(())
    }
}
