//! Block devices: the disks found at boot (virtio-blk, [`virtio_blk`]), the block cache in
//! front of each ([`cache`], [`writeback`]) and their partitions, by Linux's numbers.
//!
//! Numbering: virtio-blk is major 254 with 16 minors per disk — vda is 254:0, vda1..vda15
//! 254:1..254:15, vdb 254:16, and so on. [`open`] gives the whole disk (the cache itself) or a
//! partition (an `exo_blockdev::Slice` over the cache); every opener of one disk shares its
//! cache, so they see each other's writes at once. Partition tables (MBR, GPT) are read at
//! probe time by `exo_blockdev::partition`; [`reread_partitions`] reads them again.
//!
//! Locks: `DEVICES` (spin, a leaf: the table; cloned out, never held across I/O). The caches'
//! locks are described in `cache.rs`.

pub mod cache;
pub mod virtio_blk;
pub mod writeback;

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::mode::{major_minor, makedev};
use exo_abi::{Errno, KResult};
use exo_blockdev::{BlockIo, Slice};

use crate::spinlock::SpinLock;
use cache::Cache;

/// The virtio-blk major number.
pub const VIRTIO_BLK_MAJOR: u32 = 254;
/// Minors per disk (the disk and 15 partitions).
pub const MINORS_PER_DISK: u32 = 16;

/// A disk as the cache drives it: sector-addressed scatter/gather transfers.
pub trait Disk: Send + Sync {
    /// "vda", "vdb", ...
    fn name(&self) -> &str;
    /// Size in 512-byte sectors.
    fn sectors(&self) -> u64;
    fn read_only(&self) -> bool;
    /// Largest transfer of one call (bytes).
    fn max_transfer(&self) -> usize;
    /// Reads consecutive sectors from `sector` into `segments`, in order (total a multiple of
    /// 512, at most `max_transfer`).
    fn read(&self, sector: u64, segments: &mut [&mut [u8]]) -> KResult<()>;
    /// Writes `segments`, in order, to consecutive sectors from `sector`.
    fn write(&self, sector: u64, segments: &[&[u8]]) -> KResult<()>;
    /// Makes completed writes durable (the device's FLUSH).
    fn flush(&self) -> KResult<()>;
}

/// What `devices()` tells about one device.
#[derive(Clone, Debug)]
pub struct BlockDeviceInfo {
    pub name: String,
    pub rdev: u64,
    /// Bytes.
    pub size: u64,
    #[allow(dead_code)]
    pub read_only: bool,
}

/// A registered device: a disk (its cache) or one of its partitions.
struct Entry {
    info: BlockDeviceInfo,
    /// Which disk (index into the caches).
    disk: usize,
    io: Arc<dyn BlockIo>,
}

static DEVICES: SpinLock<Vec<Entry>> = SpinLock::new(Vec::new());
static CACHES: SpinLock<Vec<Arc<Cache>>> = SpinLock::new(Vec::new());

/// The caches of every disk (the flusher and the shrinker walk them).
pub(crate) fn caches() -> Vec<Arc<Cache>> {
    CACHES.lock().clone()
}

/// The caches, if the table is free now (the shrinker: never waits).
pub(crate) fn try_caches() -> Option<Vec<Arc<Cache>>> {
    let caches = CACHES.try_lock()?;
    let mut copy = Vec::new();
    copy.try_reserve(caches.len()).ok()?;
    copy.extend(caches.iter().cloned());
    Some(copy)
}

/// Finds and starts every virtio-blk disk (after `pci::init`), reads their partition tables,
/// registers the shrinker and starts the flusher. Returns the number of disks.
pub fn probe() -> usize {
    let mut count = 0;
    for dev in virtio_blk::candidates() {
        match virtio_blk::start(dev.clone(), count) {
            Ok(disk) => {
                add_disk(disk);
                count += 1;
            }
            Err(why) => log::warn!("pci {}: virtio-blk not started: {why}", dev.bdf),
        }
    }
    if count > 0 {
        writeback::start();
    }
    count
}

/// Registers `disk` (the next disk number) with its cache and partitions.
pub fn add_disk(disk: Arc<dyn Disk>) {
    let cache = Arc::new(Cache::new(disk.clone()));
    let index = {
        let mut caches = CACHES.lock();
        caches.push(cache.clone());
        caches.len() - 1
    };
    let rdev = makedev(VIRTIO_BLK_MAJOR, index as u32 * MINORS_PER_DISK);
    let info = BlockDeviceInfo { name: String::from(disk.name()), rdev, size: cache.size(), read_only: disk.read_only() };
    DEVICES.lock().push(Entry { info, disk: index, io: cache.clone() });
    add_partitions(index, &cache);
}

