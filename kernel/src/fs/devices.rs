//! Character devices by number: what opening a device node gives: the console TTY (as
//! /dev/console (5,1), /dev/tty0 (4,0), /dev/ttyS0 (4,64) and /dev/tty (5,0), the caller's
//! controlling terminal), and the memory devices null (1,3), zero (1,5), full (1,7),
//! random (1,8), urandom (1,9).

use alloc::sync::Arc;

use exo_abi::mode::{major_minor, makedev, S_IFCHR};
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};

use super::file::{FileOps, OpenFile};

/// A memory device.
struct MemDevice {
    minor: u32,
}

impl FileOps for MemDevice {
    fn read(&self, _file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        match self.minor {
            3 => Ok(0),
            8 | 9 => {
                crate::random::fill(buf);
                Ok(buf.len())
            }
            _ => {
                buf.fill(0);
                Ok(buf.len())
            }
        }
    }

    fn write(&self, _file: &OpenFile, buf: &[u8]) -> KResult<usize> {
        if self.minor == 7 {
            return Err(Errno::ENOSPC);
        }
        Ok(buf.len())
    }

    fn read_at(&self, buf: &mut [u8], _offset: u64) -> KResult<usize> {
        self.read(&OpenFile { ops: Arc::new(MemDevice { minor: self.minor }), flags: Default::default(), offset: Default::default() }, buf)
    }

    fn seek(&self, _file: &OpenFile, _offset: i64, _whence: u32) -> KResult<u64> {
        Ok(0)
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(Stat { st_mode: S_IFCHR | 0o666, st_rdev: makedev(1, self.minor), st_blksize: 4096, st_nlink: 1, ..Stat::default() })
    }
}

/// Opens the device `rdev` with status flags `flags`.
pub fn open(rdev: u64, flags: u32) -> KResult<Arc<OpenFile>> {
    match major_minor(rdev) {
        dev @ ((5, 1) | (4, 0) | (4, 64) | (5, 0)) => crate::tty::TtyFile::open(dev.0, dev.1, flags),
        (1, minor @ (3 | 5 | 7 | 8 | 9)) => Ok(OpenFile::new(Arc::new(MemDevice { minor }), flags)),
        _ => Err(Errno::ENXIO),
    }
}
