//! Disk file systems: ext2/ext3/ext4 (`exo-ext2`) and FAT (`exo-fat`) mounted from block
//! devices (`block::open`), the table of mounted devices, the root file system named by
//! `root=`, and `sync`. See docs/storage.md.
//!
//! A disk file system's id (`st_dev`) is its device number, as on Linux (`254:1` for
//! `/dev/vda1`); memory file systems get `0:N` ([`super::new_fs_id`]). A device is mounted
//! at most once (`EBUSY`).
//!
//! Lock rule: `MOUNTED` is a sleeping mutex, held only to look up, add or remove entries; file
//! systems are synced and unmounted after it is released (their I/O may sleep).

use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::mode::{major_minor, makedev, S_IFBLK, S_IFMT};
use exo_abi::{Errno, KResult};
use exo_vfs::{FileSystem, Lookup, Namespace, PathRef};

use crate::sched::sync::Mutex;

/// One mounted disk file system.
#[derive(Clone)]
enum DiskFs {
    Ext2(Arc<exo_ext2::Ext2Fs>),
    Fat(Arc<exo_fat::FatFs>),
}

impl DiskFs {
    fn as_fs(&self) -> Arc<dyn FileSystem> {
        match self {
            DiskFs::Ext2(fs) => fs.clone(),
            DiskFs::Fat(fs) => fs.clone(),
        }
    }

    fn unmount(&self) -> KResult<()> {
        match self {
            DiskFs::Ext2(fs) => fs.unmount(),
            DiskFs::Fat(fs) => fs.unmount(),
        }
    }
}

/// Mounted disk file systems, by device number.
static MOUNTED: Mutex<Vec<(u64, DiskFs)>> = Mutex::new(Vec::new());

/// The file-system types this module mounts (for `/proc/filesystems`).
pub const TYPES: &[&str] = &["ext2", "ext3", "ext4", "vfat", "msdos"];

/// Whether `fstype` is a disk file system type.
pub fn is_disk_type(fstype: &[u8]) -> bool {
    TYPES.iter().any(|t| t.as_bytes() == fstype)
}

/// The device a mount `source` names: it must resolve to a block device node (`ENOTBLK`) on a
/// mount without `nodev` (`EACCES`).
pub fn source_device(ns: &Namespace, ctx: &Lookup, source: &[u8]) -> KResult<u64> {
    if source.is_empty() {
        return Err(Errno::ENOENT);
    }
    let node = ns.resolve(ctx, source)?;
    let meta = node.metadata();
    if meta.mode & S_IFMT != S_IFBLK {
        return Err(Errno::ENOTBLK);
    }
    if node.mount.flags() & exo_vfs::MS_NODEV != 0 {
        return Err(Errno::EACCES);
    }
    Ok(meta.rdev)
}

/// Mounts the file system of type `fstype` (or, for `None`, the first type whose signature the
/// device carries) found on device `rdev`. Not yet placed in the namespace: the caller mounts
/// the result, and calls [`unmounted`] if that fails. `EBUSY` if the device is mounted,
/// `ENXIO` if there is no such device, `EINVAL` if the device does not hold a file system the
/// type can mount, `ENODEV` for an unknown type.
pub fn mount_device(rdev: u64, fstype: Option<&[u8]>, read_only: bool, data: &[u8]) -> KResult<Arc<dyn FileSystem>> {
    if MOUNTED.lock().iter().any(|(dev, _)| *dev == rdev) {
        return Err(Errno::EBUSY);
    }
    let dev = crate::block::open(rdev)?;
    let read_only = read_only || dev.read_only();
    let fstype = match fstype {
        Some(t) => t,
        None if exo_ext2::probe(&*dev) => b"ext2",
        None if exo_fat::probe(&*dev) => b"vfat",
        None => return Err(Errno::EINVAL),
    };
    let clock: Arc<dyn exo_vfs::Clock> = Arc::new(super::now);
    let fs = match fstype {
        b"ext2" | b"ext3" | b"ext4" => {
            let type_name = match fstype {
                b"ext3" => "ext3",
                b"ext4" => "ext4",
                _ => "ext2",
            };
            DiskFs::Ext2(exo_ext2::Ext2Fs::mount(dev, rdev, exo_ext2::MountOptions { read_only, clock, type_name })?)
        }
        b"vfat" | b"msdos" => {
            let mut options = exo_fat::FatMountOptions::parse(data, clock)?;
            options.read_only |= read_only;
            DiskFs::Fat(exo_fat::FatFs::mount(dev, rdev, options)?)
        }
        _ => return Err(Errno::ENODEV),
    };
    let mut mounted = MOUNTED.lock();
    if mounted.iter().any(|(dev, _)| *dev == rdev) {
        drop(mounted);
        let _ = fs.unmount();
        return Err(Errno::EBUSY);
    }
    mounted.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    mounted.push((rdev, fs.clone()));
    let (major, minor) = major_minor(rdev);
    log::info!("disk: {} on {major}:{minor} mounted{}", core::str::from_utf8(fstype).unwrap_or("?"), if read_only { " read-only" } else { "" });
    Ok(fs.as_fs())
}

