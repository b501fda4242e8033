//! The protocol of one direction of a duplex ring (docs/ipc.md, *The protocol*): a
//! [`Producer`] writes messages into the direction's lanes and publishes them, a [`Consumer`]
//! reads them. Each side keeps its own indices privately and never trusts a word the peer
//! writes: every index and header read from shared memory is validated, and a bad one is a
//! `Corrupt` error, never a panic or an out-of-bounds access.
//!
//! Usage (sender): [`Producer::try_send`] (or [`Producer::write`] several times and
//! [`Producer::publish`] once), then `if p.needs_wake() { fusion_wake(WAKE_DATA) }`. Full:
//! `let t = p.space_token()`, try again, then `fusion_wait(WAIT_SPACE, t)`.
//! Receiver: [`Consumer::try_recv`] (one message or a batch), then `if c.needs_wake() {
//! fusion_wake(WAKE_SPACE) }`. Empty: `let p = c.wait_token()`, try again, then
//! `fusion_wait(WAIT_DATA, p)`.

use crate::word::{self, hist_bucket, read_payload, slots_for, write_payload, Lane};
use crate::Word;
use core::sync::atomic::{AtomicU64, Ordering::*};
use exo_abi::fusion::{cons, header_flags, header_kind, header_len, header_stamp, prod, slot_header};
use exo_abi::fusion::LANES_MAX;

const NLANES: usize = LANES_MAX as usize;

/// Why a message was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// Not enough free slots in the lane now (wait for space).
    Full,
    /// Longer than the lane's largest message, or no such lane.
    TooBig,
    /// The consumer's tail is impossible: stop using the ring (EPROTO).
    Corrupt,
}

/// Why no message was received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// No message waiting (wait for data).
    Empty,
    /// The producer's head or a header is impossible: stop using the ring (EPROTO).
    Corrupt,
    /// The message has this many bytes, more than the buffer holds; it stays in the ring.
    BufferTooSmall(usize),
}

/// A received (or peeked) message's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Msg {
    pub len: usize,
    pub kind: u8,
    pub flags: u8,
    /// Low 32 bits of the sender's TSC when it wrote the message.
    pub stamp: u32,
    /// The lane it came through.
    pub lane: u8,
}

/// One message of a batch ([`Producer::send_batch`]).
#[derive(Clone, Copy, Debug)]
pub struct Outgoing<'m> {
    pub kind: u8,
    pub flags: u8,
    pub payload: &'m [u8],
    pub stamp: u32,
}

/// The shared memory and geometry of one direction, as both of its sides see it.
///
/// `kernel`, `prod` and `cons` are the kernel page and the direction's producer and consumer
/// pages; `slots` the direction's slot area (`lanes` lanes of `slots_per_lane` slots of 8
/// words). The four word indices are the kernel-page counters each side's wake-up check reads.
/// [`crate::view::RingView`] builds these from a ring's mapping; tests and models may build
/// smaller ones (any power of two of at least 2 slots).
pub struct Direction<'a, W: Word = AtomicU64> {
    pub kernel: &'a [W],
    pub prod: &'a [W],
    pub cons: &'a [W],
    pub slots: &'a [W],
    pub slots_per_lane: u64,
    pub lanes: u8,
    /// `DATA_WAITERS` and `SPACE_WAITERS` of this direction.
    pub data_waiters: usize,
    pub space_waiters: usize,
    /// `POLLERS` of the receiving end and of the sending end.
    pub receiver_pollers: usize,
    pub sender_pollers: usize,
}

impl<W: Word> Clone for Direction<'_, W> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<W: Word> Copy for Direction<'_, W> {}

impl<'a, W: Word> Direction<'a, W> {
    /// The lane geometry, if the slices are large enough for it.
    pub(crate) fn lane(&self) -> Option<Lane> {
        let s = self.slots_per_lane;
        let lanes = u64::from(self.lanes);
        let need = s.checked_mul(lanes)?.checked_mul(crate::WORDS_PER_SLOT as u64)?;
        let k = self.kernel.len();
        let ok = s >= 2
            && s.is_power_of_two()
            && (1..=LANES_MAX).contains(&self.lanes)
            && self.slots.len() as u64 >= need
            && self.prod.len() > prod::BYTES
            && self.cons.len() > cons::BYTES
            && [self.data_waiters, self.space_waiters, self.receiver_pollers, self.sender_pollers]
                .iter()
                .all(|&i| i < k);
        ok.then(|| Lane { slots: s, max_len: word::lane_max_message(s) })
    }

