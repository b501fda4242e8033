//! Writing dirty cache pages back, and giving clean ones up.
//!
//! - **Write-back**: dirty pages of a disk are collected from its cache, sorted, and each run
//!   of consecutive dirty pages is written as one request (up to 256 KiB). The page locks are
//!   held across the write, so a writer of the same page waits for it.
//! - **Flusher** (kernel thread `blkflush`): every [`FLUSH_PERIOD_NS`] (1 s) it writes back the
//!   runs holding a page dirty for more than [`DIRTY_EXPIRE_NS`] (5 s) — or everything dirty
//!   when more than the background limit (RAM/16) is dirty.
//! - **Dirty limit**: a writer that leaves more than RAM/8 dirty writes back its disk
//!   synchronously before `write` returns (so no writer fills memory with dirty pages).
//! - **`flush`** writes back every dirty page of the disk, then the device's FLUSH: after it
//!   returns Ok, everything written before the call is on stable storage. A write-back that
//!   failed since the previous flush makes it return `EIO` (once; the page is then clean,
//!   its data lost, as on Linux).
//! - **Eviction**: CLOCK over the hash table (a page read or written since the hand last
//!   passed gets a second chance); only clean, unlocked pages lose their data, and a page no
//!   one holds leaves the table. It runs when the cache is over its budget (RAM/2) or free
//!   memory is below RAM/16, and as the memory layer's shrinker (`memory::reclaim`) — which
//!   the frame allocator and the OOM killer call before any process is killed. The shrinker
//!   only `try_lock`s (it never waits).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::Errno;
use exo_blockdev::Result;
use exo_sleeplock::MutexGuard;

use super::cache::{dirty_pages, resident_pages, Cache, Page, PageState, F_REFERENCED, PAGE};
use crate::memory::frames;

/// The flusher's period and the age at which dirty pages are written.
pub const FLUSH_PERIOD_NS: u64 = 1_000_000_000;
pub const DIRTY_EXPIRE_NS: u64 = 5_000_000_000;
/// The age the flusher uses (the in-kernel tests shorten it).
static EXPIRE_NS: AtomicU64 = AtomicU64::new(DIRTY_EXPIRE_NS);

/// Sets the flusher's dirty age (in-kernel tests; `DIRTY_EXPIRE_NS` otherwise).
#[cfg(feature = "ktest")]
pub fn set_dirty_expire_ns(ns: u64) {
    EXPIRE_NS.store(ns, Ordering::Relaxed);
}
/// Pages a budget eviction tries to free at once.
pub const SHRINK_BATCH: usize = 32;

fn total_frames() -> usize {
    let stats = frames::stats();
    stats.managed_frames.saturating_sub(stats.reserved_frames)
}

/// Cache budget: half of RAM.
pub fn budget_pages() -> usize {
    total_frames() / 2
}

/// Free memory below which the cache gives pages up before taking more (RAM/16).
fn low_water() -> usize {
    (total_frames() / 16).max(1024)
}

/// Dirty pages past which writers write back themselves (RAM/8), and the flusher's
/// background limit (RAM/16).
pub fn dirty_limit() -> usize {
    total_frames() / 8
}

fn background_limit() -> usize {
    total_frames() / 16
}

/// Whether the cache must give up pages before it takes more.
pub fn over_budget() -> bool {
    resident_pages() >= budget_pages() || frames::free_frames() < low_water()
}

/// Which dirty pages to write.
#[derive(Clone, Copy)]
pub enum Which {
    All,
    /// Runs holding a page dirty since before this time (ns since boot).
    DirtySince(u64),
}

/// Writes back dirty pages of `cache`. Err: the first error (a failed request also sets the
/// cache's `write_error`, reported by the next flush).
pub fn writeback(cache: &Cache, which: Which) -> Result<()> {
    let mut dirty: Vec<Arc<Page>> = Vec::new();
    {
        let table = cache.index.lock();
        for page in table.buckets.iter().flatten() {
            if page.dirty_since.load(Ordering::Relaxed) != 0 {
                if dirty.try_reserve(1).is_err() {
                    break;
                }
                dirty.push(page.clone());
            }
        }
    }
    dirty.sort_unstable_by_key(|p| p.index);
    let max_pages = (cache.disk().max_transfer() as u64 / PAGE).max(1) as usize;
    let mut result = Ok(());
    let mut start = 0;
    while start < dirty.len() {
        let mut end = start + 1;
        while end < dirty.len() && end - start < max_pages && dirty[end].index == dirty[end - 1].index + 1 {
            end += 1;
        }
        let run = &dirty[start..end];
        let wanted = match which {
            Which::All => true,
            Which::DirtySince(cutoff) => run.iter().any(|p| {
                let since = p.dirty_since.load(Ordering::Relaxed);
                since != 0 && since <= cutoff
            }),
        };
        if wanted {
            if let Err(e) = write_run(cache, run) {
                result = result.and(Err(e));
            }
        }
        start = end;
    }
    result
}

