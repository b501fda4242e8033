//! Block device files (`/dev/vda`, `/dev/vda1`, …): what opening a major-254 node gives.
//! Reads and writes at byte offsets go through the disk's block cache (`block::open`), so a
//! program and a file system on the same disk see the same bytes; `fsync` writes the disk's
//! dirty pages back and flushes the device; the `BLK*` ioctls tell sizes (as `blockdev`,
//! `fdisk` and `dd` ask). Reading at or past the end gives 0 bytes; writing there, ENOSPC.

use alloc::sync::Arc;

use exo_abi::ioctl::{BLKBSZGET, BLKFLSBUF, BLKGETSIZE, BLKGETSIZE64, BLKPBSZGET, BLKROGET, BLKRRPART, BLKSSZGET};
use exo_abi::mode::{makedev, S_IFBLK};
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use exo_blockdev::BlockIo;

use crate::files::file::{FileOps, OpenFile};
use crate::uaccess::UserArg;

/// An open block device.
pub struct BlockFile {
    rdev: u64,
    io: Arc<dyn BlockIo>,
}

/// Opens block device (major, minor) with status `flags` (ENXIO when no such device; EROFS
/// when a read-only device is opened for writing).
pub fn open(major: u32, minor: u32, flags: u32) -> KResult<Arc<OpenFile>> {
    let rdev = makedev(major, minor);
    let io = crate::block::open(rdev)?;
    let file = OpenFile::new(Arc::new(BlockFile { rdev, io: io.clone() }), flags);
    if file.writable() && io.read_only() {
        return Err(Errno::EROFS);
    }
    Ok(file)
}

impl BlockFile {
    /// How many bytes of `len` fit from `offset` (0 at or past the end).
    fn fit(&self, offset: u64, len: usize) -> usize {
        self.io.size().saturating_sub(offset).min(len as u64) as usize
    }

    fn read_at_offset(&self, offset: u64, buf: &mut [u8]) -> KResult<usize> {
        let n = self.fit(offset, buf.len());
        if n > 0 {
            self.io.read_at(offset, &mut buf[..n])?;
        }
        Ok(n)
    }

    fn write_at_offset(&self, offset: u64, buf: &[u8]) -> KResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.fit(offset, buf.len());
        if n == 0 {
            return Err(Errno::ENOSPC);
        }
        self.io.write_at(offset, &buf[..n])?;
        Ok(n)
    }
}

impl FileOps for BlockFile {
    fn read(&self, file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        let mut offset = file.offset.lock();
        let n = self.read_at_offset(*offset, buf)?;
        *offset += n as u64;
        Ok(n)
    }

    fn write(&self, file: &OpenFile, buf: &[u8]) -> KResult<usize> {
        let mut offset = file.offset.lock();
        let n = self.write_at_offset(*offset, buf)?;
        *offset += n as u64;
        Ok(n)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> KResult<usize> {
        self.read_at_offset(offset, buf)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> KResult<usize> {
        self.write_at_offset(offset, buf)
    }

    fn seek(&self, file: &OpenFile, offset: i64, whence: u32) -> KResult<u64> {
        file.seek_sized(offset, whence, false, || self.io.size())
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(Stat { st_mode: S_IFBLK | 0o660, st_gid: 6, st_rdev: self.rdev, st_blksize: 4096, st_nlink: 1, ..Stat::default() })
    }

    fn ioctl(&self, _file: &OpenFile, request: u32, arg: UserArg) -> KResult<u64> {
        let size = self.io.size();
        match request {
            BLKGETSIZE64 => arg.ptr::<u64>().write(&size)?,
            BLKGETSIZE => arg.ptr::<u64>().write(&(size / 512))?,
            BLKSSZGET => arg.ptr::<i32>().write(&512)?,
            BLKPBSZGET => arg.ptr::<u32>().write(&512)?,
            BLKBSZGET => arg.ptr::<i32>().write(&4096)?,
            BLKROGET => arg.ptr::<i32>().write(&i32::from(self.io.read_only()))?,
            BLKFLSBUF => crate::block::drop_clean(self.rdev)?,
            BLKRRPART => crate::block::reread_partitions(self.rdev)?,
            _ => return Err(Errno::ENOTTY),
        }
        Ok(0)
    }

    fn pollable(&self) -> bool {
        false
    }

    fn fsync(&self, _datasync: bool) -> KResult<()> {
        crate::block::sync_device(self.rdev)
    }
}
