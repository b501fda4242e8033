//! Editing single mappings: [`PageTable::map`], [`PageTable::unmap`],
//! [`PageTable::unmap_and_prune`] and [`PageTable::protect`].

use crate::addr::{is_canonical, pml4_index, PHYS_LIMIT, USER_PML4_END};
use crate::entry::{self, alloc_table};
use crate::error::{MapError, ProtectError, UnmapError};
use crate::flags::{Level, PageFlags, PageSize};
use crate::table::PageTable;
use crate::{FrameSource, TableMemory};

impl PageTable {
    /// Maps the page of `size` at `virt` to the frame at `phys` with `flags`.
    ///
    /// `PRESENT` is always set, `HUGE` is set exactly for 2 MiB and 1 GiB pages (whatever
    /// `flags` says). Missing intermediate tables are allocated from `frames`; their entries
    /// are `PRESENT | WRITABLE`, plus `USER` when the leaf is `USER`. Existing intermediate
    /// entries on the path are widened the same way (never narrowed, `NO_EXECUTE` cleared) so
    /// that the leaf's own flags decide the access rights.
    ///
    /// The call is all-or-nothing: all checks are made and all new tables are allocated
    /// before anything is written, so on error the tree is unchanged and every frame taken
    /// for this call has been given back to `frames`. The new leaf is written into its
    /// table before that table is linked into the tree, so a concurrent hardware walk never
    /// sees a half-built path.
    ///
    /// No TLB flush is needed afterwards: the entry was not present before.
    pub fn map<M, F>(
        &mut self,
        mem: &mut M,
        frames: &mut F,
        virt: u64,
        phys: u64,
        size: PageSize,
        flags: PageFlags,
    ) -> Result<(), MapError>
    where
        M: TableMemory + ?Sized,
        F: FrameSource + ?Sized,
    {
        if !is_canonical(virt) {
            return Err(MapError::NonCanonical);
        }
        if !size.is_aligned(virt) || !size.is_aligned(phys) {
            return Err(MapError::Misaligned);
        }
        if phys >= PHYS_LIMIT {
            return Err(MapError::PhysicalOutOfRange);
        }
        let user = flags.contains(PageFlags::USER);
        let leaf_level = size.level();

        // Phase 1 (read only): follow the existing path down to the leaf level or to the
        // first missing entry, checking for conflicts.
        // `existing[..n]`: (table, index, entry) of each present intermediate entry passed.
        let mut existing = [(0u64, 0usize, 0u64); 3];
        let mut n = 0;
        let mut table = self.root;
        let mut level = Level::Pml4;
        while level != leaf_level {
            let index = level.index_of(virt);
            let e = mem.read_entry(table, index);
            if !entry::is_present(e) {
                break;
            }
            if entry::is_leaf(level, e) {
                return Err(MapError::HugePageConflict);
            }
            existing[n] = (table, index, e);
            n += 1;
            table = entry::table_addr(e);
            level = match level.lower() {
                Some(lower) => lower,
                None => return Err(MapError::HugePageConflict),
            };
        }
        if level == leaf_level {
            let e = mem.read_entry(table, level.index_of(virt));
            if entry::is_present(e) {
                return Err(if entry::is_leaf(level, e) {
                    MapError::AlreadyMapped
                } else {
                    MapError::HugePageConflict
                });
            }
        }

        // Phase 2: allocate the missing tables (one per level between `level` and the leaf).
        let missing = (level.number() - leaf_level.number()) as usize;
        let mut new_tables = [0u64; 3];
        for i in 0..missing {
            let Ok(frame) = alloc_table(frames) else {
                for &frame in &new_tables[..i] {
                    frames.free_table_frame(frame);
                }
                return Err(MapError::OutOfMemory);
            };
            new_tables[i] = frame;
        }

        // Phase 3: write. Widen existing intermediates, fill the new chain bottom-up, then
        // link it into `table` (the deepest existing table).
        for &(t, i, e) in &existing[..n] {
            let widened = entry::widened_intermediate(e, user);
            if widened != e {
                mem.write_entry(t, i, widened);
            }
        }
        let leaf = entry::leaf_entry(phys, size, flags);
        if missing == 0 {
            mem.write_entry(table, leaf_level.index_of(virt), leaf);
            return Ok(());
        }
        // new_tables[k] is the table at level `level - 1 - k`; the last one holds the leaf.
        mem.write_entry(new_tables[missing - 1], leaf_level.index_of(virt), leaf);
        let mut child_level = leaf_level;
        for k in (0..missing - 1).rev() {
            // new_tables[k] lives one level above new_tables[k + 1].
            let parent_level = level_above(child_level);
            let link = entry::intermediate_entry(new_tables[k + 1], user);
            mem.write_entry(new_tables[k], parent_level.index_of(virt), link);
            child_level = parent_level;
        }
        let link = entry::intermediate_entry(new_tables[0], user);
        mem.write_entry(table, level.index_of(virt), link);
        Ok(())
    }

