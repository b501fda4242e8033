//! `exo-klog`: the kernel log ring and the formats it is read in, the pure part of the kernel's
//! log buffer (`kernel/src/console/klog.rs` keeps the ring under an IRQ-safe lock and feeds it
//! from the logger; `kernel/src/fs/kmsg.rs` serves `/dev/kmsg`; `kernel/src/syscall/klog.rs`
//! serves `syslog(2)`).
//!
//! - A [`Ring`] holds printk-style records (sequence number, timestamp, facility, level, text)
//!   in a fixed byte array of `N` bytes, the oldest records dropped to make room. It never
//!   allocates, so the logger can feed it from interrupt handlers.
//! - Readers keep a [`Cursor`] (a sequence number and the byte position of its record): one
//!   whose record was overwritten is detected ([`Overwritten`]), as `/dev/kmsg`'s `EPIPE`.
//! - [`format_kmsg`] makes the `/dev/kmsg` line (`prio,seq,usec,-;text\n`, control bytes
//!   escaped as `\xNN`), [`format_syslog`] the `syslog(2)` one (`<prio>[sssss.uuuuuu] text\n`,
//!   every line of the text prefixed), [`parse_prefix`] reads the `<N>` of a written line.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

#[cfg(test)]
mod tests;

mod format;

pub use format::{format_kmsg, format_syslog, parse_prefix, syslog_len};

use core::fmt;

/// Bytes of a record's header in the ring.
pub const HEADER: usize = 20;
/// The longest text of one record (Linux: `PRINTKRB_RECORD_MAX`, 1024 minus the prefix room);
/// longer texts are cut.
pub const TEXT_MAX: usize = 992;
/// Facility of the kernel's own messages and of user writes without one (`LOG_KERN`,
/// `LOG_USER`).
pub const LOG_KERN: u8 = 0;
pub const LOG_USER: u8 = 1;

/// A record's description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub seq: u64,
    /// Nanoseconds since boot.
    pub ts_ns: u64,
    pub facility: u8,
    /// 0 (emergency) … 7 (debug).
    pub level: u8,
    /// Bytes of text.
    pub len: u16,
}

impl Header {
    /// The syslog priority: facility and level together.
    pub fn prio(&self) -> u32 {
        (u32::from(self.facility) << 3) | u32::from(self.level & 7)
    }
}

/// A reader's place: the next record it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub seq: u64,
    pos: u64,
}

impl Cursor {
    /// The start of a new ring.
    pub const START: Cursor = Cursor { seq: 0, pos: 0 };
}

/// The record a cursor named was dropped to make room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overwritten;

/// The ring: records between the absolute byte positions `head` and `tail` (index = position
/// modulo `N`), with sequence numbers `first_seq..next_seq`.
pub struct Ring<const N: usize> {
    buf: [u8; N],
    head: u64,
    tail: u64,
    first_seq: u64,
    next_seq: u64,
}

impl<const N: usize> Default for Ring<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Ring<N> {
    /// An empty ring. `N` must hold at least one record of [`TEXT_MAX`] bytes.
    pub const fn new() -> Self {
        assert!(N >= HEADER + TEXT_MAX);
        Ring { buf: [0; N], head: 0, tail: 0, first_seq: 0, next_seq: 0 }
    }

    /// The ring's size in bytes.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Sequence number of the oldest record kept.
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// Sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// A cursor at the oldest record kept.
    pub fn first(&self) -> Cursor {
        Cursor { seq: self.first_seq, pos: self.head }
    }

    /// A cursor after the newest record.
    pub fn end(&self) -> Cursor {
        Cursor { seq: self.next_seq, pos: self.tail }
    }

    /// Whether `cursor` names a record that was dropped.
    pub fn overwritten(&self, cursor: &Cursor) -> bool {
        cursor.seq < self.first_seq
    }

    /// Whether a record is readable at `cursor` (or it was overwritten).
    pub fn has_data(&self, cursor: &Cursor) -> bool {
        cursor.seq < self.next_seq
    }

    fn byte(&self, pos: u64) -> u8 {
        self.buf[(pos % N as u64) as usize]
    }

    fn set_byte(&mut self, pos: u64, value: u8) {
        self.buf[(pos % N as u64) as usize] = value;
    }

    fn read_bytes(&self, pos: u64, out: &mut [u8]) {
        for (i, b) in out.iter_mut().enumerate() {
            *b = self.byte(pos + i as u64);
        }
    }

