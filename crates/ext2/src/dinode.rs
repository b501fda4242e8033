//! The on-disk inode: the fields this driver uses, parsed from and stored into the raw record
//! (whose other bytes — in-inode extended attributes, checksums — are kept as they are).

use alloc::vec::Vec;

use exo_abi::mode::*;
use exo_vfs::Time;

use crate::bytes::{r16, r32, w16, w32};
use crate::sb::Geometry;

pub(crate) const N_BLOCKS: usize = 15;
pub(crate) const IND: usize = 12;
pub(crate) const DIND: usize = 13;
pub(crate) const TIND: usize = 14;

pub(crate) const FL_IMMUTABLE: u32 = 0x10;
pub(crate) const FL_APPEND: u32 = 0x20;
/// Flags that forbid removing or renaming the inode (`chattr +i`, `+a`).
pub(crate) const FL_PINNED: u32 = FL_IMMUTABLE | FL_APPEND;
pub(crate) const FL_INDEX: u32 = 0x1000;
pub(crate) const FL_HUGE_FILE: u32 = 0x40000;
pub(crate) const FL_EXTENTS: u32 = 0x80000;
pub(crate) const FL_INLINE_DATA: u32 = 0x1000_0000;

/// One inode as the driver keeps it in memory.
#[derive(Clone, Debug)]
pub(crate) struct DiskInode {
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub atime: Time,
    pub ctime: Time,
    pub mtime: Time,
    pub dtime: u32,
    pub links: u16,
    /// `i_blocks` in 512-byte units (including indirect and xattr blocks).
    pub blocks: u64,
    pub flags: u32,
    pub block: [u32; N_BLOCKS],
    pub file_acl: u64,
    /// The raw record (inode_size bytes), rewritten with the fields above by [`DiskInode::store`].
    pub raw: Vec<u8>,
}

fn extra_ok(raw: &[u8], field_end: usize) -> bool {
    raw.len() > 128 && 128 + usize::from(r16(raw, 128)) >= field_end
}

fn load_time(raw: &[u8], sec_off: usize, extra_off: usize) -> Time {
    let sec = i64::from(r32(raw, sec_off) as i32);
    if extra_ok(raw, extra_off + 4) {
        let extra = r32(raw, extra_off);
        let epoch = i64::from(extra & 3);
        let nsec = (extra >> 2).min(999_999_999);
        Time::new(sec + (epoch << 32), nsec)
    } else {
        Time::new(sec, 0)
    }
}

fn store_time(raw: &mut [u8], sec_off: usize, extra_off: usize, t: Time) {
    w32(raw, sec_off, t.sec as u32);
    if extra_ok(raw, extra_off + 4) {
        let epoch = ((t.sec - i64::from(t.sec as i32)) >> 32) as u32 & 3;
        w32(raw, extra_off, (t.nsec.min(999_999_999) << 2) | epoch);
    }
}

impl DiskInode {
    pub fn parse(raw: Vec<u8>, geo: &Geometry) -> DiskInode {
        let mode = r16(&raw, 0);
        let flags = r32(&raw, 32);
        let mut block = [0u32; N_BLOCKS];
        for (i, b) in block.iter_mut().enumerate() {
            *b = r32(&raw, 40 + 4 * i);
        }
        let is_reg = u32::from(mode) & S_IFMT == S_IFREG;
        let size_hi = if is_reg || geo.rev >= 1 && u32::from(mode) & S_IFMT != S_IFDIR { u64::from(r32(&raw, 108)) } else { 0 };
        let mut blocks = u64::from(r32(&raw, 28));
        if geo.huge_file() {
            blocks |= u64::from(r16(&raw, 116)) << 32;
            if flags & FL_HUGE_FILE != 0 {
                blocks = blocks.saturating_mul(u64::from(geo.block_size / 512));
            }
        }
        DiskInode {
            mode,
            uid: u32::from(r16(&raw, 2)) | u32::from(r16(&raw, 120)) << 16,
            gid: u32::from(r16(&raw, 24)) | u32::from(r16(&raw, 122)) << 16,
            size: u64::from(r32(&raw, 4)) | size_hi << 32,
            atime: load_time(&raw, 8, 140),
            ctime: load_time(&raw, 12, 132),
            mtime: load_time(&raw, 16, 136),
            dtime: r32(&raw, 20),
            links: r16(&raw, 26),
            blocks,
            flags,
            block,
            file_acl: u64::from(r32(&raw, 104)) | u64::from(r16(&raw, 118)) << 32,
            raw,
        }
    }

