//! Kernel stacks: each stack gets its own 64 KiB slot in the kernel-stack region; the top 32 KiB
//! are mapped, the 32 KiB below stay unmapped as a guard, so an overflow faults (and, through
//! the double-fault IST stack, is reported as "kernel stack overflow") instead of silently
//! corrupting a neighbour.
//!
//! A small fixed cache ([`CACHE_STACKS`] stacks, 256 KiB) keeps the stacks of finished threads
//! mapped, so that the next thread takes one without allocating, zeroing and mapping 8 frames
//! (and without the TLB shootdown and frees of the unmap): a thread create + join costs about
//! 5,000 instructions less. A cached stack keeps its frames and mapping, and the slot stays
//! claimed; its contents are the old thread's kernel data (a kernel stack never reaches user
//! mode, so nothing leaks). The OOM killer empties the cache ([`release_cached`]) before it
//! chooses a victim.

use exo_paging::{PageFlags, PageSize};
use crate::spinlock::SpinLock as Mutex;

use super::{frames, paging};
use crate::arch;

/// Start of the kernel-stack region (PML4 slot 510, shared by every address space).
pub const REGION_BASE: u64 = 0xffff_ff00_0000_0000;
/// Bytes of virtual space per stack.
const SLOT_SIZE: u64 = 64 * 1024;
/// Mapped bytes per stack.
pub const STACK_SIZE: u64 = 32 * 1024;
/// Number of slots (64 MiB of address space).
const SLOTS: usize = 1024;

/// Most stacks the cache keeps mapped (8 frames each).
const CACHE_STACKS: usize = 8;

/// The slot bitmap and the cached stacks' slots, under one lock: a stack is made or cached
/// with one hold of it.
struct Slots {
    used: [u64; SLOTS / 64],
    cached: [u16; CACHE_STACKS],
    cached_len: usize,
}

static SLOTS_STATE: Mutex<Slots> = Mutex::new(Slots { used: [0; SLOTS / 64], cached: [0; CACHE_STACKS], cached_len: 0 });

/// Why a stack could not be made.
#[derive(Debug, PartialEq, Eq)]
pub enum StackError {
    NoSlot,
    OutOfMemory,
}

/// A mapped kernel stack; unmapped and freed on drop.
#[derive(Debug)]
pub struct KernelStack {
    slot: usize,
}

fn slot_base(slot: usize) -> u64 {
    REGION_BASE + slot as u64 * SLOT_SIZE
}

fn claim_slot() -> Option<usize> {
    arch::without_interrupts(|| {
        let mut slots = SLOTS_STATE.lock();
        let (word, bits) = slots.used.iter_mut().enumerate().find(|(_, w)| **w != u64::MAX)?;
        let bit = bits.trailing_ones() as usize;
        *bits |= 1 << bit;
        Some(word * 64 + bit)
    })
}

fn release_slot(slot: usize) {
    arch::without_interrupts(|| SLOTS_STATE.lock().used[slot / 64] &= !(1 << (slot % 64)));
}

/// Whether `slot` belongs to a live stack (claimed and not waiting in the cache).
fn slot_in_use(slot: usize) -> bool {
    slot < SLOTS
        && arch::without_interrupts(|| {
            let slots = SLOTS_STATE.lock();
            slots.used[slot / 64] & (1 << (slot % 64)) != 0
                && !slots.cached[..slots.cached_len].iter().any(|&s| usize::from(s) == slot)
        })
}

/// A cached stack's slot (still mapped), if the cache holds one.
fn take_cached() -> Option<usize> {
    arch::without_interrupts(|| {
        let mut slots = SLOTS_STATE.lock();
        let len = slots.cached_len.checked_sub(1)?;
        slots.cached_len = len;
        Some(usize::from(slots.cached[len]))
    })
}

/// Keeps the mapped stack of `slot` in the cache if there is room; returns whether it did.
fn cache(slot: usize) -> bool {
    let Ok(slot16) = u16::try_from(slot) else { return false };
    arch::without_interrupts(|| {
        let mut slots = SLOTS_STATE.lock();
        let len = slots.cached_len;
        if len == CACHE_STACKS {
            return false;
        }
        slots.cached[len] = slot16;
        slots.cached_len = len + 1;
        true
    })
}

/// Unmaps and frees every cached stack (memory is short). Returns how many went.
pub fn release_cached() -> usize {
    let mut count = 0;
    while let Some(slot) = take_cached() {
        unmap_and_free(slot);
        count += 1;
    }
    count
}

/// Unmaps the stack of `slot`, invalidates it on every CPU with one shootdown, and only then
/// frees its frames and the slot.
fn unmap_and_free(slot: usize) {
    const PAGES: usize = (STACK_SIZE / 4096) as usize;
    let top = slot_base(slot) + SLOT_SIZE;
    let bottom = top - STACK_SIZE;
    let frames_of_stack: [Option<u64>; PAGES] = paging::with_kernel_table(|table, mem, _| {
        core::array::from_fn(|i| table.unmap(mem, bottom + i as u64 * 4096, PageSize::Size4K).ok())
    })
    .unwrap_or([None; PAGES]);
    paging::shootdown(bottom, top - bottom);
    for frame in frames_of_stack.into_iter().flatten() {
        let _ = frames::free_frame(frame);
    }
    release_slot(slot);
}

impl KernelStack {
    /// A stack from the cache, or a new zeroed one.
    pub fn new() -> Result<KernelStack, StackError> {
        if let Some(slot) = take_cached() {
            return Ok(KernelStack { slot });
        }
        KernelStack::new_mapped()
    }

