//! The buddy allocator proper: its state, the free lists, and the `alloc` / `free` fast paths.

use crate::frame_info::{FrameInfo, FrameInfoMut, FrameState, NONE};
use crate::{AllocError, FreeError, MAX_FRAMES, MAX_ORDER, NUM_ORDERS};

/// A binary buddy allocator over the frames `base_frame .. base_frame + meta.len()`.
///
/// Frame numbers in the API are plain `u64` *absolute* physical frame numbers
/// (`paddr >> 12`); blocks are aligned in absolute terms, so an order-9 block is a 2 MiB
/// aligned physical range whatever `base_frame` is. See the crate documentation for the design.
pub struct BuddyAllocator<'a> {
    /// One entry per managed frame (indices are relative to `base`).
    pub(crate) meta: &'a mut [FrameInfo],
    /// Absolute frame number of `meta[0]`.
    pub(crate) base: u64,
    /// First block of each order's free list (relative index), or `NONE`.
    pub(crate) heads: [u32; NUM_ORDERS],
    /// Bit `k` set iff the free list of order `k` is not empty.
    pub(crate) nonempty: u16,
    /// Length of each free list.
    pub(crate) free_blocks: [usize; NUM_ORDERS],
    /// Frames in free blocks.
    pub(crate) free_frames: usize,
    /// Frames in allocated blocks.
    pub(crate) allocated_frames: usize,
    /// Frames in the `Reserved` state.
    pub(crate) reserved_frames: usize,
    /// Successful allocations per order.
    pub(crate) allocs: [u64; NUM_ORDERS],
    /// Successful frees per order.
    pub(crate) frees: [u64; NUM_ORDERS],
    /// Allocations that failed with `OutOfMemory`.
    pub(crate) failed_allocs: u64,
    /// Frees refused with an error.
    pub(crate) rejected_frees: u64,
    /// First frame of the hot list (relative index), or `NONE`: freed single frames kept
    /// unmerged, most recent first, so that the next single-frame allocation takes one back
    /// without splitting a block (and the free without merging).
    pub(crate) hot_head: u32,
    /// Frames on the hot list (at most [`HOT_MAX`]).
    pub(crate) hot_frames: usize,
}

/// Most single frames kept on the hot list (256 KiB): enough to absorb a burst of page faults
/// and unmaps, small enough that fragmentation it causes is drained before any large block is
/// refused.
pub const HOT_MAX: usize = 64;

/// Order of the block an empty hot list is refilled from (16 frames).
pub const HOT_REFILL_ORDER: usize = 4;

impl<'a> BuddyAllocator<'a> {
    /// An allocator for the frames `base_frame .. base_frame + meta.len()`, all unavailable
    /// until [`Self::add_free_range`] hands some over. Every entry of `meta` is reset.
    ///
    /// At most [`MAX_FRAMES`] frames are managed (16 TiB); extra entries of `meta` (and any
    /// that would run past frame `u64::MAX`) are ignored.
    pub fn new(base_frame: u64, meta: &'a mut [FrameInfo]) -> Self {
        let room = usize::try_from(u64::MAX - base_frame).unwrap_or(usize::MAX);
        let len = meta.len().min(MAX_FRAMES).min(room);
        let meta = &mut meta[..len];
        meta.fill(FrameInfo::new());
        Self {
            meta,
            base: base_frame,
            heads: [NONE; NUM_ORDERS],
            nonempty: 0,
            free_blocks: [0; NUM_ORDERS],
            free_frames: 0,
            allocated_frames: 0,
            reserved_frames: 0,
            allocs: [0; NUM_ORDERS],
            frees: [0; NUM_ORDERS],
            failed_allocs: 0,
            rejected_frees: 0,
            hot_head: NONE,
            hot_frames: 0,
        }
    }

    /// Allocates a block of `2^order` contiguous frames aligned to `2^order` frames and returns
    /// its first (absolute) frame. The head frame's reference count is set to 1.
    ///
    /// Cost: a single frame comes from the hot list when it has one (a pop); otherwise one list
    /// pop, plus one list push per order split off. A block that no free list can provide
    /// drains the hot list (merging its frames) and is tried once more.
    pub fn alloc(&mut self, order: usize) -> Result<u64, AllocError> {
        if order > MAX_ORDER {
            return Err(AllocError::BadOrder);
        }
        if order == 0 && (self.hot_head != NONE || self.refill_hot()) {
            let i = self.hot_head as usize;
            self.hot_head = self.meta[i].next;
            self.hot_frames -= 1;
            self.meta[i].next = NONE;
            return Ok(self.hand_out(i, 0));
        }
        let mut avail = self.nonempty >> order;
        if avail == 0 && self.hot_frames > 0 {
            self.drain_hot();
            avail = self.nonempty >> order;
        }
        if avail == 0 {
            self.failed_allocs += 1;
            return Err(AllocError::OutOfMemory);
        }
        let mut k = order + avail.trailing_zeros() as usize;
        let i = self.heads[k] as usize;
        self.unlink(i, k);
        while k > order {
            k -= 1;
            self.push(i + (1 << k), k);
        }
        Ok(self.hand_out(i, order))
    }

