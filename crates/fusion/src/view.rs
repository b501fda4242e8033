//! A ring's whole mapping seen as words ([`RingView`]): where the kernel page, the control
//! pages and the slot areas of each direction are ([`exo_abi::fusion::Layout`]), and the
//! [`Producer`] and [`Consumer`] of each end. Every page is cut out with bounds-checked
//! slicing once; nothing the shared words contain can move those bounds.
//!
//! An end uses only the side its rights cover: the producer of its outgoing direction needs
//! `SEND`, the consumer of its incoming direction `RECV` (the kernel leaves the other pages
//! out of the mapping or maps them read-only).

use crate::ring::{Consumer, Direction, Producer};
use crate::{Word, WORDS_PER_PAGE};
use core::sync::atomic::{AtomicU64, Ordering};
use exo_abi::fusion::{kpage, Layout, MAGIC, PAGE_CONS_AB, PAGE_CONS_BA, PAGE_KERNEL, PAGE_PROD_AB, PAGE_PROD_BA};

/// An end of a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

/// The layout described by a kernel page's `GEOMETRY` word, if it is a valid one.
pub fn layout_from_geometry(geometry: u64) -> Option<Layout> {
    let slots = geometry as u32;
    Layout::new(slots, (geometry >> 32) as u8, (geometry >> 40) as u8)
}

/// A ring's mapping (`layout.size` bytes from its start) as 64-bit words, seen from one end.
pub struct RingView<'a, W: Word = AtomicU64> {
    mem: &'a [W],
    layout: Layout,
    side: Side,
}

impl<W: Word> Clone for RingView<'_, W> {
    fn clone(&self) -> Self {
        RingView { mem: self.mem, layout: self.layout, side: self.side }
    }
}

impl<'a, W: Word> RingView<'a, W> {
    /// `None` if `layout` is not one [`Layout::new`] makes or `mem` is shorter than it.
    pub fn new(mem: &'a [W], layout: Layout, side: Side) -> Option<Self> {
        let canonical = Layout::new(layout.slots, layout.lanes_ab, layout.lanes_ba)?;
        if canonical != layout || (mem.len() as u64).checked_mul(8)? < layout.size {
            return None;
        }
        Some(RingView { mem, layout, side })
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn side(&self) -> Side {
        self.side
    }

    fn page(&self, page: u64) -> &'a [W] {
        let start = page as usize * WORDS_PER_PAGE;
        self.mem.get(start..start + WORDS_PER_PAGE).unwrap_or(&[])
    }

    /// Word `i` of the kernel page (0 if out of range).
    pub fn kernel_word(&self, i: usize) -> u64 {
        crate::word::load(self.page(PAGE_KERNEL), i, Ordering::Acquire)
    }

    /// The kernel page carries the magic and this layout's geometry.
    pub fn is_valid(&self) -> bool {
        let g = self.kernel_word(kpage::GEOMETRY);
        self.kernel_word(kpage::MAGIC) == MAGIC && layout_from_geometry(g) == Some(self.layout)
    }

    /// The kernel page's state bits (`STATE_*`).
    pub fn state(&self) -> u64 {
        self.kernel_word(kpage::STATE)
    }

