//! A tmpfs directory's listing image: the `linux_dirent64` records of all its entries (`.` and
//! `..` excepted, as `..` changes when the directory moves), in cookie order, built on the
//! first `getdents64` after a change and shared (`Arc`) until the next change drops it. A
//! listing then costs one binary search for the cursor and one copy of the records that fit,
//! instead of walking the entry table and encoding every record again.
//!
//! The image is only a cache of what [`Dir`](super::dir::Dir) holds: every insert and removal
//! drops it (under the directory's write lock), and it is rebuilt under the read lock, so a
//! listing sees exactly the entries the table had at some instant. If it cannot be allocated,
//! the listing encodes records straight from the table instead.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::mode::dirent_type;

use super::node::TmpNode;
use crate::dirents::push_dirent64;

/// The records of every entry, and for each its cookie and the end of its record.
pub(crate) struct Listing {
    records: Vec<u8>,
    /// (cookie, end offset of its record in `records`), in cookie order.
    index: Vec<(u64, usize)>,
}

impl Listing {
    /// Encodes `slots` (cookie → (name, node)); `None` if memory runs out.
    pub(crate) fn build(slots: &BTreeMap<u64, (Vec<u8>, Arc<TmpNode>)>) -> Option<Arc<Listing>> {
        let mut index = Vec::new();
        index.try_reserve_exact(slots.len()).ok()?;
        let mut records = Vec::new();
        let bytes: usize = slots.values().map(|(name, _)| exo_abi::types::dirent64_len(name.len())).sum();
        records.try_reserve_exact(bytes.saturating_add(32)).ok()?;
        for (&cookie, (name, node)) in slots {
            if !push_dirent64(&mut records, usize::MAX, node.ino, dirent_type(node.ftype), name, cookie.saturating_add(1)).ok()? {
                return None;
            }
            index.push((cookie, records.len()));
        }
        Some(Arc::new(Listing { records, index }))
    }

    /// Appends to `out` the records of the entries from `cursor` on (cursor ≥ 2) that fit in
    /// `avail` bytes. Returns the cursor after the last one appended (`cursor` if none) and
    /// whether an entry was left out for lack of room; `None` if `out` cannot grow.
    pub(crate) fn copy_from(&self, cursor: u64, out: &mut Vec<u8>, avail: usize) -> Option<(u64, bool)> {
        let first = self.index.partition_point(|&(cookie, _)| cookie < cursor);
        let rest = self.index.get(first..).unwrap_or_default();
        let start = match first.checked_sub(1) {
            Some(prev) => self.index.get(prev).map_or(0, |&(_, end)| end),
            None => 0,
        };
        let fit = rest.partition_point(|&(_, end)| end - start <= avail);
        let Some(&(last_cookie, end)) = fit.checked_sub(1).and_then(|i| rest.get(i)) else {
            return Some((cursor, !rest.is_empty()));
        };
        let bytes = self.records.get(start..end)?;
        out.try_reserve(bytes.len()).ok()?;
        out.extend_from_slice(bytes);
        Some((last_cookie.saturating_add(1), fit < rest.len()))
    }
}
