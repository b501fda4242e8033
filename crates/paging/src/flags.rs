//! Page-table entry flags ([`PageFlags`]), page sizes ([`PageSize`]) and the four table
//! levels ([`Level`]) of x86-64 4-level paging.

use bitflags::bitflags;

bitflags! {
    /// The flag bits of an x86-64 page-table entry (everything except the physical address).
    ///
    /// Hardware bits keep their architectural positions. Bits 9 and 10 are ignored by the CPU
    /// and carry Exo-OS software meaning:
    ///
    /// - [`COW`](Self::COW) (bit 9): the leaf is a copy-on-write share. It is mapped read-only;
    ///   a write fault on it must copy the frame (or take it over if the caller's reference
    ///   count says it is the last user), then remap it writable without `COW`.
    ///   [`PageTable::fork_user_half`](crate::PageTable::fork_user_half) sets it.
    /// - [`SHARED`](Self::SHARED) (bit 10): the frame is deliberately shared between address
    ///   spaces (shared memory, `MAP_SHARED`-style mappings, device memory handed to a
    ///   process). `fork_user_half` leaves such leaves writable in both parent and child
    ///   instead of turning them into copy-on-write.
    ///
    /// Bit 11 and bits 52..=62 are not represented: this crate never sets them.
    ///
    /// Managed bits: every leaf this crate writes is `PRESENT`; `HUGE` (the PS bit) is set
    /// exactly on 2 MiB and 1 GiB leaves and is ignored in flags passed in (on a 4 KiB leaf
    /// bit 7 would mean PAT, which this crate does not use). `NO_EXECUTE` requires the kernel
    /// to have enabled `EFER.NXE`, and `GLOBAL` requires `CR4.PGE`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct PageFlags: u64 {
        /// The entry is valid (bit 0).
        const PRESENT = 1 << 0;
        /// Writes are allowed (bit 1).
        const WRITABLE = 1 << 1;
        /// Ring 3 may access the page (bit 2).
        const USER = 1 << 2;
        /// Write-through caching (PWT, bit 3).
        const WRITE_THROUGH = 1 << 3;
        /// Caching disabled (PCD, bit 4).
        const NO_CACHE = 1 << 4;
        /// Set by the CPU when the page is accessed (bit 5).
        const ACCESSED = 1 << 5;
        /// Set by the CPU when the page is written (bit 6; leaves only).
        const DIRTY = 1 << 6;
        /// Page-size bit (PS, bit 7): the entry is a 2 MiB or 1 GiB leaf, not a table.
        const HUGE = 1 << 7;
        /// The translation survives CR3 reloads (bit 8; leaves only).
        const GLOBAL = 1 << 8;
        /// Software: copy-on-write share (bit 9, ignored by the CPU).
        const COW = 1 << 9;
        /// Software: frame intentionally shared between address spaces (bit 10, ignored by
        /// the CPU).
        const SHARED = 1 << 10;
        /// Instruction fetches are forbidden (XD, bit 63).
        const NO_EXECUTE = 1 << 63;
    }
}

impl PageFlags {
    /// Kernel data: read/write, not executable.
    pub const KERNEL_RW_NX: Self = Self::PRESENT.union(Self::WRITABLE).union(Self::NO_EXECUTE);
    /// Kernel code: read/execute.
    pub const KERNEL_RX: Self = Self::PRESENT;
    /// Kernel read-only data: not writable, not executable.
    pub const KERNEL_RO_NX: Self = Self::PRESENT.union(Self::NO_EXECUTE);
    /// Device registers: read/write, uncached (PCD + PWT give UC with the default PAT),
    /// not executable.
    pub const KERNEL_MMIO: Self = Self::KERNEL_RW_NX
        .union(Self::NO_CACHE)
        .union(Self::WRITE_THROUGH);
    /// User data: read/write, not executable.
    pub const USER_RW_NX: Self = Self::KERNEL_RW_NX.union(Self::USER);
    /// User code: read/execute.
    pub const USER_RX: Self = Self::PRESENT.union(Self::USER);
    /// User read-only data: not writable, not executable.
    pub const USER_RO_NX: Self = Self::KERNEL_RO_NX.union(Self::USER);
}

/// The size of a leaf mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageSize {
    /// 4 KiB page, a PT entry.
    Size4K,
    /// 2 MiB page, a PD entry with PS set.
    Size2M,
    /// 1 GiB page, a PDPT entry with PS set (the CPU must report `pdpe1gb` in CPUID).
    Size1G,
}

impl PageSize {
    /// All sizes, smallest first.
    pub const ALL: [PageSize; 3] = [PageSize::Size4K, PageSize::Size2M, PageSize::Size1G];

    /// The size in bytes, which is also the required alignment of both addresses.
    pub const fn bytes(self) -> u64 {
        match self {
            PageSize::Size4K => 1 << 12,
            PageSize::Size2M => 1 << 21,
            PageSize::Size1G => 1 << 30,
        }
    }

    /// `bytes() - 1`: the bits of an address that are the offset within the page.
    pub const fn offset_mask(self) -> u64 {
        self.bytes() - 1
    }

    /// Whether `addr` is a multiple of this size.
    pub const fn is_aligned(self, addr: u64) -> bool {
        addr & self.offset_mask() == 0
    }

    /// `addr` rounded down to a multiple of this size.
    pub const fn align_down(self, addr: u64) -> u64 {
        addr & !self.offset_mask()
    }

    /// The table level whose entries map pages of this size.
    pub const fn level(self) -> Level {
        match self {
            PageSize::Size4K => Level::Pt,
            PageSize::Size2M => Level::Pd,
            PageSize::Size1G => Level::Pdpt,
        }
    }
}

/// One of the four levels of the table tree, from the leaf-most (`Pt`) to the root (`Pml4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Page table: entries map 4 KiB pages.
    Pt = 1,
    /// Page directory: entries point to a PT or map a 2 MiB page.
    Pd = 2,
    /// Page-directory-pointer table: entries point to a PD or map a 1 GiB page.
    Pdpt = 3,
    /// The root: entries point to a PDPT.
    Pml4 = 4,
}

impl Level {
    /// The level's number: 1 for `Pt` up to 4 for `Pml4`.
    pub const fn number(self) -> u8 {
        self as u8
    }

    /// The position of this level's 9 index bits in a virtual address (12, 21, 30, 39).
    pub const fn shift(self) -> u32 {
        12 + 9 * (self as u32 - 1)
    }

    /// The bytes of address space one entry of this level covers.
    pub const fn entry_span(self) -> u64 {
        1 << self.shift()
    }

    /// The index (0..512) of `virt` in a table of this level.
    pub const fn index_of(self, virt: u64) -> usize {
        ((virt >> self.shift()) & 0x1ff) as usize
    }

    /// The level below, or `None` for `Pt`.
    pub const fn lower(self) -> Option<Level> {
        match self {
            Level::Pml4 => Some(Level::Pdpt),
            Level::Pdpt => Some(Level::Pd),
            Level::Pd => Some(Level::Pt),
            Level::Pt => None,
        }
    }

    /// The page size a leaf entry at this level maps, or `None` for `Pml4` (no leaves).
    pub const fn leaf_size(self) -> Option<PageSize> {
        match self {
            Level::Pt => Some(PageSize::Size4K),
            Level::Pd => Some(PageSize::Size2M),
            Level::Pdpt => Some(PageSize::Size1G),
            Level::Pml4 => None,
        }
    }
}
