//! File mappings in a process's memory: the backing an area of a mapped file holds
//! ([`FileRef`]: the file's page cache and the offset of the area's start), the page cache's
//! interface as the memory map sees it ([`FileBacking`], implemented by `fs::filemap`, a layer
//! above), and the memory map's side of a file fault, of write-back (write-protecting the shared
//! pages of a file in every mapping) and of truncation (unmapping pages past the new end).
//!
//! Pages of a file mapping are the page cache's frames: a `MAP_SHARED` area maps them
//! (read-only until the first store, which marks the page dirty and makes the entry writable);
//! a `MAP_PRIVATE` area maps them read-only and copy-on-write (`COW`), so a store copies the
//! page and later changes to the file stay visible in the pages never written. Every mapped
//! frame holds one reference per page-table entry, as anonymous pages do.
//!
//! See docs/memory.md ("File mappings").

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt;

use exo_abi::signal::{BUS_ADRERR, SEGV_ACCERR, SEGV_MAPERR, SIGBUS, SIGSEGV};
use exo_abi::{Errno, KResult};
use exo_paging::PageFlags;
use exo_vma::fault::{self, Access, PageState};
use exo_vma::{Backing, Kind, Prot, Share, PAGE};

use super::mm::{page_flags, Mm, MmInner};
use crate::memory::frames;

/// What a page cache holds for one page of its file.
pub enum PageLookup {
    /// The page is cached in this frame; the caller got one reference on it.
    Cached(u64),
    /// Not cached: [`FileBacking::fill`] reads it in (it may sleep on the disk).
    Absent,
    /// The page lies entirely past the end of the file (an access there is SIGBUS).
    Beyond,
}

/// A file's page cache as the memory map uses it (implemented by `fs::filemap`).
pub trait FileBacking: Send + Sync {
    /// Page `index` (file offset `index * PAGE`) if cached, with a new reference for the
    /// caller (who maps it or drops the reference). Never does I/O.
    fn lookup(&self, index: u64) -> PageLookup;
    /// Reads page `index` into the cache (may sleep on the disk). ENXIO: past the end of the
    /// file; ENOMEM; EIO.
    fn fill(&self, index: u64) -> KResult<()>;
    /// A store through a shared mapping is about to be allowed on page `index`, which maps
    /// `frame`: the page is marked dirty. False if `frame` is no longer that page (truncated).
    fn mark_dirty(&self, index: u64, frame: u64) -> bool;
    /// `mm` maps (or is about to map) this file: write-back and truncation must visit it.
    fn add_mapper(&self, mm: Weak<Mm>) -> KResult<()>;
    /// A mapping of this file went away; the caller's reference is handed over (and dropped
    /// here, so a cache nobody maps any more is freed at once when it is clean). `now` (munmap):
    /// the dirty pages are written back first; otherwise (a dying memory map) the flusher
    /// thread does it.
    fn unmapped(self: Arc<Self>, now: bool);
    /// msync: the dirty pages written back and the file synced (`wait`, MS_SYNC), or the
    /// flusher woken (MS_ASYNC).
    fn sync(&self, wait: bool) -> KResult<()>;
    /// (device, inode number) for /proc/<pid>/maps.
    fn identity(&self) -> (u64, u64);
    /// The file's path for /proc/<pid>/maps.
    fn path_for_maps(&self) -> Vec<u8>;
}

/// The backing of a file-mapping area: the file's cache, the file offset of the area's start,
/// and whether the file was opened for writing (a shared mapping may then become writable).
#[derive(Clone)]
pub struct FileRef {
    pub file: Arc<dyn FileBacking>,
    pub offset: u64,
    pub may_write: bool,
}

impl FileRef {
    /// Whether this is a mapping of `file`.
    pub fn is(&self, file: &dyn FileBacking) -> bool {
        same(&self.file, file)
    }
}

/// Whether `a` and `b` are the same page cache.
fn same(a: &Arc<dyn FileBacking>, b: &dyn FileBacking) -> bool {
    core::ptr::addr_eq(Arc::as_ptr(a), b as *const dyn FileBacking)
}

impl PartialEq for FileRef {
    fn eq(&self, other: &Self) -> bool {
        self.is(&*other.file) && self.offset == other.offset && self.may_write == other.may_write
    }
}

impl fmt::Debug for FileRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileRef({:#x})", self.offset)
    }
}

