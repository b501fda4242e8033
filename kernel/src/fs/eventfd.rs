//! eventfd: a 64-bit counter behind a descriptor. A write of an 8-byte value adds it (waiting
//! while the sum would pass 2^64 - 2); a read takes the whole count, or 1 in semaphore mode
//! (waiting while it is 0). Readable while the count is non-zero, writable while 1 more fits.

use alloc::sync::Arc;

use exo_abi::eventfd::*;
use exo_abi::poll::{POLLERR, POLLIN, POLLOUT};
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use crate::spinlock::SpinLock as Mutex;

use super::file::{FileOps, OpenFile, PollBits};
use crate::sched::pollwait::{PollQueue, PollTable};
use crate::sched::wait::{WaitOutcome, WaitQueue};

/// Largest count (writing u64::MAX itself is EINVAL).
const MAX_COUNT: u64 = u64::MAX - 1;

/// An eventfd object.
pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    /// Woken when the count changes.
    changed: WaitQueue,
    /// Bumped at every change (edge-triggered epoll).
    events: core::sync::atomic::AtomicU64,
    /// poll/select/epoll_wait callers polling this eventfd.
    pollers: Arc<PollQueue>,
}

/// Creates an eventfd with `initial` as its count; `flags` are EFD_* (already checked).
pub fn new(initial: u64, flags: u32) -> Arc<OpenFile> {
    let ops = EventFd {
        count: Mutex::new(initial),
        semaphore: flags & EFD_SEMAPHORE != 0,
        changed: WaitQueue::new(),
        events: core::sync::atomic::AtomicU64::new(0),
        pollers: Arc::new(PollQueue::new()),
    };
    OpenFile::new(Arc::new(ops), exo_abi::fcntl::O_RDWR | (flags & EFD_NONBLOCK))
}

impl EventFd {
    fn changed(&self) {
        self.events.fetch_add(1, core::sync::atomic::Ordering::SeqCst);
        self.changed.wake_all();
        self.pollers.notify();
    }

    /// Waits until `ready()` (interruptibly).
    fn wait(&self, file: &OpenFile, ready: impl Fn(u64) -> bool) -> KResult<()> {
        if file.nonblocking() {
            return Err(Errno::EAGAIN);
        }
        let outcome = self.changed.wait_interruptible(
            || ready(*self.count.lock()),
            crate::sched::signal_check(),
            None,
        );
        if outcome == WaitOutcome::Interrupted {
            return Err(Errno::ERESTARTSYS);
        }
        Ok(())
    }
}

impl FileOps for EventFd {
    fn read(&self, file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        loop {
            {
                let mut count = self.count.lock();
                if *count > 0 {
                    let value = if self.semaphore { 1 } else { *count };
                    *count -= value;
                    drop(count);
                    buf[..8].copy_from_slice(&value.to_ne_bytes());
                    self.changed();
                    return Ok(8);
                }
            }
            self.wait(file, |count| count > 0)?;
        }
    }

    fn write(&self, file: &OpenFile, buf: &[u8]) -> KResult<usize> {
        let bytes: [u8; 8] = buf.get(..8).and_then(|b| b.try_into().ok()).ok_or(Errno::EINVAL)?;
        let value = u64::from_ne_bytes(bytes);
        if value == u64::MAX {
            return Err(Errno::EINVAL);
        }
        loop {
            {
                let mut count = self.count.lock();
                if MAX_COUNT - *count >= value {
                    *count += value;
                    drop(count);
                    if value > 0 {
                        self.changed();
                    }
                    return Ok(8);
                }
            }
            self.wait(file, |count| MAX_COUNT - count >= value)?;
        }
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(Stat { st_mode: 0o600, st_nlink: 1, st_blksize: 4096, ..Stat::default() })
    }

    fn poll(&self) -> PollBits {
        let count = *self.count.lock();
        let mut bits = 0;
        if count > 0 {
            bits |= POLLIN as u32;
        }
        if count < MAX_COUNT {
            bits |= POLLOUT as u32;
        }
        if count == u64::MAX {
            bits |= POLLERR as u32;
        }
        bits
    }

    fn poll_register(&self, table: &mut PollTable) -> KResult<()> {
        table.add_shared(&self.pollers).map(|_| ())
    }

    fn poll_events(&self) -> u64 {
        self.events.load(core::sync::atomic::Ordering::SeqCst)
    }
}
