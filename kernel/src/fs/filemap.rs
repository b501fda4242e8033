//! The page cache of mapped files: one [`PageCache`] per inode that is mapped (or has dirty
//! pages left from a mapping), in a global table keyed by (file system id, inode number). Its
//! pages are frames filled from `Inode::read_at` when a mapping first touches them; shared
//! mappings map these frames directly, private ones copy-on-write (`process::mm_file`).
//! read/write/truncate of the file go through the cached pages while a cache exists
//! (`filemap_io`), so a mapping and read(2)/write(2) always agree.
//!
//! Dirty pages: a shared page is mapped read-only until a store faults on it; the fault marks
//! it dirty and makes the entry writable. Write-back clears the dirty marks, write-protects the
//! file's pages in every memory map that maps it (a TLB shootdown each), then writes each page
//! that was dirty with `Inode::write_at`, clamped to the file size. A store after the
//! write-protection faults again and marks the page dirty again: no store is ever lost.
//! Write-back runs on msync, munmap, fsync/fdatasync of the file, `sync` ([`write_back_all`]),
//! and every [`FLUSH_PERIOD_NS`] in the flusher thread (which also frees the caches of files
//! nobody maps any more once they are clean, and is woken early when a memory map dies).
//!
//! Locks (docs/locking.md): `CACHES` (sleeping) → `PageCache::pages` (sleeping) → the inode's
//! own locks; a memory map's lock → `pages` (the fault path); `PageCache::writeback`
//! (sleeping) → memory map locks → `pages`. `mappers` is a spin lock taken alone.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use exo_abi::{Errno, KResult};
use exo_vfs::{Inode, PathRef};

use crate::memory::frames;
use crate::process::mm::Mm;
use crate::process::mm_file::{FileBacking, PageLookup};
use crate::sched::sync::Mutex;
use crate::sched::wait::WaitQueue;
use crate::spinlock::SpinLock;

/// Page size.
pub(super) const PAGE: u64 = 4096;
/// References a cached frame may have at most (see `process::mm_shared`).
const MAX_REFERENCES: u16 = 60_000;
/// How often the flusher writes dirty mapped pages back (Linux: dirty_writeback 5 s).
pub const FLUSH_PERIOD_NS: u64 = 5_000_000_000;

/// One cached page.
pub(super) struct CachedPage {
    pub index: u64,
    pub frame: u64,
    pub dirty: bool,
}

/// The pages of a cache, sorted by index.
pub(super) struct Pages {
    pub list: Vec<CachedPage>,
}

impl Pages {
    /// Position of page `index` (Ok) or where it would go (Err).
    pub fn search(&self, index: u64) -> Result<usize, usize> {
        self.list.binary_search_by_key(&index, |p| p.index)
    }

    /// The frame of page `index`, if cached.
    pub fn frame(&self, index: u64) -> Option<u64> {
        self.search(index).ok().map(|at| self.list[at].frame)
    }
}

/// The page cache of one mapped file.
pub struct PageCache {
    key: (u64, u64),
    pub(super) location: PathRef,
    pub(super) pages: Mutex<Pages>,
    /// Memory maps that map (or mapped) this file: write-back and truncation visit them.
    mappers: SpinLock<Vec<Weak<Mm>>>,
    /// Serializes write-backs of this file.
    writeback: Mutex<()>,
}

impl PageCache {
    pub(super) fn inode(&self) -> &Arc<dyn Inode> {
        self.location.inode()
    }

    /// The memory maps still alive that map this file.
    pub(super) fn live_mappers(&self) -> Vec<Arc<Mm>> {
        let mappers = self.mappers.lock();
        let mut out = Vec::new();
        if out.try_reserve(mappers.len()).is_ok() {
            out.extend(mappers.iter().filter_map(Weak::upgrade));
        }
        out
    }

    /// Whether a page is dirty.
    fn any_dirty(&self) -> bool {
        self.pages.lock().list.iter().any(|p| p.dirty)
    }

    /// The number of dirty pages (in-kernel tests).
    #[cfg(feature = "ktest")]
    pub fn dirty_pages(&self) -> usize {
        self.pages.lock().list.iter().filter(|p| p.dirty).count()
    }

