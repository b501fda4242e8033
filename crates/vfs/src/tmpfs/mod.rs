//! tmpfs: a file system kept entirely in memory. [`TmpFs`] is the instance, its inodes are
//! [`TmpNode`]s. File data lives in 4 KiB pages allocated on first write (holes read as zeros);
//! a size and an inode limit can be set ([`TmpFsOptions`]), beyond which writes and creations
//! fail with `ENOSPC`. The size limit can be changed later ([`TmpFs::set_max_bytes`], remount).
//! Page data is allocated fallibly: a failed allocation, or a refusal by the instance's memory
//! gate ([`TmpFsOptions::memory_gate`], the kernel's low-memory check), is `ENOSPC` too, so a
//! tmpfs can never exhaust the memory its host needs.
//!
//! # Locks (per instance)
//!
//! 1. `tree` — one mutex per instance, held by every change of the directory structure
//!    (create, link, unlink, rmdir, rename). Only its holder takes more than one directory lock,
//!    so it may take them in any order.
//! 2. The body lock of a directory (`RwLock` over its entries) or of a file (`RwLock` over its
//!    pages). Lookups, listings, reads and writes take one body lock and nothing else but (3).
//! 3. Leaf locks: an inode's metadata mutex and a directory's parent pointer. Nothing is
//!    acquired while one is held. A directory's listing-image mutex (`listing.rs`) is taken
//!    under its body read lock, only to fetch or build the image (the allocator is the only
//!    thing it calls).
//!
//! Dropping a node never takes a lock, so dropping an `Arc` while holding any of these is safe.

mod dir;
mod file;
mod listing;
mod node;
mod rename;
mod xattr;

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use spin::Mutex;

use exo_abi::Errno;

use crate::inode::{FileSystem, Inode, Result};
use crate::types::{Clock, StatFs, Time, NAME_MAX};

pub use node::TmpNode;

/// `statfs.f_type` of tmpfs (Linux `TMPFS_MAGIC`).
pub const TMPFS_MAGIC: u64 = 0x0102_1994;
/// Page size of file data, also `st_blksize` and `f_bsize` (the ABI's page size).
pub use exo_abi::mman::PAGE_SIZE;

/// How to build a [`TmpFs`].
#[derive(Clone)]
pub struct TmpFsOptions {
    /// Source of timestamps. The default always says [`Time::ZERO`].
    pub clock: Arc<dyn Clock>,
    /// Limit on file data, in bytes (rounded up to pages); `None` = unlimited.
    pub max_bytes: Option<u64>,
    /// Limit on the number of inodes, root included; `None` = unlimited.
    pub max_inodes: Option<u64>,
    /// Asked before each new data page is allocated; `false` refuses it (the write stops
    /// there, `ENOSPC` if nothing was written). `None` = always allowed.
    pub memory_gate: Option<fn() -> bool>,
    /// Permission bits of the root directory (Linux's default 0o1777).
    pub root_mode: u32,
    pub root_uid: u32,
    pub root_gid: u32,
}

impl Default for TmpFsOptions {
    fn default() -> TmpFsOptions {
        TmpFsOptions {
            clock: Arc::new(|| Time::ZERO),
            max_bytes: None,
            max_inodes: None,
            memory_gate: None,
            root_mode: 0o1777,
            root_uid: 0,
            root_gid: 0,
        }
    }
}

/// State shared by all nodes of one instance.
pub(crate) struct Shared {
    pub(crate) id: u64,
    clock: Arc<dyn Clock>,
    next_ino: AtomicU64,
    /// Serializes structural changes (see the module docs).
    pub(crate) tree: Mutex<()>,
    used_pages: AtomicU64,
    /// Page budget; `u64::MAX` = unlimited.
    max_pages: AtomicU64,
    memory_gate: Option<fn() -> bool>,
    inodes: AtomicU64,
    max_inodes: Option<u64>,
}

impl Shared {
    pub(crate) fn now(&self) -> Time {
        self.clock.now()
    }

    pub(crate) fn alloc_ino(&self) -> u64 {
        self.next_ino.fetch_add(1, Ordering::Relaxed)
    }

    /// Takes `n` pages from the size budget; `false` if that would exceed the limit or the
    /// memory gate says no.
    pub(crate) fn reserve_pages(&self, n: u64) -> bool {
        if self.memory_gate.is_some_and(|gate| !gate()) {
            return false;
        }
        reserve(&self.used_pages, n, self.max_pages())
    }

    fn max_pages(&self) -> Option<u64> {
        Some(self.max_pages.load(Ordering::Relaxed)).filter(|&max| max != u64::MAX)
    }

