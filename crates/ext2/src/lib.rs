//! `exo-ext2`: the ext2 file system, read and write, over an [`exo_blockdev::BlockIo`], for
//! the Exo-OS kernel (`no_std` + `alloc`, no `unsafe`, host-tested against images made and
//! checked by e2fsprogs). ext3 volumes without a pending journal recovery mount as ext2 (the
//! journal is ignored); ext4 volumes without extents mount read-only. See `docs/storage.md`,
//! section "ext2", for the layout used, the feature lists and the crash-consistency rules.
//!
//! - [`probe`]: whether a device holds an ext2/3/4 superblock.
//! - [`Ext2Fs::mount`] → an [`exo_vfs::FileSystem`] whose inodes are [`Ext2Inode`]s;
//!   [`Ext2Fs::unmount`] writes everything and marks the volume clean.
//!
//! Corrupted metadata is never trusted: every on-disk number is range-checked, every
//! arithmetic on it checked; a bad structure gives `EUCLEAN` (or `EIO` from the device) and a
//! `log::warn!` line naming the inode or block, never a panic or an unbounded loop.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod balloc;
mod bitmap;
mod bmap;
mod bytes;
mod dinode;
mod dir;
mod file;
mod fs;
mod inode;
mod ops;
mod rename;
mod sb;

use alloc::sync::Arc;

pub use exo_abi::Errno;
pub use fs::Ext2Fs;
pub use inode::Ext2Inode;

/// Result of every operation.
pub type Result<T> = core::result::Result<T, Errno>;

/// `statfs.f_type` of ext2/3/4 (`EXT2_SUPER_MAGIC`).
pub const EXT2_MAGIC: u64 = 0xEF53;

/// How to mount a volume.
#[derive(Clone)]
pub struct MountOptions {
    /// Refuse every change (and write nothing, not even the mount count).
    pub read_only: bool,
    /// Source of timestamps.
    pub clock: Arc<dyn exo_vfs::Clock>,
    /// Type name shown in `/proc/mounts`: `"ext2"`, `"ext3"` or `"ext4"`.
    pub type_name: &'static str,
}

/// Whether `dev` holds an ext2/3/4 superblock (the magic number at byte 1080).
pub fn probe(dev: &dyn exo_blockdev::BlockIo) -> bool {
    let mut m = [0u8; 2];
    dev.read_at(sb::SB_OFFSET + 56, &mut m).is_ok() && u16::from_le_bytes(m) == sb::MAGIC
}

/// The type a volume would be called by `blkid`: `"ext4"` when it uses any feature beyond
/// ext3's (extents, flex_bg, 64bit, checksums, huge files, …), `"ext3"` with a journal,
/// `"ext2"` otherwise; `None` without the magic number.
pub fn probe_type(dev: &dyn exo_blockdev::BlockIo) -> Option<&'static str> {
    let mut sb = [0u8; 104];
    dev.read_at(sb::SB_OFFSET, &mut sb).ok()?;
    if bytes::r16(&sb, 56) != sb::MAGIC {
        return None;
    }
    let rev = bytes::r32(&sb, 76);
    let (compat, incompat, ro) = if rev >= 1 { (bytes::r32(&sb, 92), bytes::r32(&sb, 96), bytes::r32(&sb, 100)) } else { (0, 0, 0) };
    // ext3 knows filetype, needs_recovery, journal_dev, meta_bg; sparse_super, large_file,
    // btree_dir.
    if incompat & !0x1E != 0 || ro & !0x7 != 0 {
        Some("ext4")
    } else if compat & 0x4 != 0 {
        Some("ext3")
    } else {
        Some("ext2")
    }
}

/// The pure bitmap helpers of the allocator (exported for property tests and tools).
pub mod bitmaps {
    pub use crate::bitmap::{clear, clear_run, count_clear, find_clear, set, test};
}
