//! Creating address spaces: sharing the kernel (upper) half
//! ([`PageTable::new_sharing_upper_half`], [`PageTable::prefill_upper_half`]) and forking the
//! user (lower) half with copy-on-write ([`PageTable::fork_user_half`]).

use crate::addr::{canonicalize, ENTRIES_PER_TABLE, USER_PML4_END};
use crate::entry::{self, alloc_table};
use crate::error::OutOfMemory;
use crate::flags::{Level, PageFlags, PageSize};
use crate::table::{Mapping, PageTable};
use crate::{FrameSource, TableMemory};

const WRITABLE: u64 = PageFlags::WRITABLE.bits();
const USER: u64 = PageFlags::USER.bits();
const SHARED: u64 = PageFlags::SHARED.bits();
const COW: u64 = PageFlags::COW.bits();
const ACCESSED_DIRTY: u64 = PageFlags::ACCESSED.bits() | PageFlags::DIRTY.bits();

/// Whether fork turns this leaf into a copy-on-write share: writable, user, not `SHARED`.
const fn becomes_cow(leaf: u64) -> bool {
    leaf & (WRITABLE | USER | SHARED) == WRITABLE | USER
}

/// The parent's leaf after the fork: write-protected and `COW` if it becomes a share.
const fn parent_leaf(leaf: u64) -> u64 {
    if becomes_cow(leaf) {
        (leaf & !WRITABLE) | COW
    } else {
        leaf
    }
}

/// The child's copy: as the parent's after the fork, with clean `ACCESSED` / `DIRTY`.
const fn child_leaf(leaf: u64) -> u64 {
    parent_leaf(leaf) & !ACCESSED_DIRTY
}

impl PageTable {
    /// Allocates a new root whose upper half (PML4 entries 256..512) is a copy of
    /// `template`'s, so the new tree shares the kernel's PDPTs, and whose user half is empty.
    /// The starting point of a new process's address space.
    pub fn new_sharing_upper_half<M, F>(
        mem: &mut M,
        frames: &mut F,
        template: &PageTable,
    ) -> Result<PageTable, OutOfMemory>
    where
        M: TableMemory + ?Sized,
        F: FrameSource + ?Sized,
    {
        let root = alloc_table(frames)?;
        copy_upper_half(mem, template.root(), root);
        Ok(PageTable { root })
    }

    /// Gives every empty upper-half PML4 entry (256..512) a new, empty PDPT, so that kernel
    /// mappings made later in this tree are seen by every tree created from it with
    /// [`new_sharing_upper_half`](Self::new_sharing_upper_half) or
    /// [`fork_user_half`](Self::fork_user_half). Returns the number of PDPTs allocated
    /// (up to 256 frames, 1 MiB). On failure the PDPTs allocated by this call are given back
    /// and their entries cleared.
    pub fn prefill_upper_half<M, F>(
        &mut self,
        mem: &mut M,
        frames: &mut F,
    ) -> Result<usize, OutOfMemory>
    where
        M: TableMemory + ?Sized,
        F: FrameSource + ?Sized,
    {
        let root = self.root();
        // Bit i set: this call filled PML4 entry USER_PML4_END + i.
        let mut created = [0u64; 4];
        let mut count = 0;
        for i in USER_PML4_END..ENTRIES_PER_TABLE {
            if entry::is_present(mem.read_entry(root, i)) {
                continue;
            }
            match alloc_table(frames) {
                Ok(pdpt) => {
                    mem.write_entry(root, i, entry::intermediate_entry(pdpt, false));
                    let bit = i - USER_PML4_END;
                    created[bit / 64] |= 1 << (bit % 64);
                    count += 1;
                }
                Err(err) => {
                    for j in USER_PML4_END..i {
                        let bit = j - USER_PML4_END;
                        if created[bit / 64] & (1 << (bit % 64)) != 0 {
                            let pdpt = entry::table_addr(mem.read_entry(root, j));
                            mem.write_entry(root, j, 0);
                            frames.free_table_frame(pdpt);
                        }
                    }
                    return Err(err);
                }
            }
        }
        Ok(count)
    }