/// After the file system `fs_id` left the namespace: if it is a disk file system, its last
/// changes are written and its device marked clean; the device can be mounted again. Files
/// still open in it keep working (lazy unmount), without that guarantee for later writes.
pub fn unmounted(fs_id: u64) -> KResult<()> {
    if !MOUNTED.lock().iter().any(|(dev, _)| *dev == fs_id) {
        return Ok(());
    }
    // Pages of files mapped from it go first (a superset: every mapped file).
    let mapped = super::filemap::write_back_all();
    let fs = {
        let mut mounted = MOUNTED.lock();
        let Some(at) = mounted.iter().position(|(dev, _)| *dev == fs_id) else { return Ok(()) };
        mounted.swap_remove(at).1
    };
    let result = mapped.and(fs.unmount());
    crate::block::sync_device(fs_id)?;
    result
}

/// `syncfs`: writes the file system holding `fs_id` (if on a disk) and flushes its device.
pub fn sync_fs(fs_id: u64) -> KResult<()> {
    let fs = MOUNTED.lock().iter().find(|(dev, _)| *dev == fs_id).map(|(_, fs)| fs.clone());
    if let Some(fs) = fs {
        fs.as_fs().sync()?;
        crate::block::sync_device(fs_id)?;
    }
    Ok(())
}

/// `sync`: every mounted disk file system, then every device (write-back and flush). Returns
/// the first error after trying everything.
pub fn sync_all() -> KResult<()> {
    let all: Vec<DiskFs> = MOUNTED.lock().iter().map(|(_, fs)| fs.clone()).collect();
    let mut result = Ok(());
    for fs in all {
        if let Err(error) = fs.as_fs().sync() {
            result = result.and(Err(error));
        }
    }
    result.and(crate::block::sync_all())
}

/// Before power-off or reboot: syncs and marks every disk file system clean.
pub fn shutdown() {
    let all: Vec<(u64, DiskFs)> = core::mem::take(&mut *MOUNTED.lock());
    for (rdev, fs) in all {
        if let Err(error) = fs.unmount() {
            log::warn!("disk: unmounting {:?} at shutdown: {}", major_minor(rdev), error.name());
        }
    }
    if let Err(error) = crate::block::sync_all() {
        log::warn!("disk: final sync: {}", error.name());
    }
}

/// The device `root=` names: `/dev/vda1`, `vda1`, or `major:minor`.
fn root_device(name: &str) -> Option<u64> {
    if let Some((major, minor)) = name.split_once(':') {
        return Some(makedev(major.parse().ok()?, minor.parse().ok()?));
    }
    crate::block::lookup(name.strip_prefix("/dev/").unwrap_or(name))
}

/// Mounts the root file system `root=` names on top of `/` (the initramfs stays below, as
/// Linux's rootfs does) and returns its root for init's context. Read-only unless `rw`.
pub fn mount_root(ns: &Namespace, root: &str, fstype: Option<&str>, flags: &str, read_only: bool) -> KResult<PathRef> {
    let rdev = root_device(root).ok_or_else(|| {
        log::error!("disk: root={root}: no such block device");
        Errno::ENXIO
    })?;
    let fs = mount_device(rdev, fstype.map(str::as_bytes), read_only, flags.as_bytes())?;
    let fs_id = fs.id();
    let flags = if read_only { exo_vfs::MS_RDONLY } else { 0 };
    if let Err(error) = ns.mount(&ns.root(), fs, flags) {
        let _ = unmounted(fs_id);
        return Err(error);
    }
    super::procfs::set_mount_source(fs_id, Some(root.as_bytes()));
    Ok(ns.covering(&ns.root()))
}