impl Backing for FileRef {
    fn advanced(&self, offset: u64) -> Self {
        FileRef { file: self.file.clone(), offset: self.offset.saturating_add(offset), may_write: self.may_write }
    }

    fn continues(&self, len: u64, next: &Self) -> bool {
        next.is(&*self.file) && self.offset.checked_add(len) == Some(next.offset) && self.may_write == next.may_write
    }
}

/// A fault's outcome as a signal: (signal number, si_code).
pub type FaultSignal = (u32, i32);

/// What the file part of a fault decided.
pub(super) enum FileFault {
    /// Resolved (or refused with this signal).
    Done(Result<(), FaultSignal>),
    /// Page `index` of `file` must be read in first, without the map's lock; then retry.
    Fill(Arc<dyn FileBacking>, u64),
}

/// The page index in the file of `page` in an area starting at `start` backed by `file`.
fn index_of(file: &FileRef, start: u64, page: u64) -> u64 {
    (file.offset / PAGE).saturating_add((page - start) / PAGE)
}

/// A fault at `page` in a file-backed area `(prot, share, start, file)`: maps the cached page
/// (read-only for a shared page unless written, copy-on-write for a private one), marks a
/// shared page dirty on its first store, or asks for the page to be read in.
pub(super) fn fault(inner: &mut MmInner, page: u64, access: Access, state: PageState, area: (Prot, Share, u64), file: &FileRef) -> FileFault {
    let (prot, share, start) = area;
    let index = index_of(file, start, page);
    match fault::decide(Some(prot), state, access) {
        fault::Action::Deny(fault::Denied::Protection) => {
            // A store to a clean shared page of a writable area: now it is dirty.
            let clean_shared = matches!(state, PageState::Present { writable: false, cow: false });
            if !(share == Share::Shared && prot.write && access.write && clean_shared) {
                return FileFault::Done(Err((SIGSEGV, SEGV_ACCERR)));
            }
            let Some((frame, _, flags)) = inner.space.translate(page) else { return FileFault::Done(Err((SIGSEGV, SEGV_ACCERR))) };
            if !file.file.mark_dirty(index, frame & !(PAGE - 1)) {
                return FileFault::Done(Err((SIGBUS, BUS_ADRERR)));
            }
            let _ = inner.space.protect(page, flags | PageFlags::WRITABLE);
            FileFault::Done(Ok(()))
        }
        fault::Action::Deny(fault::Denied::NoArea) => FileFault::Done(Err((SIGSEGV, SEGV_MAPERR))),
        fault::Action::BreakCow => FileFault::Done(if inner.space.resolve_cow(page) { Ok(()) } else { Err((SIGSEGV, SEGV_ACCERR)) }),
        fault::Action::FlushStale => {
            crate::arch::mmu::flush_page(page);
            FileFault::Done(Ok(()))
        }
        fault::Action::MapZeroed => {
            if access.present {
                crate::arch::mmu::flush_page(page);
            }
            let frame = match file.file.lookup(index) {
                PageLookup::Cached(frame) => frame,
                PageLookup::Absent => return FileFault::Fill(file.file.clone(), index),
                PageLookup::Beyond => return FileFault::Done(Err((SIGBUS, BUS_ADRERR))),
            };
            let mut flags = page_flags(prot, share) - PageFlags::WRITABLE;
            if share == Share::Private {
                // Always copy-on-write, also in a read-only area: a later mprotect must not
                // make the cache's frame writable for this process.
                flags |= PageFlags::COW;
            } else if access.write {
                if !file.file.mark_dirty(index, frame) {
                    let _ = frames::release(frame, 0);
                    return FileFault::Done(Err((SIGBUS, BUS_ADRERR)));
                }
                flags |= PageFlags::WRITABLE;
            }
            if inner.space.map_frame(page, frame, flags).is_err() {
                let _ = frames::release(frame, 0);
                log::warn!("mm: out of memory mapping a file page at {page:#x}");
                return FileFault::Done(Err((SIGSEGV, SEGV_MAPERR)));
            }
            if share == Share::Private && access.write && !inner.space.resolve_cow(page) {
                log::warn!("mm: out of memory copying a file page at {page:#x}");
                return FileFault::Done(Err((SIGSEGV, SEGV_MAPERR)));
            }
            FileFault::Done(Ok(()))
        }
    }
}