    /// Removes the leaf of exactly `size` that maps `virt` and returns its frame's physical
    /// address. Intermediate tables are kept, even if now empty (see
    /// [`unmap_and_prune`](Self::unmap_and_prune) and
    /// [`prune_empty_tables`](Self::prune_empty_tables)); the frame is not freed (the caller
    /// owns it).
    ///
    /// The caller must invalidate `virt` in the TLB of every CPU that may use this tree
    /// before reusing the frame.
    pub fn unmap<M: TableMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        virt: u64,
        size: PageSize,
    ) -> Result<u64, UnmapError> {
        let leaf = self.locate(mem, virt, size)?;
        let (table, index) = leaf.slot();
        mem.write_entry(table, index, 0);
        Ok(leaf.phys())
    }

    /// Like [`unmap`](Self::unmap), then frees, bottom-up, every intermediate table on the
    /// path that the removal left without present entries, clearing its parent entry before
    /// returning it to `frames`. The root is never freed, nor is an upper-half PDPT (PML4
    /// index 256 or above): those are shared by every address space.
    ///
    /// The caller must invalidate `virt` (INVLPG also drops the paging-structure caches) on
    /// every CPU that may use this tree before the freed table frames are reused; a kernel
    /// [`FrameSource`] may have to defer their reuse until then.
    pub fn unmap_and_prune<M, F>(
        &mut self,
        mem: &mut M,
        frames: &mut F,
        virt: u64,
        size: PageSize,
    ) -> Result<u64, UnmapError>
    where
        M: TableMemory + ?Sized,
        F: FrameSource + ?Sized,
    {
        let leaf = self.locate(mem, virt, size)?;
        let (table, index) = leaf.slot();
        mem.write_entry(table, index, 0);
        // path[d].0 is the table at depth d (0 = root); path[d - 1] holds the entry that
        // points to it.
        for d in (1..leaf.depth).rev() {
            let (table, _) = leaf.path[d];
            if d == 1 && pml4_index(virt) >= USER_PML4_END {
                break;
            }
            if !entry::table_is_empty(mem, table) {
                break;
            }
            let (parent, parent_index) = leaf.path[d - 1];
            mem.write_entry(parent, parent_index, 0);
            frames.free_table_frame(table);
        }
        Ok(leaf.phys())
    }

    /// Replaces the flags of the leaf of exactly `size` that maps `virt`, keeping its frame.
    /// Returns the previous flags.
    ///
    /// As with [`map`](Self::map), `PRESENT` is kept and `HUGE` follows the size. `ACCESSED`
    /// and `DIRTY` are kept from the old entry (they record what the hardware did, not
    /// rights); those in `flags` are added. Bits [`PageFlags`] does not model (PAT, bit 11,
    /// bits 52..=62), which this crate never sets, are cleared. Adding `USER` widens the
    /// intermediate entries on the path like `map` does.
    ///
    /// The caller must invalidate `virt` in the TLB of every CPU that may use this tree
    /// (a pure widening of rights may instead be left to a spurious-fault retry).
    pub fn protect<M: TableMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        virt: u64,
        size: PageSize,
        flags: PageFlags,
    ) -> Result<PageFlags, ProtectError> {
        let leaf = self.locate(mem, virt, size)?;
        let old = entry::leaf_flags(leaf.entry, size);
        let kept = old.intersection(PageFlags::ACCESSED.union(PageFlags::DIRTY));
        let user = flags.contains(PageFlags::USER);
        if user {
            for &(t, i) in &leaf.path[..leaf.depth - 1] {
                let e = mem.read_entry(t, i);
                let widened = entry::widened_intermediate(e, true);
                if widened != e {
                    mem.write_entry(t, i, widened);
                }
            }
        }
        let (table, index) = leaf.slot();
        let new = entry::leaf_entry(leaf.phys(), size, flags.union(kept));
        mem.write_entry(table, index, new);
        Ok(old)
    }
}

/// The level directly above `level` (`Pml4` stays `Pml4`).
fn level_above(level: Level) -> Level {
    match level {
        Level::Pt => Level::Pd,
        Level::Pd => Level::Pdpt,
        Level::Pdpt | Level::Pml4 => Level::Pml4,
    }
}
