//! Building an archive: [`Writer`] appends entries and [`Writer::finish`] closes it with the
//! trailer. Output is reproducible: owner root, modification time 0, inode numbers counting
//! up from 1 in the order of the calls.

use crate::{
    align4, HEADER_LEN, MAGIC_CRC, MAGIC_NEWC, PERMISSION_BITS, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG,
    TRAILER,
};
use alloc::vec::Vec;
use core::fmt::Write as _;

/// Size the finished archive is padded to (with NULs), like GNU cpio's 512-byte blocks.
pub const BLOCK: usize = 512;

/// An archive being built in memory.
#[derive(Clone, Debug)]
pub struct Writer {
    out: Vec<u8>,
    next_ino: u32,
    crc: bool,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

/// The header fields of one entry, in header order after the magic (`filesize`, `namesize`
/// and `check` are computed).
struct Fields {
    ino: u32,
    mode: u32,
    nlink: u32,
    rdev_major: u32,
    rdev_minor: u32,
}

impl Writer {
    /// A `070701` (newc) archive, the format Linux's initramfs tools write.
    pub fn new() -> Self {
        Writer {
            out: Vec::new(),
            next_ino: 1,
            crc: false,
        }
    }

    /// A `070702` archive: each regular file's header carries the sum of its bytes.
    pub fn with_checksums() -> Self {
        Writer {
            crc: true,
            ..Self::new()
        }
    }

    /// A regular file; `mode` gives the permission bits only (others are ignored).
    pub fn file(&mut self, path: &str, mode: u32, data: &[u8]) {
        let f = self.fields(S_IFREG | (mode & PERMISSION_BITS), 1, 0, 0);
        self.entry(path.as_bytes(), &f, data);
    }

    /// A directory; `mode` gives the permission bits only.
    pub fn dir(&mut self, path: &str, mode: u32) {
        let f = self.fields(S_IFDIR | (mode & PERMISSION_BITS), 2, 0, 0);
        self.entry(path.as_bytes(), &f, &[]);
    }

    /// A symbolic link (permissions `0777`, as Linux gives every symbolic link).
    pub fn symlink(&mut self, path: &str, target: &str) {
        let f = self.fields(S_IFLNK | 0o777, 1, 0, 0);
        self.entry(path.as_bytes(), &f, target.as_bytes());
    }

    /// Any other node — a device, FIFO or socket — with its full `mode` (`S_IFCHR | 0o600` …)
    /// and, for a device, its number.
    pub fn node(&mut self, path: &str, mode: u32, rdev_major: u32, rdev_minor: u32) {
        let f = self.fields(mode, 1, rdev_major, rdev_minor);
        self.entry(path.as_bytes(), &f, &[]);
    }

    /// Append the trailer and pad the archive to a multiple of 512 bytes.
    pub fn finish(mut self) -> Vec<u8> {
        let f = Fields {
            ino: 0,
            mode: 0,
            nlink: 1,
            rdev_major: 0,
            rdev_minor: 0,
        };
        self.raw_entry(TRAILER, &f, &[]);
        let padded = self.out.len().div_ceil(BLOCK) * BLOCK;
        self.out.resize(padded, 0);
        self.out
    }

    fn fields(&mut self, mode: u32, nlink: u32, rdev_major: u32, rdev_minor: u32) -> Fields {
        let ino = self.next_ino;
        self.next_ino = self.next_ino.wrapping_add(1).max(1);
        Fields {
            ino,
            mode,
            nlink,
            rdev_major,
            rdev_minor,
        }
    }

    /// Entries are stored relative to the root: leading `/`s are dropped (`/init` → `init`).
    fn entry(&mut self, path: &[u8], f: &Fields, data: &[u8]) {
        let mut name = path;
        while let Some(rest) = name.strip_prefix(b"/") {
            name = rest;
        }
        assert!(!name.contains(&0), "cpio path names cannot contain NUL");
        self.raw_entry(name, f, data);
    }

    fn raw_entry(&mut self, name: &[u8], f: &Fields, data: &[u8]) {
        let size = u32::try_from(data.len()).expect("cpio entries are limited to 4 GiB");
        let namesize = u32::try_from(name.len() + 1).expect("cpio names are limited to 4 GiB");
        let check = if self.crc && f.mode & S_IFMT == S_IFREG {
            data.iter().fold(0u32, |s, &b| s.wrapping_add(u32::from(b)))
        } else {
            0
        };
        let start = self.out.len();
        self.out
            .extend_from_slice(if self.crc { MAGIC_CRC } else { MAGIC_NEWC });
        let header = [
            f.ino,
            f.mode,
            0, // uid
            0, // gid
            f.nlink,
            0, // mtime
            size,
            0, // dev_major
            0, // dev_minor
            f.rdev_major,
            f.rdev_minor,
            namesize,
            check,
        ];
        let mut text = HexFields(&mut self.out);
        for v in header {
            // Writing into a Vec cannot fail.
            let _ = write!(text, "{v:08X}");
        }
        debug_assert_eq!(self.out.len() - start, HEADER_LEN);
        self.out.extend_from_slice(name);
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    /// NULs up to the next multiple of 4 (entries start 4-byte aligned).
    fn pad(&mut self) {
        let to = align4(self.out.len()).expect("archive size overflows");
        self.out.resize(to, 0);
    }
}

/// `fmt::Write` into the archive bytes.
struct HexFields<'v>(&'v mut Vec<u8>);

impl core::fmt::Write for HexFields<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
