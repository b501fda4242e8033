//! `/dev/kmsg` (character device 1:11): the kernel log buffer (`console::klog`) one record per
//! read, as `prio,seq,usec,-;text\n` (`EINVAL` when the buffer is too small for the record,
//! which is then passed over as Linux 6 does;
//! `EPIPE` once when records this reader had not read were overwritten, then it goes on from
//! the oldest); `lseek(fd, 0, SEEK_SET | SEEK_DATA | SEEK_END)` moves to the oldest record,
//! the first after the last `syslog` clear, or the end. A write adds one record, its level and
//! facility from a leading `<N>` (default: level 4, facility user). Reads block until a
//! record arrives (`EAGAIN` with `O_NONBLOCK`), and `poll` reports `POLLIN` then.
//!
//! The logger cannot wake anybody (it runs in interrupt handlers and under scheduler locks):
//! a notifier thread, started by the first reader that waits, looks at the log's sequence
//! number every 20 ms and wakes the readers and pollers when it moved. `syslog(2)`'s blocking
//! read waits the same way ([`wait_for`]).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

use exo_abi::fcntl::{SEEK_DATA, SEEK_END, SEEK_SET};
use exo_abi::mode::{makedev, S_IFCHR};
use exo_abi::poll::{POLLERR, POLLIN, POLLPRI, POLLRDNORM};
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use exo_klog::{Cursor, Overwritten, TEXT_MAX};

use super::file::{FileOps, OpenFile, PollBits};
use crate::console::klog;
use crate::sched::pollwait::{PollQueue, PollTable, QueueRef};
use crate::sched::wait::{WaitOutcome, WaitQueue};
use crate::spinlock::SpinLock;

/// Readers of the log waiting for a record (syslog's READ, blocking `/dev/kmsg` reads).
static READERS: WaitQueue = WaitQueue::new();
/// Pollers of `/dev/kmsg`.
static POLLERS: PollQueue = PollQueue::new();
static NOTIFIER: AtomicBool = AtomicBool::new(false);

/// Default level of a written record without `<N>` (Linux's `default_message_loglevel`).
const DEFAULT_LEVEL: u8 = 4;
/// The longest write (Linux: `PRINTKRB_RECORD_MAX`).
const WRITE_MAX: usize = 1024;

/// Starts the notifier thread once.
fn start_notifier() {
    if NOTIFIER.swap(true, Ordering::SeqCst) {
        return;
    }
    let spawned = crate::sched::spawn("klog-notify", || {
        let mut seen = klog::next_seq();
        loop {
            crate::sched::sleep_ns(20_000_000);
            let now = klog::next_seq();
            if now != seen {
                seen = now;
                READERS.wake_all();
                POLLERS.notify();
            }
        }
    });
    if spawned.is_err() {
        NOTIFIER.store(false, Ordering::SeqCst);
    }
}

/// Waits until `ready()` (looked at whenever the log got a record): `ERESTARTSYS` on a signal.
pub fn wait_for(ready: impl FnMut() -> bool) -> KResult<()> {
    start_notifier();
    match READERS.wait_interruptible(ready, crate::sched::signal_check(), None) {
        WaitOutcome::Interrupted => Err(Errno::ERESTARTSYS),
        _ => Ok(()),
    }
}

/// `EPERM` unless the caller may read the log (root, or `dmesg_restrict` off).
pub fn check_read_permission() -> KResult<()> {
    if !klog::DMESG_RESTRICT.load(Ordering::Relaxed) {
        return Ok(());
    }
    match crate::process::current() {
        Some(me) if me.process.creds.lock().euid != 0 => Err(Errno::EPERM),
        _ => Ok(()),
    }
}

/// One open `/dev/kmsg`: its reading position.
struct Kmsg {
    cursor: SpinLock<Cursor>,
}

/// Opens `/dev/kmsg` (readers start at the oldest record).
pub fn open(flags: u32) -> KResult<Arc<OpenFile>> {
    let file = Kmsg { cursor: SpinLock::new(klog::with(|log| log.ring.first())) };
    let opened = OpenFile::new(Arc::new(file), flags);
    if opened.readable() {
        check_read_permission()?;
    }
    Ok(opened)
}

impl Kmsg {
    /// One record into `buf`: `Ok(None)` when there is none yet.
    fn read_one(&self, buf: &mut [u8]) -> KResult<Option<usize>> {
        let mut text = [0u8; TEXT_MAX];
        let mut cursor = self.cursor.lock();
        klog::with(|log| {
            let mut next = *cursor;
            match log.ring.read(&mut next, &mut text) {
                Err(Overwritten) => {
                    *cursor = log.ring.first();
                    Err(Errno::EPIPE)
                }
                Ok(None) => Ok(None),
                Ok(Some(h)) => {
                    // Passed over even when it does not fit (as Linux 6 does).
                    *cursor = next;
                    exo_klog::format_kmsg(&h, &text[..usize::from(h.len)], buf).map(Some).ok_or(Errno::EINVAL)
                }
            }
        })
    }

    fn has_data(&self) -> bool {
        let cursor = *self.cursor.lock();
        klog::with(|log| log.ring.has_data(&cursor))
    }
}

impl FileOps for Kmsg {
    fn read(&self, file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        loop {
            if let Some(n) = self.read_one(buf)? {
                return Ok(n);
            }
            if file.nonblocking() {
                return Err(Errno::EAGAIN);
            }
            wait_for(|| self.has_data())?;
        }
    }

    fn write(&self, _file: &OpenFile, buf: &[u8]) -> KResult<usize> {
        if buf.len() > WRITE_MAX {
            return Err(Errno::EINVAL);
        }
        let (mut facility, mut level, mut text) = (exo_klog::LOG_USER, DEFAULT_LEVEL, buf);
        if let Some((f, l, skip)) = exo_klog::parse_prefix(buf) {
            facility = f.unwrap_or(facility);
            level = l;
            text = &buf[skip..];
        }
        klog::push(facility, level, text);
        Ok(buf.len())
    }

    fn seek(&self, _file: &OpenFile, offset: i64, whence: u32) -> KResult<u64> {
        if offset != 0 {
            return Err(Errno::ESPIPE);
        }
        let mut cursor = self.cursor.lock();
        *cursor = klog::with(|log| match whence {
            SEEK_SET => Ok(log.ring.first()),
            SEEK_DATA => Ok(if log.ring.overwritten(&log.clear) { log.ring.first() } else { log.clear }),
            SEEK_END => Ok(log.ring.end()),
            _ => Err(Errno::EINVAL),
        })?;
        Ok(0)
    }

    fn poll(&self) -> PollBits {
        let cursor = *self.cursor.lock();
        let (overwritten, data) = klog::with(|log| (log.ring.overwritten(&cursor), log.ring.has_data(&cursor)));
        let mut bits = 0;
        if data {
            bits |= (POLLIN | POLLRDNORM) as u32;
        }
        if overwritten {
            bits |= (POLLERR | POLLPRI) as u32;
        }
        bits
    }

    fn poll_register(&self, table: &mut PollTable) -> KResult<()> {
        start_notifier();
        table.add(QueueRef::Static(&POLLERS)).map(|_| ())
    }

    fn poll_events(&self) -> u64 {
        klog::next_seq()
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(Stat { st_mode: S_IFCHR | 0o644, st_rdev: makedev(1, 11), st_blksize: 4096, st_nlink: 1, ..Stat::default() })
    }
}
