//! `check_invariants`: a full O(frames) consistency walk of the allocator, for tests and
//! debug builds.

use crate::allocator::BuddyAllocator;
use crate::frame_info::{FrameState, NONE};
use crate::{MAX_ORDER, NUM_ORDERS};

impl BuddyAllocator<'_> {
    /// Walks every free list and every frame and checks the invariants listed in the crate
    /// documentation. Returns the first violation found.
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        let n = self.meta.len();
        let mut listed_blocks = 0usize;
        let mut listed_frames = 0usize;
        for k in 0..NUM_ORDERS {
            if (self.nonempty >> k & 1 == 1) != (self.heads[k] != NONE) {
                return Err("non-empty bitmap disagrees with a list head");
            }
            let mut prev = NONE;
            let mut cur = self.heads[k];
            let mut len = 0usize;
            while cur != NONE {
                let i = cur as usize;
                if i >= n {
                    return Err("free list entry out of range");
                }
                len += 1;
                if len > n {
                    return Err("free list has a cycle");
                }
                let m = &self.meta[i];
                if m.state != FrameState::Free {
                    return Err("free list entry is not a free head");
                }
                if m.order as usize != k {
                    return Err("free list entry has the wrong order");
                }
                if m.prev != prev {
                    return Err("free list back link broken");
                }
                if (self.base + i as u64) & ((1u64 << k) - 1) != 0 {
                    return Err("free block misaligned");
                }
                if i + (1 << k) > n {
                    return Err("free block runs past the managed range");
                }
                if k < MAX_ORDER {
                    if let Some(b) = self.buddy(i, k) {
                        let bm = &self.meta[b];
                        if bm.state == FrameState::Free && bm.order as usize == k {
                            return Err("two free buddies were not merged");
                        }
                    }
                }
                prev = cur;
                cur = m.next;
            }
            if len != self.free_blocks[k] {
                return Err("free block count disagrees with the list");
            }
            listed_blocks += len;
            listed_frames += len << k;
        }
        let hot = self.check_hot_list()?;
        if listed_frames + hot != self.free_frames {
            return Err("free frame counter disagrees with the lists");
        }
        self.check_frames(listed_blocks)
    }

    /// Walks the hot list: in range, no cycle, every entry `Hot`, length as counted (at most
    /// `HOT_MAX`). Returns its length.
    fn check_hot_list(&self) -> Result<usize, &'static str> {
        let mut len = 0usize;
        let mut cur = self.hot_head;
        while cur != NONE {
            let i = cur as usize;
            let Some(m) = self.meta.get(i) else {
                return Err("hot list entry out of range");
            };
            if m.state != FrameState::Hot {
                return Err("hot list entry is not a hot frame");
            }
            len += 1;
            if len > crate::allocator::HOT_MAX {
                return Err("hot list too long (or a cycle)");
            }
            cur = m.next;
        }
        if len != self.hot_frames {
            return Err("hot frame counter disagrees with the hot list");
        }
        Ok(len)
    }

    /// Walks all frames in address order: blocks are whole, their tails are `Tail` frames, and
    /// the counters match the states.
    fn check_frames(&self, listed_blocks: usize) -> Result<(), &'static str> {
        let n = self.meta.len();
        let (mut free_heads, mut allocated, mut reserved, mut hot) = (0usize, 0usize, 0usize, 0usize);
        let mut i = 0;
        while i < n {
            let m = &self.meta[i];
            match m.state {
                FrameState::Unavailable => i += 1,
                FrameState::Reserved => {
                    reserved += 1;
                    i += 1;
                }
                FrameState::Hot => {
                    hot += 1;
                    i += 1;
                }
                FrameState::Tail => return Err("tail frame outside any block"),
                FrameState::Free | FrameState::Allocated => {
                    let k = m.order as usize;
                    if k > MAX_ORDER {
                        return Err("block order too large");
                    }
                    if (self.base + i as u64) & ((1u64 << k) - 1) != 0 {
                        return Err("block misaligned");
                    }
                    let Some(tails) = self.meta.get(i + 1..i + (1 << k)) else {
                        return Err("block runs past the managed range");
                    };
                    if tails.iter().any(|t| t.state != FrameState::Tail) {
                        return Err("block frame is not a tail frame");
                    }
                    if m.state == FrameState::Free {
                        free_heads += 1;
                    } else {
                        allocated += 1 << k;
                    }
                    i += 1 << k;
                }
            }
        }
        if free_heads != listed_blocks {
            return Err("a free head is missing from the free lists");
        }
        if hot != self.hot_frames {
            return Err("a hot frame is missing from the hot list");
        }
        if allocated != self.allocated_frames {
            return Err("allocated frame counter disagrees with the frames");
        }
        if reserved != self.reserved_frames {
            return Err("reserved frame counter disagrees with the frames");
        }
        Ok(())
    }
}
