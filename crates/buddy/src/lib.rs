//! `exo-buddy`: the physical frame allocator of Exo-OS, a binary buddy allocator over 4 KiB
//! frames with blocks of order 0 ..= [`MAX_ORDER`] (4 KiB to 16 MiB), eager coalescing, and no
//! heap: all its state lives in a caller-provided array of [`FrameInfo`] (one per frame, like
//! Linux's `struct page` array) plus a few fixed arrays in [`BuddyAllocator`].
//!
//! # Frames
//!
//! Frame numbers in the API are plain `u64` absolute physical frame numbers (`paddr >> 12`).
//! An allocator manages `base_frame .. base_frame + meta.len()` (at most [`MAX_FRAMES`] frames,
//! 16 TiB); every frame starts `Unavailable`. Blocks are aligned in absolute terms: a block of
//! order `k` starts at a frame that is a multiple of `2^k`, so an order-9 block is a 2 MiB
//! aligned physical range (usable for a huge page) whatever `base_frame` is. The buddy of the
//! order-`k` block at `f` is the block at `f ^ 2^k`; a buddy outside the managed range is never
//! free, so blocks at the edges simply stop merging.
//!
//! # Metadata
//!
//! [`FrameInfo`] is 12 bytes, `#[repr(C)]`: `next`/`prev` free-list links (`u32` indices
//! relative to the first managed frame, `u32::MAX` = none), a `refcount: u16` for copy-on-write
//! (set to 1 on the head frame by `alloc`, otherwise owned by the allocator's users through
//! [`BuddyAllocator::frame_info_mut`], which can change nothing else), the `order` of the block
//! the frame heads, and a [`FrameState`]:
//!
//! - `Unavailable`: never handed over (hole, or not added yet);
//! - `Reserved`: taken out with `reserve_range`, skipped by `add_free_range`;
//! - `Free` / `Allocated`: first frame ("head") of a free / allocated block of `order`;
//! - `Tail`: any other frame of a block. The head of a `Tail` frame `f` is found without
//!   scanning: it is the first of the `MAX_ORDER + 1` frames `f & !(2^k - 1)`, `k = 0, 1, ...`,
//!   that is a head of order `>= k`;
//! - `Hot`: a free single frame on the hot list (below), outside the block structure.
//!
//! # Algorithms
//!
//! Each order has a doubly linked free list threaded through the heads' `FrameInfo`, its
//! length, and a bit in a 13-bit "non-empty" mask.
//!
//! - `alloc(order)`: the smallest non-empty order `k >= order` is found with one
//!   `trailing_zeros` on the mask; its first block is popped; while `k > order` the block is
//!   halved and the upper half pushed on list `k - 1`. No scanning: O(1) per order step.
//! - `free(frame, order)`: validated (range, alignment, `Allocated` head of that order) before
//!   anything changes; then, while the buddy is a `Free` head of the same order and the order is
//!   below `MAX_ORDER`, the buddy is unlinked (O(1), thanks to `prev`) and the two merge.
//! - **Hot list**: a freed single frame is not merged but pushed on a LIFO of at most
//!   [`HOT_MAX`] frames (linked through `next`), and `alloc(0)` pops it back: the page-fault /
//!   unmap churn of single frames costs a push and a pop instead of a merge cascade and a split
//!   cascade (Linux's per-CPU page lists play the same part). An empty list is refilled with
//!   the smallest free block, split straight into single frames (at most
//!   `2^`[`HOT_REFILL_ORDER`] of them; a larger block is first split down to that order), so a
//!   run of single-frame allocations splits one block per 16 frames. Hot frames count as free; an
//!   allocation of any order that no free list can serve, and `reserve_range`, first drain the
//!   list (`drain_hot`: each frame freed and merged as above).
//! - `add_free_range(start, end)`: each run of `Unavailable` frames is carved into maximal
//!   aligned blocks, each freed as above (so it merges with free neighbours).
//! - `reserve_range(start, end)`: `Unavailable` frames become `Reserved`; a free block that
//!   overlaps the range is unlinked, the overlap becomes `Reserved`, and the rest is freed
//!   again as maximal blocks; allocated blocks are left alone. `unreserve_range` frees
//!   reserved frames again.
//!
//! Ranges are half-open (`end` exclusive) and clipped to the managed frames. Bad calls never
//! panic and never change the state: `alloc` returns [`AllocError`], `free` returns
//! [`FreeError`].
//!
//! # Invariants (checked by [`BuddyAllocator::check_invariants`])
//!
//! 1. Every entry of list `k` is a `Free` head of order `k`, aligned to `2^k`, whose block lies
//!    in the managed range; the links are consistent and list lengths match `free_blocks[k]`
//!    and the non-empty mask.
//! 2. No free block of order `k < MAX_ORDER` has a free buddy of order `k` (it would have been
//!    merged). Hence the free blocks are exactly the maximal aligned fully-free blocks of the
//!    free frames not on the hot list: once the hot list is drained, the free-block counts depend
//!    only on the set of free frames, and freeing everything restores the per-order counts seen
//!    right after initialisation.
//! 3. Frames partition into `Unavailable` and `Reserved` frames and whole blocks (a head
//!    followed by `2^order - 1` `Tail` frames); every `Free` head is on a list.
//! 4. The counters match: free frames = sum of `free_blocks[k] * 2^k` + hot frames (the hot
//!    list's length, at most `HOT_MAX`, every entry `Hot`), allocated frames =
//!    frames of `Allocated` blocks, reserved frames = `Reserved` frames.
//!
//! # Statistics
//!
//! [`BuddyAllocator::stats`] returns a [`Stats`] snapshot (O(1)); `free_frames()` and
//! `allocated_frames()` read maintained counters.
//!
//! # Example
//!
//! (Kept in sync with the unit test `tests::crate_doc_example`.)
//!
//! ```
//! use exo_buddy::{BuddyAllocator, FrameInfo, FreeError};
//!
//! // 4 MiB of RAM at physical 1 MiB (frames 0x100 .. 0x500); the first 512 KiB hold the kernel.
//! let mut meta = [FrameInfo::new(); 0x400];
//! let mut frames = BuddyAllocator::new(0x100, &mut meta);
//! frames.add_free_range(0x100, 0x500);
//! assert_eq!(frames.reserve_range(0x100, 0x180), 0x80);
//!
//! let huge = frames.alloc(9).unwrap(); // 2 MiB, 2 MiB aligned
//! assert_eq!(huge, 0x200);
//! let page = frames.alloc_frame().unwrap();
//! assert_eq!(frames.free(huge, 0), Err(FreeError::WrongOrder));
//! frames.free(huge, 9).unwrap();
//! frames.free_frame(page).unwrap();
//! assert_eq!(frames.free_frames(), 0x380);
//! assert!(frames.check_invariants().is_ok());
//! ```

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

mod allocator;
mod error;
mod frame_info;
mod invariants;
mod ranges;
mod stats;
#[cfg(test)]
mod tests;

pub use allocator::{BuddyAllocator, HOT_MAX, HOT_REFILL_ORDER};
pub use error::{AllocError, FreeError};
pub use frame_info::{FrameInfo, FrameInfoMut, FrameState};
pub use stats::Stats;

/// log2 of the frame size.
pub const FRAME_SHIFT: u32 = 12;
/// Frame size in bytes (4 KiB).
pub const FRAME_SIZE: u64 = 1 << FRAME_SHIFT;
/// Largest block order: `2^12` frames = 16 MiB.
pub const MAX_ORDER: usize = 12;
/// Number of orders (0 ..= `MAX_ORDER`).
pub const NUM_ORDERS: usize = MAX_ORDER + 1;
/// Most frames one allocator manages (frame indices are `u32`, `u32::MAX` means none).
pub const MAX_FRAMES: usize = u32::MAX as usize;