    /// Maps a new zeroed stack.
    fn new_mapped() -> Result<KernelStack, StackError> {
        let slot = claim_slot().ok_or(StackError::NoSlot)?;
        const PAGES: usize = (STACK_SIZE / 4096) as usize;
        // The frames first, then every page mapped under one hold of the master tree's lock.
        let mut taken = [0u64; PAGES];
        for (i, entry) in taken.iter_mut().enumerate() {
            match frames::alloc_zeroed_frame() {
                Ok(frame) => *entry = frame,
                Err(_) => {
                    for &frame in &taken[..i] {
                        let _ = frames::free_frame(frame);
                    }
                    release_slot(slot); // nothing mapped yet
                    return Err(StackError::OutOfMemory);
                }
            }
        }
        let bottom = slot_base(slot) + SLOT_SIZE - STACK_SIZE;
        let flags = PageFlags::KERNEL_RW_NX | PageFlags::GLOBAL;
        let mapped = paging::with_kernel_table(|table, mem, tables| {
            let mut mapped = 0;
            for (i, &frame) in taken.iter().enumerate() {
                let virt = bottom + i as u64 * 4096;
                if table.map(mem, tables, virt, frame, PageSize::Size4K, flags).is_err() {
                    break;
                }
                mapped += 1;
            }
            mapped
        })
        .unwrap_or(0);
        if mapped < PAGES {
            for &frame in &taken[mapped..] {
                let _ = frames::free_frame(frame);
            }
            // Never cached: a partly mapped stack is unmapped (what was mapped) and freed.
            unmap_and_free(slot);
            return Err(StackError::OutOfMemory);
        }
        Ok(KernelStack { slot })
    }

    /// Highest address (exclusive): the initial stack pointer.
    pub fn top(&self) -> u64 {
        slot_base(self.slot) + SLOT_SIZE
    }

    /// Lowest mapped address.
    #[cfg(feature = "ktest")]
    pub fn bottom(&self) -> u64 {
        self.top() - STACK_SIZE
    }

    /// The unmapped guard range below the stack.
    #[cfg(feature = "ktest")]
    pub fn guard(&self) -> (u64, u64) {
        (slot_base(self.slot), self.bottom())
    }
}

impl Drop for KernelStack {
    /// Keeps the stack in the cache, or unmaps it, invalidates it on every CPU with one
    /// shootdown, and only then frees its frames and slot. The owner has switched away from it
    /// for the last time (`sched::cpu::finish_switch`).
    fn drop(&mut self) {
        if !cache(self.slot) {
            unmap_and_free(self.slot);
        }
    }
}

/// `N` new kernel stacks that are never freed (an application processor's, for SMP bring-up):
/// their tops. On failure none is kept.
pub fn permanent<const N: usize>() -> Result<[u64; N], StackError> {
    let mut stacks = [const { None }; N];
    for slot in stacks.iter_mut() {
        *slot = Some(KernelStack::new()?); // a cached one is as good as a new one // on error the ones made so far drop: unmapped, freed
    }
    let tops = stacks.each_ref().map(|s| s.as_ref().map_or(0, KernelStack::top));
    core::mem::forget(stacks);
    Ok(tops)
}

/// The stacks of one application processor (`arch::smp::SmpMemory::ap_stacks`): its kernel
/// stack and IST stacks, for ever; None (after a warning saying why) when they cannot be made.
pub fn ap_stacks() -> Option<[u64; arch::smp::AP_STACKS]> {
    permanent().inspect_err(|e| log::warn!("memory: no kernel stacks for an application processor ({e:?})")).ok()
}

/// Number of kernel stacks alive (cached ones not counted).
#[cfg(feature = "ktest")]
pub fn live_count() -> usize {
    arch::without_interrupts(|| {
        let slots = SLOTS_STATE.lock();
        slots.used.iter().map(|w| w.count_ones() as usize).sum::<usize>() - slots.cached_len
    })
}

/// Number of stacks waiting in the cache.
#[cfg(feature = "ktest")]
pub fn cached_count() -> usize {
    arch::without_interrupts(|| SLOTS_STATE.lock().cached_len)
}

/// The slot of region address `addr` and its offset inside the slot.
fn locate(addr: u64) -> Option<(usize, u64)> {
    let offset = addr.checked_sub(REGION_BASE)?;
    let slot = usize::try_from(offset / SLOT_SIZE).ok()?;
    (slot < SLOTS).then_some((slot, offset % SLOT_SIZE))
}

/// The kernel-stack slot containing `addr` (stack or guard part), if it is in the region.
pub fn slot_of(addr: u64) -> Option<usize> {
    locate(addr).map(|(slot, _)| slot)
}

/// Whether `[addr, addr + len)` lies inside the mapped part of one live kernel stack.
pub fn contains(addr: u64, len: u64) -> bool {
    match (locate(addr), addr.checked_add(len.max(1) - 1).and_then(locate)) {
        (Some((slot, offset)), Some((last_slot, _))) => {
            slot == last_slot && offset >= SLOT_SIZE - STACK_SIZE && slot_in_use(slot)
        }
        _ => false,
    }
}

/// Whether `addr` lies in the guard part of a kernel-stack slot.
pub fn is_guard(addr: u64) -> bool {
    matches!(locate(addr), Some((_, offset)) if offset < SLOT_SIZE - STACK_SIZE)
}
