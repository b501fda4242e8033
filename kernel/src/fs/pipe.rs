//! Pipes: a 64 KiB ring between readers and writers, shared by anonymous pipes (`pipe2`) and
//! named pipes (FIFOs, `fs/fifo.rs`). Reads block while the pipe is empty and a writer exists
//! (EOF once none); writes block while it is full and a reader exists (EPIPE and SIGPIPE once
//! none); writes of up to PIPE_BUF bytes are atomic. An open file refers to the pipe through a
//! [`PipeEnd`]: its read end, its write end, or both (a FIFO opened O_RDWR).
//! The ring itself and its write rules (atomicity, partial writes, when a blocked writer may
//! go on) are the host-tested crate `exo-pipe`; this file keeps the ends, the lock, the waiting
//! and the signals.
//! read(2)/write(2) copy straight between user memory and the ring ([`FileOps::read_user`] /
//! [`FileOps::write_user`]): no bounce buffer, no allocation per call. The copies may fault and
//! sleep, so the ring sits under a sleeping mutex (never a spin lock, docs/locking.md); the
//! byte count is mirrored in an atomic for the wait conditions and poll, which take no lock.
//! splice/tee/vmsplice's pipe side is the child module `splice` (`pipe_splice.rs`).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use exo_abi::fcntl::{O_RDONLY, O_WRONLY};
use exo_abi::poll::*;
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use exo_pipe::{Ring, WriteError, WriteWithError};
use exo_vfs::PathRef;
use crate::sched::sync::Mutex;
use crate::uaccess::UserSlice;

use super::file::{FileOps, OpenFile, PollBits};
use crate::sched::pollwait::{PollQueue, PollTable};
use crate::sched::wait::{WaitOutcome, WaitQueue};

/// splice, tee and vmsplice on pipes.
#[path = "pipe_splice.rs"]
pub mod splice;

/// Capacity of a pipe.
pub const PIPE_CAPACITY: usize = exo_pipe::DEFAULT_CAPACITY;
/// Writes up to this size are never interleaved with other writes.
pub const PIPE_BUF: usize = exo_pipe::PIPE_BUF;

/// The shared part of a pipe.
pub struct Pipe {
    /// Sleeping: user copies into and out of the ring happen under it.
    buffer: Mutex<Ring>,
    /// The bytes in the ring, stored under `buffer`'s lock after each change: what the wait
    /// conditions and poll look at.
    held: AtomicUsize,
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
    /// Pollers of the read ends (notified when data arrives or a writer comes or goes) and of
    /// the write ends (space appears, a reader comes or goes): a write wakes no poller of the
    /// write side, a read none of the read side.
    read_pollers: Arc<PollQueue>,
    write_pollers: Arc<PollQueue>,
    ino: u64,
    /// The ring's capacity (`F_GETPIPE_SZ`), mirrored outside its lock for the wait
    /// conditions and poll.
    capacity: AtomicUsize,
}

static NEXT_INO: AtomicUsize = AtomicUsize::new(1);

