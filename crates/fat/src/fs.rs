//! One mounted FAT volume: [`FatFs`] (mount, unmount, `exo_vfs::FileSystem`), the state shared
//! with its inodes (the hadris-fat driver behind one sleeping lock, the table of live inodes,
//! the queue of inodes dropped since the last operation), and the conversion of the driver's
//! metadata into Linux vfat's `stat` view.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use exo_abi::mode::{S_IFDIR, S_IFREG};
use exo_abi::Errno;
use exo_blockdev::BlockIo;
use exo_vfs::{FileSystem, Inode, Metadata, StatFs, Time};
use hadris_fat::sync::FatFs as Driver;
use hadris_fat::CacheOptions;
use hadris_fs::{Attributes, DirCursor, FileType, MountOptions, NodeId};

use crate::dev::{clock_for, errno, DevError, Disk};
use crate::node::{Cached, FatNode};
use crate::{FatMountOptions, MSDOS_SUPER_MAGIC};

pub(crate) type FsError = hadris_io::Error<DevError>;

/// Nodes the driver may keep pinned at once (each live inode pins one).
const NODE_LIMIT: usize = 1 << 20;
/// Subdirectories counted for a directory's link count before giving up (corrupt images).
const MAX_SUBDIR_SCAN: usize = 1 << 20;

/// The driver and the table of live inodes, behind [`Shared::lib`].
pub(crate) struct State {
    /// Boxed: the driver is 4.6 KiB, and every move of it by value costs kernel stack.
    pub(crate) fat: Box<Driver<Disk>>,
    /// One live inode object per pinned node id.
    pub(crate) nodes: BTreeMap<u64, Weak<FatNode>>,
}

/// What a [`FatFs`] shares with its inodes.
pub(crate) struct Shared {
    /// The driver: every operation takes it (disk I/O may sleep, so a sleeping lock).
    pub(crate) lib: exo_sleeplock::Mutex<State>,
    /// Ids of inodes dropped since the last operation: their pins are released (and their
    /// pending sizes written) by the next one. A leaf lock: dropping an inode takes no other.
    pub(crate) dropped: spin::Mutex<Vec<NodeId>>,
    pub(crate) opts: FatMountOptions,
    pub(crate) id: u64,
    pub(crate) cluster: u32,
    pub(crate) read_only: bool,
}

/// Logs a library error that means a damaged volume, and converts it.
pub(crate) fn fail(err: FsError) -> Errno {
    let e = errno(&err);
    if e == Errno::EUCLEAN || e == Errno::EIO {
        log::warn!("vfat: {} ({:?})", err.message(), err.kind());
    }
    e
}

impl Shared {
    /// Takes the driver lock, first releasing the pins of dropped inodes.
    pub(crate) fn lock(&self) -> exo_sleeplock::MutexGuard<'_, State> {
        let mut st = self.lib.lock();
        let dropped = core::mem::take(&mut *self.dropped.lock());
        for id in dropped {
            if let Err(err) = st.fat.close(id) {
                fail(err);
            }
            st.fat.forget(id, 1);
            if st.nodes.get(&id.get()).is_some_and(|w| w.strong_count() == 0) {
                st.nodes.remove(&id.get());
            }
        }
        st
    }

    /// The inode object of `id`, which the caller has just pinned once more (lookup, create):
    /// the live object if there is one (the extra pin is released), else a new one.
    pub(crate) fn node_for(self: &Arc<Shared>, st: &mut State, id: NodeId) -> Result<Arc<FatNode>, Errno> {
        if let Some(node) = st.nodes.get(&id.get()).and_then(Weak::upgrade) {
            st.fat.forget(id, 1);
            return Ok(node);
        }
        let made = self.load(st, id).map(|cached| Arc::new(FatNode::new(self.clone(), id, cached)));
        match made {
            Ok(node) => {
                st.nodes.insert(id.get(), Arc::downgrade(&node));
                Ok(node)
            }
            Err(e) => {
                st.fat.forget(id, 1);
                Err(e)
            }
        }
    }

    /// Reads a node's metadata (and, for a directory, counts its subdirectories).
    pub(crate) fn load(&self, st: &mut State, id: NodeId) -> Result<Cached, Errno> {
        let meta = st.fat.stat(id).map_err(fail)?;
        let dir = meta.file_type() == FileType::Dir;
        let subdirs = if dir { count_subdirs(&mut st.fat, id)? } else { 0 };
        Ok(self.cached(id, &meta, subdirs))
    }

    /// The `stat` view of the driver's metadata, with Linux vfat's rules for modes.
    pub(crate) fn cached(&self, id: NodeId, meta: &hadris_fs::Metadata, subdirs: u64) -> Cached {
        let dir = meta.file_type() == FileType::Dir;
        let attrs = meta.attributes();
        let mut m = Metadata {
            ino: id.get(),
            uid: self.opts.uid,
            gid: self.opts.gid,
            blksize: self.cluster as u64,
            dev: self.id,
            ..Metadata::default()
        };
        if dir {
            m.mode = S_IFDIR | (0o777 & !self.opts.dmask);
            m.nlink = 2 + subdirs;
            m.size = self.cluster as u64;
        } else {
            m.mode = S_IFREG | (0o777 & !self.opts.fmask);
            if attrs.contains(Attributes::READ_ONLY) {
                m.mode &= !0o222;
            }
            m.nlink = 1;
            m.size = meta.len();
        }
        let cl = self.cluster as u64;
        m.blocks = m.size.div_ceil(cl).saturating_mul(cl) / 512;
        m.mtime = meta.modified().map(to_time).unwrap_or(Time::ZERO);
        m.ctime = m.mtime;
        m.atime = meta.accessed().map(to_time).unwrap_or(m.mtime);
        Cached { meta: m, attrs, removed: false }
    }
}

