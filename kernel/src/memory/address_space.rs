//! Address spaces: a page-table tree whose kernel half is shared with the kernel's master tree
//! and whose user half is private. Created empty, cloned copy-on-write for `fork`, destroyed
//! with every table frame and every frame it owned.
//!
//! Frame ownership: every user-half leaf holds one reference on its frame (`frames::refcount`);
//! a fork adds one per shared leaf, a copy-on-write fault or unmap drops one, and the frame is
//! freed when the last reference goes.
//!
//! The TLB rule: a reference that a removed (or replaced) translation held is dropped only after
//! every CPU has dropped that translation — the shootdown first, then `frames::release`. Threads
//! of one process run on several CPUs at once with the same tree loaded, so a local `invlpg`
//! is never enough when a translation goes away or loses a permission.

use exo_paging::{MapError, Mapping, OutOfMemory, PageFlags, PageSize, PageTable, UnmapError};

use super::frames;
use super::paging::{self, BuddyTables, DirectMapTables};
use crate::arch::mmu;

/// Pages [`AddressSpace::unmap_range`] unmaps before one shootdown and the release of their
/// frames.
const UNMAP_BATCH: usize = 64;

/// Frames whose references fork adds or teardown drops, gathered so that the frame allocator's
/// lock is taken once per [`FRAME_BATCH`] pages instead of once per page.
const FRAME_BATCH: usize = 64;

/// A batch of 4 KiB frames waiting for one reference change each ([`frames::add_references`]
/// or [`frames::release_many`]); `flush` applies it (also done when it fills up).
struct FrameBatch {
    frames: [u64; FRAME_BATCH],
    len: usize,
    add: bool,
}

impl FrameBatch {
    fn new(add: bool) -> Self {
        FrameBatch { frames: [0; FRAME_BATCH], len: 0, add }
    }

    /// Queues the frame a leaf maps; huge leaves (never made in user space) go at once.
    #[inline(always)]
    fn push(&mut self, mapping: Mapping) {
        if mapping.size != PageSize::Size4K {
            if self.add {
                frames::adjust_refcount(mapping.phys, 1);
            } else {
                release_leaf(mapping);
            }
            return;
        }
        self.frames[self.len] = mapping.phys;
        self.len += 1;
        if self.len == FRAME_BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let batch = &self.frames[..self.len];
        if self.add {
            frames::add_references(batch);
        } else if frames::release_many(batch) != 0 {
            log::error!("address space: a leaf frame of a dying tree was not allocated");
        }
        self.len = 0;
    }
}

/// A process's view of memory.
#[derive(Debug)]
pub struct AddressSpace {
    table: PageTable,
}

/// Drops one reference on the frame a user leaf mapped, freeing it with the last one.
fn release_leaf(mapping: Mapping) {
    let order = match mapping.size {
        PageSize::Size4K => 0,
        PageSize::Size2M => 9,
        PageSize::Size1G => return, // never created in user space
    };
    if frames::release(mapping.phys, order).is_err() {
        log::error!("address space: leaf frame {:#x} was not allocated", mapping.phys);
    }
}

/// Resolves a write to a copy-on-write page of `table` at `virt`: the last sharer gets the page
/// back writable; otherwise the page is copied into a new frame. Returns false when the page is
/// not copy-on-write (a real protection fault) or memory ran out.
pub fn resolve_copy_on_write(table: &mut PageTable, virt: u64) -> bool {
    let mut mem = DirectMapTables;
    let Some((phys, PageSize::Size4K, flags)) = table.translate(&mem, virt) else { return false };
    if !flags.contains(PageFlags::COW) {
        return false;
    }
    let page = virt & !0xfff;
    let phys = phys & !0xfff;
    let writable = (flags - PageFlags::COW) | PageFlags::WRITABLE;
    if frames::is_sole_owner(phys) {
        if table.protect(&mut mem, page, PageSize::Size4K, writable).is_err() {
            return false;
        }
    } else {
        // Another space shares the frame (it may be letting go at this very moment on another
        // CPU: the copy is then merely unneeded, and `release` frees the original if we were
        // the last).
        let Ok(copy) = frames::alloc_frame() else { return false };
        frames::copy_frame(phys, copy);
        if table.unmap(&mut mem, page, PageSize::Size4K).is_err()
            || table.map(&mut mem, &mut BuddyTables, page, copy, PageSize::Size4K, writable).is_err()
        {
            let _ = frames::free_frame(copy);
            return false;
        }
        // Threads of this space on other CPUs may still reach the old frame through their
        // TLB: they must let go of it before the reference goes (the frame may then be freed
        // and reused at once).
        paging::shootdown(page, 4096);
        let _ = frames::release(phys, 0);
        return true;
    }
    // Made writable in place: other CPUs' read-only entries only cause a spurious fault, which
    // the fault handler resolves by flushing its own entry.
    mmu::flush_page(page);
    true
}