/// The distinct page caches of `areas`' backings (each once).
pub(super) fn distinct<'a>(backings: impl Iterator<Item = &'a FileRef>) -> Vec<Arc<dyn FileBacking>> {
    let mut out: Vec<Arc<dyn FileBacking>> = Vec::new();
    for backing in backings {
        if !out.iter().any(|f| backing.is(&**f)) && out.try_reserve(1).is_ok() {
            out.push(backing.file.clone());
        }
    }
    out
}

impl Mm {
    /// Write-protects every page this map has of `file` in shared areas (write-back: the next
    /// store faults and marks the page dirty again). One TLB shootdown per area.
    pub fn write_protect_file(&self, file: &dyn FileBacking) {
        let mut inner = self.lock();
        let MmInner { space, areas, .. } = &mut *inner;
        for area in areas.iter() {
            if area.share == Share::Shared && area.backing.as_ref().is_some_and(|b| b.is(file)) {
                space.protect_range(area.start, area.end, |flags| flags - PageFlags::WRITABLE);
            }
        }
    }

    /// Unmaps the pages of `file` from page `first` on (truncation), in every area that maps
    /// them, private copies included (as Linux): a later access there faults and finds the
    /// page past the end of the file (SIGBUS) or reads it again.
    pub fn unmap_file_from(&self, file: &dyn FileBacking, first: u64) {
        let mut inner = self.lock();
        let MmInner { space, areas, .. } = &mut *inner;
        for area in areas.iter() {
            let Some(backing) = area.backing.as_ref().filter(|b| b.is(file)) else { continue };
            let area_first = backing.offset / PAGE;
            let pages = area.size() / PAGE;
            if first >= area_first.saturating_add(pages) {
                continue;
            }
            let from = area.start + first.saturating_sub(area_first) * PAGE;
            space.unmap_range(from, area.end);
        }
    }

    /// The page caches of the file mappings in `[addr, addr + len)` (msync); ENOMEM if part of
    /// the range is not mapped. Only shared mappings are returned (private ones never write).
    pub fn shared_files_in(&self, addr: u64, len: u64) -> KResult<Vec<Arc<dyn FileBacking>>> {
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        let inner = self.lock();
        let mut next = addr;
        for area in inner.areas.overlapping(addr, end) {
            if area.start > next {
                return Err(Errno::ENOMEM);
            }
            next = area.end;
        }
        if next < end {
            return Err(Errno::ENOMEM);
        }
        Ok(distinct(inner.areas.overlapping(addr, end).filter(|a| a.share == Share::Shared).filter_map(|a| a.backing.as_ref())))
    }

    /// After a fork: the child's shared file pages are made read-only (its first store marks
    /// the page dirty, so write-back, which visits the child only once it is registered, never
    /// misses a store) and the child is registered with every file it maps.
    pub(super) fn adopt_file_mappings(self: &Arc<Mm>) -> KResult<()> {
        let files = {
            let mut inner = self.lock();
            let MmInner { space, areas, .. } = &mut *inner;
            for area in areas.iter() {
                if area.share == Share::Shared && area.kind == Kind::File && area.backing.is_some() {
                    space.protect_range(area.start, area.end, |flags| flags - PageFlags::WRITABLE);
                }
            }
            distinct(areas.iter().filter_map(|a| a.backing.as_ref()))
        };
        for file in files {
            file.add_mapper(Arc::downgrade(self))?;
        }
        Ok(())
    }

    /// EACCES if making `[addr, end)` writable would make a shared mapping of a file opened
    /// read-only writable (mprotect).
    pub(super) fn check_write_allowed(inner: &MmInner, addr: u64, end: u64) -> KResult<()> {
        let refused = inner
            .areas
            .overlapping(addr, end)
            .any(|a| a.share == Share::Shared && a.backing.as_ref().is_some_and(|b| !b.may_write));
        if refused {
            return Err(Errno::EACCES);
        }
        Ok(())
    }
}

impl Drop for Mm {
    fn drop(&mut self) {
        // The files this map had mapped are told (their flusher writes their dirty pages back
        // and frees caches nobody maps any more); the areas go first, so they count as unmapped.
        let areas = core::mem::take(&mut self.lock().areas);
        let files = distinct(areas.iter().filter_map(|a| a.backing.as_ref()));
        drop(areas);
        for file in files {
            file.unmapped(false);
        }
    }
}
