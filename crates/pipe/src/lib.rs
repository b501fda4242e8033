//! `exo-pipe`: the byte ring of a pipe and the rules of writing into it, the pure part of the
//! kernel's pipes (`kernel/src/fs/pipe.rs` keeps the ends, the waiting, SIGPIPE, the lock and
//! the user copies; FIFOs share the same pipe object).
//!
//! - A [`Ring`] is a FIFO of bytes bounded by its capacity (64 KiB, [`DEFAULT_CAPACITY`], for
//!   every pipe today; never less than [`PIPE_BUF`]). Its storage grows on demand, with a
//!   fallible reservation, so an idle pipe costs no buffer.
//! - Reads ([`Ring::read`]) take the oldest bytes, as many as fit in the caller's slice.
//! - Writes ([`Ring::write`]) follow POSIX's atomicity rule: a write of at most [`PIPE_BUF`]
//!   bytes goes in whole or not at all (so it is never interleaved with other writers' data);
//!   a larger one puts in whatever fits, the caller waiting for room and writing the rest later.
//!   [`Ring::chunk`] is that decision on its own; [`Ring::room_for`] is the wake-up condition of
//!   a blocked writer, [`Ring::writable`] what `poll` reports as POLLOUT.
//! - [`Ring::resize`] changes the capacity (what an `F_SETPIPE_SZ` would do): never below the
//!   bytes held ([`Busy`]).
//!
//! Bytes move with whole-slice copies (at most two `memcpy`s each way, the ring's two halves),
//! never byte by byte. [`Ring::read_with`] and [`Ring::write_with`] hand those pieces to a
//! copy closure that may fail (the kernel copies straight between user memory and the ring,
//! with no bounce buffer): only what was copied leaves or enters the ring.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

#[cfg(test)]
mod tests;

use alloc::vec::Vec;

/// Writes of up to this many bytes are atomic: never split, never interleaved.
pub const PIPE_BUF: usize = 4096;
/// The capacity of a new pipe (Linux's default, 16 pages).
pub const DEFAULT_CAPACITY: usize = 64 * 1024;

/// Why [`Ring::write`] put nothing in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// Not enough room under the atomicity rule: the writer waits (or gets EAGAIN).
    Full,
    /// The storage could not grow (ENOMEM, or the count written so far).
    NoMemory,
}

/// Why [`Ring::write_with`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteWithError<E> {
    /// The ring refused the write ([`Ring::write`]'s errors); nothing was appended.
    Ring(WriteError),
    /// The copy refused a piece: how many bytes were appended before it, and its error.
    Copy(usize, E),
}

/// [`Ring::resize`] refused: the ring holds more bytes than the requested capacity (EBUSY).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy;

/// [`Ring::room_for`] from a ring's capacity and the bytes it holds: what a blocked writer
/// checks without taking the ring's lock (the kernel mirrors the count in an atomic).
#[inline]
pub fn room_for(capacity: usize, held: usize, left: usize) -> bool {
    capacity.saturating_sub(held) >= left.min(PIPE_BUF)
}

/// A bounded FIFO of bytes: a pipe's buffer. The storage is a circular buffer that grows on
/// demand (doubling, at least [`PIPE_BUF`], never beyond the capacity); the bytes held are the
/// `len` bytes from `head`, wrapping at the storage's end.
#[derive(Clone, Debug)]
pub struct Ring {
    buf: Vec<u8>,
    head: usize,
    len: usize,
    capacity: usize,
}

impl Default for Ring {
    fn default() -> Self {
        Ring::new(DEFAULT_CAPACITY)
    }
}

impl Ring {
    /// An empty ring holding at most `capacity` bytes (at least [`PIPE_BUF`]: a smaller
    /// capacity is rounded up, so that every atomic write can go in eventually).
    pub const fn new(capacity: usize) -> Ring {
        let capacity = if capacity < PIPE_BUF { PIPE_BUF } else { capacity };
        Ring { buf: Vec::new(), head: 0, len: 0, capacity }
    }

    /// The bytes held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most bytes the ring holds.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The free room: how many more bytes fit.
    #[inline]
    pub fn space(&self) -> usize {
        self.capacity.saturating_sub(self.len)
    }

    /// How many of the `left` bytes a writer still has go in now: all of them or none
    /// (`None`) for a write of up to [`PIPE_BUF`] bytes, as many as fit (`None` if none fits)
    /// for a larger one.
    #[inline]
    pub fn chunk(&self, left: usize) -> Option<usize> {
        let space = self.space();
        let fits = if left <= PIPE_BUF { space >= left } else { space > 0 };
        fits.then(|| left.min(space))
    }

    /// Whether a writer blocked with `left` bytes to go should try again: there is room for
    /// them, or for [`PIPE_BUF`] bytes of a larger write.
    #[inline]
    pub fn room_for(&self, left: usize) -> bool {
        room_for(self.capacity, self.len, left)
    }

    /// Whether an atomic write of [`PIPE_BUF`] bytes would go in now (POLLOUT).
    #[inline]
    pub fn writable(&self) -> bool {
        self.room_for(PIPE_BUF)
    }