impl AddressSpace {
    /// An empty user half sharing the kernel half.
    pub fn new() -> Result<AddressSpace, OutOfMemory> {
        paging::with_kernel_table(|kernel, mem, frames| PageTable::new_sharing_upper_half(mem, frames, kernel))
            .unwrap_or(Err(OutOfMemory))
            .map(|table| AddressSpace { table })
    }

    /// Physical address of the top-level table (what CR3 holds while this space runs).
    pub fn root(&self) -> u64 {
        self.table.root()
    }

    /// Makes this space the CPU's current one.
    pub fn activate(&self) {
        // SAFETY: the kernel half of every address space is the master tree's (shared PDPTs),
        // so the running kernel stays mapped; `Drop` switches away before the tree is freed.
        unsafe { mmu::load_root(self.root()) };
    }

    /// Invalidates a page on every CPU: threads of the process may run on any of them.
    fn flush(&self, virt: u64) {
        paging::shootdown(virt, 4096);
    }

    /// Maps the existing frame `frame` at `virt` (4 KiB); the space takes over one reference
    /// on the frame (released by unmap or when the space is destroyed).
    pub fn map_frame(&mut self, virt: u64, frame: u64, flags: PageFlags) -> Result<(), MapError> {
        self.table.map(&mut DirectMapTables, &mut BuddyTables, virt, frame, PageSize::Size4K, flags)
    }

    /// Unmaps every 4 KiB page mapped in `[start, end)` (page-aligned), dropping their frame
    /// references. Pages go in batches of up to [`UNMAP_BATCH`]: a batch is unmapped, shot down
    /// on every CPU, and only then are its frames released. Returns the number of pages unmapped.
    pub fn unmap_range(&mut self, start: u64, end: u64) -> usize {
        let mut count = 0;
        let mut page = start;
        while page < end {
            let batch_start = page;
            let mut batch = [0u64; UNMAP_BATCH];
            let mut taken = 0;
            while page < end && taken < UNMAP_BATCH {
                // Absent subtrees are skipped whole: a huge sparse range costs what is mapped.
                let Some(mapped) = self.table.next_mapped(&DirectMapTables, page, end) else {
                    page = end;
                    break;
                };
                if let Ok(phys) = self.table.unmap(&mut DirectMapTables, mapped, PageSize::Size4K) {
                    batch[taken] = phys;
                    taken += 1;
                }
                page = mapped + 4096;
            }
            if taken > 0 {
                paging::shootdown(batch_start, page - batch_start);
                if frames::release_many(&batch[..taken]) != 0 {
                    log::error!("address space: an unmapped leaf frame was not allocated");
                }
                count += taken;
            }
        }
        count
    }

    /// Changes the protection of every mapped page in `[start, end)`; `flags_for` gets each
    /// page's current flags and returns the new ones. One TLB shootdown at the end.
    pub fn protect_range(&mut self, start: u64, end: u64, mut flags_for: impl FnMut(PageFlags) -> PageFlags) {
        let mut changed = false;
        let mut page = start;
        while let Some(mapped) = self.table.next_mapped(&DirectMapTables, page, end) {
            if let Some((_, PageSize::Size4K, flags)) = self.table.translate(&DirectMapTables, mapped) {
                let new = flags_for(flags);
                if new != flags && self.table.protect(&mut DirectMapTables, mapped, PageSize::Size4K, new).is_ok() {
                    changed = true;
                }
            }
            page = mapped + 4096;
        }
        if changed {
            paging::shootdown(start, end - start);
        }
    }

