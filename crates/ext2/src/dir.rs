//! Directory contents in memory: the whole directory image (its blocks, read once), a hash
//! index of the names (hash → entry offset, so a lookup or an existence check costs one index
//! search, not a scan), and per block the largest free gap (where a new entry fits). Changes
//! edit the image and return the byte range to write back. Every record is checked when the
//! image is loaded (`rec_len`, name length, inode number): a bad one is `EUCLEAN`.
//!
//! Entry layout: inode (u32), rec_len (u16), name_len (u8), file_type (u8, with the
//! `filetype` feature; otherwise the high byte of a 16-bit name_len), name. A removed entry is
//! merged into the previous one of its block (or gets inode 0 if first).

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use exo_abi::mode::*;
use exo_abi::Errno;

use crate::bytes::{r16, r32, r8, w16, w32, w8};
use crate::Result;

/// Largest directory this driver loads (bytes).
pub(crate) const MAX_DIR_BYTES: u64 = 64 << 20;

/// Space a record with a name of `n` bytes needs.
pub(crate) fn rec_size(n: usize) -> u32 {
    ((8 + n as u32) + 3) & !3
}

fn hash(name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// `file_type` code of a mode.
pub(crate) fn ftype_code(mode: u32) -> u8 {
    match mode & S_IFMT {
        S_IFREG => 1,
        S_IFDIR => 2,
        S_IFCHR => 3,
        S_IFBLK => 4,
        S_IFIFO => 5,
        S_IFSOCK => 6,
        S_IFLNK => 7,
        _ => 0,
    }
}

/// `d_type` of a `file_type` code.
pub(crate) fn dtype(code: u8) -> u8 {
    match code {
        1 => DT_REG,
        2 => DT_DIR,
        3 => DT_CHR,
        4 => DT_BLK,
        5 => DT_FIFO,
        6 => DT_SOCK,
        7 => DT_LNK,
        _ => DT_UNKNOWN,
    }
}

/// One parsed record.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rec {
    pub off: u32,
    pub ino: u32,
    pub rec_len: u32,
    pub name_len: u32,
    pub ftype: u8,
}

pub(crate) struct DirImage {
    pub data: Vec<u8>,
    bs: u32,
    filetype: bool,
    index: BTreeSet<(u64, u32)>,
    /// Largest free gap per block.
    slack: Vec<u32>,
    /// Entries other than `.` and `..`.
    pub count: usize,
    /// Offset of the `..` record.
    pub dotdot: Option<u32>,
}

impl DirImage {
    /// Checks and indexes a directory image (`data.len()` a multiple of `bs`).
    pub fn new(data: Vec<u8>, bs: u32, filetype: bool, inodes: u32, ino: u32) -> Result<DirImage> {
        let nblocks = data.len() / bs as usize;
        let mut slack = Vec::new();
        slack.try_reserve_exact(nblocks).map_err(|_| Errno::ENOMEM)?;
        let mut img = DirImage { data, bs, filetype, index: BTreeSet::new(), slack, count: 0, dotdot: None };
        for b in 0..nblocks {
            img.slack.push(0);
            let recs = img.block_recs(b as u32, inodes).ok_or_else(|| crate::fs::corrupt(ino, "bad directory entry"))?;
            for r in recs {
                if r.ino == 0 {
                    continue;
                }
                let name = img.name(&r);
                if name.is_empty() {
                    return Err(crate::fs::corrupt(ino, "empty name in a directory entry"));
                }
                if name == b"." || name == b".." {
                    if name == b".." && b == 0 && img.dotdot.is_none() {
                        img.dotdot = Some(r.off);
                    }
                    continue;
                }
                img.index.insert((hash(name), r.off));
                img.count += 1;
            }
            img.update_slack(b as u32);
        }
        Ok(img)
    }

    pub fn nblocks(&self) -> u32 {
        (self.data.len() / self.bs as usize) as u32
    }

    fn rec_at(&self, off: u32) -> Rec {
        let o = off as usize;
        let raw_len = u32::from(r16(&self.data, o + 4));
        let rec_len = if self.bs == 65536 && (raw_len == 0 || raw_len == 65535) { 65536 } else { raw_len };
        let (name_len, ftype) = if self.filetype { (u32::from(r8(&self.data, o + 6)), r8(&self.data, o + 7)) } else { (u32::from(r16(&self.data, o + 6)), 0) };
        Rec { off, ino: r32(&self.data, o), rec_len, name_len, ftype }
    }

    fn set_rec_len(&mut self, off: u32, len: u32) {
        let v = if len >= 65536 { 65535 } else { len as u16 };
        w16(&mut self.data, off as usize + 4, v);
    }

