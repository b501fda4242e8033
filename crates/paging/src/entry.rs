//! Internal helpers: decoding and encoding raw 64-bit entries, table allocation and the
//! emptiness test used by pruning.

use crate::addr::{ENTRIES_PER_TABLE, PHYS_ADDR_MASK, PHYS_LIMIT};
use crate::error::OutOfMemory;
use crate::flags::{Level, PageFlags, PageSize};
use crate::{FrameSource, TableMemory};

const PRESENT: u64 = PageFlags::PRESENT.bits();
const HUGE: u64 = PageFlags::HUGE.bits();

/// Flags a caller may request on a leaf (everything defined except the managed `HUGE`).
const CALLER_FLAGS: u64 = PageFlags::all().bits() & !HUGE;

/// The flags this crate keeps on intermediate entries it normalizes.
const INTERMEDIATE_RIGHTS: u64 = PageFlags::PRESENT.bits() | PageFlags::WRITABLE.bits();

pub(crate) const fn is_present(entry: u64) -> bool {
    entry & PRESENT != 0
}

/// Whether a present `entry` found at `level` is a leaf rather than a pointer to a table.
pub(crate) const fn is_leaf(level: Level, entry: u64) -> bool {
    match level {
        Level::Pt => true,
        Level::Pd | Level::Pdpt => entry & HUGE != 0,
        // PS is reserved in PML4 entries; this crate never sets it and treats them as tables.
        Level::Pml4 => false,
    }
}

/// The table a non-leaf entry points to.
pub(crate) const fn table_addr(entry: u64) -> u64 {
    entry & PHYS_ADDR_MASK
}

/// The frame a leaf entry of `size` maps (bit 12 of a huge leaf is PAT, not address).
pub(crate) const fn leaf_phys(entry: u64, size: PageSize) -> u64 {
    entry & PHYS_ADDR_MASK & !size.offset_mask()
}

/// The flags of a leaf entry of `size`, `HUGE` included exactly for huge leaves.
pub(crate) const fn leaf_flags(entry: u64, size: PageSize) -> PageFlags {
    let flags = PageFlags::from_bits_truncate(entry);
    match size {
        // Bit 7 of a PT entry is PAT, not PS.
        PageSize::Size4K => flags.difference(PageFlags::HUGE),
        PageSize::Size2M | PageSize::Size1G => flags.union(PageFlags::HUGE),
    }
}

/// A leaf entry: `phys` must be aligned to `size` and below [`PHYS_LIMIT`]. Unknown and
/// managed bits in `flags` are dropped; `PRESENT` (and `HUGE` for huge sizes) are added.
pub(crate) const fn leaf_entry(phys: u64, size: PageSize, flags: PageFlags) -> u64 {
    let huge = match size {
        PageSize::Size4K => 0,
        PageSize::Size2M | PageSize::Size1G => HUGE,
    };
    phys | (flags.bits() & CALLER_FLAGS) | PRESENT | huge
}

/// An entry pointing to the table at `table`: present, writable, user if asked, executable.
pub(crate) const fn intermediate_entry(table: u64, user: bool) -> u64 {
    let user_bit = if user { PageFlags::USER.bits() } else { 0 };
    table | INTERMEDIATE_RIGHTS | user_bit
}

/// An existing intermediate entry widened so that a leaf below it (user or not) takes
/// effect: adds `WRITABLE` (and `USER` if asked) and clears `NO_EXECUTE`. Returns the entry
/// unchanged when nothing needs widening.
pub(crate) const fn widened_intermediate(entry: u64, user: bool) -> u64 {
    let user_bit = if user { PageFlags::USER.bits() } else { 0 };
    (entry | INTERMEDIATE_RIGHTS | user_bit) & !PageFlags::NO_EXECUTE.bits()
}

/// Whether `entry` (a present intermediate entry) lets user mode through.
pub(crate) const fn intermediate_is_user(entry: u64) -> bool {
    entry & PageFlags::USER.bits() != 0
}

/// Whether `addr` can be stored in an entry as a 4 KiB frame address.
pub(crate) const fn is_valid_frame(addr: u64) -> bool {
    addr & 0xfff == 0 && addr < PHYS_LIMIT
}

/// Takes one zeroed frame for a table from `frames`. A frame the source hands out that is
/// not a valid frame address is given back and reported as [`OutOfMemory`].
pub(crate) fn alloc_table<F: FrameSource + ?Sized>(frames: &mut F) -> Result<u64, OutOfMemory> {
    match frames.alloc_table_frame() {
        Some(frame) if is_valid_frame(frame) => Ok(frame),
        Some(bad) => {
            frames.free_table_frame(bad);
            Err(OutOfMemory)
        }
        None => Err(OutOfMemory),
    }
}

/// Whether no entry of the table at `table` is present.
pub(crate) fn table_is_empty<M: TableMemory + ?Sized>(mem: &M, table: u64) -> bool {
    (0..ENTRIES_PER_TABLE).all(|i| !is_present(mem.read_entry(table, i)))
}