    /// Forks this address space: returns a new tree whose upper half shares this tree's
    /// kernel PDPTs (entries 256..512 copied) and whose user half maps the same frames as
    /// this tree's user half (PML4 entries 0..256), in new tables.
    ///
    /// Every user-half leaf that is `WRITABLE | USER` and not `SHARED` becomes a
    /// copy-on-write share in *both* trees: `WRITABLE` cleared, `COW` set. Other leaves are
    /// copied as they are (read-only ones, `SHARED` ones, existing `COW` ones, non-`USER`
    /// ones). Huge leaves stay huge. The child's leaves start with `ACCESSED` and `DIRTY`
    /// clear; the parent keeps its own. Non-present entries and empty tables are not copied.
    ///
    /// `on_shared` is called once per copied leaf (with the child's mapping) so the caller can
    /// take a reference on the frame. The call is all-or-nothing: every table the child may
    /// need is allocated first (one walk of the upper levels; page tables themselves are not
    /// read), and only then does one pass over the tree copy each leaf, write-protect the
    /// parent's and call `on_shared`. On [`OutOfMemory`] the parent is untouched, `on_shared`
    /// has not been called and every table allocated for the child has been given back.
    ///
    /// The caller must then flush the parent's TLB on every CPU running it (reloading CR3 is
    /// enough when user leaves are not `GLOBAL`): stale writable translations would let the
    /// parent write into frames the child now shares.
    pub fn fork_user_half<M, F, S>(
        &mut self,
        mem: &mut M,
        frames: &mut F,
        on_shared: S,
    ) -> Result<PageTable, OutOfMemory>
    where
        M: TableMemory + ?Sized,
        F: FrameSource + ?Sized,
        S: FnMut(Mapping),
    {
        let parent_root = self.root();
        let child_root = alloc_table(frames)?;
        let mut needed = 0;
        for i in 0..USER_PML4_END {
            let e = mem.read_entry(parent_root, i);
            if entry::is_present(e) {
                needed += tables_to_copy(mem, entry::table_addr(e), Level::Pdpt);
            }
        }
        let mut reserve = Reserve { head: 0, count: 0 };
        for _ in 0..needed {
            match alloc_table(frames) {
                Ok(table) => reserve.give(mem, table),
                Err(err) => {
                    reserve.free_all(mem, frames);
                    frames.free_table_frame(child_root);
                    return Err(err);
                }
            }
        }
        let mut on_shared = on_shared;
        for i in 0..USER_PML4_END {
            let e = mem.read_entry(parent_root, i);
            if !entry::is_present(e) {
                continue;
            }
            let base = (i as u64) << Level::Pml4.shift();
            let copy = copy_tree(mem, &mut reserve, entry::table_addr(e), Level::Pdpt, base, &mut on_shared);
            if let Some(pdpt) = copy {
                let link = entry::intermediate_entry(pdpt, entry::intermediate_is_user(e));
                mem.write_entry(child_root, i, link);
            }
        }
        // Tables of empty subtrees (present but with no leaf) were not needed.
        reserve.free_all(mem, frames);
        copy_upper_half(mem, parent_root, child_root);
        Ok(PageTable { root: child_root })
    }
}

/// Copies PML4 entries 256..512 from the root at `from` to the root at `to`.
fn copy_upper_half<M: TableMemory + ?Sized>(mem: &mut M, from: u64, to: u64) {
    for i in USER_PML4_END..ENTRIES_PER_TABLE {
        let e = mem.read_entry(from, i);
        mem.write_entry(to, i, e);
    }
}