    pub fn name(&self, r: &Rec) -> &[u8] {
        let s = r.off as usize + 8;
        self.data.get(s..s + r.name_len as usize).unwrap_or(&[])
    }

    /// The records of block `b`, `None` if one is malformed.
    pub fn block_recs(&self, b: u32, inodes: u32) -> Option<Vec<Rec>> {
        let start = b.checked_mul(self.bs)?;
        let end = start.checked_add(self.bs)?;
        if end as usize > self.data.len() {
            return None;
        }
        let mut out = Vec::new();
        let mut off = start;
        while off < end {
            let r = self.rec_at(off);
            let ok = r.rec_len >= 8
                && r.rec_len % 4 == 0
                && off.checked_add(r.rec_len).is_some_and(|e| e <= end)
                && (r.ino == 0 || (r.name_len <= 255 && 8 + r.name_len <= r.rec_len && r.ino <= inodes));
            if !ok {
                return None;
            }
            out.push(r);
            off += r.rec_len;
        }
        Some(out)
    }

    /// Calls `f` on each record of block `b` in order until it returns `false`, without
    /// allocating (hot paths; stops at a malformed record, which a loaded image never has).
    fn walk(&self, b: u32, mut f: impl FnMut(Rec) -> bool) {
        let Some(start) = b.checked_mul(self.bs) else { return };
        let end = start.saturating_add(self.bs).min(self.data.len() as u32);
        let mut off = start;
        while off < end {
            let r = self.rec_at(off);
            if r.rec_len < 8 || off.checked_add(r.rec_len).is_none_or(|e| e > end) || !f(r) {
                return;
            }
            off += r.rec_len;
        }
    }

    fn update_slack(&mut self, b: u32) {
        let mut gap = 0;
        self.walk(b, |r| {
            gap = gap.max(Self::gap(&r));
            true
        });
        if let Some(s) = self.slack.get_mut(b as usize) {
            *s = gap;
        }
    }

    fn gap(r: &Rec) -> u32 {
        if r.ino == 0 {
            r.rec_len
        } else {
            r.rec_len.saturating_sub(rec_size(r.name_len as usize))
        }
    }

    /// The record called `name`.
    pub fn find(&self, name: &[u8]) -> Option<Rec> {
        let h = hash(name);
        self.index.range((h, 0)..=(h, u32::MAX)).map(|&(_, off)| self.rec_at(off)).find(|r| r.ino != 0 && self.name(r) == name)
    }

    /// Adds `name` in a block with room; `None` if no block has room (the caller appends a
    /// block with [`DirImage::push_block`] first). Returns the changed byte range.
    pub fn insert(&mut self, name: &[u8], ino: u32, ftype: u8) -> Option<(u32, u32)> {
        let need = rec_size(name.len());
        let b = self.slack.iter().position(|&s| s >= need)? as u32;
        let mut found = None;
        self.walk(b, |r| {
            if Self::gap(&r) >= need {
                found = Some(r);
            }
            found.is_none()
        });
        let r = found?;
        let (new_off, range) = if r.ino == 0 {
            (r.off, (r.off, r.off + r.rec_len))
        } else {
            let used = rec_size(r.name_len as usize);
            self.set_rec_len(r.off, used);
            let no = r.off + used;
            self.set_rec_len(no, r.rec_len - used);
            (no, (r.off, r.off + r.rec_len))
        };
        if new_off == r.off {
            self.set_rec_len(new_off, r.rec_len);
        }
        let o = new_off as usize;
        w32(&mut self.data, o, ino);
        if self.filetype {
            w8(&mut self.data, o + 6, name.len() as u8);
            w8(&mut self.data, o + 7, ftype);
        } else {
            w16(&mut self.data, o + 6, name.len() as u16);
        }
        if let Some(d) = self.data.get_mut(o + 8..o + 8 + name.len()) {
            d.copy_from_slice(name);
        }
        self.index.insert((hash(name), new_off));
        self.count += 1;
        self.update_slack(b);
        Some(range)
    }

    /// Appends an empty block (one record of inode 0 spanning it).
    pub fn push_block(&mut self) -> Result<()> {
        let bs = self.bs as usize;
        self.data.try_reserve(bs).map_err(|_| Errno::ENOMEM)?;
        self.slack.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let off = self.data.len() as u32;
        self.data.resize(self.data.len() + bs, 0);
        self.set_rec_len(off, self.bs);
        self.slack.push(self.bs);
        Ok(())
    }

