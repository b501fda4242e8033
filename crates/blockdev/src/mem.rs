//! An in-memory disk for tests: a byte vector behind a lock, optional read-only mode, fault
//! injection (chosen byte ranges fail with `EIO`), and counters of writes and flushes.

use alloc::vec::Vec;
use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::{check_range, BlockIo, Errno, Result};

/// A disk held in memory.
pub struct MemDisk {
    data: spin::RwLock<Vec<u8>>,
    read_only: bool,
    /// Byte ranges whose reads fail.
    bad_reads: spin::Mutex<Vec<Range<u64>>>,
    /// Byte ranges whose writes fail.
    bad_writes: spin::Mutex<Vec<Range<u64>>>,
    writes: AtomicU64,
    flushes: AtomicU64,
}

fn overlaps(ranges: &[Range<u64>], offset: u64, end: u64) -> bool {
    ranges.iter().any(|r| r.start < end && offset < r.end)
}

impl MemDisk {
    /// A writable disk holding `image`.
    pub fn new(image: Vec<u8>) -> MemDisk {
        MemDisk {
            data: spin::RwLock::new(image),
            read_only: false,
            bad_reads: spin::Mutex::new(Vec::new()),
            bad_writes: spin::Mutex::new(Vec::new()),
            writes: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
        }
    }

    /// A read-only disk holding `image` (writes are `EROFS`).
    pub fn read_only(image: Vec<u8>) -> MemDisk {
        MemDisk { read_only: true, ..MemDisk::new(image) }
    }

    /// Reads overlapping `range` fail with `EIO` from now on.
    pub fn fail_reads(&self, range: Range<u64>) {
        self.bad_reads.lock().push(range);
    }

    /// Writes overlapping `range` fail with `EIO` from now on.
    pub fn fail_writes(&self, range: Range<u64>) {
        self.bad_writes.lock().push(range);
    }

    /// Removes every injected fault.
    pub fn heal(&self) {
        self.bad_reads.lock().clear();
        self.bad_writes.lock().clear();
    }

    /// Successful `write_at` calls so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// `flush` calls so far.
    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// A copy of the whole image.
    pub fn image(&self) -> Vec<u8> {
        self.data.read().clone()
    }

    /// Runs `f` on the image (to corrupt it in tests).
    pub fn with_image<R>(&self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        f(&mut self.data.write())
    }
}

impl BlockIo for MemDisk {
    fn size(&self) -> u64 {
        self.data.read().len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let data = self.data.read();
        let end = check_range(offset, buf.len(), data.len() as u64)?;
        if overlaps(&self.bad_reads.lock(), offset, end) {
            return Err(Errno::EIO);
        }
        buf.copy_from_slice(&data[offset as usize..end as usize]);
        Ok(())
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        if self.read_only {
            return Err(Errno::EROFS);
        }
        let mut data = self.data.write();
        let end = check_range(offset, buf.len(), data.len() as u64)?;
        if overlaps(&self.bad_writes.lock(), offset, end) {
            return Err(Errno::EIO);
        }
        data[offset as usize..end as usize].copy_from_slice(buf);
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_only(&self) -> bool {
        self.read_only
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn faults_and_read_only() {
        let disk = MemDisk::new(vec![7u8; 1024]);
        let mut buf = [0u8; 16];
        disk.fail_reads(512..600);
        assert_eq!(disk.read_at(500, &mut buf), Err(Errno::EIO));
        assert!(disk.read_at(600, &mut buf).is_ok());
        disk.fail_writes(0..1);
        assert_eq!(disk.write_at(0, &buf), Err(Errno::EIO));
        disk.heal();
        assert!(disk.write_at(0, &buf).is_ok());
        assert_eq!(disk.writes(), 1);
        assert_eq!(disk.read_at(1020, &mut buf), Err(Errno::EIO));
        let ro = MemDisk::read_only(vec![0u8; 512]);
        assert_eq!(ro.write_at(0, &buf), Err(Errno::EROFS));
    }
}
