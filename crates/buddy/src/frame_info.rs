//! Per-frame metadata (`FrameInfo`, the Exo-OS analogue of Linux's `struct page`) and the
//! restricted mutable view (`FrameInfoMut`) the allocator hands out to its users.

use core::ops::Deref;

/// "No frame" in the free-list links.
pub(crate) const NONE: u32 = u32::MAX;

/// What the allocator knows about one frame.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameState {
    /// Never handed to the allocator (hole in the memory map, or not yet added).
    Unavailable = 0,
    /// Explicitly reserved by [`crate::BuddyAllocator::reserve_range`]; never allocated and
    /// skipped by [`crate::BuddyAllocator::add_free_range`].
    Reserved = 1,
    /// First frame of a free block, linked in the free list of its order.
    Free = 2,
    /// First frame of an allocated block.
    Allocated = 3,
    /// Any other frame of a (free or allocated) block; its head is the nearest aligned frame
    /// below it whose state is `Free` or `Allocated` and whose order covers it.
    Tail = 4,
    /// A free single frame parked on the hot list for quick reuse (linked through `next`): it
    /// counts as free but is not merged with its buddy until the hot list is drained.
    Hot = 5,
}

/// Metadata of one 4 KiB frame, 12 bytes. The caller provides one per managed frame.
///
/// Only `refcount` may be changed from outside the allocator (through [`FrameInfoMut`]); the
/// links, order and state are the allocator's and are only readable.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Next block in the free list (frame index relative to the allocator's first frame), or
    /// `NONE`. Meaningful only for `Free` heads and `Hot` frames (the hot list).
    pub(crate) next: u32,
    /// Previous block in the free list, or `NONE`. Meaningful only for `Free` heads.
    pub(crate) prev: u32,
    /// Reference count reserved for copy-on-write: set to 1 on allocation, otherwise left to
    /// the allocator's users.
    pub(crate) refcount: u16,
    /// Order of the block this frame heads (`Free` / `Allocated` heads only; 0 otherwise).
    pub(crate) order: u8,
    /// See [`FrameState`].
    pub(crate) state: FrameState,
}

const _: () = assert!(core::mem::size_of::<FrameInfo>() == 12);

impl FrameInfo {
    /// An unavailable frame with no links and a zero reference count.
    pub const fn new() -> Self {
        Self {
            next: NONE,
            prev: NONE,
            refcount: 0,
            order: 0,
            state: FrameState::Unavailable,
        }
    }

    /// The frame's state.
    #[inline]
    pub const fn state(&self) -> FrameState {
        self.state
    }

    /// The order of the block this frame heads; only meaningful when [`Self::state`] is
    /// `Free` or `Allocated`.
    #[inline]
    pub const fn order(&self) -> usize {
        self.order as usize
    }

    /// The reference count (see the field's documentation).
    #[inline]
    pub const fn refcount(&self) -> u16 {
        self.refcount
    }

    /// Becomes a non-head frame of a block (keeps `refcount`).
    pub(crate) fn make_tail(&mut self) {
        self.next = NONE;
        self.prev = NONE;
        self.order = 0;
        self.state = FrameState::Tail;
    }

    /// Leaves any block and takes `state` (keeps `refcount`).
    pub(crate) fn make_loose(&mut self, state: FrameState) {
        self.next = NONE;
        self.prev = NONE;
        self.order = 0;
        self.state = state;
    }
}

impl Default for FrameInfo {
    fn default() -> Self {
        Self::new()
    }
}

/// Mutable access to one frame's metadata that can only change the reference count, so users
/// cannot break the allocator's invariants. Dereferences to [`FrameInfo`] for reading.
#[derive(Debug)]
pub struct FrameInfoMut<'b> {
    info: &'b mut FrameInfo,
}

impl<'b> FrameInfoMut<'b> {
    #[inline]
    pub(crate) fn new(info: &'b mut FrameInfo) -> Self {
        Self { info }
    }

    /// Sets the reference count.
    #[inline]
    pub fn set_refcount(&mut self, refcount: u16) {
        self.info.refcount = refcount;
    }

    /// The reference count, mutably (for `checked_add` / `checked_sub` style updates).
    #[inline]
    pub fn refcount_mut(&mut self) -> &mut u16 {
        &mut self.info.refcount
    }
}

impl Deref for FrameInfoMut<'_> {
    type Target = FrameInfo;

    #[inline]
    fn deref(&self) -> &FrameInfo {
        self.info
    }
}