    /// Removes the record at `r` (found by [`DirImage::find`]); returns the changed range.
    pub fn remove(&mut self, r: &Rec) -> (u32, u32) {
        let h = hash(self.name(r));
        self.index.remove(&(h, r.off));
        self.count = self.count.saturating_sub(1);
        let b = r.off / self.bs;
        let mut prev = None;
        self.walk(b, |x| {
            if x.off < r.off {
                prev = Some(x);
            }
            x.off < r.off
        });
        let range = match prev {
            Some(p) => {
                self.set_rec_len(p.off, p.rec_len + r.rec_len);
                (p.off, p.off + 8)
            }
            None => {
                w32(&mut self.data, r.off as usize, 0);
                (r.off, r.off + 8)
            }
        };
        self.update_slack(b);
        range
    }

    /// Points the record at `off` to another inode; returns the changed range.
    pub fn retarget(&mut self, off: u32, ino: u32, ftype: u8) -> (u32, u32) {
        w32(&mut self.data, off as usize, ino);
        if self.filetype {
            w8(&mut self.data, off as usize + 7, ftype);
        }
        (off, off + 8)
    }

    /// Writes `.` and `..` into an empty first block (a new directory's image).
    pub fn init_dots(&mut self, me: u32, parent: u32) -> (u32, u32) {
        let bs = self.bs;
        let dt = if self.filetype { 2 } else { 0 };
        w32(&mut self.data, 0, me);
        self.set_rec_len(0, 12);
        w8(&mut self.data, 6, 1);
        w8(&mut self.data, 7, dt);
        w8(&mut self.data, 8, b'.');
        w32(&mut self.data, 12, parent);
        self.set_rec_len(12, bs - 12);
        w8(&mut self.data, 18, 2);
        w8(&mut self.data, 19, dt);
        w8(&mut self.data, 20, b'.');
        w8(&mut self.data, 21, b'.');
        self.dotdot = Some(12);
        self.update_slack(0);
        (0, bs)
    }

    /// The records from byte `cursor` on, at most `max`, with `ino != 0`.
    pub fn list_from(&self, cursor: u64, max: usize, out: &mut Vec<Rec>) {
        let Ok(cursor) = u32::try_from(cursor) else { return };
        let mut b = cursor / self.bs;
        while b < self.nblocks() && out.len() < max {
            self.walk(b, |r| {
                if r.ino != 0 && r.off >= cursor {
                    out.push(r);
                }
                true
            });
            b += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn empty(bs: u32) -> DirImage {
        let mut d = DirImage::new(Vec::new(), bs, true, 1000, 5).unwrap();
        d.push_block().unwrap();
        d.init_dots(5, 2);
        d
    }

    #[test]
    fn insert_find_remove_keep_records_valid() {
        let mut d = empty(1024);
        let mut names = Vec::new();
        for i in 0..80u32 {
            let name = alloc::format!("entry-{i}");
            if d.insert(name.as_bytes(), 100 + i, 1).is_none() {
                d.push_block().unwrap();
                d.insert(name.as_bytes(), 100 + i, 1).unwrap();
            }
            names.push(name);
        }
        assert!(d.nblocks() > 1);
        assert_eq!(d.count, 80);
        for (i, n) in names.iter().enumerate() {
            assert_eq!(d.find(n.as_bytes()).unwrap().ino, 100 + i as u32);
        }
        for n in names.iter().step_by(2) {
            let r = d.find(n.as_bytes()).unwrap();
            d.remove(&r);
        }
        assert_eq!(d.count, 40);
        assert!(d.find(b"entry-0").is_none());
        assert!(d.find(b"entry-1").is_some());
        // The image re-parses to the same index.
        let again = DirImage::new(d.data.clone(), 1024, true, 1000, 5).unwrap();
        assert_eq!(again.count, 40);
        assert_eq!(again.dotdot, Some(12));
        let mut recs = Vec::new();
        again.list_from(0, usize::MAX, &mut recs);
        assert_eq!(recs.len(), 42);
        // Freed space is reused before a block is appended.
        let blocks = d.nblocks();
        for i in 0..20u32 {
            d.insert(alloc::format!("new-{i}").as_bytes(), 500 + i, 1).unwrap();
        }
        assert_eq!(d.nblocks(), blocks);
    }

    #[test]
    fn bad_records_are_refused() {
        let mut d = empty(1024);
        d.insert(b"x", 9, 1).unwrap();
        for (off, val) in [(4usize, 3u8), (16, 0xff), (18, 200)] {
            let mut data = d.data.clone();
            data[off] = val;
            assert!(DirImage::new(data, 1024, true, 1000, 5).is_err(), "offset {off}");
        }
        let mut data = d.data.clone();
        data[24..28].copy_from_slice(&5000u32.to_le_bytes());
        assert!(DirImage::new(data, 1024, true, 1000, 5).is_err(), "inode past the count");
        assert!(DirImage::new(vec![0u8; 1024], 1024, true, 1000, 5).is_err(), "rec_len 0");
    }
}
