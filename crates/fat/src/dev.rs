//! Adapters between Exo-OS and hadris-fat: [`Disk`] presents an `exo_blockdev::BlockIo` as the
//! library's block device (512-byte blocks), [`DevError`] carries the device's errno through
//! the library, and [`clock_for`] turns an `exo_vfs::Clock` into the `&'static` clock the
//! library stamps entries with.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use exo_abi::Errno;
use exo_blockdev::{BlockIo, SECTOR_SIZE};
use hadris_fs::{Clock as FatClock, DateTime};
use hadris_io::{Error, ErrorKind, ErrorType};
use hadris_storage::sync::BlockDevice;
use hadris_storage::{BlockIndex, BlockSize};

/// An errno from the block device, as the library's device error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevError(pub Errno);

impl fmt::Display for DevError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "block device error {}", self.0 .0)
    }
}

impl core::error::Error for DevError {}

/// A `BlockIo` in 512-byte blocks; a trailing partial sector is not addressable.
pub struct Disk {
    pub io: Arc<dyn BlockIo>,
    pub read_only: bool,
}

const BLOCK: BlockSize = match BlockSize::new(SECTOR_SIZE as u32) {
    Some(size) => size,
    None => panic!("sector size"),
};

impl Disk {
    fn offset(&self, first: BlockIndex, len: usize) -> Result<u64, Error<DevError>> {
        let offset = first.get().checked_mul(SECTOR_SIZE).ok_or(Error::new(ErrorKind::InvalidInput, "block out of range"))?;
        exo_blockdev::check_range(offset, len, self.io.size()).map_err(|e| Error::device(DevError(e), "out of range"))?;
        Ok(offset)
    }
}

impl ErrorType for Disk {
    type Error = DevError;
}

impl BlockDevice for Disk {
    fn block_size(&self) -> BlockSize {
        BLOCK
    }

    fn block_count(&self) -> u64 {
        self.io.size() / SECTOR_SIZE
    }

    fn writable(&self) -> bool {
        !self.read_only && !self.io.read_only()
    }

    fn read_blocks(&mut self, first: BlockIndex, buf: &mut [u8]) -> Result<(), Error<DevError>> {
        let offset = self.offset(first, buf.len())?;
        self.io.read_at(offset, buf).map_err(|e| Error::device(DevError(e), "read failed"))
    }

    fn write_blocks(&mut self, first: BlockIndex, buf: &[u8]) -> Result<(), Error<DevError>> {
        if !self.writable() {
            return Err(Error::new(ErrorKind::ReadOnly, "read-only device"));
        }
        let offset = self.offset(first, buf.len())?;
        match self.io.write_at(offset, buf) {
            Err(Errno::EROFS) => Err(Error::new(ErrorKind::ReadOnly, "read-only device")),
            other => other.map_err(|e| Error::device(DevError(e), "write failed")),
        }
    }

    fn flush(&mut self) -> Result<(), Error<DevError>> {
        self.io.flush().map_err(|e| Error::device(DevError(e), "flush failed"))
    }
}

/// The Linux errno for a library error; device errors keep their own errno (`EIO`).
pub fn errno(err: &Error<DevError>) -> Errno {
    if let Some(dev) = err.device_error() {
        return dev.0;
    }
    match err.kind() {
        ErrorKind::Io => Errno::EIO,
        ErrorKind::NotRecognized | ErrorKind::InvalidInput => Errno::EINVAL,
        ErrorKind::Corrupt => Errno::EUCLEAN,
        ErrorKind::NotFound => Errno::ENOENT,
        ErrorKind::AlreadyExists => Errno::EEXIST,
        ErrorKind::NotADirectory => Errno::ENOTDIR,
        ErrorKind::IsADirectory => Errno::EISDIR,
        ErrorKind::DirectoryNotEmpty => Errno::ENOTEMPTY,
        ErrorKind::NoSpace => Errno::ENOSPC,
        ErrorKind::ReadOnly => Errno::EROFS,
        ErrorKind::Unsupported => Errno::EPERM,
        ErrorKind::LimitExceeded => Errno::ENOMEM,
        ErrorKind::NameTooLong => Errno::ENAMETOOLONG,
        ErrorKind::FileTooLarge => Errno::EFBIG,
        ErrorKind::Symlink => Errno::ELOOP,
        ErrorKind::InvalidHandle => Errno::EIO,
        ErrorKind::Busy => Errno::EBUSY,
        _ => Errno::EIO,
    }
}

/// An `exo_vfs::Clock` as the library's clock.
struct ClockAdapter(Arc<dyn exo_vfs::Clock>);

impl FatClock for ClockAdapter {
    fn now(&self) -> DateTime {
        let t = self.0.now();
        DateTime::new(t.sec, t.nsec).unwrap_or(DateTime::MIN)
    }
}

/// Adapters made so far, one per distinct clock object (the kernel has one): the library
/// wants a `&'static` clock, so each adapter lives forever and keeps its clock alive (its
/// address is then never reused by another clock).
static CLOCKS: spin::Mutex<Vec<(usize, &'static ClockAdapter)>> = spin::Mutex::new(Vec::new());

/// The `&'static` library clock reading `clock`.
pub fn clock_for(clock: &Arc<dyn exo_vfs::Clock>) -> &'static dyn FatClock {
    let key = Arc::as_ptr(clock) as *const u8 as usize;
    let mut clocks = CLOCKS.lock();
    if let Some((_, adapter)) = clocks.iter().find(|(k, _)| *k == key) {
        return *adapter;
    }
    let adapter: &'static ClockAdapter = Box::leak(Box::new(ClockAdapter(clock.clone())));
    if clocks.try_reserve(1).is_ok() {
        clocks.push((key, adapter));
    }
    adapter
}