    /// Fills the empty hot list with the frames of the smallest free block, split straight
    /// into single frames — at most `2^HOT_REFILL_ORDER` of them (a larger block is first split
    /// down to that order, as `alloc` would): a run of single-frame allocations then costs one
    /// block split per block instead of a split cascade each, and small blocks are used up
    /// before large ones are broken, as without the list. Returns whether the list got frames.
    fn refill_hot(&mut self) -> bool {
        if self.nonempty == 0 {
            return false;
        }
        let mut k = self.nonempty.trailing_zeros() as usize;
        let want = k.min(HOT_REFILL_ORDER);
        let i = self.heads[k] as usize;
        self.unlink(i, k);
        while k > want {
            k -= 1;
            self.push(i + (1 << k), k);
        }
        // Highest frame first on the list, so the frames come back in address order.
        for j in (i..i + (1 << want)).rev() {
            let m = &mut self.meta[j];
            m.state = FrameState::Hot;
            m.order = 0;
            m.prev = NONE;
            m.next = self.hot_head;
            self.hot_head = j as u32;
        }
        self.hot_frames += 1 << want;
        true
    }

    /// Marks the free block at `i` (off every list) allocated with order `order`; returns its
    /// absolute frame.
    #[inline]
    fn hand_out(&mut self, i: usize, order: usize) -> u64 {
        let head = &mut self.meta[i];
        head.state = FrameState::Allocated;
        head.order = order as u8;
        head.refcount = 1;
        self.free_frames -= 1 << order;
        self.allocated_frames += 1 << order;
        self.allocs[order] += 1;
        self.base + i as u64
    }

    /// Frees the block of `2^order` frames starting at `frame`, merging it with its free buddies.
    /// The block must have been returned by `alloc(order)`; otherwise nothing changes and an
    /// error says why. Reference counts are not checked (that is the caller's business).
    /// A single frame goes to the hot list while it has room (no merging).
    pub fn free(&mut self, frame: u64, order: usize) -> Result<(), FreeError> {
        match self.check_free(frame, order) {
            Ok(i) => {
                self.allocated_frames -= 1 << order;
                self.free_frames += 1 << order;
                self.frees[order] += 1;
                if order == 0 && self.hot_frames < HOT_MAX {
                    let m = &mut self.meta[i];
                    m.state = FrameState::Hot;
                    m.prev = NONE;
                    m.next = self.hot_head;
                    self.hot_head = i as u32;
                    self.hot_frames += 1;
                } else {
                    self.meta[i].state = FrameState::Tail;
                    self.insert_free(i, order);
                }
                Ok(())
            }
            Err(e) => {
                self.rejected_frees += 1;
                Err(e)
            }
        }
    }

    /// Gives every frame of the hot list back to the free lists, merging with free buddies
    /// (before a larger block is looked for, and before ranges change state).
    pub fn drain_hot(&mut self) {
        while self.hot_head != NONE {
            let i = self.hot_head as usize;
            self.hot_head = self.meta[i].next;
            self.meta[i].next = NONE;
            self.meta[i].state = FrameState::Tail;
            self.insert_free(i, 0);
        }
        self.hot_frames = 0;
    }

    /// Frames on the hot list (free frames kept unmerged for quick reuse).
    pub fn hot_frames(&self) -> usize {
        self.hot_frames
    }

