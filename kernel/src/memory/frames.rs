//! Physical memory: the global buddy allocator (`exo_buddy`) over every usable frame of the boot
//! memory map, with the per-frame metadata array (`FrameInfo`, 12 bytes a frame) carved out of
//! usable memory itself.
//!
//! Reserved at start-up: the first MiB (real-mode structures, BIOS data, VGA), the kernel image,
//! the boot modules and the metadata array. All calls run with interrupts disabled, so interrupt
//! handlers may allocate frames too.

use core::mem::size_of;
use core::sync::atomic::{AtomicUsize, Ordering};

use exo_bootinfo::{BootInfo, MemoryKind};
use exo_buddy::{AllocError, BuddyAllocator, FrameInfo, FreeError, Stats};
use crate::spinlock::IrqSpinLock;


/// Size of a frame in bytes.
pub const FRAME_SIZE: u64 = 4096;
/// Memory below this address is never handed out.
const LOW_MEMORY_END: u64 = 0x10_0000;

/// The allocator, under an interrupt-masking lock: interrupt handlers may allocate frames too,
/// and the holder is never preempted (lock rule: a leaf, nothing is locked under it).
static FRAMES: IrqSpinLock<Option<BuddyAllocator<'static>>> = IrqSpinLock::new(None);

/// Why the frame allocator could not start.
#[derive(Debug)]
pub enum InitError {
    NoUsableMemory,
    NoRoomForMetadata,
}

/// The allocator's free-frame count as of the last change, read without the lock (the memory
/// gates of every page fault and fork ask for it: `process::oom`).
static FREE_FRAMES: AtomicUsize = AtomicUsize::new(0);

fn with_allocator<R>(f: impl FnOnce(&mut BuddyAllocator<'static>) -> R) -> Option<R> {
    let mut frames = FRAMES.lock();
    let buddy = frames.as_mut()?;
    let result = f(buddy);
    FREE_FRAMES.store(buddy.free_frames(), Ordering::Relaxed);
    Some(result)
}

fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Finds `bytes` of usable memory inside the boot direct map that overlap none of `reserved`.
fn place_metadata(info: &BootInfo, bytes: u64, reserved: &[(u64, u64)]) -> Option<u64> {
    for region in info.memory_map.regions().iter().filter(|r| r.kind == MemoryKind::Usable) {
        let mut start = region.start.max(LOW_MEMORY_END).next_multiple_of(FRAME_SIZE);
        'candidate: loop {
            let end = start.checked_add(bytes)?;
            if end > region.end || end > crate::memory::direct_map_limit() {
                break;
            }
            for &range in reserved {
                if overlaps((start, end), range) {
                    start = range.1.next_multiple_of(FRAME_SIZE);
                    continue 'candidate;
                }
            }
            return Some(start);
        }
    }
    None
}

/// Builds the allocator from the memory map; `reserved` lists physical ranges in use (kernel
/// image, boot modules). Returns the metadata array's physical range.
pub fn init(info: &BootInfo, reserved: &[(u64, u64)]) -> Result<(u64, u64), InitError> {
    let usable = info.memory_map.regions().iter().filter(|r| r.kind == MemoryKind::Usable);
    let end_frame = usable.map(|r| r.end / FRAME_SIZE).max().ok_or(InitError::NoUsableMemory)?;
    let frames = usize::try_from(end_frame).map_err(|_| InitError::NoRoomForMetadata)?;
    let bytes = (frames as u64 * size_of::<FrameInfo>() as u64).next_multiple_of(FRAME_SIZE);
    let meta_paddr = place_metadata(info, bytes, reserved).ok_or(InitError::NoRoomForMetadata)?;
    let virt = crate::memory::phys_to_virt(meta_paddr).ok_or(InitError::NoRoomForMetadata)? as *mut FrameInfo;
    // SAFETY: `[meta_paddr, meta_paddr + bytes)` is usable RAM inside the direct map that no one
    // else uses (it avoids every reserved range and is reserved below before any allocation);
    // each element is initialised with `write` before the slice is formed, and the slice lives
    // for the rest of the kernel's life as the allocator's exclusive metadata.
    let meta = unsafe {
        for i in 0..frames {
            virt.add(i).write(FrameInfo::new());
        }
        core::slice::from_raw_parts_mut(virt, frames)
    };
    let mut buddy = BuddyAllocator::new(0, meta);
    for region in info.memory_map.regions().iter().filter(|r| r.kind == MemoryKind::Usable) {
        buddy.add_free_range(region.start / FRAME_SIZE, region.end / FRAME_SIZE);
    }
    buddy.reserve_range(0, LOW_MEMORY_END / FRAME_SIZE);
    for &(start, end) in reserved.iter().chain(&[(meta_paddr, meta_paddr + bytes)]) {
        buddy.reserve_range(start / FRAME_SIZE, end.div_ceil(FRAME_SIZE));
    }
    FREE_FRAMES.store(buddy.free_frames(), Ordering::Relaxed);
    *FRAMES.lock() = Some(buddy);
    Ok((meta_paddr, meta_paddr + bytes))
}

