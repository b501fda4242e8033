//! Tests of file mappings (`fs::filemap`, `process::mm_file`), driving a memory map's fault
//! handler directly (no user code): a shared page is mapped read-only until the first store,
//! which marks it dirty; write-back writes it, write-protects it and clears the mark, and the
//! next store is caught again; truncation unmaps and a later access is SIGBUS; a private
//! mapping copies on write; the cache goes away with its last mapping. Also measures the cost
//! of a read fault on a cached file page, an uncached one and an anonymous one.

use alloc::sync::Arc;

use exo_abi::mman::{MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED};
use exo_abi::signal::{BUS_ADRERR, SIGBUS};
use exo_paging::PageFlags;
use exo_vfs::{Cred, Lookup, Namespace, PathRef};
use exo_vma::{Prot, PAGE};

use crate::fs::{filemap, filemap_io};
use crate::ktest::TestFailure;
use crate::memory::frames;
use crate::process::mm::Mm;
use crate::process::mm_file::{FileBacking, FileRef, PageLookup};
use crate::{kassert, kassert_eq, ktest};

const READ: u64 = 0;
const WRITE: u64 = 2;
const PRESENT_WRITE: u64 = 3;

fn fail<E: core::fmt::Debug>(e: E) -> TestFailure {
    TestFailure::new(format_args!("{e:?}"))
}

/// A new file of `pages` pages (byte i = i % 251) in a private tmpfs namespace.
fn new_file(name: &[u8], pages: u64) -> Result<PathRef, TestFailure> {
    let ns = alloc::boxed::Box::leak(alloc::boxed::Box::new(Namespace::new(crate::fs::new_tmpfs())));
    let ctx = Lookup::new(ns.root(), ns.root(), Cred::root());
    let (file, _) = ns.create(&ctx, name, 0o644, true).map_err(fail)?;
    let mut data = alloc::vec![0u8; (pages * PAGE) as usize];
    for (i, byte) in data.iter_mut().enumerate() {
        *byte = (i % 251) as u8;
    }
    filemap_io::write(file.inode(), 0, &data).map_err(fail)?;
    Ok(file)
}

fn map(mm: &Arc<Mm>, file: &PathRef, pages: u64, shared: bool) -> Result<(u64, Arc<filemap::PageCache>), TestFailure> {
    let cache = filemap::cache_for_mmap(file).map_err(fail)?;
    let backing: Arc<dyn FileBacking> = cache.clone();
    backing.add_mapper(Arc::downgrade(mm)).map_err(fail)?;
    let flags = if shared { MAP_SHARED } else { MAP_PRIVATE };
    let addr = mm.mmap(0, pages * PAGE, Prot::READ_WRITE, flags, Some(FileRef { file: backing, offset: 0, may_write: true })).map_err(fail)?;
    Ok((addr, cache))
}

fn pte(mm: &Mm, addr: u64) -> Option<(u64, PageFlags)> {
    mm.lock().space.translate(addr).map(|(phys, _, flags)| (phys & !(PAGE - 1), flags))
}

fn cached(cache: &filemap::PageCache, index: u64) -> Option<u64> {
    match cache.lookup(index) {
        PageLookup::Cached(frame) => {
            let _ = frames::release(frame, 0);
            Some(frame)
        }
        _ => None,
    }
}