    /// Invalidates `[start, start + len)` in every CPU's TLB (after `move_page`s).
    pub fn flush_range(&self, start: u64, len: u64) {
        paging::shootdown(start, len);
    }

    /// The first mapped page at or after `from` and below `end` (absent subtrees skipped whole).
    pub fn next_mapped(&self, from: u64, end: u64) -> Option<u64> {
        self.table.next_mapped(&DirectMapTables, from, end).map(|virt| virt & !0xfff)
    }

    /// Moves the mapping of the page at `from` to `to` (the caller flushes `from` afterwards) (which must be unmapped), keeping its
    /// frame and flags (mremap). Returns false if `from` is not mapped or `to` is taken.
    pub fn move_page(&mut self, from: u64, to: u64) -> bool {
        let Some((_, PageSize::Size4K, flags)) = self.table.translate(&DirectMapTables, from) else { return false };
        if self.table.translate(&DirectMapTables, to).is_some() {
            return false;
        }
        let Ok(phys) = self.table.unmap(&mut DirectMapTables, from, PageSize::Size4K) else { return false };
        let keep = flags - PageFlags::ACCESSED - PageFlags::DIRTY;
        if self.table.map(&mut DirectMapTables, &mut BuddyTables, to, phys, PageSize::Size4K, keep).is_err() {
            // Out of table memory: put it back where it was (its tables still exist).
            let _ = self.table.map(&mut DirectMapTables, &mut BuddyTables, from, phys, PageSize::Size4K, keep);
            return false;
        }
        true
    }

    /// Resolves a write to a copy-on-write page at `virt` (see [`resolve_copy_on_write`]).
    pub fn resolve_cow(&mut self, virt: u64) -> bool {
        resolve_copy_on_write(&mut self.table, virt)
    }

    /// Maps a new zeroed page at `virt`; returns its frame.
    pub fn map_zeroed(&mut self, virt: u64, flags: PageFlags) -> Result<u64, MapError> {
        let frame = frames::alloc_zeroed_frame().map_err(|_| MapError::OutOfMemory)?;
        let result = self.table.map(&mut DirectMapTables, &mut BuddyTables, virt, frame, PageSize::Size4K, flags);
        match result {
            Ok(()) => Ok(frame),
            Err(error) => {
                let _ = frames::free_frame(frame);
                Err(error)
            }
        }
    }

    /// Unmaps the 4 KiB page at `virt`, dropping its frame reference.
    #[cfg(feature = "ktest")]
    pub fn unmap(&mut self, virt: u64) -> Result<(), UnmapError> {
        let phys = self.table.unmap(&mut DirectMapTables, virt, PageSize::Size4K)?;
        self.flush(virt);
        release_leaf(Mapping { virt, phys, size: PageSize::Size4K, flags: PageFlags::empty() });
        Ok(())
    }

    /// Unmaps the 4 KiB page at `virt` and hands its frame reference to the caller (a page
    /// grant moving it to another process). No TLB flush: the caller shoots the range down on
    /// every CPU before anybody else may use the frame.
    pub fn take_page(&mut self, virt: u64) -> Option<u64> {
        self.table.unmap(&mut DirectMapTables, virt, PageSize::Size4K).ok()
    }

    /// Translates `virt` to (physical address, page size, flags).
    pub fn translate(&self, virt: u64) -> Option<(u64, PageSize, PageFlags)> {
        self.table.translate(&DirectMapTables, virt)
    }

    /// Changes the protection of the 4 KiB page at `virt`.
    pub fn protect(&mut self, virt: u64, flags: PageFlags) -> Result<(), UnmapError> {
        self.table.protect(&mut DirectMapTables, virt, PageSize::Size4K, flags)?;
        self.flush(virt);
        Ok(())
    }

