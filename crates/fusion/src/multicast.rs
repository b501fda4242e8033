//! Multicast rings (`KIND_MULTICAST`, docs/ipc.md *Channels*): one [`Publisher`] (end A)
//! that never waits, any number of [`Subscriber`]s (descriptors of end B) that map lane 0 of
//! A→B read-only and keep their position in private memory.
//!
//! A message uses at most `slots / 2` slots. A subscriber reads a message starting at slot
//! `f`, then (after an acquire fence) re-reads the head: if the head is more than `slots / 2`
//! past `f`, the publisher may have overwritten the message while it was copied, so it is
//! dropped, the subscriber jumps to the head and reports the slots it lost
//! ([`SubError::Lagged`]).
//!
//! Why that is enough: the publisher publishes each message's head (release store) and issues
//! a release fence before writing the next one. Overwriting a slot of the message at `f`
//! means writing slot index `j ≥ f + slots` of a message that starts at most `slots / 2 - 1`
//! slots before `j`, so the head published before that write is already past `f + slots / 2`.
//! If any load of the subscriber's copy saw such a write, the release fence synchronizes with
//! the subscriber's acquire fence and its re-read sees that head.

use crate::ring::{Direction, Msg, SendError};
use crate::word::{self, read_payload, slots_for, write_payload, Lane};
use crate::Word;
use core::sync::atomic::{AtomicU64, Ordering::*};
use exo_abi::fusion::{header_flags, header_kind, header_len, header_stamp, prod, slot_header, SLOT_PAYLOAD, SLOT_SIZE};

/// Why a subscriber received nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubError {
    /// No new message.
    Empty,
    /// The subscriber fell behind: this many slots were skipped (the message being read
    /// included); its position is now the head.
    Lagged(u64),
    /// The head went backwards or a header is impossible: stop using the ring.
    Corrupt,
    /// The message has this many bytes, more than the buffer holds; it stays (for now).
    BufferTooSmall(usize),
}

/// The largest multicast message of a lane of `slots` slots (`slots / 2` slots).
fn max_len(slots: u64) -> u64 {
    (SLOT_PAYLOAD + (slots / 2 - 1) * SLOT_SIZE).min(65535)
}

/// Lane 0's geometry with the multicast limit (the direction's checks apply).
fn geometry<W: Word>(dir: &Direction<'_, W>) -> Option<Lane> {
    dir.lane().map(|l| Lane { max_len: max_len(l.slots), ..l })
}

/// The publisher: lane 0 of the direction, never waiting for anybody.
pub struct Publisher<'a, W: Word = AtomicU64> {
    dir: Direction<'a, W>,
    geo: Lane,
    head: u64,
    post: u64,
    bytes: u64,
}

impl<'a, W: Word> Publisher<'a, W> {
    /// The publisher of `dir`, resuming from its producer page.
    pub fn attach(dir: Direction<'a, W>) -> Option<Self> {
        let geo = geometry(&dir)?;
        let head = word::load(dir.prod, prod::HEAD, Acquire);
        let post = word::load(dir.prod, prod::POST, Acquire);
        let bytes = word::load(dir.prod, prod::BYTES, Acquire);
        Some(Publisher { dir, geo, head, post, bytes })
    }

    /// Largest message: `slots / 2` slots.
    pub fn max_message(&self) -> usize {
        self.geo.max_len as usize
    }

    /// Writes one message and publishes its head; `POST` waits for [`Publisher::publish`].
    pub fn write(&mut self, kind: u8, flags: u8, payload: &[u8], stamp: u32) -> Result<(), SendError> {
        let len = payload.len() as u64;
        if len > self.geo.max_len {
            return Err(SendError::TooBig);
        }
        // Orders the previous head's store before the overwrites below (see the module doc).
        W::fence(Release);
        let h = self.head;
        let words = self.dir.slots;
        write_payload(&self.geo, words, h, payload);
        word::store(words, self.geo.word(h, 0), slot_header(len as u16, kind, flags, stamp), Relaxed);
        self.head = h.wrapping_add(slots_for(len));
        self.post = self.post.wrapping_add(1);
        self.bytes = self.bytes.wrapping_add(len);
        word::store(self.dir.prod, prod::HEAD, self.head, Release);
        Ok(())
    }