    pub(crate) fn release_pages(&self, n: u64) {
        self.used_pages.fetch_sub(n, Ordering::Relaxed);
    }

    /// Takes one inode from the budget (ignoring the limit if `force`).
    pub(crate) fn reserve_inode(&self, force: bool) -> bool {
        reserve(&self.inodes, 1, if force { None } else { self.max_inodes })
    }

    pub(crate) fn release_inode(&self) {
        self.inodes.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn statfs(&self) -> StatFs {
        let used = self.used_pages.load(Ordering::Relaxed);
        let inodes = self.inodes.load(Ordering::Relaxed);
        let (blocks, bfree) = match self.max_pages() {
            Some(max) => (max, max.saturating_sub(used)),
            None => (0, 0),
        };
        let (files, ffree) = match self.max_inodes {
            Some(max) => (max, max.saturating_sub(inodes)),
            None => (0, 0),
        };
        StatFs {
            fs_type: TMPFS_MAGIC,
            bsize: PAGE_SIZE,
            blocks,
            bfree,
            bavail: bfree,
            files,
            ffree,
            fsid: self.id,
            namelen: NAME_MAX as u64,
            frsize: PAGE_SIZE,
        }
    }
}

fn reserve(counter: &AtomicU64, n: u64, max: Option<u64>) -> bool {
    counter
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
            let new = used.checked_add(n)?;
            match max {
                Some(max) if new > max => None,
                _ => Some(new),
            }
        })
        .is_ok()
}

/// A byte limit as a page budget (`u64::MAX` = unlimited).
fn pages_of(max_bytes: Option<u64>) -> u64 {
    max_bytes.map_or(u64::MAX, |b| b.div_ceil(PAGE_SIZE).min(u64::MAX - 1))
}

/// One tmpfs instance. Inode numbers start at 1 (the root) and are never reused.
pub struct TmpFs {
    shared: Arc<Shared>,
    root: Arc<TmpNode>,
}

impl TmpFs {
    /// A new, empty instance with file-system id `id` (the kernel keeps ids unique).
    pub fn new(id: u64, options: TmpFsOptions) -> Arc<TmpFs> {
        let max_pages = pages_of(options.max_bytes);
        let shared = Arc::new(Shared {
            id,
            clock: options.clock,
            next_ino: AtomicU64::new(1),
            tree: Mutex::new(()),
            used_pages: AtomicU64::new(0),
            max_pages: AtomicU64::new(max_pages),
            memory_gate: options.memory_gate,
            inodes: AtomicU64::new(0),
            max_inodes: options.max_inodes,
        });
        let root = TmpNode::new_root(&shared, options.root_mode, options.root_uid, options.root_gid);
        Arc::new(TmpFs { shared, root })
    }

    /// Bytes of file data currently allocated (whole pages).
    pub fn used_bytes(&self) -> u64 {
        self.shared.used_pages.load(Ordering::Relaxed) * PAGE_SIZE
    }

    /// The size limit in bytes (`None` = unlimited).
    pub fn max_bytes(&self) -> Option<u64> {
        self.shared.max_pages().map(|pages| pages.saturating_mul(PAGE_SIZE))
    }

    /// Changes the size limit (remount `size=`; rounded up to pages, `None` = unlimited).
    /// `EINVAL` if the data already stored exceeds the new limit (Linux: "too small a size for
    /// current use"), and nothing changes.
    pub fn set_max_bytes(&self, max_bytes: Option<u64>) -> Result<()> {
        let new = pages_of(max_bytes);
        // Raising the budget under `reserve`'s feet is harmless; lowering it must not slip
        // below what a concurrent write just reserved, so it is a compare-and-swap against the
        // usage seen.
        let used = &self.shared.used_pages;
        self.shared
            .max_pages
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |_| (used.load(Ordering::Relaxed) <= new).then_some(new))
            .map(|_| ())
            .map_err(|_| Errno::EINVAL)
    }

    /// Live inodes, root included (unlinked but still referenced inodes count).
    pub fn inode_count(&self) -> u64 {
        self.shared.inodes.load(Ordering::Relaxed)
    }
}

impl FileSystem for TmpFs {
    fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }

    fn name(&self) -> &str {
        "tmpfs"
    }

    fn magic(&self) -> u64 {
        TMPFS_MAGIC
    }

    fn id(&self) -> u64 {
        self.shared.id
    }

    fn statfs(&self) -> StatFs {
        self.shared.statfs()
    }

    fn tmpfs(&self) -> Option<&TmpFs> {
        Some(self)
    }
}
