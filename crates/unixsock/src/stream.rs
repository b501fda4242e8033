//! A stream socket's receive queue: a byte ring plus "marks".
//!
//! The ring is bounded by the limit the caller passes to each write (the sending socket's
//! SO_SNDBUF: Linux charges a stream's queued bytes to its sender) and by a hard maximum; its
//! storage grows on demand (doubling, from 4 KiB), with a fallible reservation, so an idle
//! socket holds no buffer. Bytes move in at most two slice copies each way, handed to a copy
//! closure that may fail (the kernel copies straight between user memory and the ring).
//!
//! A mark is an attachment (descriptors, credentials) that came with the bytes starting at a
//! stream position. A read never crosses a mark: it starts with the mark at its head (taken
//! with [`StreamQueue::take_head_mark`]) and stops before the next one, as Linux's stream
//! reads stop where the control data changes. Bytes without marks (the usual case) carry no
//! per-write cost.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// Smallest storage the ring allocates.
const MIN_STORAGE: usize = 4096;

/// Why a write put nothing (or not everything) in.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteFail<A, E> {
    /// No room under the limit: the mark is handed back.
    Full(Option<A>),
    /// The storage could not grow (ENOMEM): the mark is handed back.
    NoMemory(Option<A>),
    /// The copy refused a piece after `n` bytes went in (kept, with the mark if `n > 0`; the
    /// mark is handed back if `n == 0`).
    Copy(usize, E, Option<A>),
}

/// A bounded byte queue with marks (see the module's documentation).
pub struct StreamQueue<A> {
    buf: Vec<u8>,
    head: usize,
    len: usize,
    max: usize,
    /// Marks by stream position, oldest first.
    marks: VecDeque<(u64, A)>,
    /// Stream position of the head byte (bytes consumed so far).
    consumed: u64,
}