    /// A copy-on-write clone of the user half (for `fork`): both spaces map the same frames
    /// read-only with `COW`, and the first write in either copies the page.
    pub fn fork(&mut self) -> Result<AddressSpace, OutOfMemory> {
        let mut shared = FrameBatch::new(true);
        let child = self.table.fork_user_half(&mut DirectMapTables, &mut BuddyTables, |leaf| shared.push(leaf));
        // Only a successful fork shared anything (`fork_user_half` is all-or-nothing).
        shared.flush();
        let child = child?;
        // Every CPU may hold writable entries for pages that are now copy-on-write.
        paging::shootdown(0, exo_paging::USER_HALF_END);
        Ok(AddressSpace { table: child })
    }

    /// Number of user pages mapped.
    pub fn mapped_pages(&self) -> usize {
        let mut count = 0;
        self.table.for_each_mapping_in(&DirectMapTables, 0..exo_paging::USER_PML4_END, |_| count += 1);
        count
    }

    /// Calls `f(virt, bytes, dirty)` for each user page mapped (`/proc/<pid>/smaps`).
    pub fn for_each_user_page(&self, mut f: impl FnMut(u64, u64, bool)) {
        self.table.for_each_mapping_in(&DirectMapTables, 0..exo_paging::USER_PML4_END, |m| {
            f(m.virt, m.size.bytes(), m.flags.contains(exo_paging::PageFlags::DIRTY))
        });
    }
}

/// Whether a CPU slow to leave a dying tree was reported (once per boot).
static SLOW_LEAVE_REPORTED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Runs on a CPU asked to let go of the tree rooted at `root` (an IPI "call").
fn leave_tree(root: u64) -> u64 {
    if mmu::current_root() == root {
        paging::activate_kernel_table();
    }
    0
}

/// What the layer above (the scheduler) must do when a tree is destroyed, before any CPU is
/// asked to leave it: stop naming it as the current thread's address space. Registered once
/// by `sched::init` with [`on_tree_destroyed`].
static FORGET_TREE: spin::Once<fn(u64)> = spin::Once::new();

/// Registers the scheduler's hook for a destroyed tree (its root's physical address).
pub fn on_tree_destroyed(forget: fn(u64)) {
    FORGET_TREE.call_once(|| forget);
}

impl Drop for AddressSpace {
    fn drop(&mut self) {
        // Kernel threads run on whatever tree is loaded, so other CPUs may still have this one:
        // every CPU must let go of it before its tables and frames are freed. Leaving reloads
        // CR3 (no PCIDs, user pages are never global), which also drops every TLB entry the
        // CPU took from this tree; a CPU that loaded it earlier and switched away has already
        // dropped them the same way. So no frame below is reused while still reachable.
        let root = self.root();
        // The dropping thread may still name this tree as its own: it must not be reloaded
        // when the thread is switched back in before it finishes.
        if let Some(forget) = FORGET_TREE.get() {
            forget(root);
        }
        leave_tree(root);
        for cpu in (0..crate::arch::cpu_count()).filter(|&c| c != crate::arch::cpu_index()) {
            // Never give up while the CPU is online: freeing the tree under it would be unsound.
            while crate::arch::smp::run_on_cpu(cpu, leave_tree, root, 1_000_000_000).is_none()
                && crate::arch::smp::is_cpu_online(cpu)
            {
                if !SLOW_LEAVE_REPORTED.swap(true, core::sync::atomic::Ordering::Relaxed) {
                    log::warn!("address space {root:#x}: CPU {cpu} slow (1 s) to let go of the tree; still asking (reported once)");
                }
            }
        }
        // `destroy` consumes the tree; leave a null root behind in its place.
        let Some(null) = PageTable::from_root(0) else { return };
        let table = core::mem::replace(&mut self.table, null);
        let mut released = FrameBatch::new(false);
        table.destroy(&mut DirectMapTables, &mut BuddyTables, exo_paging::USER_PML4_END, |leaf| released.push(leaf));
        released.flush();
    }
}
