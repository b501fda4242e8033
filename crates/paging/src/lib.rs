//! `exo-paging`: the x86-64 4-level page-table logic of Exo-OS, independent of the hardware.
//!
//! The kernel (and every process address space) edits its page tables through this crate.
//! The crate never touches memory or control registers itself: it reads and writes entries
//! through [`TableMemory`], takes and returns table frames through [`FrameSource`], and
//! tells the caller what changed so the caller can flush TLBs. On the host it is tested
//! against emulated physical memory.
//!
//! # Entry format
//!
//! Each table is one 4 KiB frame of 512 little-endian `u64` entries. Four levels: PML4
//! (root, bits 47..=39 of the address index it), PDPT (38..=30), PD (29..=21), PT (20..=12).
//! An entry:
//!
//! | bits    | meaning                                                                  |
//! |---------|--------------------------------------------------------------------------|
//! | 0       | `PRESENT`; when clear the rest of the entry is meaningless to this crate |
//! | 1, 2    | `WRITABLE`, `USER`                                                       |
//! | 3, 4    | `WRITE_THROUGH` (PWT), `NO_CACHE` (PCD)                                  |
//! | 5, 6    | `ACCESSED`, `DIRTY` (set by the CPU; `DIRTY` on leaves only)             |
//! | 7       | `HUGE` (PS) in PDPT/PD entries: 1 GiB / 2 MiB leaf; PAT in PT entries     |
//! | 8       | `GLOBAL` (leaves only)                                                   |
//! | 9       | `COW`, software: copy-on-write share (read-only until the fault copies)  |
//! | 10      | `SHARED`, software: frame shared on purpose, fork keeps it writable      |
//! | 11      | unused (ignored by the CPU, never set here)                              |
//! | 12..=51 | physical address of the next table or of the frame (for a huge leaf,    |
//! |         | bits below its alignment are zero; bit 12 would be its PAT bit)           |
//! | 52..=62 | unused (never set here)                                                  |
//! | 63      | `NO_EXECUTE` (needs `EFER.NXE`)                                          |
//!
//! See [`PageFlags`] for the flag constants and the common sets (`KERNEL_RW_NX`, ...).
//!
//! # Invariants kept by this crate
//!
//! - Every leaf it writes is `PRESENT`; `HUGE` is set exactly on 2 MiB / 1 GiB leaves; the
//!   frame address is aligned to the page size and below 2^52. PAT bits are never set.
//! - Every intermediate entry it writes is `PRESENT | WRITABLE`, plus `USER` if some user
//!   leaf lies below it, never `NO_EXECUTE`: access rights are decided by the leaves. Rights
//!   on intermediate entries are only ever widened, never narrowed.
//! - Mappings never silently overwrite each other: [`PageTable::map`] fails on any present
//!   leaf or table in the way.
//! - Every operation is all-or-nothing: on error the tree is unchanged and every frame
//!   taken for the call has been returned. New tables are filled before they are linked.
//! - PML4 entries 256..512 (the kernel half) point to PDPTs shared by every address space:
//!   pruning never frees those PDPTs, and [`PageTable::destroy`] only frees what lies below
//!   the PML4 index limit it is given. Kernel mappings must be made in PDPTs that already
//!   exist when address spaces are created ([`PageTable::prefill_upper_half`]).
//! - The crate holds no state besides the root address and never caches entries, so the
//!   tree in memory is the only truth.
//!
//! # Ownership: who frees what
//!
//! - **Table frames** (PML4, PDPTs, PDs, PTs) come from [`FrameSource::alloc_table_frame`]
//!   and go back through [`FrameSource::free_table_frame`]. A tree owns every table reachable
//!   from its user-half PML4 entries, plus its root. Tables are freed only by
//!   [`PageTable::unmap_and_prune`], [`PageTable::prune_empty_tables`] and
//!   [`PageTable::destroy`]; plain [`PageTable::unmap`] leaves empty tables in place.
//! - **Upper-half PDPTs** belong to the kernel's master tree and are shared; a process's
//!   `destroy(.., USER_PML4_END, ..)` leaves them alone.
//! - **Leaf frames** (what the pages map) always belong to the caller. This crate never frees
//!   them: `unmap` returns the frame, `destroy` and `for_each_mapping` show each leaf to a
//!   visitor, and `fork_user_half` reports each newly shared frame so the caller can count
//!   references.
//!
//! # TLB and concurrency
//!
//! - `map` fills a non-present entry: no flush needed.
//! - `unmap`, `protect`, `unmap_and_prune`, `prune_empty_tables`: the caller invalidates the
//!   affected addresses on every CPU that may use the tree, and only then reuses freed frames
//!   (leaf frames it got back, and table frames given to its `FrameSource`, which may have
//!   to defer their reuse).
//! - `fork_user_half`: the parent's TLB must be flushed (write-protection was added).
//! - Edits are plain read-modify-write through [`TableMemory`]; the caller serializes edits
//!   to a tree. While a tree is live on a CPU, the hardware may set `ACCESSED`/`DIRTY`
//!   concurrently, and such an update can be lost by an edit of the same entry.
//!
//! # Other limits
//!
//! 1 GiB pages need the CPU's `pdpe1gb` feature, which the kernel must check. Physical
//! addresses above the CPU's `MAXPHYADDR` are the caller's responsibility. Non-present
//! entries carrying software data (swap entries) are not supported: they are treated as free.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