/// Allocates a block of `2^order` contiguous frames; returns its physical address. When none
/// is free, the registered shrinkers (clean cache pages, `memory::reclaim`) are asked for
/// memory once, from thread context only, and the allocation is tried again.
pub fn alloc(order: usize) -> Result<u64, AllocError> {
    let frame = match with_allocator(|b| b.alloc(order)).unwrap_or(Err(AllocError::OutOfMemory)) {
        Ok(frame) => frame,
        Err(e) => {
            if super::reclaim::reclaim(1 << order) == 0 {
                return Err(e);
            }
            with_allocator(|b| b.alloc(order)).unwrap_or(Err(AllocError::OutOfMemory))?
        }
    };
    Ok(frame * FRAME_SIZE)
}

/// Drops one reference on the block at `paddr` (a mapping going away) and frees the block
/// when it was the last one, atomically: two address spaces releasing a shared frame at once on
/// two CPUs must not both see "not the last" (a leak) or both free it.
pub fn release(paddr: u64, order: usize) -> Result<(), FreeError> {
    with_allocator(|b| {
        let frame = paddr / FRAME_SIZE;
        let count = b.frame_info(frame).map_or(0, |f| f.refcount());
        if count <= 1 {
            return b.free(frame, order);
        }
        if let Some(mut info) = b.frame_info_mut(frame) {
            info.set_refcount(count - 1);
        }
        Ok(())
    })
    .unwrap_or(Err(FreeError::OutOfRange))
}

/// Takes over the frame at `paddr` if the caller holds its only reference (returns true), for
/// a copy-on-write fault that can keep the page instead of copying it.
pub fn is_sole_owner(paddr: u64) -> bool {
    with_allocator(|b| b.frame_info(paddr / FRAME_SIZE).is_some_and(|f| f.refcount() <= 1)).unwrap_or(false)
}

/// Frees a block returned by [`alloc`] with the same order.
pub fn free(paddr: u64, order: usize) -> Result<(), FreeError> {
    with_allocator(|b| b.free(paddr / FRAME_SIZE, order)).unwrap_or(Err(FreeError::OutOfRange))
}

/// Allocates one frame.
pub fn alloc_frame() -> Result<u64, AllocError> {
    alloc(0)
}

/// Allocates one frame filled with zeros.
pub fn alloc_zeroed_frame() -> Result<u64, AllocError> {
    let paddr = alloc_frame()?;
    zero_frame(paddr);
    Ok(paddr)
}

/// A zeroed frame the kernel keeps for ever (its reference is never dropped, so mapping it into
/// user space and unmapping it again can never free it), with a view of it as 512 atomic
/// words for a kernel writer that user-space readers watch (the vDSO's data page).
pub fn permanent_frame() -> Result<(u64, &'static [core::sync::atomic::AtomicU64; 512]), AllocError> {
    let paddr = alloc_zeroed_frame()?;
    let Some(virt) = super::phys_to_virt(paddr) else {
        let _ = free_frame(paddr);
        return Err(AllocError::OutOfMemory);
    };
    // SAFETY: the frame is page-aligned, 4096 bytes, mapped by the direct map, zeroed (a valid
    // value for atomics) and never freed: this reference is its owner's for ever. Other
    // accesses to it are user-space reads through other mappings, which atomics tolerate.
    let words = unsafe { &*(virt as *const [core::sync::atomic::AtomicU64; 512]) };
    Ok((paddr, words))
}

/// Frees one frame.
pub fn free_frame(paddr: u64) -> Result<(), FreeError> {
    free(paddr, 0)
}

/// Fills the frame at `paddr` with zeros through the direct map.
pub fn zero_frame(paddr: u64) {
    if let Some(virt) = super::phys_to_virt(paddr) {
        // SAFETY: the caller owns the frame (it just came from the allocator or is a page table
        // it is about to use); the direct map maps it writable.
        unsafe { core::ptr::write_bytes(virt as *mut u8, 0, FRAME_SIZE as usize) };
    }
}