    /// Direction A→B (`ab`) or B→A; `None` if it has no lanes.
    pub fn direction(&self, ab: bool) -> Option<Direction<'a, W>> {
        let l = &self.layout;
        let lanes = if ab { l.lanes_ab } else { l.lanes_ba };
        if lanes == 0 {
            return None;
        }
        let start = (l.lane_offset(ab, 0) / 8) as usize;
        let len = lanes as usize * l.slots as usize * crate::WORDS_PER_SLOT;
        let slots = self.mem.get(start..start.checked_add(len)?)?;
        let (prod, cons) = if ab { (PAGE_PROD_AB, PAGE_CONS_AB) } else { (PAGE_PROD_BA, PAGE_CONS_BA) };
        let (data_waiters, space_waiters) = if ab {
            (kpage::DATA_WAITERS_AB, kpage::SPACE_WAITERS_AB)
        } else {
            (kpage::DATA_WAITERS_BA, kpage::SPACE_WAITERS_BA)
        };
        let (sender_pollers, receiver_pollers) =
            if ab { (kpage::POLLERS_A, kpage::POLLERS_B) } else { (kpage::POLLERS_B, kpage::POLLERS_A) };
        Some(Direction {
            kernel: self.page(PAGE_KERNEL),
            prod: self.page(prod),
            cons: self.page(cons),
            slots,
            slots_per_lane: u64::from(l.slots),
            lanes,
            data_waiters,
            space_waiters,
            receiver_pollers,
            sender_pollers,
        })
    }

    /// The direction this end sends on (A: A→B).
    pub fn outgoing(&self) -> Option<Direction<'a, W>> {
        self.direction(self.side == Side::A)
    }

    /// The direction this end receives from (A: B→A).
    pub fn incoming(&self) -> Option<Direction<'a, W>> {
        self.direction(self.side == Side::B)
    }

    /// The producer of the outgoing direction (`None`: no lanes, or its counters are
    /// impossible).
    pub fn producer(&self) -> Option<Producer<'a, W>> {
        Producer::attach(self.outgoing()?)
    }

    /// The consumer of the incoming direction.
    pub fn consumer(&self) -> Option<Consumer<'a, W>> {
        Consumer::attach(self.incoming()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exo_abi::fusion::{prod, slot_header};
    use std::vec::Vec;

    fn mapping(l: &Layout) -> Vec<AtomicU64> {
        (0..l.size / 8).map(|_| AtomicU64::new(0)).collect()
    }

    #[test]
    fn a_sends_to_b_and_b_to_a() {
        let l = Layout::new(16, 2, 1).unwrap();
        let mem = mapping(&l);
        let a = RingView::new(&mem, l, Side::A).unwrap();
        let b = RingView::new(&mem, l, Side::B).unwrap();
        let (mut pa, mut ca) = (a.producer().unwrap(), a.consumer().unwrap());
        let (mut pb, mut cb) = (b.producer().unwrap(), b.consumer().unwrap());
        assert_eq!((pa.lanes(), pb.lanes()), (2, 1));
        pa.try_send_to(1, 3, 0, b"to b", 7).unwrap();
        pb.try_send(4, 0, b"to a", 8).unwrap();
        let mut buf = [0u8; 16];
        let m = cb.try_recv(&mut buf).unwrap();
        assert_eq!((m.lane, m.kind, &buf[..m.len]), (1, 3, &b"to b"[..]));
        let m = ca.try_recv(&mut buf).unwrap();
        assert_eq!((m.lane, m.kind, &buf[..m.len]), (0, 4, &b"to a"[..]));
        // A→B's head of lane 1 is in page 1, its first slot at page 5 + one lane.
        assert_eq!(mem[512 + prod::HEAD + 1].load(Ordering::Relaxed), 1);
        let slot = (5 * 512 + 16 * 8) as usize;
        assert_eq!(mem[slot].load(Ordering::Relaxed), slot_header(4, 3, 0, 7));
    }

    #[test]
    fn wake_checks_read_the_right_kernel_words() {
        let l = Layout::new(8, 1, 1).unwrap();
        let mem = mapping(&l);
        let a = RingView::new(&mem, l, Side::A).unwrap();
        let (pa, ca) = (a.producer().unwrap(), a.consumer().unwrap());
        assert!(!pa.needs_wake() && !ca.needs_wake());
        mem[kpage::POLLERS_B].store(1, Ordering::Relaxed);
        assert!(pa.needs_wake() && ca.needs_wake());
        mem[kpage::POLLERS_B].store(0, Ordering::Relaxed);
        mem[kpage::DATA_WAITERS_BA].store(1, Ordering::Relaxed);
        assert!(!pa.needs_wake() && !ca.needs_wake());
        mem[kpage::SPACE_WAITERS_BA].store(1, Ordering::Relaxed);
        assert!(!pa.needs_wake() && ca.needs_wake());
        mem[kpage::DATA_WAITERS_AB].store(1, Ordering::Relaxed);
        assert!(pa.needs_wake());
    }

    #[test]
    fn rejects_short_memory_and_odd_layouts() {
        let l = Layout::new(8, 1, 0).unwrap();
        let mem = mapping(&l);
        assert!(RingView::new(&mem[..mem.len() - 1], l, Side::A).is_none());
        let mut odd = l;
        odd.slots_ab += 8;
        assert!(RingView::new(&mem, odd, Side::A).is_none());
        let b = RingView::new(&mem, l, Side::B).unwrap();
        assert!(b.producer().is_none() && b.consumer().is_some());
        assert!(!b.is_valid());
        mem[kpage::MAGIC].store(MAGIC, Ordering::Relaxed);
        mem[kpage::GEOMETRY].store(8 | 1 << 32 | 1 << 48, Ordering::Relaxed);
        assert!(b.is_valid());
    }
}
