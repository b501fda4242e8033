//! The text forms of a record: `/dev/kmsg`'s line, `syslog(2)`'s lines, and the `<N>` prefix
//! of a line written to `/dev/kmsg`.

use core::fmt::{self, Write};

use crate::Header;

/// Writes into a byte slice; fails once it is full.
struct SliceWriter<'a> {
    out: &'a mut [u8],
    len: usize,
}

impl SliceWriter<'_> {
    fn put(&mut self, bytes: &[u8]) -> fmt::Result {
        let end = self.len.checked_add(bytes.len()).ok_or(fmt::Error)?;
        self.out.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

impl Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s.as_bytes())
    }
}

/// Counts bytes.
struct Counter(usize);

impl Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// `/dev/kmsg`'s form of a record: `prio,seq,usec,-;text\n`, where bytes below space, from
/// DEL up and the backslash are written `\xNN` (Linux's escaping). `None` when `out` is too
/// small (`/dev/kmsg` then fails with `EINVAL`).
pub fn format_kmsg(h: &Header, text: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut w = SliceWriter { out, len: 0 };
    write!(w, "{},{},{},-;", h.prio(), h.seq, h.ts_ns / 1000).ok()?;
    for &b in text {
        if b < b' ' || b >= 127 || b == b'\\' {
            write!(w, "\\x{b:02x}").ok()?;
        } else {
            w.put(&[b]).ok()?;
        }
    }
    w.put(b"\n").ok()?;
    Some(w.len)
}

/// Writes `syslog(2)`'s form of a record: each line of the text as `<prio>[sssss.uuuuuu] line\n`
/// (the priority only with `with_prio`).
fn write_syslog(w: &mut dyn Write, h: &Header, text: &[u8], with_prio: bool) -> fmt::Result {
    let us = h.ts_ns / 1000;
    for line in text.split(|&b| b == b'\n') {
        if with_prio {
            write!(w, "<{}>", h.prio())?;
        }
        write!(w, "[{:>5}.{:06}] ", us / 1_000_000, us % 1_000_000)?;
        for chunk in line.utf8_chunks() {
            w.write_str(chunk.valid())?;
            for _ in chunk.invalid() {
                w.write_str("?")?;
            }
        }
        w.write_str("\n")?;
    }
    Ok(())
}

/// `syslog(2)`'s form of a record into `out`; `None` when it does not fit.
pub fn format_syslog(h: &Header, text: &[u8], with_prio: bool, out: &mut [u8]) -> Option<usize> {
    let mut w = SliceWriter { out, len: 0 };
    write_syslog(&mut w, h, text, with_prio).ok()?;
    Some(w.len)
}

/// The length of [`format_syslog`]'s text.
pub fn syslog_len(h: &Header, text: &[u8], with_prio: bool) -> usize {
    let mut c = Counter(0);
    let _ = write_syslog(&mut c, h, text, with_prio);
    c.0
}

/// The `<N>` prefix of a line written to `/dev/kmsg`, as Linux reads it: a `<`, decimal digits
/// (none is 0), a `>`. Returns (facility, level, bytes of prefix) — the facility `None` when
/// the number's facility part is 0 (the writer's default is kept) — or `None` without a
/// prefix.
pub fn parse_prefix(line: &[u8]) -> Option<(Option<u8>, u8, usize)> {
    if line.first() != Some(&b'<') {
        return None;
    }
    let mut value: u64 = 0;
    let mut i = 1;
    while let Some(&d) = line.get(i).filter(|d| d.is_ascii_digit()) {
        value = value.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        i += 1;
    }
    if line.get(i) != Some(&b'>') {
        return None;
    }
    let facility = (value >> 3) as u8;
    Some(((facility != 0).then_some(facility), (value & 7) as u8, i + 1))
}