    /// Stores `BYTES` and `POST` (what subscribers' `WAIT_DATA` watches). Follow it with
    /// [`Publisher::needs_wake`].
    pub fn publish(&mut self) {
        word::store(self.dir.prod, prod::BYTES, self.bytes, Release);
        word::store(self.dir.prod, prod::POST, self.post, Release);
    }

    /// Writes and publishes one message.
    pub fn try_send(&mut self, kind: u8, flags: u8, payload: &[u8], stamp: u32) -> Result<(), SendError> {
        self.write(kind, flags, payload, stamp)?;
        self.publish();
        Ok(())
    }

    /// After a publish: whether a subscriber waits or polls (call `fusion_wake(WAKE_DATA)`).
    pub fn needs_wake(&self) -> bool {
        W::fence(SeqCst);
        word::load(self.dir.kernel, self.dir.data_waiters, Relaxed) != 0
            || word::load(self.dir.kernel, self.dir.receiver_pollers, Relaxed) != 0
    }
}

/// A subscriber: a private position in lane 0.
pub struct Subscriber<'a, W: Word = AtomicU64> {
    dir: Direction<'a, W>,
    geo: Lane,
    pos: u64,
}

impl<'a, W: Word> Subscriber<'a, W> {
    /// A subscriber of `dir` that sees the messages published from now on.
    pub fn attach(dir: Direction<'a, W>) -> Option<Self> {
        let geo = geometry(&dir)?;
        let pos = word::load(dir.prod, prod::HEAD, Acquire);
        Some(Subscriber { dir, geo, pos })
    }

    /// The next slot index this subscriber reads.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The publisher's `POST` now: the `expected` of a `fusion_wait(WAIT_DATA)`.
    pub fn wait_token(&self) -> u64 {
        word::load(self.dir.prod, prod::POST, Acquire)
    }

    fn jump(&mut self, head: u64) -> SubError {
        let lost = head.wrapping_sub(self.pos);
        self.pos = head;
        SubError::Lagged(lost)
    }

