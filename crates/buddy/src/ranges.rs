//! Boot-time range operations: handing usable memory to the allocator, reserving frames
//! (kernel image, modules, page tables, low memory) and releasing reservations.
//!
//! These run a few times at boot, so they may walk the frames of their range; the per-frame
//! work is O(1) apart from carving runs into blocks (at most `MAX_ORDER + 1` steps per block).

use crate::allocator::BuddyAllocator;
use crate::frame_info::FrameState;
use crate::MAX_ORDER;

impl BuddyAllocator<'_> {
    /// Hands the frames `start_frame .. end_frame` (end exclusive, absolute frame numbers) to
    /// the allocator as free memory, split into maximal aligned blocks and merged with free
    /// neighbours. Only `Unavailable` frames are added: frames already free, allocated or
    /// reserved are skipped, so overlapping or repeated calls are harmless. The part of the
    /// range outside the managed frames is ignored. Returns the number of frames added.
    pub fn add_free_range(&mut self, start_frame: u64, end_frame: u64) -> usize {
        let (a, b) = self.clip(start_frame, end_frame);
        let mut added = 0;
        let mut i = a;
        while i < b {
            if self.meta[i].state != FrameState::Unavailable {
                i += self.skip(i);
                continue;
            }
            let mut j = i + 1;
            while j < b && self.meta[j].state == FrameState::Unavailable {
                j += 1;
            }
            self.free_run(i, j);
            added += j - i;
            i = j;
        }
        added
    }

    /// Takes the frames `start_frame .. end_frame` (end exclusive) out of the free pool for
    /// good: free frames are split out of their blocks, and frames not added yet are marked so
    /// that a later [`Self::add_free_range`] skips them. Frames of allocated blocks are left to
    /// their owner (they return to the pool when freed). The part of the range outside the
    /// managed frames is ignored. Returns the number of frames taken out of the free pool
    /// (frames that were free; not-yet-added frames are not counted).
    pub fn reserve_range(&mut self, start_frame: u64, end_frame: u64) -> usize {
        // Hot frames are free frames outside the block structure: merge them back first.
        self.drain_hot();
        let (a, b) = self.clip(start_frame, end_frame);
        let mut taken = 0;
        let mut i = a;
        while i < b {
            match self.meta[i].state {
                FrameState::Unavailable => {
                    self.meta[i].make_loose(FrameState::Reserved);
                    self.reserved_frames += 1;
                    i += 1;
                }
                // None left after `drain_hot`; stepping over keeps the walk total anyway.
                FrameState::Reserved | FrameState::Hot => i += 1,
                FrameState::Free | FrameState::Allocated | FrameState::Tail => {
                    let Some((h, k)) = self.block_of(i) else {
                        i += 1; // Unreachable while the invariants hold.
                        continue;
                    };
                    let end = h + (1 << k);
                    if self.meta[h].state == FrameState::Allocated {
                        i = end;
                        continue;
                    }
                    // Take the whole free block out, mark the reserved part, give back the rest.
                    self.unlink(h, k);
                    self.free_frames -= 1 << k;
                    let (lo, hi) = (h.max(a), end.min(b));
                    for m in &mut self.meta[lo..hi] {
                        m.make_loose(FrameState::Reserved);
                    }
                    self.reserved_frames += hi - lo;
                    taken += hi - lo;
                    self.free_run(h, lo);
                    self.free_run(hi, end);
                    i = hi;
                }
            }
        }
        taken
    }

    /// Gives reserved frames in `start_frame .. end_frame` (end exclusive) back to the free
    /// pool (e.g. boot modules once unpacked). Other frames are untouched. Returns the number
    /// of frames released.
    pub fn unreserve_range(&mut self, start_frame: u64, end_frame: u64) -> usize {
        let (a, b) = self.clip(start_frame, end_frame);
        let mut released = 0;
        let mut i = a;
        while i < b {
            if self.meta[i].state != FrameState::Reserved {
                i += self.skip(i);
                continue;
            }
            let mut j = i + 1;
            while j < b && self.meta[j].state == FrameState::Reserved {
                j += 1;
            }
            self.reserved_frames -= j - i;
            self.free_run(i, j);
            released += j - i;
            i = j;
        }
        released
    }

    /// The absolute range clipped to the managed frames, as relative indices `a <= b`.
    fn clip(&self, start: u64, end: u64) -> (usize, usize) {
        let (lo, hi) = (self.base, self.end_frame());
        let s = start.clamp(lo, hi);
        let e = end.clamp(s, hi);
        ((s - lo) as usize, (e - lo) as usize)
    }

    /// How far to step from frame `i` when it cannot start a run: past the whole block if `i`
    /// heads one, otherwise one frame.
    fn skip(&self, i: usize) -> usize {
        match self.meta[i].state {
            FrameState::Free | FrameState::Allocated => 1 << self.meta[i].order,
            _ => 1,
        }
    }

    /// The block (head index, order) containing frame `i`, found by looking at the at most
    /// `MAX_ORDER + 1` aligned frames that could head it.
    pub(crate) fn block_of(&self, i: usize) -> Option<(usize, usize)> {
        let abs = self.base + i as u64;
        for k in 0..=MAX_ORDER {
            let h = self.index(abs & !((1u64 << k) - 1))?;
            let m = &self.meta[h];
            let is_head = matches!(m.state, FrameState::Free | FrameState::Allocated);
            if is_head && m.order as usize >= k {
                return Some((h, m.order as usize));
            }
        }
        None
    }

    /// Frees the frames `a .. b` (relative; not part of any block), carved into maximal
    /// aligned blocks, each merged with its free buddies.
    pub(crate) fn free_run(&mut self, a: usize, b: usize) {
        let mut i = a;
        while i < b {
            let k = self.max_order_at(i, b - i);
            for m in &mut self.meta[i..i + (1 << k)] {
                m.make_tail();
            }
            self.free_frames += 1 << k;
            self.insert_free(i, k);
            i += 1 << k;
        }
    }

    /// The largest order of a block starting at frame `i` (aligned in absolute terms) that fits
    /// in `len >= 1` frames.
    fn max_order_at(&self, i: usize, len: usize) -> usize {
        let align = (self.base + i as u64).trailing_zeros() as usize;
        let fit = (usize::BITS - 1 - len.leading_zeros()) as usize;
        align.min(fit).min(MAX_ORDER)
    }
}
