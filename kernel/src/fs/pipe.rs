//! Pipes: a 64 KiB ring between readers and writers, shared by anonymous pipes (`pipe2`) and
//! named pipes (FIFOs, `fs/fifo.rs`). Reads block while the pipe is empty and a writer exists
//! (EOF once none); writes block while it is full and a reader exists (EPIPE and SIGPIPE once
//! none); writes of up to PIPE_BUF bytes are atomic. An open file refers to the pipe through a
//! [`PipeEnd`]: its read end, its write end, or both (a FIFO opened O_RDWR).
//! The ring itself and its write rules (atomicity, partial writes, when a blocked writer may
//! go on) are the host-tested crate `exo-pipe`; this file keeps the ends, the lock, the waiting
//! and the signals.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use exo_abi::fcntl::{O_RDONLY, O_WRONLY};
use exo_abi::poll::*;
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use exo_pipe::{Ring, WriteError};
use exo_vfs::PathRef;
use crate::spinlock::SpinLock as Mutex;

use super::file::{notify_readiness, FileOps, OpenFile, PollBits};
use crate::sched::wait::{WaitOutcome, WaitQueue};

/// Capacity of a pipe.
pub const PIPE_CAPACITY: usize = exo_pipe::DEFAULT_CAPACITY;
/// Writes up to this size are never interleaved with other writes.
pub const PIPE_BUF: usize = exo_pipe::PIPE_BUF;

/// The shared part of a pipe.
pub struct Pipe {
    buffer: Mutex<Ring>,
    readers: AtomicUsize,
    writers: AtomicUsize,
    /// How many times a read end / write end was opened (a FIFO's open waits for these to move).
    reader_opens: AtomicUsize,
    writer_opens: AtomicUsize,
    /// Events that matter to the read side (data written, a writer gone) and to the write side
    /// (data read, a reader gone): what edge-triggered epoll reports.
    read_side_events: AtomicU64,
    write_side_events: AtomicU64,
    /// Woken when data or space appears, or an end opens or closes.
    pub(super) changed: WaitQueue,
    ino: u64,
}

static NEXT_INO: AtomicUsize = AtomicUsize::new(1);

impl Pipe {
    /// A pipe with no ends yet.
    pub fn new() -> Arc<Pipe> {
        Arc::new(Pipe {
            buffer: Mutex::new(Ring::new(PIPE_CAPACITY)),
            readers: AtomicUsize::new(0),
            writers: AtomicUsize::new(0),
            reader_opens: AtomicUsize::new(0),
            writer_opens: AtomicUsize::new(0),
            read_side_events: AtomicU64::new(0),
            write_side_events: AtomicU64::new(0),
            changed: WaitQueue::new(),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed) as u64,
        })
    }

    pub fn readers(&self) -> usize {
        self.readers.load(Ordering::SeqCst)
    }

    pub fn writers(&self) -> usize {
        self.writers.load(Ordering::SeqCst)
    }

    pub fn reader_opens(&self) -> usize {
        self.reader_opens.load(Ordering::SeqCst)
    }

    pub fn writer_opens(&self) -> usize {
        self.writer_opens.load(Ordering::SeqCst)
    }

    /// Wakes everyone interested in this pipe: its blocked readers/writers and the pollers.
    fn changed(&self, read_side: bool, write_side: bool) {
        if read_side {
            self.read_side_events.fetch_add(1, Ordering::SeqCst);
        }
        if write_side {
            self.write_side_events.fetch_add(1, Ordering::SeqCst);
        }
        self.changed.wake_all();
        notify_readiness();
    }

    /// Makes a new end of this pipe (counted as a reader and/or a writer until released).
    pub fn open_end(self: &Arc<Self>, reads: bool, writes: bool, node: Option<PathRef>) -> PipeEnd {
        // A reader opened now only sees a hang-up once a writer that came later has left.
        let hup_base = self.writer_opens();
        if reads {
            self.readers.fetch_add(1, Ordering::SeqCst);
            self.reader_opens.fetch_add(1, Ordering::SeqCst);
        }
        if writes {
            self.writers.fetch_add(1, Ordering::SeqCst);
            self.writer_opens.fetch_add(1, Ordering::SeqCst);
        }
        self.changed(reads || writes, reads || writes);
        PipeEnd { pipe: self.clone(), reads, writes, node, hup_base }
    }

    fn read(&self, buf: &mut [u8], nonblocking: bool) -> KResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            {
                let mut data = self.buffer.lock();
                if !data.is_empty() {
                    // Whole-slice copies: the lock is held for a memcpy, not a byte loop.
                    let n = data.read(buf);
                    drop(data);
                    self.changed(false, true);
                    return Ok(n);
                }
                if self.writers() == 0 {
                    return Ok(0);
                }
            }
            if nonblocking {
                return Err(Errno::EAGAIN);
            }
            let outcome = self.changed.wait_interruptible(
                || !self.buffer.lock().is_empty() || self.writers() == 0,
                crate::sched::signal_check(),
                None,
            );
            if outcome == WaitOutcome::Interrupted {
                return Err(Errno::ERESTARTSYS);
            }
        }
    }

    fn write(&self, buf: &[u8], nonblocking: bool) -> KResult<usize> {
        let mut written = 0;
        while written < buf.len() {
            {
                if self.readers() == 0 {
                    if let Some(task) = crate::process::current() {
                        let info = exo_abi::signal::SigInfo::new(exo_abi::signal::SIGPIPE, exo_abi::signal::SI_USER);
                        crate::process::signal::send_to_task(&task, exo_abi::signal::SIGPIPE, info);
                    }
                    return if written > 0 { Ok(written) } else { Err(Errno::EPIPE) };
                }
                let mut data = self.buffer.lock();
                // A small write goes in whole or waits; a large one may be split.
                match data.write(&buf[written..]) {
                    Ok(n) => {
                        written += n;
                        drop(data);
                        self.changed(true, false);
                        continue;
                    }
                    Err(WriteError::NoMemory) => {
                        return if written > 0 { Ok(written) } else { Err(Errno::ENOMEM) };
                    }
                    Err(WriteError::Full) => {}
                }
            }
            if nonblocking {
                return if written > 0 { Ok(written) } else { Err(Errno::EAGAIN) };
            }
            let left = buf.len() - written;
            let outcome = self.changed.wait_interruptible(
                || self.buffer.lock().room_for(left) || self.readers() == 0,
                crate::sched::signal_check(),
                None,
            );
            if outcome == WaitOutcome::Interrupted {
                return if written > 0 { Ok(written) } else { Err(Errno::ERESTARTSYS) };
            }
        }
        Ok(written)
    }

    fn stat(&self) -> Stat {
        Stat { st_mode: exo_abi::mode::S_IFIFO | 0o600, st_ino: self.ino, st_blksize: PIPE_BUF as i64, st_nlink: 1, ..Stat::default() }
    }
}

