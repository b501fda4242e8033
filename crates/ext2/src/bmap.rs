//! Block mapping of an inode (`i_block`: 12 direct pointers, then single, double and triple
//! indirect blocks): lookup, allocation of missing blocks (with a per-inode cache of recently
//! used indirect blocks and a preallocated contiguous run), and freeing from a logical block
//! on (truncate, deletion). Pointers outside the volume are corruption (`EUCLEAN` and a log
//! line); the tree has at most three levels, so no pointer loop can make a walk unbounded.

use alloc::vec::Vec;

use exo_abi::Errno;

use crate::dinode::{DiskInode, DIND, IND, TIND};
use crate::fs::Vol;
use crate::Result;

/// Indirect blocks kept per inode.
const CACHED: usize = 4;

struct Ind {
    blk: u64,
    ptrs: Vec<u32>,
    dirty: bool,
}

/// Per-inode mapping state: cached indirect blocks, the allocation goal, a preallocated run.
#[derive(Default)]
pub(crate) struct MapCache {
    inds: Vec<Ind>,
    /// Next block to try for this file (the one after the last allocated).
    pub goal: u64,
    pre_start: u64,
    pre_count: u32,
}

/// Where a logical block's pointer lives: the `i_block` slot and the indices in each level.
fn path(lblk: u64, p: u64) -> Option<(usize, [u64; 3], usize)> {
    if lblk < 12 {
        return Some((lblk as usize, [0; 3], 0));
    }
    let i = lblk - 12;
    if i < p {
        return Some((IND, [i, 0, 0], 1));
    }
    let i = i - p;
    if i < p * p {
        return Some((DIND, [i / p, i % p, 0], 2));
    }
    let i = i - p * p;
    if i < p * p * p {
        return Some((TIND, [i / (p * p), (i / p) % p, i % p], 3));
    }
    None
}

/// Logical blocks a file can map (12 + p + p² + p³).
pub(crate) fn max_blocks(block_size: u32) -> u64 {
    let p = u64::from(block_size / 4);
    12 + p + p * p + p * p * p
}

/// Mapping operations on one inode (its record and cache are held locked by the caller).
pub(crate) struct Mapper<'a> {
    pub vol: &'a Vol,
    pub d: &'a mut DiskInode,
    pub c: &'a mut MapCache,
    pub ino: u32,
}