/// Copies `data` into the frame at `paddr`, starting `offset` bytes in (clipped to the frame).
/// The caller owns the frame and nothing else writes it meanwhile.
pub fn write_frame(paddr: u64, offset: usize, data: &[u8]) {
    let offset = offset.min(FRAME_SIZE as usize);
    let len = data.len().min(FRAME_SIZE as usize - offset);
    if let Some(virt) = super::phys_to_virt(paddr) {
        // SAFETY: `[offset, offset + len)` lies inside the frame, which the direct map maps
        // writable and the caller owns (a frame being filled before or while it is mapped
        // private to one process).
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), (virt as *mut u8).add(offset), len) };
    }
}

/// Copies bytes of the frame at `paddr`, from `offset` on, into `out` (clipped to the frame).
/// The frame may be mapped into user space and stored to meanwhile (a shared file page being
/// written back): the copy is then some mix of old and new bytes, as a read(2) racing a store
/// gets on Linux; the next write-back copies it again.
pub fn read_frame(paddr: u64, offset: usize, out: &mut [u8]) {
    let offset = offset.min(FRAME_SIZE as usize);
    let len = out.len().min(FRAME_SIZE as usize - offset);
    if let Some(virt) = super::phys_to_virt(paddr) {
        // SAFETY: `[offset, offset + len)` lies inside the frame, which the direct map maps;
        // the caller holds a reference on it, so it is not freed during the copy.
        unsafe { core::ptr::copy_nonoverlapping((virt as *const u8).add(offset), out.as_mut_ptr(), len) };
    }
}

/// Copies the contents of frame `from` to frame `to` through the direct map.
pub fn copy_frame(from: u64, to: u64) {
    if let (Some(src), Some(dst)) = (super::phys_to_virt(from), super::phys_to_virt(to)) {
        // SAFETY: both frames are mapped by the direct map; the caller owns `to` exclusively and
        // `from` is not being written (it is shared read-only, e.g. copy-on-write).
        unsafe { core::ptr::copy_nonoverlapping(src as *const u8, dst as *mut u8, FRAME_SIZE as usize) };
    }
}

/// The allocator's statistics (zeroed before initialisation).
pub fn stats() -> Stats {
    with_allocator(|b| b.stats()).unwrap_or_default()
}

/// Gives the allocator's hot list of single frames back to its free lists (tests comparing
/// block counts).
#[cfg(feature = "ktest")]
pub fn drain_hot() {
    with_allocator(|b| b.drain_hot());
}

/// Number of free frames (as of the last allocation or free; no lock).
pub fn free_frames() -> usize {
    FREE_FRAMES.load(Ordering::Relaxed)
}

/// Reference count of the frame at `paddr` (for copy-on-write sharing).
#[cfg(feature = "ktest")]
pub fn refcount(paddr: u64) -> u16 {
    with_allocator(|b| b.frame_info(paddr / FRAME_SIZE).map_or(0, |f| f.refcount())).unwrap_or(0)
}

/// Adds `delta` to the reference count of the frame at `paddr`; returns the new count.
pub fn adjust_refcount(paddr: u64, delta: i32) -> u16 {
    with_allocator(|b| {
        let Some(mut info) = b.frame_info_mut(paddr / FRAME_SIZE) else { return 0 };
        let count = (i32::from(info.refcount()) + delta).clamp(0, i32::from(u16::MAX)) as u16;
        info.set_refcount(count);
        count
    })
    .unwrap_or(0)
}

/// Adds one reference to each frame in `paddrs`, under one lock (fork shares a page table's
/// worth of frames at a time: one lock round trip per batch instead of one per page).
pub fn add_references(paddrs: &[u64]) {
    with_allocator(|b| {
        for &paddr in paddrs {
            if let Some(mut info) = b.frame_info_mut(paddr / FRAME_SIZE) {
                info.set_refcount(info.refcount().saturating_add(1));
            }
        }
    });
}

/// [`release`] for each 4 KiB frame in `paddrs`, under one lock (an address space's teardown).
/// Returns how many were not allocated (each an error the caller reports).
pub fn release_many(paddrs: &[u64]) -> usize {
    with_allocator(|b| {
        let mut errors = 0;
        for &paddr in paddrs {
            let frame = paddr / FRAME_SIZE;
            // One metadata lookup for the common case (a shared frame losing a sharer).
            if let Some(mut info) = b.frame_info_mut(frame) {
                let count = info.refcount();
                if count > 1 {
                    info.set_refcount(count - 1);
                    continue;
                }
            }
            if b.free(frame, 0).is_err() {
                errors += 1;
            }
        }
        errors
    })
    .unwrap_or(paddrs.len())
}

/// Checks the allocator's internal invariants (tests).
#[cfg(feature = "ktest")]
pub fn check_invariants() -> Result<(), &'static str> {
    with_allocator(|b| b.check_invariants()).unwrap_or(Err("frame allocator not initialised"))
}
