//! `exo-cpio`: the "new ASCII" (newc) cpio format, the format of Linux initramfs images, which
//! Exo-OS unpacks as its root filesystem. [`entries`] reads an archive in place (no heap, no
//! copies: names and contents borrow the archive); [`Writer`] builds one (with `alloc`; xtask
//! packs the initramfs with it).
//!
//! # Format
//!
//! Every entry is a 110-byte ASCII header, the path name and the contents:
//!
//! | offset | field | |
//! |---|---|---|
//! | 0 | magic | `070701` (newc) or `070702` (newc with checksum) |
//! | 6 | `ino` `mode` `uid` `gid` `nlink` `mtime` | 8 hex digits each |
//! | 54 | `filesize` | size of the contents |
//! | 62 | `devmajor` `devminor` `rdevmajor` `rdevminor` | `rdev` is a device node's number |
//! | 94 | `namesize` | length of the name **including** its terminating NUL |
//! | 102 | `check` | `070702`: sum of a regular file's bytes (mod 2³²); otherwise unused |
//!
//! Like Linux and GNU cpio, the checksum is verified for regular files only (GNU cpio writes 0
//! for symbolic links).
//!
//! The name follows the header; header + name are padded with NULs to a multiple of 4 bytes, and
//! so are the contents (offsets are counted from the start of the archive, and every header starts
//! 4-byte aligned). A symbolic link's contents are its target. The entry named `TRAILER!!!` ends
//! the archive. As Linux does, several archives may follow one another (the boot loader may
//! concatenate images): NUL bytes before the first archive and after each trailer are skipped,
//! and the next archive must start on a 4-byte boundary.
//!
//! # Strictness
//!
//! Every malformed input gives a [`CpioError`] (with the offset where it was found) and ends the
//! iteration; no input panics or loops forever (property-tested). An archive must end with its
//! trailer — input that ends after an ordinary entry is [`CpioError::Truncated`] — except that
//! the padding after the very last trailer may be missing.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

#[cfg(test)]
extern crate std;

mod reader;
mod writer;

#[cfg(test)]
mod tests;

pub use reader::{entries, CpioError, Entries, Entry};
pub use writer::Writer;

/// Magic of a newc header without checksum.
pub const MAGIC_NEWC: &[u8; 6] = b"070701";
/// Magic of a newc header whose `check` field is the sum of the content bytes.
pub const MAGIC_CRC: &[u8; 6] = b"070702";
/// Length of a newc header (magic and 13 fields of 8 hex digits).
pub const HEADER_LEN: usize = 110;
/// Name of the entry that ends an archive.
pub const TRAILER: &[u8] = b"TRAILER!!!";

/// Mask of the file-type bits of `mode`.
pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;
/// Permission bits of `mode` (with setuid, setgid and sticky).
pub const PERMISSION_BITS: u32 = 0o7777;

/// `n` rounded up to a multiple of 4 (`None` on overflow).
fn align4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|m| m & !3)
}
