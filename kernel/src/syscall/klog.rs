//! `syslog(2)`: the kernel log buffer (`console::klog`) as busybox's `dmesg` and `klogd` read
//! it — READ (blocks, consumes), READ_ALL, READ_CLEAR, CLEAR, CONSOLE_OFF/ON/LEVEL,
//! SIZE_UNREAD, SIZE_BUFFER — records formatted `<prio>[sssss.uuuuuu] text\n`. As Linux with
//! `kernel.dmesg_restrict = 0`, READ_ALL and SIZE_BUFFER are open to everybody, the other
//! actions need root (`EPERM`).

use alloc::vec::Vec;

use exo_abi::syslog::*;
use exo_abi::{nr, Errno, KResult};
use exo_klog::{Cursor, Header, TEXT_MAX};

use super::args::typed;
use super::{task, Handler};
use crate::console::klog::{self, Log};
use crate::uaccess::UserPtr;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: every action (READ blocks and consumes, READ_ALL/READ_CLEAR/CLEAR, CONSOLE_OFF/ON/LEVEL, SIZE_UNREAD/BUFFER); dmesg_restrict rules
    t[nr::SYSLOG] = typed!(sys_syslog);
}

/// The lowest console level CONSOLE_OFF and CONSOLE_LEVEL leave (Linux's
/// `minimum_console_loglevel`).
const MINIMUM_CONSOLE_LEVEL: u8 = 1;
/// The console level CONSOLE_OFF saved (0: none), for CONSOLE_ON.
static SAVED_LEVEL: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(0);

fn sys_syslog(action: i32, buf: UserPtr<u8>, len: i32) -> KResult<u64> {
    let restricted = klog::DMESG_RESTRICT.load(core::sync::atomic::Ordering::Relaxed)
        || (action != SYSLOG_ACTION_READ_ALL && action != SYSLOG_ACTION_SIZE_BUFFER);
    if restricted && task()?.process.creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    use core::sync::atomic::Ordering::Relaxed;
    match action {
        SYSLOG_ACTION_CLOSE | SYSLOG_ACTION_OPEN => Ok(0),
        SYSLOG_ACTION_READ | SYSLOG_ACTION_READ_ALL | SYSLOG_ACTION_READ_CLEAR => {
            if buf.is_null() || len < 0 {
                return Err(Errno::EINVAL);
            }
            if len == 0 {
                return Ok(0);
            }
            let len = len as usize;
            buf.check(len)?;
            let text = if action == SYSLOG_ACTION_READ {
                crate::fs::kmsg::wait_for(|| klog::with(|log| log.ring.has_data(&log.syslog)))?;
                read_unread(len)?
            } else {
                read_all(len, action == SYSLOG_ACTION_READ_CLEAR)?
            };
            buf.slice(text.len())?.write_from(&text)?;
            Ok(text.len() as u64)
        }
        SYSLOG_ACTION_CLEAR => {
            klog::with(|log| log.clear = log.ring.end());
            Ok(0)
        }
        SYSLOG_ACTION_CONSOLE_OFF => {
            if SAVED_LEVEL.load(Relaxed) == 0 {
                SAVED_LEVEL.store(klog::console_level(), Relaxed);
            }
            klog::set_console_level(MINIMUM_CONSOLE_LEVEL);
            Ok(0)
        }
        SYSLOG_ACTION_CONSOLE_ON => {
            let saved = SAVED_LEVEL.swap(0, Relaxed);
            if saved != 0 {
                klog::set_console_level(saved);
            }
            Ok(0)
        }
        SYSLOG_ACTION_CONSOLE_LEVEL => {
            if !(1..=8).contains(&len) {
                return Err(Errno::EINVAL);
            }
            klog::set_console_level((len as u8).max(MINIMUM_CONSOLE_LEVEL));
            SAVED_LEVEL.store(0, Relaxed);
            Ok(0)
        }
        SYSLOG_ACTION_SIZE_UNREAD => Ok(klog::with(|log| {
            let start = start_of(log, log.syslog);
            let mut total = 0u64;
            for_each(log, start, |h, text| {
                total += exo_klog::syslog_len(h, text, true) as u64;
                true
            });
            total
        })),
        SYSLOG_ACTION_SIZE_BUFFER => Ok(klog::SIZE as u64),
        _ => Err(Errno::EINVAL),
    }
}

