//! The bytes of one socket transfer: a cursor over the user's iovecs (read/write, send/recv,
//! sendmsg/recvmsg) or over a kernel buffer (sendfile, splice and in-kernel callers). Protocols
//! move bytes only through [`MsgData::copy_in`] and [`MsgData::copy_out`], never holding a spin
//! lock while they do: a user copy can fault and sleep.

use alloc::vec::Vec;

use exo_abi::types::Iovec;
use exo_abi::{Errno, KResult};

use crate::uaccess::{UserPtr, UserSlice};

enum Source<'a> {
    /// User memory: the iovecs, the one being worked on, and the offset inside it.
    User { vecs: Vec<Iovec>, index: usize, offset: usize },
    /// One user buffer (read/write/send/recv): no iovec array to allocate.
    UserOne { buf: UserSlice<u8>, offset: usize },
    /// Kernel bytes to send.
    KernelIn { data: &'a [u8], offset: usize },
    /// A kernel buffer to receive into.
    KernelOut { data: &'a mut [u8], offset: usize },
}

/// A cursor over the bytes of one transfer. `len()` is fixed; `moved()` grows as
/// protocols copy.
pub struct MsgData<'a> {
    source: Source<'a>,
    len: usize,
    moved: usize,
}

impl<'a> MsgData<'a> {
    /// One user buffer.
    pub fn user(buf: UserSlice<u8>) -> MsgData<'static> {
        MsgData { len: buf.len(), source: Source::UserOne { buf, offset: 0 }, moved: 0 }
    }

    /// The user's iovecs (already read and checked: their lengths add up to at most
    /// `isize::MAX`, see `syscall::fs_vec::read_iovecs`).
    pub fn user_vectors(vecs: Vec<Iovec>) -> MsgData<'static> {
        let len = vecs.iter().fold(0usize, |sum, v| sum.saturating_add(v.len as usize));
        MsgData { len, source: Source::User { vecs, index: 0, offset: 0 }, moved: 0 }
    }

    /// Kernel bytes to send.
    pub fn kernel_in(data: &'a [u8]) -> MsgData<'a> {
        MsgData { len: data.len(), source: Source::KernelIn { data, offset: 0 }, moved: 0 }
    }

    /// A kernel buffer to receive into.
    pub fn kernel_out(data: &'a mut [u8]) -> MsgData<'a> {
        MsgData { len: data.len(), source: Source::KernelOut { data, offset: 0 }, moved: 0 }
    }

    /// Total bytes of the transfer.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes copied so far.
    pub fn moved(&self) -> usize {
        self.moved
    }

    /// Bytes not yet copied.
    pub fn remaining(&self) -> usize {
        self.len - self.moved
    }

    /// The next piece of the transfer at the cursor, at most `max` bytes long (`max` > 0 and at
    /// most `remaining()`), without moving the cursor: user memory, or an offset into the
    /// kernel buffer. Empty iovecs are stepped over.
    fn next_piece(&mut self, max: usize) -> KResult<(Piece, usize)> {
        match &mut self.source {
            Source::UserOne { buf, offset } => Ok((Piece::User(buf.sub(*offset, max)), max)),
            Source::User { vecs, index, offset } => loop {
                let v = vecs.get(*index).ok_or(Errno::EFAULT)?;
                let part = (v.len as usize - *offset).min(max);
                if part == 0 {
                    *index += 1;
                    *offset = 0;
                    continue;
                }
                let slice = UserSlice::new(UserPtr::<u8>::new(v.base + *offset as u64), part)?;
                return Ok((Piece::User(slice), part));
            },
            Source::KernelIn { offset, .. } | Source::KernelOut { offset, .. } => Ok((Piece::Kernel(*offset), max)),
        }
    }

    /// Moves the cursor `n` bytes on (at most `remaining()`).
    fn advance(&mut self, n: usize) {
        let mut left = n.min(self.remaining());
        self.moved += left;
        match &mut self.source {
            Source::UserOne { offset, .. } | Source::KernelIn { offset, .. } | Source::KernelOut { offset, .. } => *offset += left,
            Source::User { vecs, index, offset } => {
                while left > 0 {
                    let Some(v) = vecs.get(*index) else { break };
                    let part = (v.len as usize - *offset).min(left);
                    *offset += part;
                    left -= part;
                    if *offset == v.len as usize {
                        *index += 1;
                        *offset = 0;
                    }
                }
            }
        }
    }

    /// Copies the next bytes of the transfer into `out` (sending): `min(out.len(), remaining)`
    /// bytes. A fault gives EFAULT if nothing was copied by this call, else the count copied.
    pub fn copy_in(&mut self, out: &mut [u8]) -> KResult<usize> {
        let want = out.len().min(self.remaining());
        let mut done = 0;
        while done < want {
            let (piece, n) = match self.next_piece(want - done) {
                Ok(p) => p,
                Err(e) => return fault(done, e),
            };
            let dest = &mut out[done..done + n];
            match (piece, &self.source) {
                (Piece::User(slice), _) => {
                    if let Err(e) = slice.read_into(dest) {
                        return fault(done, e);
                    }
                }
                (Piece::Kernel(at), Source::KernelIn { data, .. }) => dest.copy_from_slice(&data[at..at + n]),
                (Piece::Kernel(_), _) => return Err(Errno::EINVAL),
            }
            self.advance(n);
            done += n;
        }
        Ok(done)
    }

    /// Copies `data` (at most `remaining()` bytes of it) to the next bytes of the transfer
    /// (receiving). A fault gives EFAULT if nothing was copied by this call, else the count.
    pub fn copy_out(&mut self, data: &[u8]) -> KResult<usize> {
        let want = data.len().min(self.remaining());
        let mut done = 0;
        while done < want {
            let (piece, n) = match self.next_piece(want - done) {
                Ok(p) => p,
                Err(e) => return fault(done, e),
            };
            let src = &data[done..done + n];
            match (piece, &mut self.source) {
                (Piece::User(slice), _) => {
                    if let Err(e) = slice.write_from(src) {
                        return fault(done, e);
                    }
                }
                (Piece::Kernel(at), Source::KernelOut { data: out, .. }) => out[at..at + n].copy_from_slice(src),
                (Piece::Kernel(_), _) => return Err(Errno::EINVAL),
            }
            self.advance(n);
            done += n;
        }
        Ok(done)
    }

    /// Skips `n` bytes (a datagram's truncated tail, MSG_TRUNC on a stream).
    pub fn skip(&mut self, n: usize) {
        self.advance(n);
    }
}

/// One piece of a transfer: user memory, or an offset into the kernel buffer.
enum Piece {
    User(UserSlice<u8>),
    Kernel(usize),
}

fn fault(done: usize, e: Errno) -> KResult<usize> {
    if done > 0 {
        Ok(done)
    } else {
        Err(e)
    }
}
