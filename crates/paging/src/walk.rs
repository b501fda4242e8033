//! Whole-tree operations: finding the next mapped address ([`PageTable::next_mapped`]),
//! visiting every leaf ([`PageTable::for_each_mapping`]), pruning empty tables and destroying
//! a tree.

use core::ops::Range;

use crate::addr::{canonicalize, is_canonical, ENTRIES_PER_TABLE, KERNEL_HALF_START, USER_PML4_END};
use crate::entry;
use crate::flags::Level;
use crate::table::{Mapping, PageTable};
use crate::{FrameSource, TableMemory};

impl PageTable {
    /// The first address `a` with `from <= a < end` that a present leaf maps (`from` itself if
    /// it is mapped), or `None`. Absent subtrees are skipped whole (512 GiB, 1 GiB or 2 MiB at a
    /// time), so a sparse range costs what is mapped in it, not its length: range operations
    /// (unmap, protect, move) over a huge, mostly empty area stay fast.
    pub fn next_mapped<M: TableMemory + ?Sized>(&self, mem: &M, from: u64, end: u64) -> Option<u64> {
        let mut addr = from;
        'next: while addr < end {
            if !is_canonical(addr) {
                // The hole between the halves: go on at the start of the upper half.
                if addr >= KERNEL_HALF_START {
                    return None;
                }
                addr = KERNEL_HALF_START;
                continue;
            }
            let mut table = self.root();
            let mut level = Level::Pml4;
            loop {
                let e = mem.read_entry(table, level.index_of(addr));
                if !entry::is_present(e) {
                    // Nothing under this entry: skip to the next entry of this level.
                    let span = level.entry_span();
                    if level == Level::Pml4 {
                        addr = (addr & !(span - 1)).checked_add(span)?;
                        continue 'next;
                    }
                    // Below the root a table covers one contiguous canonical range: find its
                    // next present entry before `end` with one scan instead of walking down
                    // from the root for every absent entry.
                    let table_base = addr & !(span * 512 - 1);
                    let stop = match table_base.checked_add(span * 512) {
                        Some(table_end) if end < table_end => ((end - 1 - table_base) / span) as usize + 1,
                        _ => 512,
                    };
                    let next = mem.next_present_below(table, level.index_of(addr) + 1, stop);
                    addr = table_base.checked_add(next as u64 * span)?;
                    if next < stop {
                        continue; // present: look at it in this same table
                    }
                    continue 'next;
                }
                if entry::is_leaf(level, e) {
                    return Some(addr);
                }
                table = entry::table_addr(e);
                level = level.lower()?;
            }
        }
        None
    }

    /// Calls `visitor` for every leaf of the tree, in increasing (canonical) address order.
    pub fn for_each_mapping<M, V>(&self, mem: &M, visitor: V)
    where
        M: TableMemory + ?Sized,
        V: FnMut(Mapping),
    {
        self.for_each_mapping_in(mem, 0..ENTRIES_PER_TABLE, visitor);
    }

    /// Calls `visitor` for every leaf under the PML4 entries in `pml4` (clipped to 0..512),
    /// in increasing address order. `0..USER_PML4_END` is the user half.
    pub fn for_each_mapping_in<M, V>(&self, mem: &M, pml4: Range<usize>, mut visitor: V)
    where
        M: TableMemory + ?Sized,
        V: FnMut(Mapping),
    {
        let end = pml4.end.min(ENTRIES_PER_TABLE);
        for i in pml4.start..end {
            let e = mem.read_entry(self.root(), i);
            if entry::is_present(e) {
                let base = (i as u64) << Level::Pml4.shift();
                walk(
                    mem,
                    entry::table_addr(e),
                    Level::Pdpt,
                    base,
                    &mut visitor,
                    &mut |_| {},
                );
            }
        }
    }

    /// Frees every intermediate table that has no present entry (after its own empty
    /// children are freed), clearing the entry that pointed to it first. Returns the number
    /// of tables freed. The root is never freed, nor are upper-half PDPTs (PML4 index 256 or
    /// above), which every address space shares.
    ///
    /// The caller must flush the TLB (paging-structure caches included) of every CPU that may
    /// use this tree before the freed frames are reused.
    pub fn prune_empty_tables<M, F>(&mut self, mem: &mut M, frames: &mut F) -> usize
    where
        M: TableMemory + ?Sized,
        F: FrameSource + ?Sized,
    {
        let mut freed = 0;
        for i in 0..ENTRIES_PER_TABLE {
            let e = mem.read_entry(self.root(), i);
            if !entry::is_present(e) {
                continue;
            }
            let pdpt = entry::table_addr(e);
            let (n, empty) = prune(mem, frames, pdpt, Level::Pdpt);
            freed += n;
            if empty && i < USER_PML4_END {
                mem.write_entry(self.root(), i, 0);
                frames.free_table_frame(pdpt);
                freed += 1;
            }
        }
        freed
    }

    /// Tears the tree down: calls `on_leaf` for every leaf under PML4 entries
    /// `0..pml4_end` (values above 512 mean 512), then frees every table frame reachable
    /// from those entries, and finally the root. Returns the number of table frames freed,
    /// root included.
    ///
    /// Pass [`USER_PML4_END`] for a process address space: its upper-half tables belong to
    /// the kernel and are shared. Pass 512 only for a tree that shares nothing. Leaf frames
    /// are never freed here: `on_leaf` is the caller's chance to drop its references.
    ///
    /// The tree must no longer be loaded in CR3 on any CPU.
    pub fn destroy<M, F, V>(self, mem: &mut M, frames: &mut F, pml4_end: usize, on_leaf: V) -> usize
    where
        M: TableMemory + ?Sized,
        F: FrameSource + ?Sized,
        V: FnMut(Mapping),
    {
        let mut on_leaf = on_leaf;
        let mut freed = 0;
        let root = self.into_root();
        for i in 0..pml4_end.min(ENTRIES_PER_TABLE) {
            let e = mem.read_entry(root, i);
            if entry::is_present(e) {
                let base = (i as u64) << Level::Pml4.shift();
                let mut free = |table: u64| {
                    frames.free_table_frame(table);
                    freed += 1;
                };
                walk(
                    mem,
                    entry::table_addr(e),
                    Level::Pdpt,
                    base,
                    &mut on_leaf,
                    &mut free,
                );
            }
        }
        frames.free_table_frame(root);
        freed + 1
    }
}