    /// Writes the dirty pages back (see the module documentation). On an I/O error the pages
    /// not written stay dirty and the error is returned.
    pub fn write_back(&self) -> KResult<()> {
        let _serial = self.writeback.lock();
        let mut dirty = Vec::new();
        {
            let mut pages = self.pages.lock();
            let count = pages.list.iter().filter(|p| p.dirty).count();
            if count == 0 {
                return Ok(());
            }
            dirty.try_reserve_exact(count).map_err(|_| Errno::ENOMEM)?;
            for page in pages.list.iter_mut().filter(|p| p.dirty) {
                page.dirty = false;
                dirty.push(page.index);
            }
        }
        for mm in self.live_mappers() {
            mm.write_protect_file(self);
        }
        let mut buffer = Vec::new();
        if buffer.try_reserve_exact(PAGE as usize).is_err() {
            self.redirty(&dirty);
            return Err(Errno::ENOMEM);
        }
        buffer.resize(PAGE as usize, 0u8);
        let mut result = Ok(());
        for (at, &index) in dirty.iter().enumerate() {
            // Under the pages' lock: a write(2) or truncate of this page waits (a stale copy
            // never overwrites newer data in the file).
            let pages = self.pages.lock();
            let Some(frame) = pages.frame(index) else { continue };
            let size = self.inode().metadata().size;
            let start = index * PAGE;
            if start >= size {
                continue;
            }
            let len = (size - start).min(PAGE) as usize;
            frames::read_frame(frame, 0, &mut buffer[..len]);
            if let Err(error) = write_all(&**self.inode(), start, &buffer[..len]) {
                drop(pages);
                log::warn!("filemap: writing back page {index} of inode {} failed: {error:?}", self.key.1);
                self.redirty(&dirty[at..]);
                result = Err(error);
                break;
            }
        }
        result
    }

    /// Marks these pages dirty again (a write-back that could not finish).
    fn redirty(&self, indexes: &[u64]) {
        let mut pages = self.pages.lock();
        for &index in indexes {
            if let Ok(at) = pages.search(index) {
                pages.list[at].dirty = true;
            }
        }
    }
}

/// Writes all of `data` at `offset` (EIO on a short write).
fn write_all(inode: &dyn Inode, offset: u64, data: &[u8]) -> KResult<()> {
    let mut done = 0;
    while done < data.len() {
        let n = inode.write_at(offset + done as u64, &data[done..])?;
        if n == 0 {
            return Err(Errno::EIO);
        }
        done += n;
    }
    Ok(())
}

impl Drop for PageCache {
    fn drop(&mut self) {
        let pages = self.pages.lock();
        for page in &pages.list {
            let _ = frames::release(page.frame, 0);
        }
        uncached(pages.list.len());
    }
}

impl FileBacking for PageCache {
    fn lookup(&self, index: u64) -> PageLookup {
        let pages = self.pages.lock();
        if let Some(frame) = pages.frame(index) {
            // A frame's count is 16 bits: a page mapped too many times is refused (SIGBUS)
            // rather than wrapped.
            if frames::adjust_refcount(frame, 1) >= MAX_REFERENCES {
                frames::adjust_refcount(frame, -1);
                return PageLookup::Beyond;
            }
            return PageLookup::Cached(frame);
        }
        if index.saturating_mul(PAGE) >= self.inode().metadata().size {
            return PageLookup::Beyond;
        }
        PageLookup::Absent
    }