ktest!(fn shared_dirty_tracking_and_write_back() {
    let file = new_file(b"/shared", 2)?;
    let mm = Arc::new(Mm::new().map_err(fail)?);
    let (addr, cache) = map(&mm, &file, 2, true)?;
    // Read: the cached frame, read-only, clean.
    mm.handle_fault(addr, READ, false).map_err(|e| fail(e))?;
    let (frame, flags) = pte(&mm, addr).ok_or_else(|| fail("not mapped"))?;
    kassert_eq!(Some(frame), cached(&cache, 0));
    kassert!(!flags.contains(PageFlags::WRITABLE) && flags.contains(PageFlags::SHARED));
    kassert_eq!(cache.dirty_pages(), 0);
    // First store: dirty and writable.
    mm.handle_fault(addr, PRESENT_WRITE, false).map_err(|e| fail(e))?;
    kassert!(pte(&mm, addr).is_some_and(|(_, f)| f.contains(PageFlags::WRITABLE)));
    kassert_eq!(cache.dirty_pages(), 1);
    // The "store" (through the frame); read(2) sees it, the inode not yet.
    frames::write_frame(frame, 10, b"dirty");
    let mut buf = [0u8; 5];
    filemap_io::read(file.inode(), 10, &mut buf).map_err(fail)?;
    kassert_eq!(&buf, b"dirty");
    file.inode().read_at(10, &mut buf).map_err(fail)?;
    kassert!(&buf != b"dirty");
    // Write-back: the inode has it, the page is clean and read-only again.
    cache.write_back().map_err(fail)?;
    file.inode().read_at(10, &mut buf).map_err(fail)?;
    kassert_eq!(&buf, b"dirty");
    kassert_eq!(cache.dirty_pages(), 0);
    kassert!(pte(&mm, addr).is_some_and(|(_, f)| !f.contains(PageFlags::WRITABLE)));
    // The next store is caught again.
    mm.handle_fault(addr, PRESENT_WRITE, false).map_err(|e| fail(e))?;
    kassert_eq!(cache.dirty_pages(), 1);
    // A write fault on an absent page maps it writable and dirty at once.
    mm.handle_fault(addr + PAGE, WRITE, false).map_err(|e| fail(e))?;
    kassert_eq!(cache.dirty_pages(), 2);
    // Truncate to one page: the second page leaves every mapping; touching it is SIGBUS.
    filemap_io::truncate(file.inode(), PAGE).map_err(fail)?;
    kassert!(pte(&mm, addr + PAGE).is_none());
    kassert_eq!(mm.handle_fault(addr + PAGE, READ, false), Err((SIGBUS, BUS_ADRERR)));
    kassert!(pte(&mm, addr).is_some());
    // The last mapping goes: after write-back the cache is freed.
    drop(cache);
    mm.munmap(addr, 2 * PAGE).map_err(fail)?;
    filemap::reap();
    kassert!(filemap::find(&**file.inode()).is_none());
    Ok(())
});

ktest!(fn private_mapping_copies_on_write() {
    let file = new_file(b"/private", 1)?;
    let mm = Arc::new(Mm::new().map_err(fail)?);
    let before = filemap::cached_pages();
    let (addr, cache) = map(&mm, &file, 1, false)?;
    mm.handle_fault(addr, READ, false).map_err(|e| fail(e))?;
    kassert_eq!(filemap::cached_pages(), before + 1);
    let (frame, flags) = pte(&mm, addr).ok_or_else(|| fail("not mapped"))?;
    kassert_eq!(Some(frame), cached(&cache, 0));
    kassert!(flags.contains(PageFlags::COW) && !flags.contains(PageFlags::WRITABLE));
    mm.handle_fault(addr, PRESENT_WRITE, false).map_err(|e| fail(e))?;
    let (copy, flags) = pte(&mm, addr).ok_or_else(|| fail("not mapped"))?;
    kassert!(copy != frame && flags.contains(PageFlags::WRITABLE));
    kassert_eq!(cache.dirty_pages(), 0);
    drop(cache);
    drop(mm);
    filemap::reap();
    kassert!(filemap::find(&**file.inode()).is_none());
    kassert_eq!(filemap::cached_pages(), before);
    Ok(())
});

/// TSC cycles (guest instructions under `-icount shift=0`) per read fault of `pages` pages.
fn fault_cost(mm: &Mm, addr: u64, pages: u64) -> Result<u64, TestFailure> {
    let start = crate::arch::read_timestamp();
    for i in 0..pages {
        mm.handle_fault(addr + i * PAGE, READ, false).map_err(|e| fail(e))?;
    }
    Ok(crate::arch::read_timestamp().wrapping_sub(start) / pages)
}

ktest!(fn fault_costs() {
    const PAGES: u64 = 256;
    let file = new_file(b"/cost", PAGES)?;
    let mm = Arc::new(Mm::new().map_err(fail)?);
    let (cold, cache) = map(&mm, &file, PAGES, true)?;
    let uncached = fault_cost(&mm, cold, PAGES)?;
    let (warm, _) = map(&mm, &file, PAGES, true)?;
    let cached_cost = fault_cost(&mm, warm, PAGES)?;
    let anon = mm.mmap(0, PAGES * PAGE, Prot::READ_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, None).map_err(fail)?;
    let anonymous = fault_cost(&mm, anon, PAGES)?;
    log::info!("filemap: read fault per page: cached file page {cached_cost}, uncached (tmpfs read) {uncached}, anonymous (zeroed) {anonymous} cycles");
    drop(cache);
    drop(mm);
    filemap::reap();
    Ok(())
});