impl<A> StreamQueue<A> {
    /// An empty queue that never holds more than `max` bytes.
    pub const fn new(max: usize) -> StreamQueue<A> {
        StreamQueue { buf: Vec::new(), head: 0, len: 0, max, marks: VecDeque::new(), consumed: 0 }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Room under `limit` (and the hard maximum).
    #[inline]
    pub fn room(&self, limit: usize) -> usize {
        limit.min(self.max).saturating_sub(self.len)
    }

    /// Whether a mark starts at the head.
    #[inline]
    pub fn has_head_mark(&self) -> bool {
        self.marks.front().is_some_and(|(pos, _)| *pos <= self.consumed)
    }

    /// The mark at the head, left in place (MSG_PEEK).
    pub fn head_mark(&self) -> Option<&A> {
        self.marks.front().filter(|(pos, _)| *pos <= self.consumed).map(|(_, a)| a)
    }

    /// The newest mark still queued.
    pub fn last_mark(&self) -> Option<&A> {
        self.marks.back().map(|(_, a)| a)
    }

    /// Takes the mark at the head.
    pub fn take_head_mark(&mut self) -> Option<A> {
        if self.has_head_mark() {
            self.marks.pop_front().map(|(_, a)| a)
        } else {
            None
        }
    }

    /// Bytes a read starting now may take: up to the next mark after the head.
    #[inline]
    pub fn readable(&self) -> usize {
        if self.marks.is_empty() {
            return self.len;
        }
        let next = self.marks.iter().map(|(pos, _)| *pos).find(|&pos| pos > self.consumed);
        match next {
            Some(pos) => ((pos - self.consumed) as usize).min(self.len),
            None => self.len,
        }
    }

    /// Takes every mark (the socket is being released): the caller drops them outside its
    /// locks.
    pub fn take_marks(&mut self) -> VecDeque<(u64, A)> {
        core::mem::take(&mut self.marks)
    }

    /// Empties the queue; returns its marks.
    pub fn clear(&mut self) -> VecDeque<(u64, A)> {
        self.consumed += self.len as u64;
        self.len = 0;
        self.head = 0;
        self.buf = Vec::new();
        self.take_marks()
    }

    /// Appends up to `n` bytes (as many as the room under `limit` allows), filled by
    /// `copy(offset, room)` in at most two pieces; `mark` is attached to the first byte.
    /// Returns the count appended.
    pub fn write_with<E>(&mut self, limit: usize, n: usize, mark: Option<A>, mut copy: impl FnMut(usize, &mut [u8]) -> Result<(), E>) -> Result<usize, WriteFail<A, E>> {
        let n = n.min(self.room(limit));
        if n == 0 {
            return Err(WriteFail::Full(mark));
        }
        if self.len + n > self.buf.len() && !self.grow(self.len + n) {
            return Err(WriteFail::NoMemory(mark));
        }
        if mark.is_some() && self.marks.try_reserve(1).is_err() {
            return Err(WriteFail::NoMemory(mark));
        }
        let size = self.buf.len();
        let mut tail = self.head + self.len;
        if tail >= size {
            tail -= size;
        }
        let start = self.consumed + self.len as u64;
        let mut done = 0;
        let mut failed = None;
        while done < n {
            let piece = (n - done).min(size - tail);
            if let Err(e) = copy(done, &mut self.buf[tail..tail + piece]) {
                failed = Some(e);
                break;
            }
            done += piece;
            tail = if tail + piece == size { 0 } else { tail + piece };
        }
        self.len += done;
        let mut mark = mark;
        if done > 0 {
            if let Some(a) = mark.take() {
                self.marks.push_back((start, a));
            }
        }
        match failed {
            Some(e) => Err(WriteFail::Copy(done, e, mark)),
            None => Ok(done),
        }
    }

    /// Grows the storage to hold `need` bytes; false if the allocation failed.
    #[inline(never)]
    fn grow(&mut self, need: usize) -> bool {
        let size = need.max(self.buf.len().saturating_mul(2)).max(MIN_STORAGE).min(self.max).max(need);
        let mut bigger = Vec::new();
        if bigger.try_reserve_exact(size).is_err() {
            return false;
        }
        let (a, b) = self.pieces(0, self.len);
        bigger.extend_from_slice(a);
        bigger.extend_from_slice(b);
        bigger.resize(size, 0);
        self.buf = bigger;
        self.head = 0;
        true
    }

    /// The `n` bytes from `skip` bytes after the head, as (at most) two slices.
    fn pieces(&self, skip: usize, n: usize) -> (&[u8], &[u8]) {
        if n == 0 {
            return (&[], &[]);
        }
        let size = self.buf.len();
        let mut start = self.head + skip;
        if start >= size {
            start -= size;
        }
        let first = n.min(size - start);
        (&self.buf[start..start + first], &self.buf[..n - first])
    }

    /// Takes up to `max` bytes of the [`readable`](Self::readable) ones, handing them to
    /// `copy(offset, bytes)`; only accepted pieces leave. Returns the count, or the count and
    /// the error of a refused piece.
    pub fn read_with<E>(&mut self, max: usize, copy: impl FnMut(usize, &[u8]) -> Result<(), E>) -> Result<usize, (usize, E)> {
        let result = self.peek_with(max, copy);
        let n = match &result {
            Ok(n) | Err((n, _)) => *n,
        };
        self.consume(n);
        result
    }

    /// Like [`read_with`](Self::read_with) but leaves the bytes in (MSG_PEEK).
    pub fn peek_with<E>(&self, max: usize, mut copy: impl FnMut(usize, &[u8]) -> Result<(), E>) -> Result<usize, (usize, E)> {
        let n = max.min(self.readable());
        let (a, b) = self.pieces(0, n);
        if !a.is_empty() {
            copy(0, a).map_err(|e| (0, e))?;
        }
        if !b.is_empty() {
            copy(a.len(), b).map_err(|e| (a.len(), e))?;
        }
        Ok(n)
    }

    /// Drops the `n` oldest bytes (`n <= len`).
    fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        self.consumed += n as u64;
        self.head += n;
        if self.head >= self.buf.len() {
            self.head -= self.buf.len();
        }
        if self.len == 0 {
            self.head = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    fn write(q: &mut StreamQueue<u32>, limit: usize, data: &[u8], mark: Option<u32>) -> Result<usize, WriteFail<u32, ()>> {
        q.write_with(limit, data.len(), mark, |at, part| {
            part.copy_from_slice(&data[at..at + part.len()]);
            Ok(())
        })
    }

    fn read(q: &mut StreamQueue<u32>, max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let _: Result<usize, (usize, ())> = q.read_with(max, |_, part| {
            out.extend_from_slice(part);
            Ok(())
        });
        out
    }

    #[test]
    fn bytes_in_order_bounded_by_limit() {
        let mut q = StreamQueue::new(1 << 20);
        assert_eq!(write(&mut q, 10, b"hello world", None), Ok(10));
        assert_eq!(write(&mut q, 10, b"x", None), Err(WriteFail::Full(None)));
        assert_eq!(read(&mut q, 3), b"hel");
        assert_eq!(write(&mut q, 10, b"XYZW", None), Ok(3));
        assert_eq!(read(&mut q, 100), b"lo worlXYZ");
        assert!(q.is_empty());
    }

    #[test]
    fn reads_stop_at_marks() {
        let mut q = StreamQueue::new(1 << 20);
        write(&mut q, 100, b"aaa", None).unwrap();
        write(&mut q, 100, b"bb", Some(1)).unwrap();
        write(&mut q, 100, b"cc", None).unwrap();
        write(&mut q, 100, b"d", Some(2)).unwrap();
        assert_eq!(q.take_head_mark(), None);
        assert_eq!(read(&mut q, 100), b"aaa");
        assert_eq!(q.head_mark(), Some(&1));
        assert_eq!(q.take_head_mark(), Some(1));
        assert_eq!(read(&mut q, 1), b"b");
        assert_eq!(q.take_head_mark(), None);
        assert_eq!(read(&mut q, 100), b"bcc");
        assert_eq!(q.take_head_mark(), Some(2));
        assert_eq!(read(&mut q, 100), b"d");
    }

    #[test]
    fn a_failed_copy_keeps_what_went_in_and_returns_the_mark() {
        let mut q: StreamQueue<u32> = StreamQueue::new(1 << 20);
        let r = q.write_with(100, 10, Some(5), |_, _| Err("fault"));
        assert_eq!(r, Err(WriteFail::Copy(0, "fault", Some(5))));
        assert!(q.is_empty());
        // Fill so the ring wraps, then fail in the second piece.
        write(&mut q, 4096, &[1; 4000], None).unwrap();
        read(&mut q, 3990);
        let r = q.write_with(4096, 200, Some(6), |at, _| if at == 0 { Ok(()) } else { Err("fault") });
        assert!(matches!(r, Err(WriteFail::Copy(n, "fault", None)) if n > 0));
        assert_eq!(read(&mut q, 10), [1; 10]);
        assert_eq!(q.take_head_mark(), Some(6));
    }

    #[test]
    fn peek_leaves_bytes() {
        let mut q = StreamQueue::new(1 << 20);
        write(&mut q, 100, b"abc", None).unwrap();
        let mut out = vec![];
        let _: Result<usize, (usize, ())> = q.peek_with(2, |_, p| {
            out.extend_from_slice(p);
            Ok(())
        });
        assert_eq!(out, b"ab");
        assert_eq!(read(&mut q, 10), b"abc");
    }

    proptest::proptest! {
        #[test]
        fn model(ops in proptest::collection::vec((proptest::bool::ANY, 0usize..9000, proptest::option::of(0u32..5)), 1..60)) {
            let mut q = StreamQueue::new(20_000);
            let mut model: std::collections::VecDeque<u8> = Default::default();
            let mut next = 0u8;
            for (is_write, n, mark) in ops {
                if is_write {
                    let data: Vec<u8> = (0..n).map(|_| { next = next.wrapping_add(1); next }).collect();
                    let room = q.room(16_384);
                    match write(&mut q, 16_384, &data, mark) {
                        Ok(k) => { proptest::prop_assert_eq!(k, n.min(room)); model.extend(&data[..k]); }
                        Err(_) => proptest::prop_assert!(room == 0 || n == 0),
                    }
                } else {
                    let _ = q.take_head_mark();
                    let limit = q.readable();
                    let got = read(&mut q, n);
                    proptest::prop_assert_eq!(got.len(), n.min(limit));
                    for b in got { proptest::prop_assert_eq!(Some(b), model.pop_front()); }
                }
                proptest::prop_assert_eq!(q.len(), model.len());
                proptest::prop_assert!(q.len() <= 16_384);
            }
        }
    }
}
