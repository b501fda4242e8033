//! The interface between file systems and disks, hardware-independent so that file systems
//! (`exo-ext2`, the FAT glue) are tested on the host against real `mke2fs`/`mkfs.vfat` images:
//!
//! - [`BlockIo`]: byte-addressed reads and writes of a disk or partition, and `flush`. In the
//!   kernel it is the block cache in front of a virtio-blk disk (reads are cached, writes are
//!   write-back); on the host a [`MemDisk`] or a file.
//! - [`MemDisk`]: a disk in memory with fault injection (reads or writes of chosen byte ranges
//!   fail with `EIO`), for tests.
//! - [`Slice`]: a window of another `BlockIo` (a partition).
//! - [`partition`]: MBR and GPT partition tables ([`read_partitions`]).
//!
//! Error rule: a range that does not lie inside the device is `EIO` (as reading past the end of
//! a disk is); so is a failed transfer. Implementations never panic on any input.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod mem;
pub mod partition;

use alloc::sync::Arc;

pub use exo_abi::Errno;
pub use mem::MemDisk;
pub use partition::{read_partitions, PartitionEntry};

/// Result of every block operation.
pub type Result<T> = core::result::Result<T, Errno>;

/// Logical sector size every Exo-OS disk presents (virtio-blk's unit).
pub const SECTOR_SIZE: u64 = 512;

/// A disk, or a part of one, as a file system sees it.
///
/// Any byte range inside `[0, size())` may be read or written; implementations are fastest for
/// ranges aligned to their block size (the kernel cache: 4 KiB). `write_at` may keep the data in
/// a cache; after `flush` returns `Ok`, every write that returned before the call is on stable
/// storage. Calls may sleep (disk I/O): callers hold no spin lock.
pub trait BlockIo: Send + Sync {
    /// Size in bytes.
    fn size(&self) -> u64;
    /// Fills `buf` from byte `offset`.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()>;
    /// Writes `buf` at byte `offset` (`EROFS` on a read-only device).
    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()>;
    /// Makes every completed write durable.
    fn flush(&self) -> Result<()>;
    /// Whether writes are refused.
    fn read_only(&self) -> bool {
        false
    }
}

/// `offset..offset+len` as a checked range inside a device of `size` bytes (`EIO` otherwise).
pub fn check_range(offset: u64, len: usize, size: u64) -> Result<u64> {
    let end = offset.checked_add(len as u64).ok_or(Errno::EIO)?;
    if end > size {
        return Err(Errno::EIO);
    }
    Ok(end)
}

/// The bytes `[start, start + len)` of another device (a partition).
pub struct Slice {
    disk: Arc<dyn BlockIo>,
    start: u64,
    len: u64,
}

impl Slice {
    /// `EINVAL` if the window does not lie inside `disk`.
    pub fn new(disk: Arc<dyn BlockIo>, start: u64, len: u64) -> Result<Slice> {
        match start.checked_add(len) {
            Some(end) if end <= disk.size() => Ok(Slice { disk, start, len }),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Byte offset of the window on the underlying device.
    pub fn start(&self) -> u64 {
        self.start
    }
}

impl BlockIo for Slice {
    fn size(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len(), self.len)?;
        self.disk.read_at(self.start + offset, buf)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        check_range(offset, buf.len(), self.len)?;
        self.disk.write_at(self.start + offset, buf)
    }

    fn flush(&self) -> Result<()> {
        self.disk.flush()
    }

    fn read_only(&self) -> bool {
        self.disk.read_only()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn slice_is_a_window_and_checks_its_bounds() {
        let disk = Arc::new(MemDisk::new(vec![0u8; 4096]));
        let part = Slice::new(disk.clone(), 1024, 2048).unwrap();
        part.write_at(0, b"abc").unwrap();
        let mut buf = [0u8; 3];
        disk.read_at(1024, &mut buf).unwrap();
        assert_eq!(&buf, b"abc");
        assert_eq!(part.read_at(2046, &mut buf), Err(Errno::EIO));
        assert_eq!(part.read_at(u64::MAX, &mut buf), Err(Errno::EIO));
        assert!(Slice::new(disk, 4000, 200).is_err());
    }
}
