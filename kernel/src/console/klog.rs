//! The kernel log buffer: every line of the `log` crate's logger is also kept as a record (a
//! sequence number, the time since boot, facility and level, the text) in a 128 KiB ring, the
//! oldest records dropped (`exo_klog::Ring`). `syslog(2)` and `/dev/kmsg` read it; writes to
//! `/dev/kmsg` add records. The console log level (what reaches the screen and serial port,
//! `syslog`'s CONSOLE_OFF/ON/LEVEL) is kept here too.
//!
//! Lock rule: [`LOG`] is a leaf `spin::Mutex` below the lock checker, always taken with
//! interrupts off, never together with the console lock (the logger formats into the ring,
//! releases it, then prints). Nothing is allocated and nothing sleeps under it. The logger
//! gives up after 10 ms of waiting ([`try_with`]): the only way to wait that long is a fault in
//! the middle of a push on this CPU, and a lost record is better than a hung CPU.

use core::sync::atomic::{AtomicU8, Ordering};

use exo_klog::{Cursor, Ring};
use spin::Mutex;

/// Bytes of the ring (Linux's default `CONFIG_LOG_BUF_SHIFT` is 17: 128 KiB).
pub const SIZE: usize = 128 * 1024;

/// The ring and the two cursors `syslog(2)` keeps: where `SYSLOG_ACTION_READ` goes on (it
/// consumes) and where the last `CLEAR` left `READ_ALL` to start.
pub struct Log {
    pub ring: Ring<SIZE>,
    pub syslog: Cursor,
    pub clear: Cursor,
}

static LOG: Mutex<Log> = Mutex::new(Log { ring: Ring::new(), syslog: Cursor::START, clear: Cursor::START });

/// Levels below this reach the console (Linux's `console_loglevel`, default 7).
pub const DEFAULT_CONSOLE_LEVEL: u8 = 7;
static CONSOLE_LEVEL: AtomicU8 = AtomicU8::new(DEFAULT_CONSOLE_LEVEL);

/// Runs `f` on the log with interrupts off; `None` when the lock stayed busy for 10 ms.
pub fn try_with<R>(f: impl FnOnce(&mut Log) -> R) -> Option<R> {
    crate::arch::without_interrupts(|| {
        let start = crate::arch::read_timestamp();
        let patience = crate::time::tsc_hz() / 100;
        loop {
            if let Some(mut log) = LOG.try_lock() {
                return Some(f(&mut log));
            }
            if crate::arch::read_timestamp().wrapping_sub(start) > patience {
                return None;
            }
            core::hint::spin_loop();
        }
    })
}

/// Runs `f` on the log with interrupts off, waiting as long as it takes (readers: process
/// context, never nested in a push).
pub fn with<R>(f: impl FnOnce(&mut Log) -> R) -> R {
    crate::arch::without_interrupts(|| f(&mut LOG.lock()))
}

/// The sequence number the next record gets (moves with every record: readers wait on it).
pub fn next_seq() -> u64 {
    with(|log| log.ring.next_seq())
}

/// The console log level.
pub fn console_level() -> u8 {
    CONSOLE_LEVEL.load(Ordering::Relaxed)
}

/// Sets the console log level (1 to 8).
pub fn set_console_level(level: u8) {
    CONSOLE_LEVEL.store(level, Ordering::Relaxed);
}

/// Whether a record of `level` is printed on the console: below the console level, as Linux;
/// debug records (7) also at the default level 7, since they are logged at all only when the
/// command line asked for them (`log=debug`).
pub fn printed(level: u8) -> bool {
    let console = console_level();
    level < console || (level == 7 && console == DEFAULT_CONSOLE_LEVEL)
}

/// Adds a record with the bytes `text` (a write to `/dev/kmsg`).
pub fn push(facility: u8, level: u8, text: &[u8]) {
    let ts = crate::time::since_boot_ns();
    try_with(|log| log.ring.push(ts, facility, level, text));
}

/// `kernel.dmesg_restrict`: when set, reading the log needs root (Linux's default: 0).
pub static DMESG_RESTRICT: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
