//! devfs: what `mount -t devtmpfs dev /dev` mounts — a tmpfs (shown as `devtmpfs`) populated
//! with the device nodes the kernel's device table serves (`fs::devices::open` by number; the
//! block devices found at boot, `/dev/vda`, `/dev/vda1`, …), the
//! `pts` and `shm` directories, and the `fd`, `stdin`, `stdout`, `stderr` links into
//! `/proc/self/fd`. A fresh tmpfs is mounted on its `shm` (mode 1777, nosuid, nodev), as init
//! systems do for `/dev/shm`. Nodes can be added, removed and changed like in any tmpfs.

use alloc::sync::Arc;

use exo_abi::mode::{makedev, S_IFBLK, S_IFCHR, S_IFDIR};
use exo_abi::KResult;
use exo_vfs::{Cred, FileSystem, Inode, Lookup, Namespace, PathRef, StatFs, TmpFs, MS_NODEV, MS_NOSUID};

/// Character devices: name, major, minor, permissions.
const DEVICES: &[(&[u8], u32, u32, u32)] = &[
    (b"null", 1, 3, 0o666),
    (b"zero", 1, 5, 0o666),
    (b"full", 1, 7, 0o666),
    (b"random", 1, 8, 0o666),
    (b"urandom", 1, 9, 0o666),
    (b"kmsg", 1, 11, 0o644),
    (b"tty", 5, 0, 0o666),
    (b"console", 5, 1, 0o600),
    (b"tty0", 4, 0, 0o620),
    (b"ttyS0", 4, 64, 0o660),
];

/// The group of block device nodes ("disk").
const DISK_GID: u32 = 6;

/// Symbolic links: name, target.
const LINKS: &[(&[u8], &[u8])] = &[
    (b"fd", b"/proc/self/fd"),
    (b"stdin", b"/proc/self/fd/0"),
    (b"stdout", b"/proc/self/fd/1"),
    (b"stderr", b"/proc/self/fd/2"),
];

/// A tmpfs that calls itself `devtmpfs`.
pub struct DevFs {
    tmpfs: Arc<TmpFs>,
}

impl FileSystem for DevFs {
    fn root(&self) -> Arc<dyn Inode> {
        self.tmpfs.root()
    }
    fn name(&self) -> &str {
        "devtmpfs"
    }
    fn magic(&self) -> u64 {
        self.tmpfs.magic()
    }
    fn id(&self) -> u64 {
        self.tmpfs.id()
    }
    fn statfs(&self) -> StatFs {
        self.tmpfs.statfs()
    }
    fn tmpfs(&self) -> Option<&TmpFs> {
        Some(&self.tmpfs)
    }
}

/// A new populated devfs instance (not mounted anywhere yet, so its inodes may be changed
/// directly: no dentry exists that could go stale).
pub fn new() -> KResult<Arc<DevFs>> {
    // Device nodes need no data pages; what users write here is bounded like any tmpfs.
    let tmpfs = TmpFs::new(super::new_fs_id(), super::tmpfs_options(Some(super::tmpfs_default_size()), 0o755));
    let root = tmpfs.root();
    for &(name, major, minor, perms) in DEVICES {
        root.create(name, S_IFCHR | perms, 0, 0, makedev(major, minor))?;
    }
    // Block devices (vda, vda1, ...): mode 0660, group 6 ("disk"), as udev makes them.
    for dev in crate::block::devices() {
        root.create(dev.name.as_bytes(), S_IFBLK | 0o660, 0, DISK_GID, dev.rdev)?;
    }
    root.create(b"pts", S_IFDIR | 0o755, 0, 0, 0)?;
    root.create(b"shm", S_IFDIR | 0o1777, 0, 0, 0)?;
    for &(name, target) in LINKS {
        root.symlink(name, target, 0, 0)?;
    }
    Ok(Arc::new(DevFs { tmpfs }))
}

/// Mounts a new devfs on the directory `at` with `flags`, and a tmpfs on its `shm`. Returns
/// the devfs's file-system id.
pub fn mount_at(ns: &Namespace, at: &PathRef, flags: u64) -> KResult<u64> {
    let devfs = new()?;
    let id = devfs.id();
    ns.mount(at, devfs, flags)?;
    // `at` still names the covered directory: find the new mount's `shm` by path.
    let ctx = Lookup::new(ns.root(), ns.root(), Cred::root());
    let mut path = ns.path_of(at, &ns.root());
    path.extend_from_slice(b"/shm");
    if let Ok(shm) = ns.resolve(&ctx, &path) {
        let shm_fs = TmpFs::new(super::new_fs_id(), super::tmpfs_options(Some(super::tmpfs_default_size()), 0o1777));
        if ns.mount(&shm, shm_fs, MS_NOSUID | MS_NODEV).is_err() {
            log::warn!("devfs: cannot mount a tmpfs on shm");
        }
    }
    Ok(id)
}
