//! A System V shared memory segment's pages: zero-filled frames allocated on first touch,
//! mapped by `shmat` as a shared file mapping (the segment is the mapping's
//! [`FileBacking`]), so fork inherits attachments, exec and exit drop them, and the frames go
//! when the last reference (table or mapping) does. It also knows which memory maps attach
//! it, for `shm_nattch`.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use exo_abi::{Errno, KResult};
use exo_vma::PAGE;

use crate::memory::frames;
use crate::process::mm::Mm;
use crate::process::mm_file::{FileBacking, PageLookup};
use crate::spinlock::SpinLock;

/// References a frame may have at most (its count is 16 bits), as `process::mm_shared`.
const MAX_REFERENCES: u16 = 60_000;

pub struct Segment {
    /// The key at creation (for /proc/<pid>/maps' "/SYSV%08x").
    pub key: i32,
    /// The size asked for (shm_segsz).
    pub size: u64,
    /// The shmid (the inode number in /proc/<pid>/maps).
    pub id: SpinLock<i32>,
    /// Frame of each page, 0 until first touched.
    pages: SpinLock<Vec<u64>>,
    mappers: SpinLock<Vec<Weak<Mm>>>,
}

impl Segment {
    /// A segment of `size` bytes (rounded up to pages). ENOMEM when it could never fit in
    /// memory or its page table cannot be allocated.
    pub fn new(key: i32, size: u64) -> KResult<Arc<Segment>> {
        let count = size.div_ceil(PAGE);
        if count > frames::stats().managed_frames as u64 {
            return Err(Errno::ENOMEM);
        }
        let mut pages = Vec::new();
        pages.try_reserve_exact(count as usize).map_err(|_| Errno::ENOMEM)?;
        pages.resize(count as usize, 0);
        let segment = Segment { key, size, id: SpinLock::new(0), pages: SpinLock::new(pages), mappers: SpinLock::new(Vec::new()) };
        Ok(Arc::new(segment))
    }

    /// The size in pages.
    pub fn pages(&self) -> u64 {
        self.size.div_ceil(PAGE)
    }

    /// Pages allocated so far (shm_rss).
    pub fn resident(&self) -> u64 {
        self.pages.lock().iter().filter(|&&f| f != 0).count() as u64
    }

    /// The memory maps that map the segment now.
    fn live_mappers(&self) -> Vec<Arc<Mm>> {
        let mappers = self.mappers.lock();
        let mut out = Vec::new();
        if out.try_reserve(mappers.len()).is_ok() {
            out.extend(mappers.iter().filter_map(Weak::upgrade));
        }
        out
    }

    /// shm_nattch: the attachments (areas mapping the segment) in all memory maps. Called
    /// without any spin lock held (it takes each map's lock).
    pub fn attachments(&self) -> u64 {
        let mut count = 0;
        for mm in self.live_mappers() {
            let inner = mm.lock();
            count += inner.areas.iter().filter(|a| a.backing.as_ref().is_some_and(|b| b.is(self))).count() as u64;
        }
        count
    }

    /// The attachments of this segment at `addr` in `mm` (shmdt): the ranges of areas that
    /// map it as attached there (offset = distance from `addr`).
    pub fn attached_at(&self, mm: &Mm, addr: u64) -> Vec<(u64, u64)> {
        let inner = mm.lock();
        let end = addr.saturating_add(self.pages() * PAGE);
        let mut out = Vec::new();
        let ok = |a: &exo_vma::Area<crate::process::mm_file::FileRef>| a.backing.as_ref().is_some_and(|b| b.is(self) && b.offset == a.start - addr);
        let first = inner.areas.overlapping(addr, addr + PAGE).next().is_some_and(|a| a.start == addr && ok(a));
        if !first {
            return out;
        }
        for area in inner.areas.overlapping(addr, end) {
            if ok(area) && out.try_reserve(1).is_ok() {
                out.push((area.start, area.end));
            }
        }
        out
    }
}

impl FileBacking for Segment {
    fn lookup(&self, index: u64) -> PageLookup {
        let pages = self.pages.lock();
        match usize::try_from(index).ok().and_then(|i| pages.get(i)) {
            None => PageLookup::Beyond,
            Some(0) => PageLookup::Absent,
            Some(&frame) => {
                if frames::adjust_refcount(frame, 1) >= MAX_REFERENCES {
                    frames::adjust_refcount(frame, -1);
                    return PageLookup::Beyond;
                }
                PageLookup::Cached(frame)
            }
        }
    }

    fn fill(&self, index: u64) -> KResult<()> {
        if index >= self.pages() {
            return Err(Errno::ENXIO);
        }
        if !crate::process::oom::tmpfs_page_allowed() {
            return Err(Errno::ENOMEM);
        }
        let frame = frames::alloc_zeroed_frame().map_err(|_| Errno::ENOMEM)?;
        let mut pages = self.pages.lock();
        let slot = &mut pages[index as usize];
        if *slot == 0 {
            *slot = frame;
        } else {
            drop(pages);
            let _ = frames::release(frame, 0);
        }
        Ok(())
    }

    fn mark_dirty(&self, index: u64, frame: u64) -> bool {
        usize::try_from(index).ok().and_then(|i| self.pages.lock().get(i).copied()) == Some(frame)
    }

    fn add_mapper(&self, mm: Weak<Mm>) -> KResult<()> {
        let mut mappers = self.mappers.lock();
        mappers.retain(|m| m.strong_count() > 0);
        if mappers.iter().any(|m| m.ptr_eq(&mm)) {
            return Ok(());
        }
        mappers.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        mappers.push(mm);
        Ok(())
    }

    fn unmapped(self: Arc<Self>, _now: bool) {}

    fn sync(&self, _wait: bool) -> KResult<()> {
        Ok(())
    }

    fn identity(&self) -> (u64, u64) {
        (0, *self.id.lock() as u64)
    }

    fn path_for_maps(&self) -> Vec<u8> {
        let mut name = alloc::format!("/SYSV{:08x}", self.key as u32).into_bytes();
        name.extend_from_slice(b" (deleted)");
        name
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        let pages = core::mem::take(&mut *self.pages.lock());
        for frame in pages.into_iter().filter(|&f| f != 0) {
            let _ = frames::release(frame, 0);
        }
    }
}