/// Reads the partition table of disk `index` and registers its partitions (1..15).
fn add_partitions(index: usize, cache: &Arc<Cache>) {
    let disk_io: Arc<dyn BlockIo> = cache.clone();
    let name = String::from(cache.disk().name());
    let parts = match exo_blockdev::partition::read_table(&*disk_io) {
        Ok((_, parts)) => parts,
        Err(e) => {
            log::error!("{name}: cannot read the partition table: {e:?}");
            return;
        }
    };
    let mut shown = String::new();
    for part in parts {
        if part.number >= MINORS_PER_DISK {
            log::warn!("{name}: partition {} has no minor number (15 at most); ignored", part.number);
            continue;
        }
        let Ok(slice) = Slice::new(disk_io.clone(), part.start, part.len) else { continue };
        let rdev = makedev(VIRTIO_BLK_MAJOR, index as u32 * MINORS_PER_DISK + part.number);
        let info = BlockDeviceInfo { name: format!("{name}{}", part.number), rdev, size: part.len, read_only: cache.read_only() };
        shown.push_str(&format!(" {}", info.name));
        DEVICES.lock().push(Entry { info, disk: index, io: Arc::new(slice) });
    }
    log::info!("{name}:{}", if shown.is_empty() { " no partitions" } else { &shown });
}

/// Opens device `rdev`: the disk's cache, or a window of it (ENXIO when none).
pub fn open(rdev: u64) -> KResult<Arc<dyn BlockIo>> {
    DEVICES.lock().iter().find(|e| e.info.rdev == rdev).map(|e| e.io.clone()).ok_or(Errno::ENXIO)
}

/// The number of device `name` ("vda1"), if registered (for `root=` and mount).
#[allow(dead_code)]
pub fn lookup(name: &str) -> Option<u64> {
    let name = name.strip_prefix("/dev/").unwrap_or(name);
    DEVICES.lock().iter().find(|e| e.info.name == name).map(|e| e.info.rdev)
}

/// Every registered device, disks before their partitions, in probe order.
pub fn devices() -> Vec<BlockDeviceInfo> {
    let mut list: Vec<BlockDeviceInfo> = DEVICES.lock().iter().map(|e| e.info.clone()).collect();
    list.sort_by_key(|i| i.rdev);
    list
}

/// The cache of the disk holding device `rdev`.
fn cache_of(rdev: u64) -> KResult<Arc<Cache>> {
    let disk = DEVICES.lock().iter().find(|e| e.info.rdev == rdev).map(|e| e.disk).ok_or(Errno::ENXIO)?;
    CACHES.lock().get(disk).cloned().ok_or(Errno::ENXIO)
}

/// The driver under device `rdev`'s cache (the in-kernel tests bypass the cache with it).
#[cfg(feature = "ktest")]
pub fn disk_of(rdev: u64) -> KResult<Arc<dyn Disk>> {
    Ok(cache_of(rdev)?.disk().clone())
}

/// Writes back every dirty page of the disk holding `rdev`, then flushes the device.
pub fn sync_device(rdev: u64) -> KResult<()> {
    cache_of(rdev)?.flush()
}

/// [`sync_device`] for every disk; the first error is returned after all were tried (for
/// sync(2) and power-off).
#[allow(dead_code)]
pub fn sync_all() -> KResult<()> {
    let mut result = Ok(());
    for cache in caches() {
        if let Err(e) = cache.flush() {
            result = result.and(Err(e));
        }
    }
    result
}

/// Drops the clean cached pages of the disk holding `rdev` (BLKFLSBUF) after writing back its
/// dirty ones.
pub fn drop_clean(rdev: u64) -> KResult<()> {
    let cache = cache_of(rdev)?;
    cache.flush()?;
    cache.shrink(usize::MAX, false);
    Ok(())
}

/// BLKRRPART: reads the partition table of whole disk `rdev` again. EBUSY while any of its
/// partitions is open; EINVAL for a partition.
pub fn reread_partitions(rdev: u64) -> KResult<()> {
    let (major, minor) = major_minor(rdev);
    if major != VIRTIO_BLK_MAJOR || minor % MINORS_PER_DISK != 0 {
        return Err(Errno::EINVAL);
    }
    let cache = cache_of(rdev)?;
    let index = (minor / MINORS_PER_DISK) as usize;
    {
        let mut devices = DEVICES.lock();
        let is_part = |e: &Entry| e.disk == index && e.info.rdev != rdev;
        if devices.iter().any(|e| is_part(e) && Arc::strong_count(&e.io) > 1) {
            return Err(Errno::EBUSY);
        }
        devices.retain(|e| !is_part(e));
    }
    add_partitions(index, &cache);
    Ok(())
}

/// Cache figures for /proc/meminfo (pages).
#[derive(Clone, Copy, Debug, Default)]
pub struct CacheStats {
    /// Pages holding disk data.
    pub cached: usize,
    /// Of them, not yet written back.
    pub dirty: usize,
}

/// The block cache's figures, all disks together.
pub fn stats() -> CacheStats {
    CacheStats { cached: cache::resident_pages(), dirty: cache::dirty_pages() }
}
