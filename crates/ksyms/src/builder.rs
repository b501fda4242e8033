//! Encoder of the symbol table blob (cargo feature `build`, used by xtask on the host).

use crate::{ENTRY_LEN, HEADER_LEN, MAGIC, MAX_NAME_LEN};
use alloc::vec::Vec;

/// The longest prefix of `name` that is at most [`MAX_NAME_LEN`] bytes and ends on a character
/// boundary (so the stored name stays valid UTF-8).
fn clip_name(name: &str) -> &str {
    if name.len() <= MAX_NAME_LEN {
        return name;
    }
    let mut end = MAX_NAME_LEN;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Encodes `symbols` as `(addr, size, name)` into a blob [`crate::Table::parse`] accepts.
///
/// Symbols are sorted by address; of several symbols at the same address only the first given
/// is kept. Names longer than [`MAX_NAME_LEN`] bytes are truncated (on a character boundary);
/// sizes above `u32::MAX` are clamped to `u32::MAX`. The blob holds no padding.
pub fn build(symbols: &[(u64, u64, &str)]) -> Vec<u8> {
    let mut sorted: Vec<&(u64, u64, &str)> = symbols.iter().collect();
    // Stable sort: equal addresses keep their input order, so dedup keeps the first name.
    sorted.sort_by_key(|s| s.0);
    sorted.dedup_by_key(|s| s.0);
    // Count and offsets are u32: stop before either would overflow (no real kernel gets near).
    sorted.truncate(u32::MAX as usize);

    let mut strtab: Vec<u8> = Vec::new();
    let mut entries: Vec<u8> = Vec::with_capacity(sorted.len() * ENTRY_LEN);
    for &&(addr, size, name) in &sorted {
        let name = clip_name(name);
        let Ok(name_off) = u32::try_from(strtab.len()) else {
            break;
        };
        if u32::try_from(strtab.len() + 2 + name.len()).is_err() {
            break;
        }
        strtab.extend_from_slice(&(name.len() as u16).to_le_bytes());
        strtab.extend_from_slice(name.as_bytes());
        entries.extend_from_slice(&addr.to_le_bytes());
        entries.extend_from_slice(&(size.min(u64::from(u32::MAX)) as u32).to_le_bytes());
        entries.extend_from_slice(&name_off.to_le_bytes());
    }

    let mut out = Vec::with_capacity(HEADER_LEN + entries.len() + strtab.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&((entries.len() / ENTRY_LEN) as u32).to_le_bytes());
    out.extend_from_slice(&(strtab.len() as u32).to_le_bytes());
    out.extend_from_slice(&entries);
    out.extend_from_slice(&strtab);
    out
}
