//! [`PageTable`], the handle on one table tree: construction, lookups ([`PageTable::translate`])
//! and the leaf search the editing operations share.

use crate::addr::{is_canonical, PHYS_LIMIT};
use crate::entry::{self, alloc_table};
use crate::error::{OutOfMemory, UnmapError};
use crate::flags::{Level, PageFlags, PageSize};
use crate::{FrameSource, TableMemory};

/// One leaf mapping, as reported by walks and by the fork callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mapping {
    /// The canonical virtual address of the start of the page.
    pub virt: u64,
    /// The physical address of the start of the frame.
    pub phys: u64,
    /// The size of the page.
    pub size: PageSize,
    /// The leaf's flags (`PRESENT` always, `HUGE` exactly for 2 MiB and 1 GiB pages).
    pub flags: PageFlags,
}

/// A 4-level table tree, identified by the physical address of its PML4 (the value for CR3,
/// without PCID bits).
///
/// The handle is deliberately neither `Copy` nor `Clone`: [`destroy`](Self::destroy) consumes
/// it. It holds no memory reference; every operation takes the [`TableMemory`] (and, when it
/// may allocate or free tables, the [`FrameSource`]) explicitly.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PageTable {
    pub(crate) root: u64,
}

/// Where a leaf was found: the `(table, index)` of every entry on the path, root first.
pub(crate) struct Leaf {
    pub(crate) entry: u64,
    pub(crate) size: PageSize,
    pub(crate) path: [(u64, usize); 4],
    pub(crate) depth: usize,
}

impl Leaf {
    /// The table holding the leaf entry and the entry's index.
    pub(crate) fn slot(&self) -> (u64, usize) {
        self.path[self.depth - 1]
    }

    pub(crate) fn phys(&self) -> u64 {
        entry::leaf_phys(self.entry, self.size)
    }
}

impl PageTable {
    /// Allocates an empty root (PML4) from `frames`.
    pub fn new<F: FrameSource + ?Sized>(frames: &mut F) -> Result<PageTable, OutOfMemory> {
        Ok(PageTable {
            root: alloc_table(frames)?,
        })
    }

    /// Adopts an existing tree whose PML4 is at `root` (for instance the boot tables, read
    /// from CR3 with the PCID and flag bits masked off). Returns `None` if `root` is not a
    /// 4 KiB-aligned address below 2^52.
    pub fn from_root(root: u64) -> Option<PageTable> {
        if root & 0xfff == 0 && root < PHYS_LIMIT {
            Some(PageTable { root })
        } else {
            None
        }
    }

    /// The physical address of the PML4.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// Gives up the handle without freeing anything and returns the root address.
    pub fn into_root(self) -> u64 {
        self.root
    }

    /// Looks `virt` up: the physical address it translates to (frame plus the offset within
    /// the page), the page size and the leaf's flags. `None` if `virt` is not canonical or
    /// not mapped.
    pub fn translate<M: TableMemory + ?Sized>(
        &self,
        mem: &M,
        virt: u64,
    ) -> Option<(u64, PageSize, PageFlags)> {
        if !is_canonical(virt) {
            return None;
        }
        let leaf = self.find_leaf(mem, virt)?;
        let phys = leaf.phys() + (virt & leaf.size.offset_mask());
        Some((phys, leaf.size, entry::leaf_flags(leaf.entry, leaf.size)))
    }

    /// The present leaf that maps `virt` (assumed canonical), with its path.
    pub(crate) fn find_leaf<M: TableMemory + ?Sized>(&self, mem: &M, virt: u64) -> Option<Leaf> {
        let mut path = [(0u64, 0usize); 4];
        let mut depth = 0;
        let mut table = self.root;
        let mut level = Level::Pml4;
        loop {
            let index = level.index_of(virt);
            path[depth] = (table, index);
            depth += 1;
            let e = mem.read_entry(table, index);
            if !entry::is_present(e) {
                return None;
            }
            if entry::is_leaf(level, e) {
                let size = level.leaf_size()?;
                return Some(Leaf {
                    entry: e,
                    size,
                    path,
                    depth,
                });
            }
            table = entry::table_addr(e);
            level = level.lower()?;
        }
    }

    /// The leaf of exactly `size` that maps `virt`, with the checks `unmap` and `protect`
    /// share.
    pub(crate) fn locate<M: TableMemory + ?Sized>(
        &self,
        mem: &M,
        virt: u64,
        size: PageSize,
    ) -> Result<Leaf, UnmapError> {
        if !is_canonical(virt) {
            return Err(UnmapError::NonCanonical);
        }
        if !size.is_aligned(virt) {
            return Err(UnmapError::Misaligned);
        }
        let leaf = self.find_leaf(mem, virt).ok_or(UnmapError::NotMapped)?;
        if leaf.size != size {
            return Err(UnmapError::SizeMismatch { actual: leaf.size });
        }
        Ok(leaf)
    }
}