mod addr;
mod entry;
mod error;
mod flags;
mod fork;
mod map;
mod table;
mod walk;

pub use addr::{
    canonicalize, is_canonical, is_user_half, pml4_index, table_indices, virt_from_indices,
    ENTRIES_PER_TABLE, KERNEL_HALF_START, PHYS_ADDR_MASK, PHYS_LIMIT, USER_HALF_END, USER_PML4_END,
};
pub use error::{MapError, OutOfMemory, ProtectError, UnmapError};
pub use flags::{Level, PageFlags, PageSize};
pub use table::{Mapping, PageTable};

/// Access to page-table frames by physical address (in the kernel: through its direct map).
///
/// This crate only passes `table_paddr` values that are the tree's root or table addresses
/// read from present intermediate entries of the tree (so, frames once handed out by a
/// [`FrameSource`] or present in adopted boot tables), and `index` values below 512.
pub trait TableMemory {
    /// Reads entry `index` of the table at physical address `table_paddr`.
    fn read_entry(&self, table_paddr: u64, index: usize) -> u64;
    /// Writes entry `index` of the table at physical address `table_paddr`. The kernel should
    /// store the 64 bits with a single aligned write (a concurrent hardware walk must never
    /// see a torn entry).
    fn write_entry(&mut self, table_paddr: u64, index: usize, value: u64);
    /// The index of the first present entry at or after `from` in the table at `table_paddr`,
    /// or 512 if there is none. Whole-tree walks (fork, teardown) skip the empty entries of
    /// upper-level tables with it; a kernel may scan the table faster than entry by entry.
    fn next_present(&self, table_paddr: u64, from: usize) -> usize {
        self.next_present_below(table_paddr, from, 512)
    }
    /// The index of the first present entry in `from..to` (`to` at most 512) of the table at
    /// `table_paddr`, or `to` if there is none ([`PageTable::next_mapped`] within a range).
    fn next_present_below(&self, table_paddr: u64, from: usize, to: usize) -> usize {
        let to = to.min(512);
        (from..to).find(|&i| self.read_entry(table_paddr, i) & 1 != 0).unwrap_or(to)
    }
}

/// Source of frames for new tables, and their return.
pub trait FrameSource {
    /// A zeroed, 4 KiB-aligned frame below 2^52 for a new table, or `None` if memory is
    /// exhausted. A returned address that is not such a frame is given straight back through
    /// [`free_table_frame`](Self::free_table_frame) and treated as exhaustion.
    fn alloc_table_frame(&mut self) -> Option<u64>;
    /// Takes back a table frame that is no longer linked into any tree. Its contents are
    /// stale entries; it may still be cached by TLBs until the caller flushes them.
    fn free_table_frame(&mut self, paddr: u64);
}

#[cfg(test)]
mod tests;