    fn write_bytes(&mut self, pos: u64, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            self.set_byte(pos + i as u64, b);
        }
    }

    fn header_at(&self, pos: u64) -> (u64, u64, u8, u8, u16) {
        let mut h = [0u8; HEADER];
        self.read_bytes(pos, &mut h);
        let word = |i: usize| u64::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3], h[i + 4], h[i + 5], h[i + 6], h[i + 7]]);
        (word(0), word(8), h[16], h[17], u16::from_le_bytes([h[18], h[19]]))
    }

    /// Drops the oldest records until `need` bytes are free.
    fn make_room(&mut self, need: usize) {
        while N as u64 - (self.tail - self.head) < need as u64 && self.head < self.tail {
            let (_, _, _, _, len) = self.header_at(self.head);
            self.head += (HEADER + usize::from(len)) as u64;
            self.first_seq += 1;
        }
    }

    /// Appends a record whose text `write` produces (cut at [`TEXT_MAX`] bytes, one trailing
    /// newline removed, as printk does). Returns its sequence number.
    pub fn push_with(&mut self, ts_ns: u64, facility: u8, level: u8, write: impl FnOnce(&mut dyn fmt::Write)) -> u64 {
        self.push_raw(ts_ns, facility, level, |w| write(w))
    }

    /// Appends a record with the bytes `text` (see [`push_with`](Self::push_with)).
    pub fn push(&mut self, ts_ns: u64, facility: u8, level: u8, text: &[u8]) -> u64 {
        self.push_raw(ts_ns, facility, level, |w| w.put(text))
    }

    fn push_raw(&mut self, ts_ns: u64, facility: u8, level: u8, write: impl FnOnce(&mut RingWriter<'_, N>)) -> u64 {
        self.make_room(HEADER + TEXT_MAX);
        let start = self.tail + HEADER as u64;
        let mut writer = RingWriter { ring: self, start, len: 0 };
        write(&mut writer);
        let mut len = writer.len;
        if len > 0 && self.byte(start + len as u64 - 1) == b'\n' {
            len -= 1;
        }
        let seq = self.next_seq;
        let mut h = [0u8; HEADER];
        h[..8].copy_from_slice(&seq.to_le_bytes());
        h[8..16].copy_from_slice(&ts_ns.to_le_bytes());
        h[16] = facility;
        h[17] = level & 7;
        h[18..20].copy_from_slice(&(len as u16).to_le_bytes());
        self.write_bytes(self.tail, &h);
        self.tail = start + len as u64;
        self.next_seq += 1;
        seq
    }

    /// Reads the record at `cursor` (its text into `text`, cut to fit) and moves the cursor
    /// past it. `Ok(None)`: no record yet. `Err(Overwritten)`: the record was dropped (the
    /// cursor is left alone; [`first`](Self::first) is where reading can go on).
    pub fn read(&self, cursor: &mut Cursor, text: &mut [u8]) -> Result<Option<Header>, Overwritten> {
        if self.overwritten(cursor) {
            return Err(Overwritten);
        }
        if !self.has_data(cursor) {
            return Ok(None);
        }
        let (seq, ts_ns, facility, level, len) = self.header_at(cursor.pos);
        debug_assert_eq!(seq, cursor.seq);
        let n = usize::from(len).min(text.len());
        self.read_bytes(cursor.pos + HEADER as u64, &mut text[..n]);
        cursor.pos += (HEADER + usize::from(len)) as u64;
        cursor.seq += 1;
        Ok(Some(Header { seq, ts_ns, facility, level, len: n as u16 }))
    }

    /// Empties the ring (sequence numbers go on).
    pub fn clear(&mut self) {
        self.head = self.tail;
        self.first_seq = self.next_seq;
    }
}

/// Writes a record's text into the ring, with wrap-around, up to [`TEXT_MAX`] bytes.
struct RingWriter<'a, const N: usize> {
    ring: &'a mut Ring<N>,
    start: u64,
    len: usize,
}

impl<const N: usize> RingWriter<'_, N> {
    fn put(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.len == TEXT_MAX {
                return;
            }
            self.ring.set_byte(self.start + self.len as u64, b);
            self.len += 1;
        }
    }
}

impl<const N: usize> fmt::Write for RingWriter<'_, N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s.as_bytes());
        Ok(())
    }
}
