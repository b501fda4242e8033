//! The block cache in front of one disk: 4 KiB pages of the disk, keyed by page index in a
//! hash table, implementing `exo_blockdev::BlockIo` (what file systems and /dev/vdX use).
//!
//! - **Reads** are served from cached pages; a miss reads the run of missing pages that starts
//!   there in one request (up to the driver's 256 KiB), at least what the caller asked for and,
//!   when reads are sequential (this read starts where the last one ended), a readahead window
//!   that doubles from 8 pages up to 64 (256 KiB).
//! - **Writes** are write-back: the bytes go into the page (read first from the disk when the
//!   write covers only part of a page that is not cached) and the page is marked dirty.
//!   `writeback.rs` writes dirty pages out: the flusher, the dirty limit, and `flush`.
//! - **Per-page state**: each page has a sleeping lock over its data and its `uptodate` and
//!   `dirty` flags. A reader that misses locks the pages it fills for the whole transfer, so a
//!   second reader of the same page waits for the first instead of reading it twice; pages are
//!   always locked in ascending index order (a run), so two runs cannot deadlock.
//! - **Memory**: each page's data is an `OwnedPage` frame. Clean pages are dropped by a CLOCK
//!   sweep (`writeback.rs`, `shrink`) when the cache is over its budget or memory is low, and
//!   by the memory layer's shrinker before the OOM killer picks a victim.
//!
//! Locks (order): a page's `state` (exo_sleeplock mutex, held across disk I/O; several in
//! ascending index order), then the driver's locks, then `index` (spin: the hash table, held
//! only to look up, insert or sweep — never across I/O or a page lock wait; the shrinker only
//! `try_lock`s pages under it).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use exo_abi::Errno;
use exo_blockdev::{check_range, BlockIo, Result};
use exo_sleeplock::{Mutex as SleepMutex, MutexGuard};

use super::Disk;
use crate::memory::reclaim::OwnedPage;
use crate::spinlock::SpinLock;

/// Bytes of a cache page.
pub const PAGE: u64 = 4096;
/// Readahead window: first and largest (pages).
const RA_MIN: u64 = 8;
const RA_MAX: u64 = 64;

/// Pages holding data, all caches.
static RESIDENT: AtomicUsize = AtomicUsize::new(0);
/// Dirty pages, all caches.
static DIRTY: AtomicUsize = AtomicUsize::new(0);

pub fn resident_pages() -> usize {
    RESIDENT.load(Ordering::Relaxed)
}

pub fn dirty_pages() -> usize {
    DIRTY.load(Ordering::Relaxed)
}

/// A page's data and flags (under its lock).
pub struct PageState {
    pub data: Option<OwnedPage>,
    pub uptodate: bool,
    pub dirty: bool,
}

/// Flag bits mirrored outside the lock (for scans that must not wait).
pub const F_UPTODATE: u8 = 1;
pub const F_REFERENCED: u8 = 2;

/// One cached page of the disk.
pub struct Page {
    pub index: u64,
    pub state: SleepMutex<PageState>,
    pub flags: AtomicU8,
    /// When the page became dirty (ns since boot); 0 while clean.
    pub dirty_since: AtomicU64,
}

impl Page {
    fn new(index: u64) -> Page {
        Page {
            index,
            state: SleepMutex::new(PageState { data: None, uptodate: false, dirty: false }),
            flags: AtomicU8::new(F_REFERENCED),
            dirty_since: AtomicU64::new(0),
        }
    }
}

impl PageState {
    /// Gives the page data (a fresh zeroed frame) if it has none; ENOMEM when memory is out.
    pub fn ensure_data(&mut self) -> Result<&mut OwnedPage> {
        if self.data.is_none() {
            let page = OwnedPage::new().ok_or(Errno::ENOMEM)?;
            self.data = Some(page);
            RESIDENT.fetch_add(1, Ordering::Relaxed);
        }
        self.data.as_mut().ok_or(Errno::ENOMEM)
    }

    /// Drops the data of a clean page (eviction).
    pub fn drop_data(&mut self, page: &Page) -> bool {
        if self.dirty || self.data.is_none() {
            return false;
        }
        self.data = None;
        self.uptodate = false;
        page.flags.fetch_and(!F_UPTODATE, Ordering::Relaxed);
        RESIDENT.fetch_sub(1, Ordering::Relaxed);
        true
    }

    fn set_uptodate(&mut self, page: &Page) {
        self.uptodate = true;
        page.flags.fetch_or(F_UPTODATE, Ordering::Relaxed);
    }