impl Pipe {
    /// A pipe with no ends yet.
    pub fn new() -> Arc<Pipe> {
        let (read_pollers, write_pollers) = (Arc::new(PollQueue::new()), Arc::new(PollQueue::new()));
        Arc::new(Pipe {
            buffer: Mutex::new(Ring::new(PIPE_CAPACITY)),
            held: AtomicUsize::new(0),
            readers: AtomicUsize::new(0),
            writers: AtomicUsize::new(0),
            reader_opens: AtomicUsize::new(0),
            writer_opens: AtomicUsize::new(0),
            read_side_events: AtomicU64::new(0),
            write_side_events: AtomicU64::new(0),
            changed: WaitQueue::new(),
            read_pollers,
            write_pollers,
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed) as u64,
            capacity: AtomicUsize::new(PIPE_CAPACITY),
        })
    }

    /// The capacity in bytes (`F_GETPIPE_SZ`).
    pub fn capacity(&self) -> usize {
        self.capacity.load(Ordering::SeqCst)
    }

    /// `F_SETPIPE_SZ`: the capacity becomes `bytes` (already rounded and checked against the
    /// limits by the caller); `EBUSY` if the bytes held do not fit.
    pub fn set_capacity(&self, bytes: usize) -> KResult<()> {
        let mut data = self.buffer.lock();
        data.resize(bytes).map_err(|_| Errno::EBUSY)?;
        self.capacity.store(data.capacity(), Ordering::SeqCst);
        drop(data);
        // More room may let blocked writers go on.
        self.changed(false, true);
        Ok(())
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
        if read_side {
            self.read_pollers.notify();
        }
        if write_side {
            self.write_pollers.notify();
        }
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

    /// The bytes in the ring, without its lock.
    fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }

    /// Whether a writer with `left` bytes to go should try again (room, or no reader).
    fn writer_may_go_on(&self, left: usize) -> bool {
        exo_pipe::room_for(self.capacity(), self.held(), left) || self.readers() == 0
    }

    /// Reads into `buf` through `take(ring)`, which moves bytes out of a non-empty ring and
    /// returns the count or an error (a faulting user copy with nothing moved).
    fn read_by(&self, nonblocking: bool, mut take: impl FnMut(&mut Ring) -> KResult<usize>) -> KResult<usize> {
        loop {
            {
                let mut data = self.buffer.lock();
                if !data.is_empty() {
                    let result = take(&mut data);
                    self.held.store(data.len(), Ordering::SeqCst);
                    drop(data);
                    if matches!(result, Ok(n) if n > 0) {
                        self.changed(false, true);
                    }
                    return result;
                }
                if self.writers() == 0 {
                    return Ok(0);
                }
            }
            if nonblocking {
                return Err(Errno::EAGAIN);
            }
            let outcome = self.changed.wait_interruptible(
                || self.held() != 0 || self.writers() == 0,
                crate::sched::signal_check(),
                None,
            );
            if outcome == WaitOutcome::Interrupted {
                return Err(Errno::ERESTARTSYS);
            }
        }
    }

    fn read(&self, buf: &mut [u8], nonblocking: bool) -> KResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.read_by(nonblocking, |data| Ok(data.read(buf)))
    }

    /// read(2) straight into user memory: a fault after some bytes gives those bytes, one
    /// before any gives EFAULT with the bytes left in the pipe.
    fn read_user(&self, buf: UserSlice<u8>, nonblocking: bool) -> KResult<usize> {
        if buf.len() == 0 {
            return Ok(0);
        }
        self.read_by(nonblocking, |data| {
            match data.read_with(buf.len(), |at, part| buf.sub(at, part.len()).write_from(part)) {
                Ok(n) | Err((n @ 1.., _)) => Ok(n),
                Err((_, e)) => Err(e),
            }
        })
    }

    /// Writes `len` bytes through `put(ring, written)`, which appends what the ring's rules
    /// allow of the bytes from `written` on (a faulting user copy: `Copy(appended, EFAULT)`).
    fn write_by(
        &self,
        len: usize,
        nonblocking: bool,
        mut put: impl FnMut(&mut Ring, usize) -> Result<usize, WriteWithError<Errno>>,
    ) -> KResult<usize> {
        let mut written = 0;
        while written < len {
            // A long transfer into a pipe that keeps draining never waits: a killed writer
            // stops between two fills of the ring with what it moved.
            if written > 0 && super::file::fatal_signal_pending() {
                return Ok(written);
            }
            if self.readers() == 0 {
                if let Some(task) = crate::process::current() {
                    let info = exo_abi::signal::SigInfo::new(exo_abi::signal::SIGPIPE, exo_abi::signal::SI_USER);
                    crate::process::signal::send_to_task(&task, exo_abi::signal::SIGPIPE, info);
                }
                return if written > 0 { Ok(written) } else { Err(Errno::EPIPE) };
            }
            let mut data = self.buffer.lock();
            // A small write goes in whole or waits; a large one may be split.
            let result = put(&mut data, written);
            self.held.store(data.len(), Ordering::SeqCst);
            drop(data);
            match result {
                Ok(n) => {
                    written += n;
                    self.changed(true, false);
                    continue;
                }
                Err(WriteWithError::Copy(n, e)) => {
                    if n > 0 {
                        written += n;
                        self.changed(true, false);
                    }
                    return if written > 0 { Ok(written) } else { Err(e) };
                }
                Err(WriteWithError::Ring(WriteError::NoMemory)) => {
                    return if written > 0 { Ok(written) } else { Err(Errno::ENOMEM) };
                }
                Err(WriteWithError::Ring(WriteError::Full)) => {}
            }
            if nonblocking {
                return if written > 0 { Ok(written) } else { Err(Errno::EAGAIN) };
            }
            let left = len - written;
            let outcome = self.changed.wait_interruptible(|| self.writer_may_go_on(left), crate::sched::signal_check(), None);
            if outcome == WaitOutcome::Interrupted {
                return if written > 0 { Ok(written) } else { Err(Errno::ERESTARTSYS) };
            }
        }
        Ok(written)
    }

    fn write(&self, buf: &[u8], nonblocking: bool) -> KResult<usize> {
        self.write_by(buf.len(), nonblocking, |data, written| {
            data.write(&buf[written..]).map_err(WriteWithError::Ring)
        })
    }

    /// write(2) straight from user memory: a fault in an atomic write (at most PIPE_BUF bytes)
    /// puts nothing in; in a larger one, what was copied before it stays written.
    fn write_user(&self, buf: UserSlice<u8>, nonblocking: bool) -> KResult<usize> {
        self.write_by(buf.len(), nonblocking, |data, written| {
            let left = buf.len() - written;
            data.write_with(left, |at, part| buf.sub(written + at, part.len()).read_into(part))
        })
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

impl PipeEnd {
    /// The pipe behind an open file, if it is a pipe or FIFO end.
    pub fn of(file: &OpenFile) -> Option<&Arc<Pipe>> {
        file.ops.as_plain_any()?.downcast_ref::<PipeEnd>().map(|end| &end.pipe)
    }
}

impl FileOps for PipeEnd {
    /// For `Pipe::of` (F_SETPIPE_SZ) and splice/tee/vmsplice (`splice::end_of`); not
    /// `as_any`, which would make Fusion refuse to grant pipes.
    fn as_plain_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    fn read(&self, file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        self.pipe.read(buf, file.nonblocking())
    }

    fn write(&self, file: &OpenFile, buf: &[u8]) -> KResult<usize> {
        self.pipe.write(buf, file.nonblocking())
    }

    fn direct_user_io(&self) -> bool {
        true
    }

    fn read_user(&self, file: &OpenFile, buf: UserSlice<u8>) -> KResult<usize> {
        self.pipe.read_user(buf, file.nonblocking())
    }

    fn write_user(&self, file: &OpenFile, buf: UserSlice<u8>) -> KResult<usize> {
        self.pipe.write_user(buf, file.nonblocking())
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(match &self.node {
            Some(node) => super::stat_of(&node.metadata()),
            None => self.pipe.stat(),
        })
    }

    fn ioctl(&self, _file: &OpenFile, request: u32, arg: crate::uaccess::UserArg) -> KResult<u64> {
        if request == exo_abi::ioctl::FIONREAD {
            let n = self.pipe.held() as i32;
            arg.ptr::<i32>().write(&n)?;
            return Ok(0);
        }
        Err(Errno::ENOTTY)
    }

    fn poll(&self) -> PollBits {
        let mut bits = 0;
        let held = self.pipe.held();
        let (empty, writable) = (held == 0, exo_pipe::room_for(self.pipe.capacity(), held, PIPE_BUF));
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

    fn poll_register(&self, table: &mut PollTable) -> KResult<()> {
        if self.reads {
            table.add_shared(&self.pipe.read_pollers)?;
        }
        if self.writes {
            table.add_shared(&self.pipe.write_pollers)?;
        }
        Ok(())
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