    /// A fresh inode record (`inode_size` bytes) for a new file.
    pub fn new(geo: &Geometry, mode: u16, uid: u32, gid: u32, now: Time) -> DiskInode {
        let mut raw = alloc::vec![0u8; geo.inode_size as usize];
        if geo.want_extra_isize != 0 {
            w16(&mut raw, 128, geo.want_extra_isize);
        }
        let mut d = DiskInode::parse(raw, geo);
        d.mode = mode;
        d.uid = uid;
        d.gid = gid;
        d.atime = now;
        d.ctime = now;
        d.mtime = now;
        d.links = 1;
        if extra_ok(&d.raw, 152) {
            store_time(&mut d.raw, 144, 148, now);
        }
        d
    }

    /// Writes the fields back into `raw` (then `raw` is what goes to disk).
    pub fn store(&mut self) {
        let raw = &mut self.raw;
        w16(raw, 0, self.mode);
        w16(raw, 2, self.uid as u16);
        w16(raw, 120, (self.uid >> 16) as u16);
        w16(raw, 24, self.gid as u16);
        w16(raw, 122, (self.gid >> 16) as u16);
        w32(raw, 4, self.size as u32);
        w32(raw, 108, (self.size >> 32) as u32);
        store_time(raw, 8, 140, self.atime);
        store_time(raw, 12, 132, self.ctime);
        store_time(raw, 16, 136, self.mtime);
        w32(raw, 20, self.dtime);
        w16(raw, 26, self.links);
        w32(raw, 28, self.blocks as u32);
        w32(raw, 32, self.flags);
        for (i, b) in self.block.iter().enumerate() {
            w32(raw, 40 + 4 * i, *b);
        }
        w32(raw, 104, self.file_acl as u32);
        w16(raw, 118, (self.file_acl >> 32) as u16);
    }

    pub fn ftype(&self) -> u32 {
        u32::from(self.mode) & S_IFMT
    }

    pub fn is_dir(&self) -> bool {
        self.ftype() == S_IFDIR
    }

    /// Whether a symlink keeps its target in `i_block` (no data block besides an xattr block).
    pub fn is_fast_symlink(&self, block_size: u32) -> bool {
        let ea = if self.file_acl != 0 { u64::from(block_size / 512) } else { 0 };
        self.ftype() == S_IFLNK && self.blocks.saturating_sub(ea) == 0
    }

    /// The raw bytes of `i_block` (fast symlink target).
    pub fn block_bytes(&self) -> [u8; 60] {
        let mut out = [0u8; 60];
        for (i, b) in self.block.iter().enumerate() {
            if let Some(d) = out.get_mut(4 * i..4 * i + 4) {
                d.copy_from_slice(&b.to_le_bytes());
            }
        }
        out
    }

    pub fn set_block_bytes(&mut self, bytes: &[u8]) {
        let mut buf = [0u8; 60];
        let n = bytes.len().min(60);
        buf[..n].copy_from_slice(&bytes[..n]);
        for (i, b) in self.block.iter_mut().enumerate() {
            *b = r32(&buf, 4 * i);
        }
    }

    /// Device number of a device node (old 16-bit or new 32-bit encoding).
    pub fn rdev(&self) -> u64 {
        let (major, minor) = if self.block[0] != 0 {
            let d = self.block[0];
            ((d >> 8) & 0xff, d & 0xff)
        } else {
            let d = self.block[1];
            ((d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00))
        };
        makedev(major, minor)
    }

    pub fn set_rdev(&mut self, rdev: u64) {
        let (major, minor) = major_minor(rdev);
        if major < 256 && minor < 256 {
            self.block[0] = (major << 8) | minor;
            self.block[1] = 0;
        } else {
            self.block[0] = 0;
            self.block[1] = (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12);
        }
    }
}
