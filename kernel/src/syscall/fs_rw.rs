//! Moving data between user memory and files for read/write and their vector and positioned
//! forms: chunk by chunk through a bounce buffer, which for a small transfer (at most
//! [`SMALL`] bytes, the common case of a byte to /dev/null or a line to a terminal) lives on the
//! kernel stack, so such a call allocates nothing; larger ones use a heap chunk of at most
//! [`CHUNK`] bytes (allocated fallibly: ENOMEM). Both take the same loop, which checks for a
//! fatal signal before each chunk and stops at a short transfer.

use alloc::vec::Vec;

use exo_abi::fcntl::SEEK_CUR;
use exo_abi::{Errno, KResult};

use crate::fs::{self, OpenFile};
use crate::uaccess::UserSlice;

/// Bounce-buffer chunk between user memory and files.
const CHUNK: usize = 64 * 1024;
/// Transfers up to this many bytes use a buffer on the stack.
const SMALL: usize = 128;

/// Runs `f` on a bounce buffer of `min(len, CHUNK)` bytes (at least one): on the stack for a
/// small transfer, else on the heap.
fn with_bounce<R>(len: usize, f: impl FnOnce(&mut [u8]) -> KResult<R>) -> KResult<R> {
    let size = CHUNK.min(len).max(1);
    if size <= SMALL {
        let mut small = [0u8; SMALL];
        return f(&mut small[..size]);
    }
    let mut chunk = Vec::new();
    chunk.try_reserve_exact(size).map_err(|_| Errno::ENOMEM)?;
    chunk.resize(size, 0);
    f(&mut chunk)
}

/// Reads through a bounce buffer into user memory, chunk by chunk; stops at a short read.
/// `read(chunk, done)` reads the next chunk, `done` bytes into the call. `unread(n)` gives
/// back `n` bytes that were read but could not be copied out (a bad user buffer): a seekable
/// file moves its offset back, so nothing is lost.
pub(super) fn read_to_user(
    buf: UserSlice<u8>,
    mut read: impl FnMut(&mut [u8], u64) -> KResult<usize>,
    unread: impl FnOnce(usize),
) -> KResult<u64> {
    let len = buf.len();
    with_bounce(len, |chunk| {
        let mut done = 0usize;
        while done < len {
            if fs::file::fatal_signal_pending() {
                return if done > 0 { Ok(done as u64) } else { Err(Errno::EINTR) };
            }
            let want = (len - done).min(chunk.len());
            let n = match read(&mut chunk[..want], done as u64) {
                Ok(n) => n,
                Err(_) if done > 0 => return Ok(done as u64),
                Err(e) => return Err(e),
            };
            if let Err(e) = buf.sub(done, n).write_from(&chunk[..n]) {
                unread(n);
                return if done > 0 { Ok(done as u64) } else { Err(e) };
            }
            done += n;
            if n < want {
                break;
            }
        }
        Ok(done as u64)
    })
}

/// Gives `n` bytes back to a file read at its offset (see `read_to_user`).
pub(super) fn unread_from(file: &OpenFile) -> impl FnOnce(usize) + '_ {
    move |n| {
        let _ = file.ops.seek(file, -(n as i64), SEEK_CUR);
    }
}

/// Writes from user memory through a bounce buffer; stops at a short write. `write(chunk,
/// done)` writes the next chunk, `done` bytes into the call.
pub(super) fn write_from_user(buf: UserSlice<u8>, mut write: impl FnMut(&[u8], u64) -> KResult<usize>) -> KResult<u64> {
    let len = buf.len();
    if len == 0 {
        return write(&[], 0).map(|n| n as u64);
    }
    with_bounce(len, |chunk| {
        let mut done = 0usize;
        while done < len {
            if fs::file::fatal_signal_pending() {
                return if done > 0 { Ok(done as u64) } else { Err(Errno::EINTR) };
            }
            let want = (len - done).min(chunk.len());
            buf.sub(done, want).read_into(&mut chunk[..want])?;
            let n = match write(&chunk[..want], done as u64) {
                Ok(n) => n,
                Err(_) if done > 0 => return Ok(done as u64),
                Err(e) => return Err(e),
            };
            done += n;
            if n < want {
                break;
            }
        }
        Ok(done as u64)
    })
}
