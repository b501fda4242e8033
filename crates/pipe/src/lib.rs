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
//! never byte by byte: the kernel holds a spin lock around them.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

#[cfg(test)]
mod tests;

use alloc::collections::VecDeque;

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

/// [`Ring::resize`] refused: the ring holds more bytes than the requested capacity (EBUSY).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy;

/// A bounded FIFO of bytes: a pipe's buffer.
#[derive(Clone, Debug)]
pub struct Ring {
    data: VecDeque<u8>,
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
        Ring { data: VecDeque::new(), capacity }
    }

    /// The bytes held.
    #[inline]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The most bytes the ring holds.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The free room: how many more bytes fit.
    #[inline]
    pub fn space(&self) -> usize {
        self.capacity.saturating_sub(self.data.len())
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
        self.space() >= left.min(PIPE_BUF)
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
        let n = buf.len().min(self.data.len());
        if n == 0 {
            return 0;
        }
        let (front, back) = self.data.as_slices();
        let first = n.min(front.len());
        buf[..first].copy_from_slice(&front[..first]);
        buf[first..n].copy_from_slice(&back[..n - first]);
        self.data.drain(..n);
        n
    }

    /// Appends the part of `buf` that [`Ring::chunk`] allows; returns its length. Nothing is
    /// written on an error.
    #[inline]
    pub fn write(&mut self, buf: &[u8]) -> Result<usize, WriteError> {
        let n = self.chunk(buf.len()).ok_or(WriteError::Full)?;
        if self.data.try_reserve(n).is_err() {
            return Err(WriteError::NoMemory);
        }
        // `n <= buf.len()`: `chunk` never gives more than it was asked for.
        self.data.extend(&buf[..n]);
        Ok(n)
    }

    /// Sets the capacity to `capacity` (rounded up to [`PIPE_BUF`] like [`Ring::new`]); refused
    /// if the ring holds more bytes than that. The storage is given back when it shrinks.
    pub fn resize(&mut self, capacity: usize) -> Result<(), Busy> {
        let capacity = capacity.max(PIPE_BUF);
        if self.data.len() > capacity {
            return Err(Busy);
        }
        self.capacity = capacity;
        self.data.shrink_to(capacity);
        Ok(())
    }
}