    /// Moves the oldest bytes into `buf`, as many as it holds and the ring has; returns the
    /// count (0 when the ring is empty or `buf` is).
    #[inline]
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        let result: Result<usize, (usize, ())> = self.read_with(buf.len(), |at, part| {
            buf[at..at + part.len()].copy_from_slice(part);
            Ok(())
        });
        result.unwrap_or_else(|(n, ())| n)
    }

    /// Takes up to `max` of the oldest bytes, handing them to `copy(offset, bytes)` in at most
    /// two pieces (`offset`: how many bytes came before in this read). Only the pieces `copy`
    /// accepted leave the ring: returns their length, or `(accepted, error)` when a piece was
    /// refused (a faulting user copy), the refused piece and what follows staying in the ring.
    pub fn read_with<E>(&mut self, max: usize, mut copy: impl FnMut(usize, &[u8]) -> Result<(), E>) -> Result<usize, (usize, E)> {
        let n = max.min(self.len);
        let mut done = 0;
        while done < n {
            // `head < buf.len()` whenever bytes are held; the piece stops at the storage's end.
            let piece = (n - done).min(self.buf.len() - self.head);
            let result = copy(done, &self.buf[self.head..self.head + piece]);
            if let Err(e) = result {
                return Err((done, e));
            }
            self.consume(piece);
            done += piece;
        }
        Ok(done)
    }

    /// The up to `max` oldest bytes without taking them, in at most two pieces (the second is
    /// empty unless they wrap around the storage's end): what `tee` copies and `splice` offers
    /// to a file before [`Ring::discard`]ing what it took.
    pub fn peek(&self, max: usize) -> (&[u8], &[u8]) {
        let n = max.min(self.len);
        if n == 0 {
            return (&[], &[]);
        }
        let first = n.min(self.buf.len() - self.head);
        (&self.buf[self.head..self.head + first], &self.buf[..n - first])
    }

    /// Drops the `n` oldest bytes (at most the bytes held).
    pub fn discard(&mut self, n: usize) {
        self.consume(n.min(self.len));
    }

    /// Drops the `n` oldest bytes (`n <= len`).
    fn consume(&mut self, n: usize) {
        self.len -= n;
        self.head += n;
        if self.head >= self.buf.len() {
            self.head -= self.buf.len();
        }
        if self.len == 0 {
            // Keeps the next write in one piece.
            self.head = 0;
        }
    }

    /// Appends the part of `buf` that [`Ring::chunk`] allows; returns its length. Nothing is
    /// written on an error.
    #[inline]
    pub fn write(&mut self, buf: &[u8]) -> Result<usize, WriteError> {
        let result: Result<usize, WriteWithError<()>> = self.write_with(buf.len(), |at, part| {
            part.copy_from_slice(&buf[at..at + part.len()]);
            Ok(())
        });
        result.map_err(|e| match e {
            WriteWithError::Ring(e) => e,
            WriteWithError::Copy(_, ()) => WriteError::Full,
        })
    }

    /// Appends the part of a `left`-byte write that [`Ring::chunk`] allows, filled by
    /// `copy(offset, room)` in at most two pieces (`offset`: how many bytes of this write came
    /// before). A refused piece (a faulting user copy) ends the write: for an atomic write
    /// (at most [`PIPE_BUF`] bytes) nothing is appended, for a larger one the pieces accepted
    /// before it are (`Copy(appended, error)`). Returns the count appended.
    pub fn write_with<E>(&mut self, left: usize, mut copy: impl FnMut(usize, &mut [u8]) -> Result<(), E>) -> Result<usize, WriteWithError<E>> {
        if left == 0 {
            return Ok(0);
        }
        let n = self.chunk(left).ok_or(WriteWithError::Ring(WriteError::Full))?;
        self.grow(self.len + n).map_err(WriteWithError::Ring)?;
        let size = self.buf.len();
        // The first free byte, and the free room up to the storage's end.
        let mut tail = self.head + self.len;
        if tail >= size {
            tail -= size;
        }
        let mut done = 0;
        while done < n {
            let piece = (n - done).min(size - tail);
            if let Err(e) = copy(done, &mut self.buf[tail..tail + piece]) {
                let kept = if left <= PIPE_BUF { 0 } else { done };
                self.len += kept;
                return Err(WriteWithError::Copy(kept, e));
            }
            done += piece;
            tail = if tail + piece == size { 0 } else { tail + piece };
        }
        self.len += n;
        Ok(n)
    }

    /// Makes the storage hold at least `need` bytes (`need <= capacity`): doubling, at least
    /// [`PIPE_BUF`], at most the capacity; the bytes held are moved to the start. The test is
    /// inlined into every write; the growth is not.
    #[inline]
    fn grow(&mut self, need: usize) -> Result<(), WriteError> {
        if need <= self.buf.len() {
            return Ok(());
        }
        self.grow_to(need)
    }

    #[inline(never)]
    fn grow_to(&mut self, need: usize) -> Result<(), WriteError> {
        let size = need.max(self.buf.len().saturating_mul(2)).max(PIPE_BUF).min(self.capacity).max(need);
        let mut bigger = Vec::new();
        bigger.try_reserve_exact(size).map_err(|_| WriteError::NoMemory)?;
        let _ = self.read_with(self.len, |_, part| -> Result<(), ()> {
            bigger.extend_from_slice(part);
            Ok(())
        });
        self.len = bigger.len();
        self.head = 0;
        bigger.resize(size, 0);
        self.buf = bigger;
        Ok(())
    }

    /// Sets the capacity to `capacity` (rounded up to [`PIPE_BUF`] like [`Ring::new`]); refused
    /// if the ring holds more bytes than that. The storage is given back when it shrinks.
    pub fn resize(&mut self, capacity: usize) -> Result<(), Busy> {
        let capacity = capacity.max(PIPE_BUF);
        if self.len > capacity {
            return Err(Busy);
        }
        self.capacity = capacity;
        if self.buf.len() > capacity {
            // Bytes to the start, then cut the storage down to the new capacity.
            self.buf.rotate_left(self.head);
            self.head = 0;
            self.buf.truncate(capacity);
            self.buf.shrink_to_fit();
        }
        Ok(())
    }
}
