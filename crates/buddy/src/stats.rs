//! Allocator statistics (`Stats`), a cheap snapshot of the maintained counters.

use crate::allocator::BuddyAllocator;
use crate::NUM_ORDERS;

/// A snapshot of the allocator's counters. Taking it is O(1) (nothing is walked).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames covered by the metadata array, whatever their state.
    pub managed_frames: usize,
    /// Free frames: in free blocks, or on the hot list.
    pub free_frames: usize,
    /// Free single frames on the hot list (kept unmerged for quick reuse; part of
    /// `free_frames`).
    pub hot_frames: usize,
    /// Frames in allocated blocks.
    pub allocated_frames: usize,
    /// Frames reserved with `reserve_range`.
    pub reserved_frames: usize,
    /// Free blocks of each order (`free_blocks[k]` blocks of `2^k` frames).
    pub free_blocks: [usize; NUM_ORDERS],
    /// Successful `alloc` calls per order.
    pub allocs: [u64; NUM_ORDERS],
    /// Successful `free` calls per order.
    pub frees: [u64; NUM_ORDERS],
    /// `alloc` calls that failed with `OutOfMemory`.
    pub failed_allocs: u64,
    /// `free` calls refused with an error.
    pub rejected_frees: u64,
}

impl Stats {
    /// Frames the allocator can hand out: free plus allocated.
    pub fn usable_frames(&self) -> usize {
        self.free_frames + self.allocated_frames
    }

    /// Managed frames that are neither usable nor reserved (holes, never added).
    pub fn unavailable_frames(&self) -> usize {
        self.managed_frames - self.usable_frames() - self.reserved_frames
    }
}

impl BuddyAllocator<'_> {
    /// The current statistics.
    pub fn stats(&self) -> Stats {
        Stats {
            managed_frames: self.meta.len(),
            free_frames: self.free_frames,
            hot_frames: self.hot_frames,
            allocated_frames: self.allocated_frames,
            reserved_frames: self.reserved_frames,
            free_blocks: self.free_blocks,
            allocs: self.allocs,
            frees: self.frees,
            failed_allocs: self.failed_allocs,
            rejected_frees: self.rejected_frees,
        }
    }
}