    /// Marks the page dirty (counted once).
    fn set_dirty(&mut self, page: &Page) {
        if !self.dirty {
            self.dirty = true;
            page.dirty_since.store(crate::time::since_boot_ns().max(1), Ordering::Relaxed);
            DIRTY.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Marks the page clean (after its write-back, or a write error).
    pub fn clear_dirty(&mut self, page: &Page) {
        if self.dirty {
            self.dirty = false;
            page.dirty_since.store(0, Ordering::Relaxed);
            DIRTY.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The hash table of pages: buckets of short vectors, indexed by page index modulo a power of
/// two sized from the disk.
pub struct Index {
    pub buckets: Vec<Vec<Arc<Page>>>,
    mask: u64,
    /// Pages in the table.
    pub count: usize,
    /// CLOCK hand: the bucket the next sweep starts at.
    pub hand: usize,
}

impl Index {
    fn find(&self, index: u64) -> Option<&Arc<Page>> {
        self.buckets[(index & self.mask) as usize].iter().find(|p| p.index == index)
    }
}

/// The cache of one disk.
pub struct Cache {
    disk: Arc<dyn Disk>,
    size: u64,
    pub index: SpinLock<Index>,
    /// The page after the last read (sequential detection) and the readahead window.
    next_read: AtomicU64,
    window: AtomicU64,
    /// A write-back failed since the last flush (reported by the next flush).
    pub write_error: AtomicBool,
}

impl Cache {
    pub fn new(disk: Arc<dyn Disk>) -> Cache {
        let size = disk.sectors().saturating_mul(512);
        let pages = size.div_ceil(PAGE);
        let buckets = (pages / 4).clamp(64, 65536).next_power_of_two();
        let mut table = Vec::with_capacity(buckets as usize);
        table.resize_with(buckets as usize, Vec::new);
        Cache {
            disk,
            size,
            index: SpinLock::new(Index { buckets: table, mask: buckets - 1, count: 0, hand: 0 }),
            next_read: AtomicU64::new(u64::MAX),
            window: AtomicU64::new(0),
            write_error: AtomicBool::new(false),
        }
    }

    pub fn disk(&self) -> &Arc<dyn Disk> {
        &self.disk
    }

    /// Pages of the disk (the last may be partial).
    fn pages(&self) -> u64 {
        self.size.div_ceil(PAGE)
    }

    /// Bytes of page `index` that lie on the disk.
    pub fn page_len(&self, index: u64) -> usize {
        (self.size - index * PAGE).min(PAGE) as usize
    }

    /// The cached page `index`, if any (marked referenced).
    fn lookup(&self, index: u64) -> Option<Arc<Page>> {
        let table = self.index.lock();
        let page = table.find(index)?.clone();
        page.flags.fetch_or(F_REFERENCED, Ordering::Relaxed);
        Some(page)
    }

    /// The page `index`, made (empty, not up to date) if it is not cached.
    fn get(&self, index: u64) -> Result<Arc<Page>> {
        if let Some(page) = self.lookup(index) {
            return Ok(page);
        }
        let fresh = Arc::new(Page::new(index));
        let mut table = self.index.lock();
        if let Some(page) = table.find(index) {
            return Ok(page.clone());
        }
        let mask = table.mask;
        let bucket = &mut table.buckets[(index & mask) as usize];
        bucket.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        bucket.push(fresh.clone());
        table.count += 1;
        Ok(fresh)
    }

    /// Makes room before pages get data: over budget or low on memory, clean pages go.
    fn make_room(&self) {
        if super::writeback::over_budget() && super::writeback::shrink_all(super::writeback::SHRINK_BATCH) == 0 {
            self.shrink(super::writeback::SHRINK_BATCH, false);
        }
    }

    /// Reads the pages from `first` that are not up to date — up to `want`, more with
    /// readahead — in one request (nothing when someone else filled `first` meanwhile).
    fn fill(&self, first: u64, want: u64) -> Result<()> {
        let sequential = self.next_read.load(Ordering::Relaxed) == first;
        let window = if sequential {
            (self.window.load(Ordering::Relaxed) * 2).clamp(RA_MIN, RA_MAX)
        } else {
            0
        };
        self.window.store(window, Ordering::Relaxed);
        let max_pages = (self.disk.max_transfer() as u64 / PAGE).max(1);
        let run = want.max(window).min(max_pages).min(self.pages() - first);
        self.make_room();
        // The run: consecutive pages not known to be up to date.
        let mut pages: Vec<Arc<Page>> = Vec::new();
        pages.try_reserve(run as usize).map_err(|_| Errno::ENOMEM)?;
        for i in 0..run {
            let page = self.get(first + i)?;
            if i > 0 && page.flags.load(Ordering::Relaxed) & F_UPTODATE != 0 {
                break;
            }
            pages.push(page);
        }
        let mut guards: Vec<MutexGuard<'_, PageState>> = Vec::new();
        guards.try_reserve(pages.len()).map_err(|_| Errno::ENOMEM)?;
        for page in &pages {
            let guard = page.state.lock();
            if guard.uptodate {
                break;
            }
            guards.push(guard);
        }
        if guards.is_empty() {
            return Ok(());
        }
        // Data for each page; under memory pressure a shorter run.
        let mut ready = 0;
        for guard in guards.iter_mut() {
            if guard.ensure_data().is_err() {
                break;
            }
            ready += 1;
        }
        guards.truncate(ready);
        if guards.is_empty() {
            return Err(Errno::ENOMEM);
        }
        let last = first + guards.len() as u64 - 1;
        let tail = self.page_len(last);
        let result = {
            let mut segments: Vec<&mut [u8]> = Vec::new();
            segments.try_reserve(guards.len()).map_err(|_| Errno::ENOMEM)?;
            let count = guards.len();
            for (i, guard) in guards.iter_mut().enumerate() {
                let Some(data) = guard.data.as_mut() else { return Err(Errno::EIO) };
                let len = if i + 1 == count { tail } else { PAGE as usize };
                segments.push(&mut data.bytes_mut()[..len]);
            }
            self.disk.read(first * (PAGE / 512), &mut segments)
        };
        match result {
            Ok(()) => {
                for (guard, page) in guards.iter_mut().zip(&pages) {
                    guard.set_uptodate(page);
                }
                Ok(())
            }
            Err(e) => {
                log::error!("{}: read error at page {first} (+{} pages): {e:?}", self.disk.name(), guards.len());
                Err(Errno::EIO)
            }
        }
    }

    /// Copies `buf.len()` bytes from `offset`, filling pages as needed.
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len(), self.size)?;
        let end_page = (offset + buf.len() as u64).div_ceil(PAGE);
        let mut done = 0usize;
        let mut misses = 0;
        while done < buf.len() {
            let pos = offset + done as u64;
            let (index, in_page) = (pos / PAGE, (pos % PAGE) as usize);
            let n = (PAGE as usize - in_page).min(buf.len() - done);
            if let Some(page) = self.lookup(index) {
                let state = page.state.lock();
                if let (true, Some(data)) = (state.uptodate, state.data.as_ref()) {
                    buf[done..done + n].copy_from_slice(&data.bytes()[in_page..in_page + n]);
                    done += n;
                    continue;
                }
            }
            misses += 1;
            if misses > 64 + end_page {
                // Pages keep vanishing under memory pressure: give up rather than spin.
                return Err(Errno::ENOMEM);
            }
            self.fill(index, end_page - index)?;
        }
        self.next_read.store(end_page, Ordering::Relaxed);
        Ok(())
    }

    /// Copies `buf` to `offset` in the cache (write-back).
    fn write(&self, offset: u64, buf: &[u8]) -> Result<()> {
        if self.disk.read_only() {
            return Err(Errno::EROFS);
        }
        check_range(offset, buf.len(), self.size)?;
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            let (index, in_page) = (pos / PAGE, (pos % PAGE) as usize);
            let n = (PAGE as usize - in_page).min(buf.len() - done);
            let whole = in_page == 0 && n == self.page_len(index);
            self.make_room();
            let page = self.get(index)?;
            let mut state = page.state.lock();
            if !state.uptodate {
                let len = self.page_len(index);
                let data = state.ensure_data()?;
                if !whole {
                    if let Err(e) = self.disk.read(index * (PAGE / 512), &mut [&mut data.bytes_mut()[..len]]) {
                        log::error!("{}: read error at page {index}: {e:?}", self.disk.name());
                        return Err(Errno::EIO);
                    }
                }
                state.set_uptodate(&page);
            }
            let data = state.ensure_data()?;
            data.bytes_mut()[in_page..in_page + n].copy_from_slice(&buf[done..done + n]);
            state.set_dirty(&page);
            drop(state);
            done += n;
        }
        super::writeback::balance_dirty(self)
    }
}

impl BlockIo for Cache {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.read(offset, buf)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        self.write(offset, buf)
    }

    fn flush(&self) -> Result<()> {
        super::writeback::flush(self)
    }

    fn read_only(&self) -> bool {
        self.disk.read_only()
    }
}
