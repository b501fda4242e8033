//! The superblock (byte 1024 of the volume, 1024 bytes) and the group descriptor table: parsing
//! with every geometry check a corrupted image could fail, the feature policy (which features
//! allow a read-write mount, which only a read-only one, which none), and serialization of the
//! fields this driver changes.

use alloc::vec::Vec;

use exo_abi::Errno;

use crate::bytes::{r16, r32, w16, w32};
use crate::Result;

pub(crate) const SB_OFFSET: u64 = 1024;
pub(crate) const SB_SIZE: usize = 1024;
pub(crate) const MAGIC: u16 = 0xEF53;

// s_state bits.
pub(crate) const STATE_VALID: u16 = 1;

// Incompatible features.
pub(crate) const INCOMPAT_FILETYPE: u32 = 0x2;
pub(crate) const INCOMPAT_64BIT: u32 = 0x80;
pub(crate) const INCOMPAT_FLEX_BG: u32 = 0x200;
/// Incompatible features this driver understands.
pub(crate) const INCOMPAT_SUPPORTED: u32 = INCOMPAT_FILETYPE | INCOMPAT_64BIT | INCOMPAT_FLEX_BG;

// Read-only-compatible features.
pub(crate) const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
pub(crate) const RO_COMPAT_LARGE_FILE: u32 = 0x2;
pub(crate) const RO_COMPAT_HUGE_FILE: u32 = 0x8;
/// Read-only-compatible features this driver can also write.
pub(crate) const RO_COMPAT_WRITABLE: u32 = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE;

/// Names of the incompatible features, for the refusal message.
const INCOMPAT_NAMES: &[(u32, &str)] = &[
    (0x1, "compression"),
    (0x4, "needs_recovery"),
    (0x8, "journal_dev"),
    (0x10, "meta_bg"),
    (0x40, "extents"),
    (0x100, "mmp"),
    (0x400, "ea_inode"),
    (0x1000, "dirdata"),
    (0x2000, "metadata_csum_seed"),
    (0x4000, "large_dir"),
    (0x8000, "inline_data"),
    (0x10000, "encrypt"),
    (0x20000, "casefold"),
];

const RO_COMPAT_NAMES: &[(u32, &str)] = &[
    (0x4, "btree_dir"),
    (0x8, "huge_file"),
    (0x10, "uninit_bg"),
    (0x20, "dir_nlink"),
    (0x40, "extra_isize"),
    (0x80, "snapshot"),
    (0x100, "quota"),
    (0x200, "bigalloc"),
    (0x400, "metadata_csum"),
    (0x800, "replica"),
    (0x1000, "read-only"),
    (0x2000, "project"),
    (0x4000, "shared_blocks"),
    (0x8000, "verity"),
    (0x10000, "orphan_present"),
];

