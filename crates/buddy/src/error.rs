//! Errors returned by the frame allocator (it never panics on bad input from its callers).

use core::fmt;

/// Why [`crate::BuddyAllocator::alloc`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AllocError {
    /// No free block of the requested order or larger.
    OutOfMemory,
    /// The order is larger than [`crate::MAX_ORDER`].
    BadOrder,
}

/// Why [`crate::BuddyAllocator::free`] refused a block. A refused free changes nothing except
/// the `rejected_frees` statistic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FreeError {
    /// The frame does not head an allocated block (double free, a frame inside a block, a free,
    /// reserved or never-added frame).
    NotAllocated,
    /// The frame heads an allocated block of a different order.
    WrongOrder,
    /// The frame is outside the range the allocator manages.
    OutOfRange,
    /// The frame is not aligned to `2^order` frames.
    Misaligned,
    /// The order is larger than [`crate::MAX_ORDER`].
    BadOrder,
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OutOfMemory => "out of physical memory",
            Self::BadOrder => "block order too large",
        })
    }
}

impl fmt::Display for FreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAllocated => "frame does not head an allocated block",
            Self::WrongOrder => "block was allocated with a different order",
            Self::OutOfRange => "frame outside the managed range",
            Self::Misaligned => "frame not aligned to the block order",
            Self::BadOrder => "block order too large",
        })
    }
}

impl core::error::Error for AllocError {}
impl core::error::Error for FreeError {}