    /// Receives the next message into `buf`.
    pub fn try_recv(&mut self, buf: &mut [u8]) -> Result<Msg, SubError> {
        let half = self.geo.slots / 2;
        let h = word::load(self.dir.prod, prod::HEAD, Acquire);
        let avail = h.wrapping_sub(self.pos);
        if avail == 0 {
            return Err(SubError::Empty);
        }
        if avail > u64::MAX / 2 {
            return Err(SubError::Corrupt);
        }
        if avail > half {
            return Err(self.jump(h));
        }
        let words = self.dir.slots;
        let header = word::load(words, self.geo.word(self.pos, 0), Relaxed);
        let len = u64::from(header_len(header));
        let n = slots_for(len);
        let valid = len <= self.geo.max_len && n <= avail;
        let fits = buf.len() as u64 >= len;
        if valid && fits {
            read_payload(&self.geo, words, self.pos, 0, &mut buf[..len as usize]);
        }
        // Everything read above is ordered before the head's re-read.
        W::fence(Acquire);
        let h2 = word::load(self.dir.prod, prod::HEAD, Relaxed);
        if h2.wrapping_sub(h) > u64::MAX / 2 {
            return Err(SubError::Corrupt);
        }
        if h2.wrapping_sub(self.pos) > half {
            return Err(self.jump(h2));
        }
        if !valid {
            return Err(SubError::Corrupt);
        }
        if !fits {
            return Err(SubError::BufferTooSmall(len as usize));
        }
        self.pos = self.pos.wrapping_add(n);
        let msg = Msg { len: len as usize, kind: header_kind(header), flags: header_flags(header), stamp: header_stamp(header), lane: 0 };
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{RingView, Side};
    use exo_abi::fusion::{kpage, Layout};
    use std::vec::Vec;

    fn mapping(l: &Layout) -> Vec<AtomicU64> {
        (0..l.size / 8).map(|_| AtomicU64::new(0)).collect()
    }

    #[test]
    fn every_subscriber_sees_every_message() {
        let l = Layout::new(16, 1, 0).unwrap();
        let mem = mapping(&l);
        let a = RingView::new(&mem, l, Side::A).unwrap();
        let b = RingView::new(&mem, l, Side::B).unwrap();
        let mut p = Publisher::attach(a.outgoing().unwrap()).unwrap();
        let mut s1 = Subscriber::attach(b.incoming().unwrap()).unwrap();
        let mut s2 = Subscriber::attach(b.incoming().unwrap()).unwrap();
        assert_eq!(p.max_message(), 56 + 7 * 64);
        let mut buf = [0u8; 512];
        for i in 0..40u8 {
            let data: Vec<u8> = (0..(i as usize * 11) % 200).map(|k| k as u8 ^ i).collect();
            p.try_send(i, 0, &data, 0).unwrap();
            for s in [&mut s1, &mut s2] {
                let m = s.try_recv(&mut buf).unwrap();
                assert_eq!((m.kind, &buf[..m.len]), (i, &data[..]));
                assert_eq!(s.try_recv(&mut buf), Err(SubError::Empty));
            }
        }
        assert_eq!(p.try_send(0, 0, &[0; 56 + 7 * 64 + 1], 0), Err(SendError::TooBig));
        assert!(!p.needs_wake());
        mem[kpage::POLLERS_B].store(1, Relaxed);
        assert!(p.needs_wake());
    }

    #[test]
    fn a_slow_subscriber_is_told_what_it_lost() {
        let l = Layout::new(8, 1, 0).unwrap();
        let mem = mapping(&l);
        let a = RingView::new(&mem, l, Side::A).unwrap();
        let b = RingView::new(&mem, l, Side::B).unwrap();
        let mut p = Publisher::attach(a.outgoing().unwrap()).unwrap();
        let mut s = Subscriber::attach(b.incoming().unwrap()).unwrap();
        let mut buf = [0u8; 256];
        for i in 0..3u8 {
            p.try_send(i, 0, b"", 0).unwrap();
        }
        assert_eq!(s.try_recv(&mut buf).unwrap().kind, 0);
        for i in 3..10u8 {
            p.try_send(i, 0, b"", 0).unwrap();
        }
        // Head 10, position 1: 9 slots behind, more than half of 8.
        assert_eq!(s.try_recv(&mut buf), Err(SubError::Lagged(9)));
        assert_eq!(s.position(), 10);
        assert_eq!(s.try_recv(&mut buf), Err(SubError::Empty));
        p.try_send(10, 0, &[7; 100], 0).unwrap();
        assert_eq!(s.try_recv(&mut buf[..10]), Err(SubError::BufferTooSmall(100)));
        assert_eq!(s.try_recv(&mut buf).unwrap().kind, 10);
    }

    #[test]
    fn an_overwrite_during_the_copy_is_detected() {
        // Simulate the publisher racing ahead between the subscriber's two head reads by a
        // hostile word layout: the head already at the limit is accepted, one more is lag.
        let l = Layout::new(8, 1, 0).unwrap();
        let mem = mapping(&l);
        let b = RingView::new(&mem, l, Side::B).unwrap();
        let mut s = Subscriber::attach(b.incoming().unwrap()).unwrap();
        let mut buf = [0u8; 64];
        mem[512 + prod::HEAD].store(4, Relaxed);
        assert_eq!(s.try_recv(&mut buf).map(|m| m.len), Ok(0));
        mem[512 + prod::HEAD].store(0, Relaxed);
        assert_eq!(s.try_recv(&mut buf), Err(SubError::Corrupt));
        mem[512 + prod::HEAD].store(2, Relaxed);
        let slot = 5 * 512 + 8;
        mem[slot].store(slot_header(200, 0, 0, 0), Relaxed);
        assert_eq!(s.try_recv(&mut buf), Err(SubError::Corrupt));
    }
}