    /// The words of lane `lane` (bounds already checked by [`Direction::lane`]).
    fn lane_words(&self, lane: usize, geo: &Lane) -> &'a [W] {
        let per = geo.slots as usize * crate::WORDS_PER_SLOT;
        self.slots.get(lane * per..(lane + 1) * per).unwrap_or(&[])
    }
}

/// The sending side of one direction (all its lanes).
///
/// It keeps its heads, `POST` and `BYTES` privately (the producer page is only written, except
/// once by [`Producer::attach`]) and reads the consumer's tails as untrusted.
pub struct Producer<'a, W: Word = AtomicU64> {
    dir: Direction<'a, W>,
    geo: Lane,
    /// Next slot to write, per lane (written but unpublished slots included).
    head: [u64; NLANES],
    /// The heads as last published.
    published: [u64; NLANES],
    /// Messages and payload bytes written (published or not), and as last published.
    post: u64,
    bytes: u64,
    published_post: u64,
}

impl<'a, W: Word> Producer<'a, W> {
    /// The producer of `dir`, resuming from the counters of its producer page (all zero in a
    /// new ring). `None`: the geometry does not fit the slices, or a lane's head is more than
    /// `slots` ahead of (or behind) its tail.
    pub fn attach(dir: Direction<'a, W>) -> Option<Self> {
        let geo = dir.lane()?;
        let mut head = [0; NLANES];
        for (i, h) in head.iter_mut().enumerate().take(dir.lanes as usize) {
            *h = word::load(dir.prod, prod::HEAD + i, Acquire);
            let t = word::load(dir.cons, cons::TAIL + i, Acquire);
            if h.wrapping_sub(t) > geo.slots {
                return None;
            }
        }
        let post = word::load(dir.prod, prod::POST, Acquire);
        let bytes = word::load(dir.prod, prod::BYTES, Acquire);
        Some(Producer { dir, geo, head, published: head, post, bytes, published_post: post })
    }

    /// Lanes of the direction.
    pub fn lanes(&self) -> u8 {
        self.dir.lanes
    }

    /// Largest message a lane carries.
    pub fn max_message(&self) -> usize {
        self.geo.max_len as usize
    }

    /// Free slots of `lane` now, after the messages written but not yet published.
    pub fn free_slots(&self, lane: u8) -> Result<u64, SendError> {
        let l = lane as usize;
        if lane >= self.dir.lanes {
            return Err(SendError::TooBig);
        }
        let t = word::load(self.dir.cons, cons::TAIL + l, Acquire);
        // The tail may not pass what was published, nor lag it by more than the lane.
        let in_flight = self.published[l].wrapping_sub(t);
        if in_flight > self.geo.slots {
            return Err(SendError::Corrupt);
        }
        // A tail that moved back can make the written slots look more than the lane.
        let staged = self.head[l].wrapping_sub(self.published[l]);
        self.geo.slots.checked_sub(in_flight + staged).ok_or(SendError::Corrupt)
    }

    /// Writes one message into `lane` without publishing it (see [`Producer::publish`]).
    pub fn write(&mut self, lane: u8, kind: u8, flags: u8, payload: &[u8], stamp: u32) -> Result<(), SendError> {
        let len = payload.len() as u64;
        if len > self.geo.max_len || lane >= self.dir.lanes {
            return Err(SendError::TooBig);
        }
        let n = slots_for(len);
        if n > self.free_slots(lane)? {
            return Err(SendError::Full);
        }
        let l = lane as usize;
        let h = self.head[l];
        let words = self.dir.lane_words(l, &self.geo);
        write_payload(&self.geo, words, h, payload);
        word::store(words, self.geo.word(h, 0), slot_header(len as u16, kind, flags, stamp), Relaxed);
        self.head[l] = h.wrapping_add(n);
        self.post = self.post.wrapping_add(1);
        self.bytes = self.bytes.wrapping_add(len);
        Ok(())
    }

    /// Publishes everything written: the heads that moved, `BYTES`, then `POST` (release
    /// stores). Follow it with [`Producer::needs_wake`].
    pub fn publish(&mut self) {
        if self.post == self.published_post {
            return;
        }
        for l in 0..self.dir.lanes as usize {
            if self.head[l] != self.published[l] {
                word::store(self.dir.prod, prod::HEAD + l, self.head[l], Release);
                self.published[l] = self.head[l];
            }
        }
        word::store(self.dir.prod, prod::BYTES, self.bytes, Release);
        word::store(self.dir.prod, prod::POST, self.post, Release);
        self.published_post = self.post;
    }