/// Writes the consecutive pages `run` (locked in ascending order), skipping any that became
/// clean meanwhile.
fn write_run(cache: &Cache, run: &[Arc<Page>]) -> Result<()> {
    let mut guards: Vec<MutexGuard<'_, PageState>> = Vec::new();
    guards.try_reserve(run.len()).map_err(|_| Errno::ENOMEM)?;
    for page in run {
        guards.push(page.state.lock());
    }
    let mut result = Ok(());
    let mut i = 0;
    while i < guards.len() {
        if !(guards[i].dirty && guards[i].data.is_some()) {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < guards.len() && guards[j].dirty && guards[j].data.is_some() {
            j += 1;
        }
        let written = {
            let mut segments: Vec<&[u8]> = Vec::new();
            segments.try_reserve(j - i).map_err(|_| Errno::ENOMEM)?;
            for (guard, page) in guards[i..j].iter().zip(&run[i..j]) {
                let len = cache.page_len(page.index);
                segments.extend(guard.data.as_ref().map(|d| &d.bytes()[..len]));
            }
            cache.disk().write(run[i].index * (PAGE / 512), &segments)
        };
        if let Err(e) = written {
            log::error!("{}: write error at page {} (+{} pages): {e:?}; the data is lost", cache.disk().name(), run[i].index, j - i);
            cache.write_error.store(true, Ordering::Release);
            result = Err(Errno::EIO);
        }
        for (guard, page) in guards[i..j].iter_mut().zip(&run[i..j]) {
            guard.clear_dirty(page);
        }
        i = j;
    }
    result
}

/// After a write: past the dirty limit, the writer writes back its disk itself. Errors are
/// left for the next flush (as Linux's balance_dirty_pages).
pub fn balance_dirty(cache: &Cache) -> Result<()> {
    if dirty_pages() > dirty_limit() {
        let _ = writeback(cache, Which::All);
    }
    Ok(())
}

/// Writes back every dirty page, then flushes the device; EIO if a write-back failed since
/// the last flush.
pub fn flush(cache: &Cache) -> Result<()> {
    if cache.disk().read_only() {
        return Ok(());
    }
    let written = writeback(cache, Which::All);
    let flushed = cache.disk().flush();
    if cache.write_error.swap(false, Ordering::AcqRel) {
        return Err(Errno::EIO);
    }
    written.and(flushed)
}

impl Cache {
    /// CLOCK sweep: drops the data of up to `wanted` clean, unlocked pages and removes pages
    /// nobody holds from the table. With `try_only`, gives up at once when the table is busy
    /// (the shrinker). Returns the pages freed.
    pub fn shrink(&self, wanted: usize, try_only: bool) -> usize {
        let mut table = match try_only {
            true => match self.index.try_lock() {
                Some(table) => table,
                None => return 0,
            },
            false => self.index.lock(),
        };
        let buckets = table.buckets.len();
        let (mut freed, mut removed) = (0, 0);
        for _ in 0..2 * buckets {
            if freed >= wanted {
                break;
            }
            let at = table.hand;
            table.hand = (at + 1) % buckets;
            let bucket = &mut table.buckets[at];
            let mut i = 0;
            while i < bucket.len() {
                let page = &bucket[i];
                if page.flags.fetch_and(!F_REFERENCED, Ordering::Relaxed) & F_REFERENCED != 0 && wanted != usize::MAX {
                    i += 1;
                    continue;
                }
                let mut unused = false;
                if let Some(mut state) = page.state.try_lock() {
                    if state.drop_data(page) {
                        freed += 1;
                    }
                    unused = state.data.is_none() && !state.dirty;
                }
                if unused && Arc::strong_count(page) == 1 {
                    bucket.swap_remove(i);
                    removed += 1;
                } else {
                    i += 1;
                }
            }
        }
        table.count -= removed;
        freed
    }
}

/// Frees up to `wanted` clean pages over every disk (never waits for a lock).
pub fn shrink_all(wanted: usize) -> usize {
    let Some(caches) = super::try_caches() else { return 0 };
    let mut freed = 0;
    for cache in caches {
        if freed >= wanted {
            break;
        }
        freed += cache.shrink(wanted - freed, true);
    }
    freed
}

/// Registers the shrinker and starts the flusher thread (once).
pub fn start() {
    static STARTED: spin::Once<()> = spin::Once::new();
    STARTED.call_once(|| {
        crate::memory::reclaim::register(shrink_all);
        let spawned = crate::sched::spawn("blkflush", || loop {
            crate::sched::sleep_ns(FLUSH_PERIOD_NS);
            flusher_pass();
        });
        if let Err(e) = spawned {
            log::error!("block: cannot start the flusher thread: {e:?}");
        }
    });
}

/// One pass of the flusher over every disk.
pub fn flusher_pass() {
    if dirty_pages() == 0 {
        return;
    }
    let which = if dirty_pages() > background_limit() {
        Which::All
    } else {
        Which::DirtySince(crate::time::since_boot_ns().saturating_sub(EXPIRE_NS.load(Ordering::Relaxed)))
    };
    for cache in super::caches() {
        let _ = writeback(&cache, which);
    }
}
