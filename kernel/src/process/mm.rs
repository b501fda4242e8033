//! A process's memory: its address space (page tables) and its map of areas (`exo_vma`), with
//! demand paging, copy-on-write, and the memory system calls' logic (mmap, munmap, mprotect,
//! mremap, madvise, brk).
//!
//! Pages of private anonymous areas, the heap and the stack are allocated on first touch
//! (zeroed). Shared anonymous areas are populated when created and mapped `SHARED`, so a fork
//! keeps sharing them. ELF segments are copied in when created. File mappings map the file's
//! page cache on demand (`mm_file`, `fs::filemap`).
//!
//! Lock rule: the lock is a sleeping mutex; every fault on the process's memory, from user mode
//! or from a kernel user copy, is resolved under it (`handle_fault`). Never copy to or from user
//! memory, nor read a file, while holding it (a fault or the file would take it again): a file
//! fault whose page is not cached lets go of the lock, reads the page in, and retries.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::mman::*;
use exo_abi::signal::{SEGV_ACCERR, SEGV_MAPERR, SIGBUS, SIGSEGV};
use exo_abi::{Errno, KResult};
use exo_paging::PageFlags;
use exo_vma::{fault, Area, AreaMap, Kind, Prot, ResizeOutcome, Share, VmaError, PAGE};

use super::mm_file::{self, FaultSignal, FileFault, FileRef};
use crate::memory::address_space::AddressSpace;
use crate::memory::frames;
use crate::sched::sync::{Mutex, MutexGuard};

/// Lowest address `mmap` hands out (Linux's default mmap_min_addr).
pub const MMAP_FLOOR: u64 = 0x1_0000;
/// Top of the initial user stack. The two pages above it, up to the end of the user half, hold
/// the vDSO's data page and code (`process::vdso`): in the stack's page table, so they cost a
/// fork no page table of their own.
pub const STACK_TOP: u64 = 0x7fff_ffff_d000;
/// Size of the stack area (grown on demand inside it).
pub const STACK_SIZE: u64 = 8 << 20;
/// Highest address `mmap` hands out without a hint: below the stack area and a guard gap.
pub const MMAP_CEILING: u64 = STACK_TOP - STACK_SIZE - (1 << 20);
/// Where position-independent executables are loaded (like Linux's ELF_ET_DYN_BASE).
pub const PIE_BASE: u64 = 0x5555_5555_4000;

/// Page-fault error code bits.

static NEXT_MM_ID: AtomicU64 = AtomicU64::new(1);

/// The lockable part of an [`Mm`].
pub struct MmInner {
    pub space: AddressSpace,
    pub areas: AreaMap<FileRef>,
    pub brk_start: u64,
    pub brk: u64,
}

/// A process's memory (shared by the threads of a process, and by a vfork child until exec).
pub struct Mm {
    /// Unique id (futex keys of private mappings).
    pub id: u64,
    inner: Mutex<MmInner>,
}

fn map_error(error: VmaError) -> Errno {
    match error {
        VmaError::Exists => Errno::EEXIST,
        VmaError::Unmapped | VmaError::NoRoom => Errno::ENOMEM,
        VmaError::OutOfRange | VmaError::Overflow => Errno::ENOMEM,
        VmaError::Unaligned | VmaError::Empty => Errno::EINVAL,
    }
}

/// Page-table flags for a user page with protection `prot`.
pub(super) fn page_flags(prot: Prot, share: Share) -> PageFlags {
    let mut flags = PageFlags::PRESENT | PageFlags::USER;
    if prot.write {
        flags |= PageFlags::WRITABLE;
    }
    if !prot.exec && crate::arch::mmu::has_nx() {
        flags |= PageFlags::NO_EXECUTE;
    }
    if share == Share::Shared {
        flags |= PageFlags::SHARED;
    }
    flags
}

/// Converts mmap's PROT_* bits.
pub fn prot_from_bits(bits: u32) -> Prot {
    Prot { read: bits & PROT_READ != 0, write: bits & PROT_WRITE != 0, exec: bits & PROT_EXEC != 0 }
}

/// A zeroed frame for a user page, above the OOM reserve (ENOMEM at the reserve: populating a
/// whole mapping at once must not eat the memory the kernel and the OOM killer need).
pub fn user_frame() -> KResult<u64> {
    if !crate::process::oom::user_page_allowed() {
        return Err(Errno::ENOMEM);
    }
    frames::alloc_zeroed_frame().map_err(|_| Errno::ENOMEM)
}