/// Seconds since the epoch of a driver timestamp.
pub(crate) fn to_time(t: hadris_fs::DateTime) -> Time {
    Time::new(t.unix_seconds(), t.nanoseconds())
}

/// Subdirectories of `dir` (for its link count), bounded for corrupt images.
fn count_subdirs(fat: &mut Driver<Disk>, dir: NodeId) -> Result<u64, Errno> {
    let mut cursor = DirCursor::from_raw(0);
    let mut n = 0u64;
    for _ in 0..MAX_SUBDIR_SCAN {
        match fat.readdir(dir, cursor).map_err(fail)? {
            Some(e) => {
                if e.file_type() == FileType::Dir {
                    n += 1;
                }
                cursor = e.next_cursor();
            }
            None => return Ok(n),
        }
    }
    log::warn!("vfat: directory {} too large, link count is approximate", dir.get());
    Ok(n)
}

/// Mounts the driver and moves it to the heap at once. Kept out of line so that its by-value
/// temporaries (4.6 KiB each) are not added to the caller's frame: mounting runs on a kernel
/// stack of 32 KiB.
#[inline(never)]
fn open_driver(disk: Disk, mo: MountOptions) -> Result<Box<Driver<Disk>>, Errno> {
    match Driver::mount(disk, mo) {
        Ok(fat) => Ok(Box::new(fat.with_cache(CacheOptions::new().with_directory_hint(true).with_directory_entries(512)))),
        Err(err) => {
            let e = errno(err.error());
            log::warn!("vfat: mount failed: {} ({:?})", err.error().message(), err.error().kind());
            Err(e)
        }
    }
}

/// A mounted FAT12/16/32 volume (`mount -t vfat`).
pub struct FatFs {
    pub(crate) shared: Arc<Shared>,
    root: Arc<FatNode>,
}

impl FatFs {
    /// Mounts the volume on `dev` as file system `id` (`st_dev`). `EINVAL` if `dev` holds no
    /// FAT file system, `EUCLEAN` if its boot sector is damaged, `EIO` for a device error.
    pub fn mount(dev: Arc<dyn BlockIo>, id: u64, options: FatMountOptions) -> Result<Arc<FatFs>, Errno> {
        let read_only = options.read_only || dev.read_only();
        let disk = Disk { io: dev, read_only };
        let mut mo = MountOptions::new().with_clock(clock_for(&options.clock)).with_node_limit(NODE_LIMIT);
        if read_only {
            mo = mo.read_only();
        }
        let fat = open_driver(disk, mo)?;
        if fat.was_dirty() {
            log::warn!("vfat: volume was not properly unmounted; some data may be corrupt, run fsck");
        }
        let cluster = fat.info().cluster_size();
        let read_only = read_only || fat.is_read_only();
        let shared = Arc::new(Shared {
            lib: exo_sleeplock::Mutex::new(State { fat, nodes: BTreeMap::new() }),
            dropped: spin::Mutex::new(Vec::new()),
            opts: options,
            id,
            cluster,
            read_only,
        });
        let root = {
            let mut st = shared.lock();
            let root_id = st.fat.root();
            let cached = shared.load(&mut st, root_id)?;
            let root = Arc::new(FatNode::new(shared.clone(), root_id, cached));
            st.nodes.insert(root_id.get(), Arc::downgrade(&root));
            root
        };
        Ok(Arc::new(FatFs { shared, root }))
    }

    /// Writes everything out before the last unmount (sizes, FSInfo, clean flag, device flush).
    /// Inodes still referenced keep working (lazy unmount).
    pub fn unmount(&self) -> Result<(), Errno> {
        self.sync()
    }

    /// Cluster size in bytes.
    pub fn cluster_size(&self) -> u32 {
        self.shared.cluster
    }
}

impl FileSystem for FatFs {
    fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }

    fn name(&self) -> &str {
        "vfat"
    }

    fn magic(&self) -> u64 {
        MSDOS_SUPER_MAGIC
    }

    fn id(&self) -> u64 {
        self.shared.id
    }

    fn statfs(&self) -> StatFs {
        self.root.statfs().unwrap_or(StatFs {
            fs_type: MSDOS_SUPER_MAGIC,
            bsize: self.shared.cluster as u64,
            fsid: self.shared.id,
            namelen: 255,
            frsize: self.shared.cluster as u64,
            ..StatFs::default()
        })
    }

    fn sync(&self) -> Result<(), Errno> {
        if self.shared.read_only {
            return Ok(());
        }
        let mut st = self.shared.lock();
        st.fat.sync().map_err(fail)
    }

    fn read_only(&self) -> bool {
        self.shared.read_only
    }
}

impl Shared {
    /// The live inode of `id` when the caller already holds one (`.`).
    pub(crate) fn node_for_live(self: &Arc<Shared>, st: &mut State, id: NodeId) -> Result<Arc<FatNode>, Errno> {
        match st.nodes.get(&id.get()).and_then(Weak::upgrade) {
            Some(n) => Ok(n),
            None => Err(Errno::ENOENT),
        }
    }
}
