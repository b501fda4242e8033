//! Error types returned by the page-table operations.

use core::fmt;

use crate::flags::PageSize;

/// The [`FrameSource`](crate::FrameSource) had no frame for a new table (or handed out an
/// address that is not a 4 KiB-aligned frame below 2^52, which is refused and given back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutOfMemory;

impl fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no frame available for a page table")
    }
}

impl core::error::Error for OutOfMemory {}

/// Why [`PageTable::map`](crate::PageTable::map) refused. The tree is unchanged in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapError {
    /// The virtual address is not canonical.
    NonCanonical,
    /// The virtual or physical address is not a multiple of the page size.
    Misaligned,
    /// The physical address does not fit in an entry (it is 2^52 or above).
    PhysicalOutOfRange,
    /// A leaf of the same size is already present at this address (no silent overwrite).
    AlreadyMapped,
    /// The sizes clash: a larger leaf covers the address (a 4 KiB map under a 2 MiB leaf),
    /// or a table sits where the requested huge leaf would go (a 2 MiB map over a PT, even
    /// an empty one: prune it first).
    HugePageConflict,
    /// A new intermediate table could not be allocated. Any table allocated for this call
    /// has been returned to the frame source.
    OutOfMemory,
}

impl From<OutOfMemory> for MapError {
    fn from(_: OutOfMemory) -> Self {
        MapError::OutOfMemory
    }
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MapError::NonCanonical => "virtual address is not canonical",
            MapError::Misaligned => "address is not aligned to the page size",
            MapError::PhysicalOutOfRange => "physical address is 2^52 or above",
            MapError::AlreadyMapped => "a page of the same size is already mapped there",
            MapError::HugePageConflict => "a page or table of another size is in the way",
            MapError::OutOfMemory => "no frame available for a page table",
        })
    }
}

impl core::error::Error for MapError {}

/// Why [`PageTable::unmap`](crate::PageTable::unmap) or
/// [`PageTable::protect`](crate::PageTable::protect) refused. The tree is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnmapError {
    /// The virtual address is not canonical.
    NonCanonical,
    /// The virtual address is not a multiple of the requested page size.
    Misaligned,
    /// Nothing is mapped at the address.
    NotMapped,
    /// The address is mapped, but by a leaf of another size.
    SizeMismatch {
        /// The size of the leaf that maps the address.
        actual: PageSize,
    },
}

/// [`PageTable::protect`](crate::PageTable::protect) fails exactly like `unmap`.
pub type ProtectError = UnmapError;

impl fmt::Display for UnmapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnmapError::NonCanonical => f.write_str("virtual address is not canonical"),
            UnmapError::Misaligned => f.write_str("address is not aligned to the page size"),
            UnmapError::NotMapped => f.write_str("nothing is mapped at this address"),
            UnmapError::SizeMismatch { actual } => {
                write!(f, "the address is mapped by a {actual:?} page")
            }
        }
    }
}

impl core::error::Error for UnmapError {}
