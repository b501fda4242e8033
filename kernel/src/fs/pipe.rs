//! Pipes: a 64 KiB ring between a read end and a write end. Reads block while the pipe is empty
//! and a writer exists (EOF once none); writes block while it is full and a reader exists
//! (EPIPE and SIGPIPE once none); writes of up to PIPE_BUF bytes are atomic.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};

use exo_abi::fcntl::{O_RDONLY, O_WRONLY};
use exo_abi::poll::*;
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use spin::Mutex;

use super::file::{notify_readiness, FileOps, OpenFile, PollBits};
use crate::sched::wait::{WaitOutcome, WaitQueue};

/// Capacity of a pipe.
pub const PIPE_CAPACITY: usize = 64 * 1024;
/// Writes up to this size are never interleaved with other writes.
pub const PIPE_BUF: usize = 4096;

/// The shared part of a pipe.
pub struct Pipe {
    buffer: Mutex<VecDeque<u8>>,
    readers: AtomicUsize,
    writers: AtomicUsize,
    /// Woken when data or space appears, or an end closes.
    changed: WaitQueue,
    ino: u64,
}

static NEXT_INO: AtomicUsize = AtomicUsize::new(1);

impl Pipe {
    fn new() -> Arc<Pipe> {
        Arc::new(Pipe {
            buffer: Mutex::new(VecDeque::new()),
            readers: AtomicUsize::new(0),
            writers: AtomicUsize::new(0),
            changed: WaitQueue::new(),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed) as u64,
        })
    }

    fn stat(&self) -> Stat {
        Stat { st_mode: exo_abi::mode::S_IFIFO | 0o600, st_ino: self.ino, st_blksize: PIPE_BUF as i64, st_nlink: 1, ..Stat::default() }
    }
}

/// Creates a pipe: (read end, write end) with the given extra status flags (O_NONBLOCK).
pub fn new_pipe(flags: u32) -> (Arc<OpenFile>, Arc<OpenFile>) {
    let pipe = Pipe::new();
    pipe.readers.store(1, Ordering::SeqCst);
    pipe.writers.store(1, Ordering::SeqCst);
    let read = OpenFile::new(Arc::new(PipeReader(pipe.clone())), O_RDONLY | flags);
    let write = OpenFile::new(Arc::new(PipeWriter(pipe)), O_WRONLY | flags);
    (read, write)
}

fn interrupted() -> impl Fn() -> bool {
    let task = crate::process::current();
    move || task.as_ref().is_some_and(|t| t.interrupted())
}

/// The read end.
pub struct PipeReader(Arc<Pipe>);
/// The write end.
pub struct PipeWriter(Arc<Pipe>);

impl FileOps for PipeReader {
    fn read(&self, file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let pipe = &self.0;
        loop {
            {
                let mut data = pipe.buffer.lock();
                if !data.is_empty() {
                    let n = buf.len().min(data.len());
                    for (slot, byte) in buf.iter_mut().zip(data.drain(..n)) {
                        *slot = byte;
                    }
                    drop(data);
                    pipe.changed.wake_all();
                    notify_readiness();
                    return Ok(n);
                }
                if pipe.writers.load(Ordering::SeqCst) == 0 {
                    return Ok(0);
                }
            }
            if file.nonblocking() {
                return Err(Errno::EAGAIN);
            }
            let outcome = pipe.changed.wait_interruptible(
                || !pipe.buffer.lock().is_empty() || pipe.writers.load(Ordering::SeqCst) == 0,
                interrupted(),
                None,
            );
            if outcome == WaitOutcome::Interrupted {
                return Err(Errno::ERESTARTSYS);
            }
        }
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(self.0.stat())
    }

    fn ioctl(&self, _file: &OpenFile, request: u32, arg: u64) -> KResult<u64> {
        if request == exo_abi::ioctl::FIONREAD {
            let n = self.0.buffer.lock().len() as i32;
            crate::uaccess::write(arg, &n)?;
            return Ok(0);
        }
        Err(Errno::ENOTTY)
    }

    fn poll(&self) -> PollBits {
        let mut bits = 0;
        if !self.0.buffer.lock().is_empty() {
            bits |= POLLIN as u32;
        }
        if self.0.writers.load(Ordering::SeqCst) == 0 {
            bits |= POLLHUP as u32;
        }
        bits
    }

    fn release(&self) {
        self.0.readers.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.wake_all();
        notify_readiness();
    }
}

impl FileOps for PipeWriter {
    fn write(&self, file: &OpenFile, buf: &[u8]) -> KResult<usize> {
        let pipe = &self.0;
        let mut written = 0;
        while written < buf.len() {
            {
                if pipe.readers.load(Ordering::SeqCst) == 0 {
                    if let Some(task) = crate::process::current() {
                        let info = exo_abi::signal::SigInfo::new(exo_abi::signal::SIGPIPE, exo_abi::signal::SI_USER);
                        crate::process::signal::send_to_task(&task, exo_abi::signal::SIGPIPE, info);
                    }
                    return if written > 0 { Ok(written) } else { Err(Errno::EPIPE) };
                }
                let mut data = pipe.buffer.lock();
                let space = PIPE_CAPACITY - data.len();
                let left = buf.len() - written;
                // A small write goes in whole or waits; a large one may be split.
                let fits = if left <= PIPE_BUF { space >= left } else { space > 0 };
                if fits {
                    let n = left.min(space);
                    data.extend(&buf[written..written + n]);
                    written += n;
                    drop(data);
                    pipe.changed.wake_all();
                    notify_readiness();
                    continue;
                }
            }
            if file.nonblocking() {
                return if written > 0 { Ok(written) } else { Err(Errno::EAGAIN) };
            }
            let need = (buf.len() - written).min(PIPE_BUF);
            let outcome = pipe.changed.wait_interruptible(
                || PIPE_CAPACITY - pipe.buffer.lock().len() >= need || pipe.readers.load(Ordering::SeqCst) == 0,
                interrupted(),
                None,
            );
            if outcome == WaitOutcome::Interrupted {
                return if written > 0 { Ok(written) } else { Err(Errno::ERESTARTSYS) };
            }
        }
        Ok(written)
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(self.0.stat())
    }

    fn poll(&self) -> PollBits {
        let mut bits = 0;
        if PIPE_CAPACITY - self.0.buffer.lock().len() >= PIPE_BUF {
            bits |= POLLOUT as u32;
        }
        if self.0.readers.load(Ordering::SeqCst) == 0 {
            bits |= POLLERR as u32;
        }
        bits
    }

    fn release(&self) {
        self.0.writers.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.wake_all();
        notify_readiness();
    }
}