/// `cursor`, or the oldest record if its record was dropped.
fn start_of(log: &Log, cursor: Cursor) -> Cursor {
    if log.ring.overwritten(&cursor) { log.ring.first() } else { cursor }
}

/// Calls `f` on each record from `cursor` on while it returns true; returns where it stopped
/// (the first record not passed to `f`, or not accepted).
fn for_each(log: &Log, mut cursor: Cursor, mut f: impl FnMut(&Header, &[u8]) -> bool) -> Cursor {
    let mut text = [0u8; TEXT_MAX];
    loop {
        let mut next = cursor;
        match log.ring.read(&mut next, &mut text) {
            Ok(Some(h)) if f(&h, &text[..usize::from(h.len)]) => cursor = next,
            _ => return cursor,
        }
    }
}

/// A zeroed kernel buffer of `len` bytes (ENOMEM when the heap cannot give it).
fn buffer(len: usize) -> KResult<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    out.resize(len, 0);
    Ok(out)
}

/// READ: the records syslog has not read yet, as many whole ones as fit in `len` bytes (at
/// least the start of one); they are consumed.
fn read_unread(len: usize) -> KResult<Vec<u8>> {
    let mut out = buffer(len.min(64 * 1024))?;
    let done = klog::with(|log| {
        let start = start_of(log, log.syslog);
        let mut done = 0usize;
        let mut cut = false;
        let end = for_each(log, start, |h, text| match exo_klog::format_syslog(h, text, true, &mut out[done..]) {
            Some(n) => {
                done += n;
                true
            }
            None if done == 0 => {
                // Not even one record fits: its start is given, the rest dropped.
                let mut whole = [0u8; TEXT_MAX + 64];
                let n = exo_klog::format_syslog(h, text, true, &mut whole).unwrap_or(0);
                let part = n.min(out.len());
                out[..part].copy_from_slice(&whole[..part]);
                done = part;
                cut = true;
                false
            }
            None => false,
        });
        log.syslog = if cut { next_after(log, start) } else { end };
        done
    });
    out.truncate(done);
    Ok(out)
}

/// The cursor after the record at `cursor`.
fn next_after(log: &Log, cursor: Cursor) -> Cursor {
    let mut seen = false;
    for_each(log, cursor, |_, _| !core::mem::replace(&mut seen, true))
}

/// READ_ALL / READ_CLEAR: the newest records since the last clear that fit in `len` bytes,
/// oldest first; `clear` then clears.
fn read_all(len: usize, clear: bool) -> KResult<Vec<u8>> {
    // Each record's text is at most twice its share of the ring (header and escapes).
    let mut out = buffer(len.min(3 * klog::SIZE))?;
    let done = klog::with(|log| {
        let start = start_of(log, log.clear);
        let mut total = 0usize;
        for_each(log, start, |h, text| {
            total += exo_klog::syslog_len(h, text, true);
            true
        });
        // Skip the oldest records until the rest fits.
        let first = for_each(log, start, |h, text| {
            if total <= out.len() {
                return false;
            }
            total -= exo_klog::syslog_len(h, text, true);
            true
        });
        let mut done = 0usize;
        for_each(log, first, |h, text| match exo_klog::format_syslog(h, text, true, &mut out[done..]) {
            Some(n) => {
                done += n;
                true
            }
            None => false,
        });
        if clear {
            log.clear = log.ring.end();
        }
        done
    });
    out.truncate(done);
    Ok(out)
}