/// Visits the table at `table` (of `level`, covering addresses from `base`): `leaf` for each
/// leaf in address order, then `after_table` for every table below it and for `table`
/// itself, children before parents.
pub(crate) fn walk<M, L, T>(
    mem: &M,
    table: u64,
    level: Level,
    base: u64,
    leaf: &mut L,
    after_table: &mut T,
) where
    M: TableMemory + ?Sized,
    L: FnMut(Mapping),
    T: FnMut(u64),
{
    // Page tables are mostly full: read them entry by entry; skip through upper levels.
    let sparse = level != Level::Pt;
    let mut next = if sparse { mem.next_present(table, 0) } else { 0 };
    while next < ENTRIES_PER_TABLE {
        let i = next;
        let e = mem.read_entry(table, i);
        next = if sparse { mem.next_present(table, i + 1) } else { i + 1 };
        if !entry::is_present(e) {
            continue;
        }
        let virt = canonicalize(base | ((i as u64) << level.shift()));
        match (entry::is_leaf(level, e), level.leaf_size(), level.lower()) {
            (true, Some(size), _) => leaf(Mapping {
                virt,
                phys: entry::leaf_phys(e, size),
                size,
                flags: entry::leaf_flags(e, size),
            }),
            (false, _, Some(lower)) => {
                walk(mem, entry::table_addr(e), lower, virt, leaf, after_table);
            }
            // Unreachable for well-formed levels: a PT entry is always a leaf.
            _ => {}
        }
    }
    after_table(table);
}

/// Prunes below the table at `table` (of `level`); returns the number of tables freed and
/// whether `table` itself is now empty.
fn prune<M, F>(mem: &mut M, frames: &mut F, table: u64, level: Level) -> (usize, bool)
where
    M: TableMemory + ?Sized,
    F: FrameSource + ?Sized,
{
    let Some(lower) = level.lower() else {
        return (0, entry::table_is_empty(mem, table));
    };
    let mut freed = 0;
    let mut empty = true;
    for i in 0..ENTRIES_PER_TABLE {
        let e = mem.read_entry(table, i);
        if !entry::is_present(e) {
            continue;
        }
        if entry::is_leaf(level, e) {
            empty = false;
            continue;
        }
        let child = entry::table_addr(e);
        let (n, child_empty) = prune(mem, frames, child, lower);
        freed += n;
        if child_empty {
            mem.write_entry(table, i, 0);
            frames.free_table_frame(child);
            freed += 1;
        } else {
            empty = false;
        }
    }
    (freed, empty)
}
