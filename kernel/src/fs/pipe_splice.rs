//! The pipe side of `splice`, `tee` and `vmsplice` (a child of `pipe.rs`, for the ring and
//! its wait queue): moving bytes from a pipe into a sink (a file's write) without losing what
//! the sink refused, filling a pipe from a source (a file's read) under the pipe's lock so the
//! room read for cannot vanish, and pipe-to-pipe moves and copies with both rings locked in
//! address order. Waits are interruptible (ERESTARTSYS); `nonblocking` gives EAGAIN.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use exo_abi::{Errno, KResult};

use super::{Pipe, PipeEnd, PIPE_CAPACITY};
use crate::fs::file::OpenFile;
use crate::sched::wait::WaitOutcome;

/// Largest transfer of one call through a bounce buffer (file → pipe).
const CHUNK: usize = 64 * 1024;

/// The pipe end behind `file`, if it is one (anonymous pipe or FIFO).
pub fn end_of(file: &OpenFile) -> Option<&PipeEnd> {
    file.ops.as_plain_any().and_then(|a| a.downcast_ref::<PipeEnd>())
}

impl PipeEnd {
    /// The pipe.
    pub fn pipe(&self) -> &Arc<Pipe> {
        &self.pipe
    }
}

/// SIGPIPE to the caller, EPIPE.
fn broken() -> Errno {
    if let Some(task) = crate::process::current() {
        let info = exo_abi::signal::SigInfo::new(exo_abi::signal::SIGPIPE, exo_abi::signal::SI_USER);
        crate::process::signal::send_to_task(&task, exo_abi::signal::SIGPIPE, info);
    }
    Errno::EPIPE
}

impl Pipe {
    /// Waits until the pipe holds bytes (`true`) or has no writer left (`false`: end of file).
    fn wait_data(&self, nonblocking: bool) -> KResult<bool> {
        loop {
            if self.held() != 0 {
                return Ok(true);
            }
            if self.writers() == 0 {
                return Ok(false);
            }
            if nonblocking {
                return Err(Errno::EAGAIN);
            }
            let outcome = self.changed.wait_interruptible(|| self.held() != 0 || self.writers() == 0, crate::sched::signal_check(), None);
            if outcome == WaitOutcome::Interrupted {
                return Err(Errno::ERESTARTSYS);
            }
        }
    }

    /// Waits until the pipe has room; EPIPE (and SIGPIPE) without a reader.
    fn wait_room(&self, nonblocking: bool) -> KResult<()> {
        loop {
            if self.readers() == 0 {
                return Err(broken());
            }
            if self.held() < PIPE_CAPACITY {
                return Ok(());
            }
            if nonblocking {
                return Err(Errno::EAGAIN);
            }
            let outcome = self.changed.wait_interruptible(
                || self.held() < PIPE_CAPACITY || self.readers() == 0,
                crate::sched::signal_check(),
                None,
            );
            if outcome == WaitOutcome::Interrupted {
                return Err(Errno::ERESTARTSYS);
            }
        }
    }

    /// Offers up to `len` bytes of the pipe to `sink` (which returns how many it took; an
    /// error with nothing taken is the call's error) and removes what it took. 0 at end of
    /// file.
    pub fn splice_out(&self, len: usize, nonblocking: bool, mut sink: impl FnMut(&[u8]) -> KResult<usize>) -> KResult<usize> {
        if !self.wait_data(nonblocking)? {
            return Ok(0);
        }
        let mut ring = self.buffer.lock();
        let (first, second) = ring.peek(len);
        let mut done = 0;
        let mut failure = None;
        for part in [first, second] {
            if part.is_empty() {
                break;
            }
            match sink(part) {
                Ok(n) => {
                    done += n;
                    if n < part.len() {
                        break;
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        ring.discard(done);
        self.held.store(ring.len(), Ordering::SeqCst);
        drop(ring);
        if done > 0 {
            self.changed(false, true);
            return Ok(done);
        }
        failure.map_or(Ok(0), Err)
    }

    /// Fills the pipe with up to `len` bytes that `source` reads into the buffer it is given
    /// (returning the count, 0 at its end), with the pipe locked so that the room stays.
    pub fn splice_in(&self, len: usize, nonblocking: bool, source: impl FnOnce(&mut [u8]) -> KResult<usize>) -> KResult<usize> {
        let mut bounce = Vec::new();
        let want = len.min(CHUNK);
        bounce.try_reserve_exact(want).map_err(|_| Errno::ENOMEM)?;
        bounce.resize(want, 0);
        let (mut ring, room) = loop {
            self.wait_room(nonblocking)?;
            let ring = self.buffer.lock();
            let room = ring.space().min(want);
            // Filled by another writer meanwhile: wait again.
            if room > 0 || want == 0 {
                break (ring, room);
            }
        };
        if room == 0 {
            return Ok(0);
        }
        let n = source(&mut bounce[..room])?.min(room);
        if n == 0 {
            return Ok(0);
        }
        let written = ring.write(&bounce[..n]).map_err(|_| Errno::ENOMEM)?;
        self.held.store(ring.len(), Ordering::SeqCst);
        drop(ring);
        self.changed(true, false);
        Ok(written)
    }
}

/// Moves (`consume`, splice) or copies (tee) up to `len` bytes from pipe `src` to pipe `dst`
/// (different pipes): waits for bytes in `src` (0 once it has no writer) and room in `dst`
/// (EPIPE without a reader).
pub fn pipe_to_pipe(src: &Arc<Pipe>, dst: &Arc<Pipe>, len: usize, nonblocking: bool, consume: bool) -> KResult<usize> {
    if len == 0 {
        return Ok(0);
    }
    loop {
        if !src.wait_data(nonblocking)? {
            return Ok(0);
        }
        dst.wait_room(nonblocking)?;
        // Both rings, in address order (two splices in opposite directions cannot deadlock).
        let src_first = Arc::as_ptr(src) < Arc::as_ptr(dst);
        let (mut a, mut b) = if src_first {
            let a = src.buffer.lock();
            (a, dst.buffer.lock())
        } else {
            let b = dst.buffer.lock();
            (src.buffer.lock(), b)
        };
        let (from, to) = (&mut *a, &mut *b);
        if dst.readers() == 0 {
            return Err(broken());
        }
        let n = len.min(from.len()).min(to.space());
        if n == 0 {
            // Emptied or filled by someone else meanwhile: wait again.
            continue;
        }
        let (first, second) = from.peek(n);
        let mut written = to.write(first).map_err(|_| Errno::ENOMEM)?;
        if written == first.len() && !second.is_empty() {
            written += to.write(second).map_err(|_| Errno::ENOMEM)?;
        }
        if consume {
            from.discard(written);
        }
        src.held.store(from.len(), Ordering::SeqCst);
        dst.held.store(to.len(), Ordering::SeqCst);
        drop(a);
        drop(b);
        if consume {
            src.changed(false, true);
        }
        dst.changed(true, false);
        return Ok(written);
    }
}

impl Pipe {
    /// vmsplice into the pipe: write(2)'s rules from user memory.
    pub fn vmsplice_in(&self, buf: crate::uaccess::UserSlice<u8>, nonblocking: bool) -> KResult<usize> {
        self.write_user(buf, nonblocking)
    }

    /// vmsplice out of the pipe: read(2)'s rules into user memory.
    pub fn vmsplice_out(&self, buf: crate::uaccess::UserSlice<u8>, nonblocking: bool) -> KResult<usize> {
        self.read_user(buf, nonblocking)
    }
}