/// Creates an anonymous pipe: (read end, write end) with the given extra status flags
/// (O_NONBLOCK).
pub fn new_pipe(flags: u32) -> (Arc<OpenFile>, Arc<OpenFile>) {
    let pipe = Pipe::new();
    let read = OpenFile::new(Arc::new(pipe.open_end(true, false, None)), O_RDONLY | flags);
    let write = OpenFile::new(Arc::new(pipe.open_end(false, true, None)), O_WRONLY | flags);
    (read, write)
}

/// One open end of a pipe: reads, writes or both (a FIFO opened O_RDWR).
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    reads: bool,
    writes: bool,
    /// The FIFO's inode (its status is what fstat reports), None for an anonymous pipe.
    node: Option<PathRef>,
    /// `writer_opens` when this end was opened: POLLHUP needs a writer that came and went.
    hup_base: usize,
}

impl FileOps for PipeEnd {
    fn read(&self, file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        self.pipe.read(buf, file.nonblocking())
    }

    fn write(&self, file: &OpenFile, buf: &[u8]) -> KResult<usize> {
        self.pipe.write(buf, file.nonblocking())
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(match &self.node {
            Some(node) => super::stat_of(&node.metadata()),
            None => self.pipe.stat(),
        })
    }

    fn ioctl(&self, _file: &OpenFile, request: u32, arg: crate::uaccess::UserArg) -> KResult<u64> {
        if request == exo_abi::ioctl::FIONREAD {
            let n = self.pipe.buffer.lock().len() as i32;
            arg.ptr::<i32>().write(&n)?;
            return Ok(0);
        }
        Err(Errno::ENOTTY)
    }

    fn poll(&self) -> PollBits {
        let mut bits = 0;
        let (empty, writable) = {
            let data = self.pipe.buffer.lock();
            (data.is_empty(), data.writable())
        };
        if self.reads {
            if !empty {
                bits |= POLLIN as u32;
            }
            if self.pipe.writers() == 0 && self.pipe.writer_opens() != self.hup_base {
                bits |= POLLHUP as u32;
            }
        }
        if self.writes {
            if writable {
                bits |= POLLOUT as u32;
            }
            if self.pipe.readers() == 0 {
                bits |= POLLERR as u32;
            }
        }
        bits
    }

    fn poll_events(&self) -> u64 {
        let mut events = 0;
        if self.reads {
            events += self.pipe.read_side_events.load(Ordering::SeqCst);
        }
        if self.writes {
            events += self.pipe.write_side_events.load(Ordering::SeqCst);
        }
        events
    }

    fn path(&self) -> Option<PathRef> {
        self.node.clone()
    }

    fn release(&self) {
        if self.reads {
            self.pipe.readers.fetch_sub(1, Ordering::SeqCst);
        }
        if self.writes {
            self.pipe.writers.fetch_sub(1, Ordering::SeqCst);
        }
        // A reader leaving matters to the writers and vice versa.
        self.pipe.changed(self.writes, self.reads);
    }
}