impl Mapper<'_> {
    fn per(&self) -> u64 {
        u64::from(self.vol.geo.block_size / 4)
    }

    fn check_ptr(&self, b: u64) -> Result<u64> {
        if self.vol.geo.valid_block(b) {
            Ok(b)
        } else {
            log::warn!("ext2: inode {}: block pointer {b} outside the volume", self.ino);
            Err(Errno::EUCLEAN)
        }
    }

    /// Index of the cached indirect block `blk`, reading it if needed (`fresh`: a new block,
    /// all zeros, not read).
    fn ind(&mut self, blk: u64, fresh: bool) -> Result<usize> {
        if let Some(i) = self.c.inds.iter().position(|e| e.blk == blk) {
            return Ok(i);
        }
        let p = self.per() as usize;
        let mut ptrs = Vec::new();
        ptrs.try_reserve_exact(p).map_err(|_| Errno::ENOMEM)?;
        ptrs.resize(p, 0u32);
        if !fresh {
            let mut raw = crate::sb::zeroed(self.vol.geo.block_size as usize)?;
            self.vol.read_block(blk, &mut raw)?;
            for (i, v) in ptrs.iter_mut().enumerate() {
                *v = crate::bytes::r32(&raw, 4 * i);
            }
        }
        if self.c.inds.len() >= CACHED {
            // Evict the oldest (index 0), writing it back if dirty.
            let old = self.c.inds.remove(0);
            if old.dirty {
                self.write_ind(&old)?;
            }
        }
        self.c.inds.push(Ind { blk, ptrs, dirty: fresh });
        Ok(self.c.inds.len() - 1)
    }

    fn write_ind(&self, e: &Ind) -> Result<()> {
        let mut raw = crate::sb::zeroed(self.vol.geo.block_size as usize)?;
        for (i, v) in e.ptrs.iter().enumerate() {
            crate::bytes::w32(&mut raw, 4 * i, *v);
        }
        self.vol.write_block(e.blk, &raw)
    }

    /// The physical block of `lblk` (0 for a hole).
    pub fn map(&mut self, lblk: u64) -> Result<u64> {
        let Some((top, idx, depth)) = path(lblk, self.per()) else { return Ok(0) };
        let mut ptr = u64::from(self.d.block[top]);
        for &i in idx.iter().take(depth) {
            if ptr == 0 {
                return Ok(0);
            }
            let k = self.ind(self.check_ptr(ptr)?, false)?;
            ptr = u64::from(self.c.inds.get(k).and_then(|e| e.ptrs.get(i as usize)).copied().unwrap_or(0));
        }
        if ptr == 0 {
            Ok(0)
        } else {
            self.check_ptr(ptr)
        }
    }

    /// A new block for this file near the goal (from the preallocated run if any).
    fn new_block(&mut self, want: u32) -> Result<u64> {
        if self.c.pre_count == 0 {
            let goal = if self.c.goal != 0 { self.c.goal } else { self.vol.inode_goal(self.ino) };
            let (s, n) = self.vol.alloc_blocks(goal, want.max(1))?;
            self.c.pre_start = s;
            self.c.pre_count = n;
        }
        let b = self.c.pre_start;
        self.c.pre_start += 1;
        self.c.pre_count -= 1;
        self.c.goal = b + 1;
        self.d.blocks = self.d.blocks.saturating_add(u64::from(self.vol.geo.block_size / 512));
        Ok(b)
    }

    /// The physical block of `lblk`, allocating it (and missing indirect blocks) if it is a
    /// hole; `want` blocks are requested at once for the following writes. Returns whether the
    /// data block is new (its old contents are garbage).
    pub fn map_alloc(&mut self, lblk: u64, want: u32) -> Result<(u64, bool)> {
        let Some((top, idx, depth)) = path(lblk, self.per()) else { return Err(Errno::EFBIG) };
        let mut ptr = u64::from(self.d.block[top]);
        let mut is_new = false;
        if ptr == 0 {
            ptr = self.new_block(want)?;
            self.d.block[top] = ptr as u32;
            is_new = true;
        } else {
            self.check_ptr(ptr)?;
        }
        for &i in idx.iter().take(depth) {
            let k = self.ind(ptr, is_new)?;
            let cur = self.c.inds.get(k).and_then(|e| e.ptrs.get(i as usize)).copied().unwrap_or(0);
            if cur != 0 {
                ptr = self.check_ptr(u64::from(cur))?;
                is_new = false;
            } else {
                let b = self.new_block(want)?;
                // The new block may have evicted entry k: look it up again.
                let k = self.ind(ptr, false)?;
                if let Some(e) = self.c.inds.get_mut(k) {
                    if let Some(slot) = e.ptrs.get_mut(i as usize) {
                        *slot = b as u32;
                    }
                    e.dirty = true;
                }
                ptr = b;
                is_new = true;
            }
        }
        Ok((ptr, is_new))
    }

    /// Writes dirty indirect blocks and returns the unused preallocated blocks.
    pub fn flush(&mut self) -> Result<()> {
        if self.c.pre_count != 0 {
            let (s, n) = (self.c.pre_start, self.c.pre_count);
            self.c.pre_count = 0;
            self.vol.free_blocks(s, u64::from(n))?;
        }
        let mut res = Ok(());
        for k in 0..self.c.inds.len() {
            if let Some(e) = self.c.inds.get(k) {
                if e.dirty {
                    res = res.and(self.write_ind(e));
                }
            }
            if let Some(e) = self.c.inds.get_mut(k) {
                e.dirty = false;
            }
        }
        res
    }

    /// Frees every block mapping logical block `first` and beyond, and the indirect blocks
    /// that become empty. Flushes and empties the cache first.
    pub fn free_from(&mut self, first: u64) -> Result<()> {
        self.flush()?;
        self.c.inds.clear();
        self.c.goal = 0;
        let p = self.per();
        let mut f = Freer { start: 0, count: 0, freed: 0 };
        for i in (first.min(12) as usize)..12 {
            let b = core::mem::take(&mut self.d.block[i]);
            self.free_one(&mut f, u64::from(b))?;
        }
        let spans = [(IND, 12u64, 1u32, p), (DIND, 12 + p, 2, p * p), (TIND, 12 + p + p * p, 3, p * p * p)];
        for (slot, base, depth, span) in spans {
            let b = u64::from(self.d.block[slot]);
            if b == 0 || first >= base + span {
                continue;
            }
            let start = first.saturating_sub(base);
            if self.vol.geo.valid_block(b) {
                self.free_tree(&mut f, b, depth, start)?;
            } else {
                log::warn!("ext2: inode {}: indirect block {b} outside the volume", self.ino);
            }
            if start == 0 {
                self.d.block[slot] = 0;
                self.free_one(&mut f, b)?;
            }
        }
        self.flush_freer(&mut f)?;
        let per_blk = u64::from(self.vol.geo.block_size / 512);
        self.d.blocks = self.d.blocks.saturating_sub(f.freed.saturating_mul(per_blk));
        Ok(())
    }

    /// Frees the entries of indirect block `blk` (of `depth` levels) from relative logical
    /// block `start` on; writes the block back if it keeps some entries.
    fn free_tree(&mut self, f: &mut Freer, blk: u64, depth: u32, start: u64) -> Result<()> {
        let p = self.per();
        let per_ptr = p.pow(depth - 1);
        let mut raw = crate::sb::zeroed(self.vol.geo.block_size as usize)?;
        self.vol.read_block(blk, &mut raw)?;
        let first_idx = start / per_ptr;
        let mut changed = false;
        for i in first_idx..p {
            let off = (4 * i) as usize;
            let b = u64::from(crate::bytes::r32(&raw, off));
            if b == 0 {
                continue;
            }
            let sub = if i == first_idx { start % per_ptr } else { 0 };
            if depth > 1 {
                if !self.vol.geo.valid_block(b) {
                    log::warn!("ext2: inode {}: indirect block {b} outside the volume", self.ino);
                    continue;
                }
                self.free_tree(f, b, depth - 1, sub)?;
            }
            if sub == 0 {
                self.free_one(f, b)?;
                crate::bytes::w32(&mut raw, off, 0);
                changed = true;
            }
        }
        if changed && start != 0 {
            self.vol.write_block(blk, &raw)?;
        }
        Ok(())
    }

    fn free_one(&mut self, f: &mut Freer, b: u64) -> Result<()> {
        if b == 0 {
            return Ok(());
        }
        if !self.vol.geo.valid_block(b) {
            log::warn!("ext2: inode {}: block pointer {b} outside the volume", self.ino);
            return Ok(());
        }
        f.freed += 1;
        if f.count != 0 && f.start + f.count == b {
            f.count += 1;
            return Ok(());
        }
        self.flush_freer(f)?;
        f.start = b;
        f.count = 1;
        Ok(())
    }

    fn flush_freer(&mut self, f: &mut Freer) -> Result<()> {
        if f.count != 0 {
            self.vol.free_blocks(f.start, f.count)?;
            f.count = 0;
        }
        Ok(())
    }
}

/// Accumulates contiguous frees into one allocator call.
struct Freer {
    start: u64,
    count: u64,
    freed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cover_each_level() {
        assert_eq!(path(0, 256), Some((0, [0; 3], 0)));
        assert_eq!(path(11, 256), Some((11, [0; 3], 0)));
        assert_eq!(path(12, 256), Some((IND, [0, 0, 0], 1)));
        assert_eq!(path(12 + 256, 256), Some((DIND, [0, 0, 0], 2)));
        assert_eq!(path(12 + 256 + 257, 256), Some((DIND, [1, 1, 0], 2)));
        assert_eq!(path(12 + 256 + 65536, 256), Some((TIND, [0, 0, 0], 3)));
        assert_eq!(path(max_blocks(1024) - 1, 256), Some((TIND, [255, 255, 255], 3)));
        assert_eq!(path(max_blocks(1024), 256), None);
    }
}
