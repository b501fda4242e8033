//! `exo-ksyms`: the Exo-OS kernel's own symbol table, used to symbolize backtraces.
//!
//! xtask links the kernel, collects its function symbols, encodes them with [`build`] (cargo
//! feature `build`, needs `alloc`) and patches the blob into the kernel's reserved `.ksyms`
//! section. The kernel parses the section with [`Table::parse`] and symbolizes addresses with
//! [`Table::lookup`].
//!
//! # Format (all integers little-endian)
//!
//! | part    | layout                                                                     |
//! |---------|----------------------------------------------------------------------------|
//! | header  | magic `b"EXOKSYM1"` (8 bytes), count u32, strtab_len u32 (16 bytes total)   |
//! | entries | `count` × { addr u64, size u32, name_off u32 } (16 bytes each), sorted by addr |
//! | strtab  | `strtab_len` bytes of names                                                 |
//! | padding | anything (the rest of the reserved section is zeros); ignored               |
//!
//! `name_off` is an offset into the strtab where the name is stored as a u16 length prefix
//! followed by that many bytes of UTF-8 (no NUL). [`build`] keeps names to at most 255 bytes.
//! `size` is the symbol's length in bytes; 0 means unknown (the symbol then covers everything
//! up to the next symbol).
//!
//! [`Table::parse`] validates the header, that the entries and strtab fit in the input, and that
//! entries are sorted; names are checked lazily, so a corrupt name only makes the lookups that
//! land on that entry return `None`.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

#[cfg(any(feature = "build", test))]
extern crate alloc;

#[cfg(any(feature = "build", test))]
mod builder;

#[cfg(any(feature = "build", test))]
pub use builder::build;

/// First 8 bytes of a symbol table blob.
pub const MAGIC: [u8; 8] = *b"EXOKSYM1";
/// Size of the header in bytes.
pub const HEADER_LEN: usize = 16;
/// Size of one entry in bytes.
pub const ENTRY_LEN: usize = 16;
/// Longest name [`build`] stores, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// One symbol of a [`Table`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// Start address.
    pub addr: u64,
    /// Length in bytes (0: unknown, extends to the next symbol).
    pub size: u64,
    /// Name (usually demangled by xtask).
    pub name: &'a str,
}

/// A parsed, borrowed symbol table.
#[derive(Clone, Copy, Debug)]
pub struct Table<'a> {
    entries: &'a [u8],
    strtab: &'a [u8],
}

fn le_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le_u64(b: &[u8], off: usize) -> Option<u64> {
    let lo = le_u32(b, off)?;
    let hi = le_u32(b, off.checked_add(4)?)?;
    Some(u64::from(lo) | (u64::from(hi) << 32))
}

impl<'a> Table<'a> {
    /// Parses a blob (trailing bytes after the strtab are accepted). Returns `None` if the magic
    /// is wrong, the entries or strtab do not fit in `bytes`, or the entries are not sorted by
    /// address.
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        if bytes.get(..8)? != MAGIC {
            return None;
        }
        let count = usize::try_from(le_u32(bytes, 8)?).ok()?;
        let strtab_len = usize::try_from(le_u32(bytes, 12)?).ok()?;
        let entries_end = count.checked_mul(ENTRY_LEN)?.checked_add(HEADER_LEN)?;
        let strtab_end = entries_end.checked_add(strtab_len)?;
        let table = Self {
            entries: bytes.get(HEADER_LEN..entries_end)?,
            strtab: bytes.get(entries_end..strtab_end)?,
        };
        let mut prev = 0u64;
        for i in 0..count {
            let addr = table.addr(i)?;
            if addr < prev {
                return None;
            }
            prev = addr;
        }
        Some(table)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len() / ENTRY_LEN
    }

    /// True if the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn addr(&self, i: usize) -> Option<u64> {
        le_u64(self.entries, i.checked_mul(ENTRY_LEN)?)
    }

    /// The `i`-th symbol, or `None` if out of range or its name is corrupt.
    pub fn get(&self, i: usize) -> Option<Symbol<'a>> {
        let off = i.checked_mul(ENTRY_LEN)?;
        let addr = le_u64(self.entries, off)?;
        let size = le_u32(self.entries, off + 8)?;
        let name_off = usize::try_from(le_u32(self.entries, off + 12)?).ok()?;
        let len_bytes = self.strtab.get(name_off..name_off.checked_add(2)?)?;
        let name_len = usize::from(u16::from_le_bytes([len_bytes[0], len_bytes[1]]));
        let start = name_off + 2;
        let name = self.strtab.get(start..start.checked_add(name_len)?)?;
        let name = core::str::from_utf8(name).ok()?;
        Some(Symbol {
            addr,
            size: u64::from(size),
            name,
        })
    }

    /// Iterates over the symbols in address order, skipping entries with a corrupt name.
    pub fn iter(&self) -> impl Iterator<Item = Symbol<'a>> + 'a {
        let t = *self;
        (0..t.len()).filter_map(move |i| t.get(i))
    }

    /// The symbol containing `addr` and the offset of `addr` into it: the last symbol starting
    /// at or below `addr`, provided `addr` is inside it (a symbol of size 0 extends to the next
    /// symbol). `None` if there is no such symbol or its entry is corrupt.
    pub fn lookup(&self, addr: u64) -> Option<(&'a str, u64)> {
        // Binary search for the number of entries with start <= addr.
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.addr(mid)? <= addr {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let sym = self.get(lo.checked_sub(1)?)?;
        let offset = addr.checked_sub(sym.addr)?;
        if sym.size > 0 && offset >= sym.size {
            return None;
        }
        Some((sym.name, offset))
    }
}

#[cfg(test)]
mod tests;