    /// Writes and publishes one message on lane 0.
    pub fn try_send(&mut self, kind: u8, flags: u8, payload: &[u8], stamp: u32) -> Result<(), SendError> {
        self.try_send_to(0, kind, flags, payload, stamp)
    }

    /// Writes and publishes one message on `lane`.
    pub fn try_send_to(&mut self, lane: u8, kind: u8, flags: u8, payload: &[u8], stamp: u32) -> Result<(), SendError> {
        self.write(lane, kind, flags, payload, stamp)?;
        self.publish();
        Ok(())
    }

    /// Writes as many of `msgs` as go in, in order, into `lane` and publishes them once.
    /// Returns how many went in; an error only if none did (or on corruption).
    pub fn send_batch(&mut self, lane: u8, msgs: &[Outgoing<'_>]) -> Result<usize, SendError> {
        let mut sent = 0;
        let mut first_err = None;
        for m in msgs {
            match self.write(lane, m.kind, m.flags, m.payload, m.stamp) {
                Ok(()) => sent += 1,
                Err(e) => {
                    first_err = Some(e);
                    break;
                }
            }
        }
        self.publish();
        match first_err {
            Some(e) if sent == 0 || e == SendError::Corrupt => Err(e),
            _ => Ok(sent),
        }
    }

    /// After a publish: a SeqCst fence, then whether anybody waits for data (the direction's
    /// `DATA_WAITERS` or the receiving end's `POLLERS`), i.e. whether to call
    /// `fusion_wake(WAKE_DATA)`.
    pub fn needs_wake(&self) -> bool {
        W::fence(SeqCst);
        word::load(self.dir.kernel, self.dir.data_waiters, Relaxed) != 0
            || word::load(self.dir.kernel, self.dir.receiver_pollers, Relaxed) != 0
    }

    /// The consumer's `TAKEN` now: the `expected` of a `fusion_wait(WAIT_SPACE)` (read it,
    /// try again, then wait).
    pub fn space_token(&self) -> u64 {
        word::load(self.dir.cons, cons::TAKEN, Acquire)
    }

    /// Messages and payload bytes written so far (`POST`, `BYTES` once published).
    pub fn sent(&self) -> (u64, u64) {
        (self.post, self.bytes)
    }

    /// The consumer page's `TAKEN` and `BYTES` (untrusted: see [`crate::channel::credit`]).
    pub fn peer_taken(&self) -> (u64, u64) {
        (self.space_token(), word::load(self.dir.cons, cons::BYTES, Acquire))
    }
}

/// A message found by [`Consumer::peek`], still in the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peek {
    pub msg: Msg,
    first: u64,
    slots: u64,
}

/// The receiving side of one direction (all its lanes).
///
/// It keeps its tails, `TAKEN` and `BYTES` privately and reads the producer's heads as
/// untrusted.
pub struct Consumer<'a, W: Word = AtomicU64> {
    dir: Direction<'a, W>,
    geo: Lane,
    tail: [u64; NLANES],
    taken: u64,
    bytes: u64,
    /// The TSC's low half, for the latency histogram (none: no histogram).
    clock: Option<fn() -> u32>,
}

impl<'a, W: Word> Consumer<'a, W> {
    /// The consumer of `dir`, resuming from the counters of its consumer page (all zero in a
    /// new ring). `None`: the geometry does not fit the slices.
    pub fn attach(dir: Direction<'a, W>) -> Option<Self> {
        let geo = dir.lane()?;
        let mut tail = [0; NLANES];
        for (i, t) in tail.iter_mut().enumerate().take(dir.lanes as usize) {
            *t = word::load(dir.cons, cons::TAIL + i, Acquire);
        }
        let taken = word::load(dir.cons, cons::TAKEN, Acquire);
        let bytes = word::load(dir.cons, cons::BYTES, Acquire);
        Some(Consumer { dir, geo, tail, taken, bytes, clock: None })
    }

    /// Records each message's age (`clock() - stamp`) in the consumer page's latency
    /// histogram (if the page has one).
    pub fn set_clock(&mut self, clock: fn() -> u32) {
        self.clock = Some(clock);
    }

    pub fn lanes(&self) -> u8 {
        self.dir.lanes
    }

    /// Slots published and not yet consumed in `lane`.
    pub fn available(&self, lane: u8) -> Result<u64, RecvError> {
        if lane >= self.dir.lanes {
            return Err(RecvError::Empty);
        }
        let h = word::load(self.dir.prod, prod::HEAD + lane as usize, Acquire);
        let avail = h.wrapping_sub(self.tail[lane as usize]);
        if avail > self.geo.slots {
            return Err(RecvError::Corrupt);
        }
        Ok(avail)
    }