fn page_up(value: u64) -> Option<u64> {
    value.checked_add(PAGE - 1).map(|v| v & !(PAGE - 1))
}

impl Mm {
    /// An empty memory map.
    pub fn new() -> KResult<Mm> {
        let space = AddressSpace::new().map_err(|_| Errno::ENOMEM)?;
        Ok(Mm {
            id: NEXT_MM_ID.fetch_add(1, Ordering::Relaxed),
            inner: Mutex::new(MmInner { space, areas: AreaMap::new(), brk_start: 0, brk: 0 }),
        })
    }

    /// Locks the map (never while copying to or from user memory).
    pub fn lock(&self) -> MutexGuard<'_, MmInner> {
        self.inner.lock()
    }

    /// Makes this memory map the current thread's address space and loads it. The caller keeps
    /// the map alive while the thread runs on it (the task holds its `Arc<Mm>`); when the map
    /// dies, the scheduler's hook moves the thread back to the kernel's tree first.
    pub fn enter(&self) {
        crate::sched::enter_address_space(&self.inner.lock().space);
    }

    /// A copy-on-write copy (fork). Shared areas (anonymous or file) stay shared.
    pub fn fork(&self) -> KResult<Arc<Mm>> {
        let child = {
            let mut inner = self.inner.lock();
            let space = inner.space.fork().map_err(|_| Errno::ENOMEM)?;
            let areas = inner.areas.clone();
            Arc::new(Mm {
                id: NEXT_MM_ID.fetch_add(1, Ordering::Relaxed),
                inner: Mutex::new(MmInner { space, areas, brk_start: inner.brk_start, brk: inner.brk }),
            })
        };
        child.adopt_file_mappings()?;
        Ok(child)
    }

    /// Handles a page fault at `addr` (CPU error code `error`), from user mode or from a kernel
    /// copy routine: one policy and one lock for both. Err gives the signal and its si_code
    /// (SIGSEGV, or SIGBUS for a file page past the end of the file or unreadable).
    pub fn handle_fault(&self, addr: u64, error: u64, _from_user: bool) -> Result<(), FaultSignal> {
        // A file page that is not cached is read in without the lock, then the fault is
        // decided again (the map may have changed meanwhile). A page that keeps disappearing
        // (truncated again and again) gives up after a few rounds.
        let mut rounds = 0;
        loop {
            let (file, index) = match self.fault_once(addr, error) {
                FileFault::Done(result) => return result,
                FileFault::Fill(file, index) => (file, index),
            };
            rounds += 1;
            if rounds > 8 {
                return Err((SIGBUS, exo_abi::signal::BUS_ADRERR));
            }
            match file.fill(index) {
                Ok(()) => {}
                Err(Errno::ENOMEM) => {
                    log::warn!("mm: out of memory reading a file page for a fault at {addr:#x}");
                    return Err((SIGSEGV, SEGV_MAPERR));
                }
                Err(_) => return Err((SIGBUS, exo_abi::signal::BUS_ADRERR)),
            }
        }
    }

    /// One attempt at resolving a fault, under the lock (see [`Mm::handle_fault`]).
    fn fault_once(&self, addr: u64, error: u64) -> FileFault {
        // The policy (exo_vma::fault::decide), with the map locked: the access must be allowed
        // by the area's current protection; then a missing page is allocated, a copy-on-write
        // page copied (or taken over), or a stale TLB entry dropped.
        let mut inner = self.inner.lock();
        let page = addr & !(PAGE - 1);
        let access = fault::Access::from_error_code(error);
        let area = inner.areas.find(addr).map(|area| (area.prot, area.share, area.start, area.backing.clone()));
        let state = match inner.space.translate(page) {
            None => fault::PageState::Absent,
            Some((_, _, flags)) => fault::PageState::Present {
                writable: flags.contains(PageFlags::WRITABLE),
                cow: flags.contains(PageFlags::COW),
            },
        };
        if let Some((prot, share, start, Some(file))) = &area {
            return mm_file::fault(&mut inner, page, access, state, (*prot, *share, *start), file);
        }
        FileFault::Done(match fault::decide(area.as_ref().map(|a| a.0), state, access) {
            fault::Action::Deny(fault::Denied::NoArea) => Err((SIGSEGV, SEGV_MAPERR)),
            fault::Action::Deny(fault::Denied::Protection) => Err((SIGSEGV, SEGV_ACCERR)),
            fault::Action::BreakCow => {
                if inner.space.resolve_cow(page) {
                    Ok(())
                } else {
                    Err((SIGSEGV, SEGV_ACCERR))
                }
            }
            fault::Action::FlushStale => {
                crate::arch::mmu::flush_page(page);
                Ok(())
            }
            fault::Action::MapZeroed => {
                if access.present {
                    // The CPU saw a translation that is gone now: drop it before mapping anew.
                    crate::arch::mmu::flush_page(page);
                }
                let (prot, share) = area.map(|a| (a.0, a.1)).unwrap_or((Prot::NONE, Share::Private));
                match inner.space.map_zeroed(page, page_flags(prot, share)) {
                    Ok(_) => Ok(()),
                    Err(_) => {
                        log::warn!("mm: out of memory resolving a fault at {addr:#x}");
                        Err((SIGSEGV, SEGV_MAPERR))
                    }
                }
            }
        })
    }

    /// Adds an area and (for shared anonymous areas) its pages. A file mapping (`file`) is
    /// filled on demand from the file's page cache.
    pub fn map_area(
        inner: &mut MmInner,
        start: u64,
        len: u64,
        prot: Prot,
        share: Share,
        kind: Kind,
        replace: bool,
        file: Option<FileRef>,
    ) -> KResult<()> {
        let end = start.checked_add(len).ok_or(Errno::ENOMEM)?;
        let anonymous_shared = share == Share::Shared && file.is_none();
        let area = Area { start, end, prot, share, kind, backing: file };
        let removed = inner.areas.insert(area, replace).map_err(map_error)?;
        for piece in &removed {
            inner.space.unmap_range(piece.start, piece.end);
        }
        if anonymous_shared {
            let flags = page_flags(prot, share);
            let mut page = start;
            while page < end {
                let frame = match user_frame() {
                    Ok(frame) => frame,
                    Err(e) => {
                        inner.space.unmap_range(start, end);
                        let _ = inner.areas.remove(start, len);
                        return Err(e);
                    }
                };
                if inner.space.map_frame(page, frame, flags).is_err() {
                    let _ = frames::free_frame(frame);
                    inner.space.unmap_range(start, end);
                    let _ = inner.areas.remove(start, len);
                    return Err(Errno::ENOMEM);
                }
                page += PAGE;
            }
        }
        Ok(())
    }

    /// mmap's placement and mapping. Returns the address. A file mapping (`file`: the file's
    /// page cache, the offset, whether the file is open for writing) maps nothing yet: its
    /// pages come on the first access. Caches of files that were displaced (MAP_FIXED) are told.
    pub fn mmap(&self, addr: u64, len: u64, prot: Prot, flags: u32, file: Option<FileRef>) -> KResult<u64> {
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let share = if flags & MAP_TYPE == MAP_SHARED || flags & MAP_TYPE == MAP_SHARED_VALIDATE { Share::Shared } else { Share::Private };
        let kind = if flags & MAP_GROWSDOWN != 0 { Kind::Stack } else if file.is_some() { Kind::File } else { Kind::Anonymous };
        let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
        if fixed {
            if addr & (PAGE - 1) != 0 {
                return Err(Errno::EINVAL);
            }
            if addr < MMAP_FLOOR {
                return Err(Errno::EPERM);
            }
            let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
            if end > exo_vma::USER_END {
                return Err(Errno::ENOMEM);
            }
        }
        let mut inner = self.inner.lock();
        let start = if fixed {
            if flags & MAP_FIXED_NOREPLACE != 0 && !inner.areas.is_free(addr, len) {
                return Err(Errno::EEXIST);
            }
            addr
        } else {
            let hint = (addr != 0).then_some(addr & !(PAGE - 1)).filter(|&h| h >= MMAP_FLOOR);
            inner.areas.find_free(len, hint, MMAP_FLOOR, MMAP_CEILING).ok_or(Errno::ENOMEM)?
        };
        let displaced = if fixed { mm_file::distinct(inner.areas.overlapping(start, start + len).filter_map(|a| a.backing.as_ref())) } else { Vec::new() };
        Mm::map_area(&mut inner, start, len, prot, share, kind, fixed, file)?;
        drop(inner);
        for file in displaced {
            file.unmapped(false);
        }
        Ok(start)
    }

    /// munmap.
    pub fn munmap(&self, addr: u64, len: u64) -> KResult<()> {
        if addr & (PAGE - 1) != 0 || len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        if end > exo_vma::USER_END {
            return Err(Errno::EINVAL);
        }
        let mut inner = self.inner.lock();
        let removed = inner.areas.remove(addr, len).map_err(map_error)?;
        for piece in &removed {
            inner.space.unmap_range(piece.start, piece.end);
        }
        drop(inner);
        // The files whose mappings went: their dirty pages are written back now.
        let files = mm_file::distinct(removed.iter().filter(|p| p.share == Share::Shared).filter_map(|p| p.backing.as_ref()));
        let others = mm_file::distinct(removed.iter().filter(|p| p.share == Share::Private).filter_map(|p| p.backing.as_ref()));
        drop(removed);
        for file in files {
            file.unmapped(true);
        }
        for file in others {
            file.unmapped(false);
        }
        Ok(())
    }

    /// mprotect.
    pub fn mprotect(&self, addr: u64, len: u64, prot: Prot) -> KResult<()> {
        if addr & (PAGE - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::ENOMEM)?;
        if len == 0 {
            return Ok(());
        }
        addr.checked_add(len).filter(|&e| e <= exo_vma::USER_END).ok_or(Errno::ENOMEM)?;
        let mut inner = self.inner.lock();
        // The vDSO's data page and sealed pages are never writable (Linux: EACCES).
        let end = addr + len;
        if prot.write && inner.areas.overlapping(addr, end).any(|a| matches!(a.kind, Kind::Vvar | Kind::Sealed)) {
            return Err(Errno::EACCES);
        }
        if prot.write {
            Mm::check_write_allowed(&inner, addr, end)?;
        }
        let changed = inner.areas.protect(addr, len, prot).map_err(map_error)?;
        for (start, end, _old) in changed {
            // A shared file page stays read-only until its first store (which marks it dirty).
            let file_shared = inner.areas.find(start).is_some_and(|a| a.share == Share::Shared && a.backing.is_some());
            let no_access = !(prot.read || prot.write || prot.exec);
            if no_access {
                // Keep the frames (their contents survive a later mprotect back) but make the
                // pages inaccessible to user mode.
                inner.space.protect_range(start, end, |old| old - PageFlags::USER - PageFlags::WRITABLE);
                continue;
            }
            inner.space.protect_range(start, end, |old| {
                let mut new = page_flags(prot, Share::Private) | (old & (PageFlags::SHARED | PageFlags::COW));
                if old.contains(PageFlags::COW) || (file_shared && !old.contains(PageFlags::WRITABLE)) {
                    new -= PageFlags::WRITABLE;
                }
                new
            });
        }
        Ok(())
    }

    /// madvise(MADV_DONTNEED): private anonymous pages in the range are dropped (zero on next
    /// touch). Other advice is accepted and ignored.
    pub fn madvise(&self, addr: u64, len: u64, advice: u32) -> KResult<()> {
        if addr & (PAGE - 1) != 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        match advice {
            MADV_DONTNEED | MADV_FREE => {
                let mut inner = self.inner.lock();
                let private: Vec<(u64, u64)> = inner
                    .areas
                    .overlapping(addr, end)
                    .filter(|a| a.share == Share::Private)
                    .map(|a| (a.start.max(addr), a.end.min(end)))
                    .collect();
                if private.is_empty() && inner.areas.overlapping(addr, end).next().is_none() {
                    return Err(Errno::ENOMEM);
                }
                for (start, end) in private {
                    inner.space.unmap_range(start, end);
                }
                Ok(())
            }
            MADV_NORMAL | MADV_RANDOM | MADV_SEQUENTIAL | MADV_WILLNEED | MADV_DONTFORK | MADV_DOFORK
            | MADV_HUGEPAGE | MADV_NOHUGEPAGE | MADV_DONTDUMP | MADV_DODUMP => Ok(()),
            _ => Err(Errno::EINVAL),
        }
    }

    /// mremap.
    pub fn mremap(&self, old: u64, old_len: u64, new_len: u64, flags: u32, new_addr: u64) -> KResult<u64> {
        if old & (PAGE - 1) != 0 || flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::EINVAL);
        }
        let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_up(new_len).ok_or(Errno::EINVAL)?;
        if new_len == 0 || old_len == 0 {
            return Err(Errno::EINVAL);
        }
        let mut inner = self.inner.lock();
        let area = inner.areas.find(old).cloned().ok_or(Errno::EFAULT)?;
        if old.checked_add(old_len).is_none_or(|e| e > area.end) {
            return Err(Errno::EFAULT);
        }
        // A kernel object's pages are all mapped when it is: such an area moves or shrinks but
        // never grows (Linux's VM_DONTEXPAND).
        if matches!(area.kind, Kind::Fusion | Kind::Sealed) && new_len > old_len {
            return Err(Errno::EFAULT);
        }
        if flags & MREMAP_FIXED == 0 {
            match inner.areas.resize(old, old_len, new_len) {
                Ok(ResizeOutcome::Shrunk(removed)) => {
                    for piece in removed {
                        inner.space.unmap_range(piece.start, piece.end);
                    }
                    return Ok(old);
                }
                Ok(_) => return Ok(old),
                Err(VmaError::NoRoom) if flags & MREMAP_MAYMOVE != 0 => {}
                Err(error) => return Err(map_error(error)),
            }
        }
        let target = if flags & MREMAP_FIXED != 0 {
            // As Linux: an unaligned, out-of-range or overlapping target is EINVAL, one below
            // the mmap floor EPERM (as mmap MAP_FIXED).
            if new_addr & (PAGE - 1) != 0 {
                return Err(Errno::EINVAL);
            }
            let new_end = new_addr.checked_add(new_len).filter(|&e| e <= exo_vma::USER_END).ok_or(Errno::EINVAL)?;
            if new_addr < old.saturating_add(old_len) && old < new_end {
                return Err(Errno::EINVAL);
            }
            if new_addr < MMAP_FLOOR {
                return Err(Errno::EPERM);
            }
            let removed = inner.areas.remove(new_addr, new_len).map_err(map_error)?;
            for piece in removed {
                inner.space.unmap_range(piece.start, piece.end);
            }
            new_addr
        } else {
            inner.areas.find_free(new_len, None, MMAP_FLOOR, MMAP_CEILING).ok_or(Errno::ENOMEM)?
        };
        let moved = old_len.min(new_len);
        inner.areas.take_range(old, old_len).map_err(|_| Errno::EFAULT)?;
        let backing = area.backing.as_ref().map(|b| exo_vma::Backing::advanced(b, old - area.start));
        let new_area = Area { start: target, end: target + new_len, prot: area.prot, share: area.share, kind: area.kind, backing };
        if let Err(error) = inner.areas.insert(new_area, false) {
            return Err(map_error(error));
        }
        // Only the mapped pages move (a huge sparse area costs what is mapped in it).
        let mut from = old;
        while let Some(page) = inner.space.next_mapped(from, old + moved) {
            inner.space.move_page(page, target + (page - old));
            from = page + PAGE;
        }
        inner.space.flush_range(old, moved);
        inner.space.unmap_range(old, old + old_len);
        Ok(target)
    }

    /// brk: moves the program break; returns the new break (the old one when it cannot move).
    pub fn brk(&self, requested: u64) -> u64 {
        let mut inner = self.inner.lock();
        let current = inner.brk;
        if requested < inner.brk_start || requested == current {
            return current;
        }
        let (Some(old_end), Some(new_end)) = (page_up(current), page_up(requested)) else { return current };
        if new_end != old_end {
            let start = inner.brk_start;
            match inner.areas.set_brk(start, old_end, new_end) {
                Ok(removed) => {
                    for piece in removed {
                        inner.space.unmap_range(piece.start, piece.end);
                    }
                }
                Err(_) => return current,
            }
        } else if requested < current {
            // Shrinking inside the last page: nothing to unmap.
        }
        inner.brk = requested;
        requested
    }

    /// Sets where the heap starts (exec, after loading the program).
    pub fn set_brk_start(&self, start: u64) {
        let mut inner = self.inner.lock();
        inner.brk_start = start;
        inner.brk = start;
    }

    /// Number of mapped user pages and the size of all areas (for /proc and sysinfo).
    pub fn usage(&self) -> (usize, u64) {
        let inner = self.inner.lock();
        (inner.space.mapped_pages(), inner.areas.total_size())
    }

    /// The areas (for /proc/<pid>/maps).
    pub fn areas(&self) -> Vec<Area<FileRef>> {
        self.inner.lock().areas.iter().cloned().collect()
    }

    /// Calls `f(virt, bytes, dirty)` for each page mapped in the address space (smaps); `f`
    /// runs under the mm's lock and must neither allocate nor sleep.
    pub fn for_each_resident(&self, f: impl FnMut(u64, u64, bool)) {
        self.inner.lock().space.for_each_user_page(f);
    }
}