    /// The frames on the hot list (absolute), most recently freed first.
    pub fn hot_list(&self) -> impl Iterator<Item = u64> + '_ {
        let mut cur = self.hot_head;
        core::iter::from_fn(move || {
            let m = self.meta.get(cur as usize)?;
            let frame = self.base + cur as u64;
            cur = m.next;
            Some(frame)
        })
        .take(HOT_MAX)
    }

    /// Allocates one frame (order 0).
    pub fn alloc_frame(&mut self) -> Result<u64, AllocError> {
        self.alloc(0)
    }

    /// Frees one frame allocated by [`Self::alloc_frame`] (order 0).
    pub fn free_frame(&mut self, frame: u64) -> Result<(), FreeError> {
        self.free(frame, 0)
    }

    /// Allocates `2^order` physically contiguous frames aligned to their size, e.g. for DMA
    /// buffers. Same as [`Self::alloc`]; free with [`Self::free`] and the same order.
    pub fn alloc_contiguous(&mut self, order: usize) -> Result<u64, AllocError> {
        self.alloc(order)
    }

    /// First managed (absolute) frame.
    pub fn base_frame(&self) -> u64 {
        self.base
    }

    /// One past the last managed frame.
    pub fn end_frame(&self) -> u64 {
        self.base + self.meta.len() as u64
    }

    /// Number of managed frames (whatever their state).
    pub fn managed_frames(&self) -> usize {
        self.meta.len()
    }

    /// Frames currently free (a maintained counter, O(1)).
    pub fn free_frames(&self) -> usize {
        self.free_frames
    }

    /// Frames currently allocated (a maintained counter, O(1)).
    pub fn allocated_frames(&self) -> usize {
        self.allocated_frames
    }

    /// The metadata of `frame`, or `None` if it is not managed.
    #[inline]
    pub fn frame_info(&self, frame: u64) -> Option<&FrameInfo> {
        self.index(frame).map(|i| &self.meta[i])
    }

    /// Access to the reference count of `frame`, or `None` if it is not managed.
    #[inline]
    pub fn frame_info_mut(&mut self, frame: u64) -> Option<FrameInfoMut<'_>> {
        self.index(frame)
            .map(|i| FrameInfoMut::new(&mut self.meta[i]))
    }

    /// Relative index of an absolute frame, if managed.
    #[inline]
    pub(crate) fn index(&self, frame: u64) -> Option<usize> {
        let i = frame.checked_sub(self.base)?;
        (i < self.meta.len() as u64).then_some(i as usize)
    }

    /// Validates a `free(frame, order)` call and returns the block's relative index.
    fn check_free(&self, frame: u64, order: usize) -> Result<usize, FreeError> {
        if order > MAX_ORDER {
            return Err(FreeError::BadOrder);
        }
        let i = self.index(frame).ok_or(FreeError::OutOfRange)?;
        if frame & ((1u64 << order) - 1) != 0 {
            return Err(FreeError::Misaligned);
        }
        let m = &self.meta[i];
        if m.state != FrameState::Allocated {
            return Err(FreeError::NotAllocated);
        }
        if m.order as usize != order {
            return Err(FreeError::WrongOrder);
        }
        Ok(i)
    }

    /// Relative index of the buddy of the order-`k` block at `i`, if managed.
    pub(crate) fn buddy(&self, i: usize, k: usize) -> Option<usize> {
        self.index((self.base + i as u64) ^ (1u64 << k))
    }

    /// Makes the order-`k` block at `i` free, merging it with free buddies as far as possible.
    /// Its frames other than `i` must already be `Tail` frames.
    pub(crate) fn insert_free(&mut self, mut i: usize, mut k: usize) {
        while k < MAX_ORDER {
            let Some(b) = self.buddy(i, k) else { break };
            let bm = &self.meta[b];
            if bm.state != FrameState::Free || bm.order as usize != k {
                break;
            }
            self.unlink(b, k);
            self.meta[i.max(b)].make_tail();
            i = i.min(b);
            k += 1;
        }
        self.push(i, k);
    }

    /// Makes `i` a free head of order `k` at the front of that order's list.
    pub(crate) fn push(&mut self, i: usize, k: usize) {
        let old = self.heads[k];
        let m = &mut self.meta[i];
        m.state = FrameState::Free;
        m.order = k as u8;
        m.prev = NONE;
        m.next = old;
        if old != NONE {
            self.meta[old as usize].prev = i as u32;
        }
        self.heads[k] = i as u32;
        self.nonempty |= 1 << k;
        self.free_blocks[k] += 1;
    }

    /// Removes the free head `i` from the list of order `k` (its state is left to the caller).
    pub(crate) fn unlink(&mut self, i: usize, k: usize) {
        let (prev, next) = (self.meta[i].prev, self.meta[i].next);
        if prev == NONE {
            self.heads[k] = next;
        } else {
            self.meta[prev as usize].next = next;
        }
        if next != NONE {
            self.meta[next as usize].prev = prev;
        }
        if self.heads[k] == NONE {
            self.nonempty &= !(1 << k);
        }
        self.free_blocks[k] -= 1;
        self.meta[i].next = NONE;
        self.meta[i].prev = NONE;
    }
}