/// The number of tables a copy of the table at `table` (of `level`) and everything below it
/// needs at most: it and every table it links to (page tables counted, not read).
fn tables_to_copy<M: TableMemory + ?Sized>(mem: &M, table: u64, level: Level) -> usize {
    let Some(lower) = level.lower() else { return 1 };
    let mut count = 1;
    let mut i = mem.next_present(table, 0);
    while i < ENTRIES_PER_TABLE {
        let e = mem.read_entry(table, i);
        if entry::is_present(e) && !entry::is_leaf(level, e) {
            count += if lower == Level::Pt { 1 } else { tables_to_copy(mem, entry::table_addr(e), lower) };
        }
        i = mem.next_present(table, i + 1);
    }
    count
}

/// Zeroed table frames allocated before a fork changes anything, chained through their
/// entry 0 (`count` of them from `head`).
struct Reserve {
    head: u64,
    count: usize,
}

impl Reserve {
    /// Adds a zeroed table.
    fn give<M: TableMemory + ?Sized>(&mut self, mem: &mut M, table: u64) {
        if self.count > 0 {
            mem.write_entry(table, 0, self.head);
        }
        self.head = table;
        self.count += 1;
    }

    /// Takes a zeroed table; None only if the count of [`tables_to_copy`] was short.
    fn take<M: TableMemory + ?Sized>(&mut self, mem: &mut M) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let table = self.head;
        self.count -= 1;
        if self.count > 0 {
            self.head = mem.read_entry(table, 0);
            mem.write_entry(table, 0, 0);
        }
        Some(table)
    }

    /// Gives every table left back to `frames`.
    fn free_all<M, F>(&mut self, mem: &mut M, frames: &mut F)
    where
        M: TableMemory + ?Sized,
        F: FrameSource + ?Sized,
    {
        while let Some(table) = self.take(mem) {
            frames.free_table_frame(table);
        }
    }
}

/// Copies the table at `src` (of `level`, covering addresses from `base`) and everything
/// below it into tables from `reserve`: each leaf is written to the child as [`child_leaf`]
/// says, write-protected in the parent as [`parent_leaf`] says, and reported to `on_shared`
/// (as the child sees it). Returns `None` (and keeps no table) if the copy would be empty.
fn copy_tree<M, S>(mem: &mut M, reserve: &mut Reserve, src: u64, level: Level, base: u64, on_shared: &mut S) -> Option<u64>
where
    M: TableMemory + ?Sized,
    S: FnMut(Mapping),
{
    let dst = reserve.take(mem)?;
    let mut filled = false;
    // Page tables are mostly full: read them entry by entry; skip through upper levels.
    let sparse = level != Level::Pt;
    let mut i = if sparse { mem.next_present(src, 0) } else { 0 };
    while i < ENTRIES_PER_TABLE {
        let e = mem.read_entry(src, i);
        let index = i;
        i = if sparse { mem.next_present(src, i + 1) } else { i + 1 };
        if !entry::is_present(e) {
            continue;
        }
        let i = index;
        let virt = base | ((i as u64) << level.shift());
        match (entry::is_leaf(level, e), level.leaf_size(), level.lower()) {
            (true, Some(size), _) => {
                let parent = parent_leaf(e);
                if parent != e {
                    mem.write_entry(src, i, parent);
                }
                let child = child_leaf(e);
                mem.write_entry(dst, i, child);
                filled = true;
                on_shared(child_mapping(canonicalize(virt), child, size));
            }
            (false, _, Some(lower)) => {
                if let Some(table) = copy_tree(mem, reserve, entry::table_addr(e), lower, virt, on_shared) {
                    mem.write_entry(dst, i, entry::intermediate_entry(table, entry::intermediate_is_user(e)));
                    filled = true;
                }
            }
            _ => {}
        }
    }
    if filled {
        Some(dst)
    } else {
        reserve.give(mem, dst);
        None
    }
}

fn child_mapping(virt: u64, leaf: u64, size: PageSize) -> Mapping {
    Mapping {
        virt,
        phys: entry::leaf_phys(leaf, size),
        size,
        flags: entry::leaf_flags(leaf, size),
    }
}