    /// Bit `i` set: lane `i` holds a message.
    pub fn nonempty_mask(&self) -> Result<u8, RecvError> {
        let mut mask = 0;
        for lane in 0..self.dir.lanes {
            if self.available(lane)? != 0 {
                mask |= 1 << lane;
            }
        }
        Ok(mask)
    }

    /// The oldest message of `lane`, validated, left in the ring.
    pub fn peek(&self, lane: u8) -> Result<Peek, RecvError> {
        let avail = self.available(lane)?;
        if avail == 0 {
            return Err(RecvError::Empty);
        }
        let t = self.tail[lane as usize];
        let words = self.dir.lane_words(lane as usize, &self.geo);
        let header = word::load(words, self.geo.word(t, 0), Relaxed);
        let len = u64::from(header_len(header));
        let slots = slots_for(len);
        if len > self.geo.max_len || slots > avail {
            return Err(RecvError::Corrupt);
        }
        let msg = Msg {
            len: len as usize,
            kind: header_kind(header),
            flags: header_flags(header),
            stamp: header_stamp(header),
            lane,
        };
        Ok(Peek { msg, first: t, slots })
    }

    /// Copies bytes `offset..` of a peeked message's payload into `out`; returns how many
    /// (the peer may be rewriting them: validate what you use).
    pub fn read(&self, peek: &Peek, offset: usize, out: &mut [u8]) -> usize {
        let n = peek.msg.len.saturating_sub(offset).min(out.len());
        let words = self.dir.lane_words(peek.msg.lane as usize, &self.geo);
        read_payload(&self.geo, words, peek.first, offset, &mut out[..n]);
        n
    }

    /// Removes a peeked message: the tail, `BYTES`, then `TAKEN` (release stores). `false`
    /// if it is not the oldest of its lane any more. Follow it with [`Consumer::needs_wake`].
    pub fn consume(&mut self, peek: &Peek) -> bool {
        let l = peek.msg.lane as usize;
        if l >= self.dir.lanes as usize || self.tail[l] != peek.first {
            return false;
        }
        self.tail[l] = peek.first.wrapping_add(peek.slots);
        self.taken = self.taken.wrapping_add(1);
        self.bytes = self.bytes.wrapping_add(peek.msg.len as u64);
        word::store(self.dir.cons, cons::TAIL + l, self.tail[l], Release);
        word::store(self.dir.cons, cons::BYTES, self.bytes, Release);
        word::store(self.dir.cons, cons::TAKEN, self.taken, Release);
        if let Some(clock) = self.clock {
            let b = cons::HIST + hist_bucket(clock().wrapping_sub(peek.msg.stamp));
            let count = word::load(self.dir.cons, b, Relaxed);
            word::store(self.dir.cons, b, count.wrapping_add(1), Relaxed);
        }
        true
    }

    /// Receives the oldest message of `lane` into `buf`.
    pub fn try_recv_from(&mut self, lane: u8, buf: &mut [u8]) -> Result<Msg, RecvError> {
        let p = self.peek(lane)?;
        if buf.len() < p.msg.len {
            return Err(RecvError::BufferTooSmall(p.msg.len));
        }
        self.read(&p, 0, buf);
        self.consume(&p);
        Ok(p.msg)
    }

    /// Receives a message from the first non-empty lane (lane 0 first).
    pub fn try_recv(&mut self, buf: &mut [u8]) -> Result<Msg, RecvError> {
        for lane in 0..self.dir.lanes {
            match self.try_recv_from(lane, buf) {
                Err(RecvError::Empty) => continue,
                r => return r,
            }
        }
        Err(RecvError::Empty)
    }

    /// After consuming: a SeqCst fence, then whether anybody waits for space (the
    /// direction's `SPACE_WAITERS` or the sending end's `POLLERS`), i.e. whether to call
    /// `fusion_wake(WAKE_SPACE)`.
    pub fn needs_wake(&self) -> bool {
        W::fence(SeqCst);
        word::load(self.dir.kernel, self.dir.space_waiters, Relaxed) != 0
            || word::load(self.dir.kernel, self.dir.sender_pollers, Relaxed) != 0
    }

    /// The producer's `POST` now: the `expected` of a `fusion_wait(WAIT_DATA)` (read it,
    /// try again, then wait).
    pub fn wait_token(&self) -> u64 {
        word::load(self.dir.prod, prod::POST, Acquire)
    }

    /// Messages and payload bytes consumed so far.
    pub fn taken(&self) -> (u64, u64) {
        (self.taken, self.bytes)
    }
}

#[cfg(test)]
#[path = "ring_tests.rs"]
mod tests;
