//! Address helpers and layout constants: canonical virtual addresses, per-level table
//! indices and the physical-address field of an entry.

use crate::flags::Level;

/// Entries in every table (each table is one 4 KiB frame of 8-byte entries).
pub const ENTRIES_PER_TABLE: usize = 512;

/// PML4 indices `0..USER_PML4_END` are the lower (user) half, private to each address space;
/// `USER_PML4_END..512` are the upper (kernel) half, whose PDPTs are shared by all of them.
pub const USER_PML4_END: usize = 256;

/// The physical-address field of an entry (bits 12..=51).
pub const PHYS_ADDR_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// Physical addresses must be below this (52 bits, the architectural maximum; the CPU's own
/// `MAXPHYADDR` may be lower, which the kernel must respect itself).
pub const PHYS_LIMIT: u64 = 1 << 52;

/// The lowest address of the upper (kernel) half.
pub const KERNEL_HALF_START: u64 = 0xFFFF_8000_0000_0000;

/// One past the highest address of the lower (user) half.
pub const USER_HALF_END: u64 = 0x0000_8000_0000_0000;

/// Whether `virt` is canonical for 48-bit (4-level) paging: bits 63..=47 all equal.
pub const fn is_canonical(virt: u64) -> bool {
    let top = virt >> 47;
    top == 0 || top == 0x1_FFFF
}

/// `virt` with bits 63..=48 replaced by copies of bit 47 (always canonical).
pub const fn canonicalize(virt: u64) -> u64 {
    (((virt << 16) as i64) >> 16) as u64
}

/// Whether `virt` lies in the lower (user) half.
pub const fn is_user_half(virt: u64) -> bool {
    virt < USER_HALF_END
}

/// The index of `virt` in the PML4 (0..512).
pub const fn pml4_index(virt: u64) -> usize {
    Level::Pml4.index_of(virt)
}

/// The indices of `virt` at every level, root first: `[pml4, pdpt, pd, pt]`.
pub const fn table_indices(virt: u64) -> [usize; 4] {
    [
        Level::Pml4.index_of(virt),
        Level::Pdpt.index_of(virt),
        Level::Pd.index_of(virt),
        Level::Pt.index_of(virt),
    ]
}

/// The canonical virtual address whose indices are `indices` (`[pml4, pdpt, pd, pt]`, each
/// taken modulo 512) and whose offset within the 4 KiB page is `offset` (modulo 4096).
pub const fn virt_from_indices(indices: [usize; 4], offset: u64) -> u64 {
    let raw = ((indices[0] as u64 & 0x1ff) << 39)
        | ((indices[1] as u64 & 0x1ff) << 30)
        | ((indices[2] as u64 & 0x1ff) << 21)
        | ((indices[3] as u64 & 0x1ff) << 12)
        | (offset & 0xfff);
    canonicalize(raw)
}
