//! Character devices by number: what opening a device node gives. The memory devices null
//! (1,3), zero (1,5), full (1,7), random (1,8), urandom (1,9) and kmsg (1,11, `kmsg`) are served here; drivers of higher
//! layers register theirs with [`register`] (the console TTY: /dev/console (5,1), /dev/tty0
//! (4,0), /dev/ttyS0 (4,64) and /dev/tty (5,0), see `tty::init`). Block devices (major 254,
//! virtio-blk) open as `blockfile::BlockFile`s.

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::spinlock::SpinLock;

use exo_abi::mode::{major_minor, makedev, S_IFCHR};
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};

use super::file::{FileOps, OpenFile};
use crate::uaccess::UserSlice;

/// The zeros /dev/zero and /dev/full read from.
static ZEROS: [u8; 4096] = [0; 4096];

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

    /// null, zero and full move no data a kernel buffer would help with: read(2) and write(2)
    /// go straight to [`read_user`](FileOps::read_user) and [`write_user`](FileOps::write_user).
    fn direct_user_io(&self) -> bool {
        matches!(self.minor, 3 | 5 | 7)
    }

    /// null: end of file. zero and full: zeros, copied from a static zero page, page by page,
    /// stopping early (with what was copied) when the task is killed or the buffer goes bad.
    fn read_user(&self, _file: &OpenFile, buf: UserSlice<u8>) -> KResult<usize> {
        if self.minor == 3 {
            return Ok(0);
        }
        let mut done = 0usize;
        while done < buf.len() {
            if super::file::fatal_signal_pending() {
                return if done > 0 { Ok(done) } else { Err(Errno::EINTR) };
            }
            let part = buf.sub(done, ZEROS.len());
            if let Err(e) = part.write_from(&ZEROS[..part.len()]) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
            done += part.len();
        }
        Ok(done)
    }

    /// null and zero: everything is written, and, as on Linux, the buffer is not even read
    /// (its range was checked by write(2)). full: ENOSPC.
    fn write_user(&self, _file: &OpenFile, buf: UserSlice<u8>) -> KResult<usize> {
        if self.minor == 7 {
            return Err(Errno::ENOSPC);
        }
        Ok(buf.len())
    }

    fn read_at(&self, buf: &mut [u8], _offset: u64) -> KResult<usize> {
        self.read(&OpenFile { ops: Arc::new(MemDevice { minor: self.minor }), flags: Default::default(), offset: Default::default(), direct: false, fcntl: Default::default(), node: spin::Once::new() }, buf)
    }

    fn seek(&self, _file: &OpenFile, _offset: i64, _whence: u32) -> KResult<u64> {
        Ok(0)
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(Stat { st_mode: S_IFCHR | 0o666, st_rdev: makedev(1, self.minor), st_blksize: 4096, st_nlink: 1, ..Stat::default() })
    }
}

/// How a registered driver opens one of its devices: (major, minor, status flags).
pub type Opener = fn(u32, u32, u32) -> KResult<Arc<OpenFile>>;

/// Devices registered by drivers: (major, minor, opener). Lock rule: a leaf lock, held only to
/// look up or add an entry (never while opening).
static REGISTERED: SpinLock<Vec<(u32, u32, Opener)>> = SpinLock::new(Vec::new());

/// Makes device (major, minor) open through `opener` (a driver's init; the memory devices are
/// built in). A second registration of a number replaces the first.
pub fn register(major: u32, minor: u32, opener: Opener) -> KResult<()> {
    let mut devices = REGISTERED.lock();
    devices.retain(|&(ma, mi, _)| (ma, mi) != (major, minor));
    devices.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    devices.push((major, minor, opener));
    Ok(())
}

/// Opens the device `rdev` with status flags `flags` (ENXIO when no driver serves it).
pub fn open(rdev: u64, flags: u32) -> KResult<Arc<OpenFile>> {
    let (major, minor) = major_minor(rdev);
    if let (1, 3 | 5 | 7 | 8 | 9) = (major, minor) {
        return Ok(OpenFile::new(Arc::new(MemDevice { minor }), flags));
    }
    if (major, minor) == (1, 11) {
        return super::kmsg::open(flags);
    }
    let opener = REGISTERED.lock().iter().find(|&&(ma, mi, _)| (ma, mi) == (major, minor)).map(|&(_, _, open)| open);
    match opener {
        Some(open) => open(major, minor, flags),
        None => Err(Errno::ENXIO),
    }
}

/// Opens the block device `rdev` (a `S_IFBLK` node) with status flags `flags` (ENXIO when no
/// disk or partition has that number).
pub fn open_block(rdev: u64, flags: u32) -> KResult<Arc<OpenFile>> {
    let (major, minor) = major_minor(rdev);
    if major != crate::block::VIRTIO_BLK_MAJOR {
        return Err(Errno::ENXIO);
    }
    super::blockfile::open(major, minor, flags)
}
