//! Memory that can be given back: caches above this layer (the block cache) register a
//! shrinker, `fn(wanted_pages) -> freed_pages`, which the frame allocator calls when an
//! allocation fails and the OOM killer calls before it chooses a victim — so clean cached
//! pages go before any process is killed. Also [`OwnedPage`], one 4 KiB frame owned by a
//! cache, read and written as bytes through the direct map.
//!
//! A shrinker runs in whatever context the failing allocation had, but [`reclaim`] only calls
//! the shrinkers from plain thread context: interrupts on and no spin lock held (the preempt
//! count is 0). Inside the heap (interrupts off, its locks held) or under any spin lock an
//! allocation just fails as before; the OOM killer, user page faults and the cache's own
//! allocations run in thread context. So a shrinker may take ordinary locks, but it must not
//! sleep for long (it only drops clean pages: no I/O). One reclaim runs at a time; a second
//! caller meanwhile gets 0.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::frames::{self, FRAME_SIZE};
use crate::arch;

/// A function that frees up to about `wanted` pages and says how many it freed.
pub type Shrinker = fn(usize) -> usize;

/// Most shrinkers registered.
const MAX_SHRINKERS: usize = 4;

/// The registered shrinkers (function addresses; 0 = empty slot).
static SHRINKERS: [AtomicUsize; MAX_SHRINKERS] = [const { AtomicUsize::new(0) }; MAX_SHRINKERS];
/// Set while a reclaim runs (no recursion, one at a time).
static RUNNING: AtomicBool = AtomicBool::new(false);
/// Pages freed by shrinkers since boot.
static FREED: AtomicUsize = AtomicUsize::new(0);

/// Off while an in-kernel test counts the allocator's frames exactly.
static PAUSED: AtomicBool = AtomicBool::new(false);

/// Stops (true) or restarts the shrinkers (in-kernel tests of the frame allocator's counts).
#[cfg(feature = "ktest")]
pub fn pause(paused: bool) {
    PAUSED.store(paused, Ordering::SeqCst);
}

/// Registers `shrinker` (at init; false when the table is full).
pub fn register(shrinker: Shrinker) -> bool {
    let addr = shrinker as usize;
    SHRINKERS.iter().any(|slot| slot.load(Ordering::Acquire) == addr)
        || SHRINKERS.iter().any(|slot| slot.compare_exchange(0, addr, Ordering::AcqRel, Ordering::Acquire).is_ok())
}

/// Whether the current context may run shrinkers: interrupts on, no spin lock held.
fn thread_context() -> bool {
    let enabled = arch::save_and_disable_interrupts();
    arch::restore_interrupts(enabled);
    enabled && arch::percpu::preempt_count() == 0
}

/// Asks the shrinkers for `wanted` pages; returns how many they freed (0 outside plain thread
/// context, with no shrinker, or while another reclaim runs).
pub fn reclaim(wanted: usize) -> usize {
    if SHRINKERS[0].load(Ordering::Acquire) == 0 || PAUSED.load(Ordering::Acquire) || !thread_context() {
        return 0;
    }
    if RUNNING.swap(true, Ordering::AcqRel) {
        return 0;
    }
    let mut freed = 0;
    for slot in &SHRINKERS {
        let addr = slot.load(Ordering::Acquire);
        if addr == 0 || freed >= wanted {
            break;
        }
        // SAFETY: non-zero slots hold only values stored by `register` from a `Shrinker`.
        let shrinker: Shrinker = unsafe { core::mem::transmute::<usize, Shrinker>(addr) };
        freed += shrinker(wanted - freed);
    }
    RUNNING.store(false, Ordering::Release);
    FREED.fetch_add(freed, Ordering::Relaxed);
    freed
}

/// One zeroed 4 KiB frame owned by its holder (freed when dropped).
pub struct OwnedPage {
    phys: u64,
    virt: u64,
}

impl OwnedPage {
    /// A fresh zeroed page; None when memory is short (after the shrinkers were asked).
    pub fn new() -> Option<OwnedPage> {
        let phys = frames::alloc(0).ok()?;
        let Some(virt) = super::phys_to_virt(phys) else {
            let _ = frames::free(phys, 0);
            return None;
        };
        let mut page = OwnedPage { phys, virt };
        page.bytes_mut().fill(0);
        Some(page)
    }

    /// The page's bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the frame is owned by this value alone (allocated for it, freed only by its
        // drop) and mapped by the direct map over its 4 KiB; `&self` excludes writers.
        unsafe { core::slice::from_raw_parts(self.virt as *const u8, FRAME_SIZE as usize) }
    }

    /// The page's bytes, writable.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; `&mut self` makes this the only access.
        unsafe { core::slice::from_raw_parts_mut(self.virt as *mut u8, FRAME_SIZE as usize) }
    }
}

impl Drop for OwnedPage {
    fn drop(&mut self) {
        if frames::free(self.phys, 0).is_err() {
            log::error!("reclaim: page {:#x} was not allocated", self.phys);
        }
    }
}