fn feature_name(table: &[(u32, &'static str)], bit: u32) -> &'static str {
    table.iter().find(|(b, _)| *b == bit).map_or("unknown", |(_, n)| n)
}

/// The lowest set bit of `mask` and its name.
fn first_feature(table: &[(u32, &'static str)], mask: u32) -> (u32, &'static str) {
    let bit = mask & mask.wrapping_neg();
    (bit, feature_name(table, bit))
}

/// The volume's fixed geometry and features, checked at mount.
#[derive(Clone, Debug)]
pub(crate) struct Geometry {
    pub block_size: u32,
    pub blocks_count: u64,
    pub r_blocks_count: u64,
    pub first_data_block: u32,
    pub blocks_per_group: u32,
    pub inodes_per_group: u32,
    pub inodes_count: u32,
    pub groups: u32,
    pub inode_size: u32,
    pub first_ino: u32,
    pub desc_size: u32,
    pub rev: u32,
    pub incompat: u32,
    pub ro_compat: u32,
    /// Block holding the first group descriptor.
    pub gdt_block: u64,
    /// Bytes of extra inode fields new inodes get (`i_extra_isize`), 0 for 128-byte inodes.
    pub want_extra_isize: u16,
}

impl Geometry {
    /// Parses and checks a superblock. `dev_size` is the device size in bytes.
    pub fn parse(sb: &[u8], dev_size: u64) -> Result<Geometry> {
        if r16(sb, 56) != MAGIC {
            return Err(Errno::EINVAL);
        }
        let log = r32(sb, 24);
        if log > 6 {
            log::warn!("ext2: bad block size (log {log})");
            return Err(Errno::EINVAL);
        }
        let block_size = 1024u32 << log;
        let rev = r32(sb, 76);
        if rev > 1 {
            log::warn!("ext2: unknown revision {rev}");
            return Err(Errno::EINVAL);
        }
        let (incompat, ro_compat) = if rev >= 1 { (r32(sb, 96), r32(sb, 100)) } else { (0, 0) };
        let is64 = incompat & INCOMPAT_64BIT != 0;
        let hi = |off: usize| if is64 { u64::from(r32(sb, off)) << 32 } else { 0 };
        let blocks_count = u64::from(r32(sb, 4)) | hi(0x150);
        let r_blocks_count = u64::from(r32(sb, 8)) | hi(0x154);
        let first_data_block = r32(sb, 20);
        let blocks_per_group = r32(sb, 32);
        let inodes_per_group = r32(sb, 40);
        let inodes_count = r32(sb, 0);
        let bits = block_size.saturating_mul(8);
        let bad = |what: &str| {
            log::warn!("ext2: corrupted superblock: {what}");
            Err(Errno::EUCLEAN)
        };
        if blocks_per_group < 8 || blocks_per_group > bits || blocks_per_group % 8 != 0 {
            return bad("blocks per group");
        }
        if inodes_per_group == 0 || inodes_per_group > bits {
            return bad("inodes per group");
        }
        if u64::from(first_data_block) >= blocks_count || first_data_block != u32::from(block_size == 1024) {
            return bad("first data block");
        }
        let groups64 = (blocks_count - u64::from(first_data_block)).div_ceil(u64::from(blocks_per_group));
        let Ok(groups) = u32::try_from(groups64) else { return bad("group count") };
        if u64::from(inodes_count) > u64::from(groups) * u64::from(inodes_per_group) || inodes_count < 11 {
            return bad("inode count");
        }
        let (inode_size, first_ino) = if rev == 0 { (128, 11) } else { (u32::from(r16(sb, 88)), r32(sb, 84)) };
        if inode_size < 128 || !inode_size.is_power_of_two() || inode_size > block_size {
            return bad("inode size");
        }
        if first_ino < 11 || first_ino >= inodes_count {
            return bad("first inode");
        }
        let desc_size = if is64 { u32::from(r16(sb, 254)) } else { 32 };
        if desc_size < 32 || !desc_size.is_power_of_two() || desc_size > 1024 || (is64 && desc_size < 64) {
            return bad("descriptor size");
        }
        let needed = blocks_count.checked_mul(u64::from(block_size));
        if needed.is_none_or(|n| n > dev_size) {
            log::warn!("ext2: the device ({dev_size} bytes) is smaller than the file system ({blocks_count} blocks of {block_size})");
            return Err(Errno::EUCLEAN);
        }
        if r_blocks_count > blocks_count {
            return bad("reserved blocks");
        }
        let want_extra_isize = if inode_size > 128 {
            let want = r16(sb, 0x15C);
            let max = inode_size - 128;
            if want >= 4 && u32::from(want) <= max && want % 4 == 0 { want } else { 32u16.min(max as u16) }
        } else {
            0
        };
        Ok(Geometry {
            block_size,
            blocks_count,
            r_blocks_count,
            first_data_block,
            blocks_per_group,
            inodes_per_group,
            inodes_count,
            groups,
            inode_size,
            first_ino,
            desc_size,
            rev,
            incompat,
            ro_compat,
            gdt_block: u64::from(first_data_block) + 1,
            want_extra_isize,
        })
    }

    /// Whether the features allow mounting at all (`EINVAL` with a log line if not), and
    /// whether they allow writing.
    pub fn check_features(&self) -> Result<bool> {
        let unknown = self.incompat & !INCOMPAT_SUPPORTED;
        if unknown != 0 {
            let (bit, name) = first_feature(INCOMPAT_NAMES, unknown);
            log::warn!("ext2: cannot mount: unsupported incompatible feature {name} (0x{bit:x})");
            return Err(Errno::EINVAL);
        }
        let ro = self.ro_compat & !RO_COMPAT_WRITABLE;
        if ro != 0 {
            let (bit, name) = first_feature(RO_COMPAT_NAMES, ro);
            log::warn!("ext2: feature {name} (0x{bit:x}) is not supported for writing: read-only");
            return Ok(false);
        }
        if self.blocks_count > u64::from(u32::MAX) {
            log::warn!("ext2: more than 2^32 blocks: read-only");
            return Ok(false);
        }
        Ok(true)
    }

    pub fn has_filetype(&self) -> bool {
        self.incompat & INCOMPAT_FILETYPE != 0
    }

    pub fn huge_file(&self) -> bool {
        self.ro_compat & RO_COMPAT_HUGE_FILE != 0
    }

    /// Blocks of group `g` (the last group may be short).
    pub fn blocks_in_group(&self, g: u32) -> u32 {
        let start = self.group_first_block(g);
        let left = self.blocks_count.saturating_sub(start);
        left.min(u64::from(self.blocks_per_group)) as u32
    }

    pub fn group_first_block(&self, g: u32) -> u64 {
        u64::from(self.first_data_block) + u64::from(g) * u64::from(self.blocks_per_group)
    }

    /// Group of a block inside the volume.
    pub fn block_group(&self, block: u64) -> u32 {
        (block.saturating_sub(u64::from(self.first_data_block)) / u64::from(self.blocks_per_group)) as u32
    }

    /// Blocks of one group's inode table.
    pub fn itable_blocks(&self) -> u64 {
        (u64::from(self.inodes_per_group) * u64::from(self.inode_size)).div_ceil(u64::from(self.block_size))
    }

    /// Whether `b` may hold data (inside the volume, past the boot block).
    pub fn valid_block(&self, b: u64) -> bool {
        b >= u64::from(self.first_data_block) && b < self.blocks_count && b != 0
    }
}

/// One group descriptor (the fields this driver uses; the rest of the record is kept as is).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct GroupDesc {
    pub block_bitmap: u64,
    pub inode_bitmap: u64,
    pub inode_table: u64,
    pub free_blocks: u32,
    pub free_inodes: u32,
    pub used_dirs: u32,
    pub flags: u16,
}

impl GroupDesc {
    pub fn parse(d: &[u8], is64: bool) -> GroupDesc {
        let hi32 = |off: usize| if is64 { u64::from(r32(d, off)) << 32 } else { 0 };
        let hi16 = |off: usize| if is64 { u32::from(r16(d, off)) << 16 } else { 0 };
        GroupDesc {
            block_bitmap: u64::from(r32(d, 0)) | hi32(0x20),
            inode_bitmap: u64::from(r32(d, 4)) | hi32(0x24),
            inode_table: u64::from(r32(d, 8)) | hi32(0x28),
            free_blocks: u32::from(r16(d, 12)) | hi16(0x2C),
            free_inodes: u32::from(r16(d, 14)) | hi16(0x2E),
            used_dirs: u32::from(r16(d, 16)) | hi16(0x30),
            flags: r16(d, 18),
        }
    }

    /// Writes the counters back into the on-disk record `d`.
    pub fn store_counts(&self, d: &mut [u8], is64: bool) {
        w16(d, 12, self.free_blocks as u16);
        w16(d, 14, self.free_inodes as u16);
        w16(d, 16, self.used_dirs as u16);
        if is64 {
            w16(d, 0x2C, (self.free_blocks >> 16) as u16);
            w16(d, 0x2E, (self.free_inodes >> 16) as u16);
            w16(d, 0x30, (self.used_dirs >> 16) as u16);
        }
    }

    /// Checks the locations against the volume (`EUCLEAN` with a log line).
    pub fn check(&self, g: u32, geo: &Geometry) -> Result<()> {
        let itable_end = self.inode_table.checked_add(geo.itable_blocks());
        let ok = geo.valid_block(self.block_bitmap)
            && geo.valid_block(self.inode_bitmap)
            && geo.valid_block(self.inode_table)
            && itable_end.is_some_and(|e| e <= geo.blocks_count)
            && self.free_blocks <= geo.blocks_per_group
            && self.free_inodes <= geo.inodes_per_group;
        if ok {
            Ok(())
        } else {
            log::warn!("ext2: corrupted group descriptor {g}");
            Err(Errno::EUCLEAN)
        }
    }
}

/// Superblock fields written back: free counts, state, times, mount count, features.
pub(crate) struct SbUpdate {
    pub free_blocks: u64,
    pub free_inodes: u32,
    pub state: u16,
    pub mtime: Option<u32>,
    pub wtime: u32,
    pub mnt_count: u16,
    pub ro_compat: u32,
}

pub(crate) fn store_sb(sb: &mut [u8], u: &SbUpdate, is64: bool) {
    w32(sb, 12, u.free_blocks as u32);
    if is64 {
        w32(sb, 0x158, (u.free_blocks >> 32) as u32);
    }
    w32(sb, 16, u.free_inodes);
    w16(sb, 58, u.state);
    if let Some(t) = u.mtime {
        w32(sb, 44, t);
    }
    w32(sb, 48, u.wtime);
    w16(sb, 52, u.mnt_count);
    if r32(sb, 76) >= 1 {
        w32(sb, 100, u.ro_compat);
    }
}

/// Reads the group descriptor table (`groups * desc_size` bytes) into a vector.
pub(crate) fn gdt_bytes(geo: &Geometry) -> Result<(u64, usize)> {
    let len = u64::from(geo.groups) * u64::from(geo.desc_size);
    let off = geo.gdt_block.checked_mul(u64::from(geo.block_size)).ok_or(Errno::EUCLEAN)?;
    let end = off.checked_add(len).ok_or(Errno::EUCLEAN)?;
    if end > geo.blocks_count.saturating_mul(u64::from(geo.block_size)) {
        log::warn!("ext2: group descriptor table past the end of the volume");
        return Err(Errno::EUCLEAN);
    }
    Ok((off, usize::try_from(len).map_err(|_| Errno::EUCLEAN)?))
}

/// A zeroed vector of `len` bytes, `ENOMEM` if it cannot be allocated.
pub(crate) fn zeroed(len: usize) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    v.resize(len, 0);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::w32;
    use alloc::vec;

    /// A plausible rev-1 superblock: 1 KiB blocks, 8192 blocks, one group.
    fn sb() -> Vec<u8> {
        let mut s = vec![0u8; SB_SIZE];
        w32(&mut s, 0, 2048);
        w32(&mut s, 4, 8192);
        w32(&mut s, 20, 1);
        w32(&mut s, 32, 8192);
        w32(&mut s, 40, 2048);
        w16(&mut s, 56, MAGIC);
        w32(&mut s, 76, 1);
        w32(&mut s, 84, 11);
        w16(&mut s, 88, 256);
        w32(&mut s, 96, INCOMPAT_FILETYPE);
        s
    }

    #[test]
    fn parses_and_checks_geometry() {
        let g = Geometry::parse(&sb(), 8 << 20).unwrap();
        assert_eq!((g.block_size, g.groups, g.inode_size, g.want_extra_isize), (1024, 1, 256, 32));
        assert_eq!(g.check_features(), Ok(true));
        assert_eq!(Geometry::parse(&sb(), 4 << 20).err(), Some(Errno::EUCLEAN), "device too small");
        for (off, val) in [(24usize, 9u32), (32, 7), (40, 0), (20, 5), (84, 3), (0, 1 << 30)] {
            let mut s = sb();
            w32(&mut s, off, val);
            assert!(Geometry::parse(&s, 8 << 20).is_err(), "field at {off} = {val}");
        }
        let mut s = sb();
        w16(&mut s, 56, 0x1234);
        assert_eq!(Geometry::parse(&s, 8 << 20).err(), Some(Errno::EINVAL));
    }

    #[test]
    fn feature_policy() {
        let mut s = sb();
        w32(&mut s, 96, INCOMPAT_FILETYPE | 0x40);
        assert_eq!(Geometry::parse(&s, 8 << 20).unwrap().check_features(), Err(Errno::EINVAL));
        let mut s = sb();
        w32(&mut s, 100, RO_COMPAT_SPARSE_SUPER | 0x400);
        assert_eq!(Geometry::parse(&s, 8 << 20).unwrap().check_features(), Ok(false));
        let mut s = sb();
        w32(&mut s, 92, 0xFFFF);
        assert_eq!(Geometry::parse(&s, 8 << 20).unwrap().check_features(), Ok(true));
    }
}