    fn fill(&self, index: u64) -> KResult<()> {
        let mut pages = self.pages.lock();
        let Err(at) = pages.search(index) else { return Ok(()) };
        let start = index.checked_mul(PAGE).ok_or(Errno::ENXIO)?;
        let size = self.inode().metadata().size;
        if start >= size {
            return Err(Errno::ENXIO);
        }
        pages.list.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let mut buffer = Vec::new();
        buffer.try_reserve_exact(PAGE as usize).map_err(|_| Errno::ENOMEM)?;
        buffer.resize(PAGE as usize, 0u8);
        let want = (size - start).min(PAGE) as usize;
        let mut done = 0;
        while done < want {
            let n = self.inode().read_at(start + done as u64, &mut buffer[done..want])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        let frame = crate::process::mm::user_frame()?;
        frames::write_frame(frame, 0, &buffer);
        pages.list.insert(at, CachedPage { index, frame, dirty: false });
        FILLED.fetch_add(1, Ordering::Relaxed);
        CACHED.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn mark_dirty(&self, index: u64, frame: u64) -> bool {
        let mut pages = self.pages.lock();
        match pages.search(index) {
            Ok(at) if pages.list[at].frame == frame => {
                pages.list[at].dirty = true;
                true
            }
            _ => false,
        }
    }

    fn add_mapper(&self, mm: Weak<Mm>) -> KResult<()> {
        let mut mappers = self.mappers.lock();
        mappers.retain(|m| m.strong_count() > 0);
        if mappers.iter().any(|m| Weak::ptr_eq(m, &mm)) {
            return Ok(());
        }
        mappers.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        mappers.push(mm);
        Ok(())
    }

    fn unmapped(self: Arc<Self>, now: bool) {
        if now {
            let _ = self.write_back();
        }
        let key = self.key;
        drop(self);
        if !reap_key(key) {
            kick();
        }
    }

    fn sync(&self, wait: bool) -> KResult<()> {
        if !wait {
            kick();
            return Ok(());
        }
        self.write_back()?;
        self.inode().fsync(false)
    }

    fn identity(&self) -> (u64, u64) {
        self.key
    }

    fn path_for_maps(&self) -> Vec<u8> {
        let Ok(ns) = super::namespace() else { return Vec::new() };
        let mut path = ns.path_of(&self.location, &ns.root());
        if self.location.is_deleted() {
            let _ = path.try_reserve(10).map(|()| path.extend_from_slice(b" (deleted)"));
        }
        path
    }
}

/// Every page cache.
static CACHES: Mutex<Vec<Arc<PageCache>>> = Mutex::new(Vec::new());
/// How many caches exist (read without the lock: plain file I/O skips the table when zero).
static COUNT: AtomicUsize = AtomicUsize::new(0);
/// Pages read in since boot.
pub static FILLED: AtomicUsize = AtomicUsize::new(0);
/// Pages cached now (for /proc/meminfo: [`cached_pages`]).
static CACHED: AtomicUsize = AtomicUsize::new(0);

/// The number of pages in the page caches of mapped files (for /proc/meminfo's "Mapped" line,
/// which another part of issue 16 owns; until it is wired only the ktests read it).
#[cfg_attr(not(feature = "ktest"), allow(dead_code))]
pub fn cached_pages() -> usize {
    CACHED.load(Ordering::Relaxed)
}

/// `count` cached pages were freed (truncation, a freed cache).
pub(super) fn uncached(count: usize) {
    CACHED.fetch_sub(count, Ordering::Relaxed);
}

fn key_of(inode: &dyn Inode) -> (u64, u64) {
    (inode.fs_id(), inode.metadata().ino)
}

/// Whether `cache` is the cache of `inode` (key `key`): the same inode object, or the same
/// inode number of a file that still exists (a file system may hand out several objects for one
/// inode; a removed file's number may be given to a new file while the old one is mapped).
fn matches(cache: &PageCache, key: (u64, u64), inode: &dyn Inode) -> bool {
    cache.key == key && (core::ptr::addr_eq(Arc::as_ptr(cache.inode()), inode as *const dyn Inode) || cache.inode().metadata().nlink > 0)
}

/// The cache of `inode`, if it has one.
pub fn find(inode: &dyn Inode) -> Option<Arc<PageCache>> {
    if COUNT.load(Ordering::Acquire) == 0 {
        return None;
    }
    let key = key_of(inode);
    CACHES.lock().iter().find(|c| matches(c, key, inode)).cloned()
}

/// The cache of the file at `location` for a new mapping (made if needed; ENOMEM).
/// ENODEV for files whose contents are made when read (procfs), as Linux.
pub fn cache_for_mmap(location: &PathRef) -> KResult<Arc<PageCache>> {
    if location.mount.fs().magic() == super::procfs::PROC_SUPER_MAGIC {
        return Err(Errno::ENODEV);
    }
    start_flusher();
    let key = key_of(&**location.inode());
    let mut caches = CACHES.lock();
    if let Some(cache) = caches.iter().find(|c| matches(c, key, &**location.inode())) {
        return Ok(cache.clone());
    }
    caches.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    let cache = Arc::new(PageCache {
        key,
        location: location.clone(),
        pages: Mutex::new(Pages { list: Vec::new() }),
        mappers: SpinLock::new(Vec::new()),
        writeback: Mutex::new(()),
    });
    caches.push(cache.clone());
    COUNT.store(caches.len(), Ordering::Release);
    Ok(cache)
}

/// Writes back the dirty mapped pages of `inode` (fsync/fdatasync, before the inode's own).
pub fn write_back_inode(inode: &dyn Inode) -> KResult<()> {
    match find(inode) {
        Some(cache) => cache.write_back(),
        None => Ok(()),
    }
}

/// Writes back every dirty mapped page of every file (`sync`, `syncfs`, the flusher). The first
/// error is returned; the other files are still written.
pub fn write_back_all() -> KResult<()> {
    let caches: Vec<Arc<PageCache>> = {
        let caches = CACHES.lock();
        let mut copy = Vec::new();
        copy.try_reserve_exact(caches.len()).map_err(|_| Errno::ENOMEM)?;
        copy.extend(caches.iter().cloned());
        copy
    };
    let mut result = Ok(());
    for cache in caches {
        if let Err(error) = cache.write_back() {
            result = result.and(Err(error));
        }
    }
    result
}

/// Frees the caches with key `key` if nobody maps them and they are clean; false if one is
/// left (the flusher writes it back and frees it later).
fn reap_key(key: (u64, u64)) -> bool {
    let gone = {
        let mut caches = CACHES.lock();
        // None: still mapped (or already gone), nothing to free.
        let Some(at) = caches.iter().position(|c| c.key == key && Arc::strong_count(c) == 1) else { return true };
        if caches[at].any_dirty() {
            return false;
        }
        let gone = caches.swap_remove(at);
        COUNT.store(caches.len(), Ordering::Release);
        gone
    };
    drop(gone);
    true
}

/// Frees the caches nobody maps (only the table holds them) and that have no dirty page.
pub fn reap() {
    let mut gone = Vec::new();
    {
        let mut caches = CACHES.lock();
        let mut at = 0;
        while at < caches.len() {
            if Arc::strong_count(&caches[at]) == 1 && !caches[at].any_dirty() {
                gone.push(caches.swap_remove(at));
            } else {
                at += 1;
            }
        }
        COUNT.store(caches.len(), Ordering::Release);
    }
    drop(gone);
}


static KICKED: AtomicBool = AtomicBool::new(false);
static FLUSHER_WAIT: WaitQueue = WaitQueue::new();
static FLUSHER: spin::Once<bool> = spin::Once::new();

/// Wakes the flusher early (a memory map died, msync MS_ASYNC).
fn kick() {
    KICKED.store(true, Ordering::Release);
    FLUSHER_WAIT.wake_all();
}

/// Starts the flusher thread (once, with the first cache).
fn start_flusher() {
    FLUSHER.call_once(|| {
        let spawned = crate::sched::spawn("filemap-flush", || loop {
            let deadline = crate::time::since_boot_ns().saturating_add(FLUSH_PERIOD_NS);
            let _ = FLUSHER_WAIT.wait_interruptible(|| KICKED.swap(false, Ordering::AcqRel), || false, Some(deadline));
            if let Err(error) = write_back_all() {
                log::warn!("filemap: periodic write-back failed: {error:?}");
            }
            reap();
        });
        if spawned.is_err() {
            log::warn!("filemap: no flusher thread (mapped files are written back on msync, munmap, fsync and sync only)");
        }
        spawned.is_ok()
    });
}
