//! Running out of memory: the reserve of free frames kept for the kernel, the gates that stop
//! user-driven allocations (user pages, tmpfs pages, new tasks) at it, and the OOM killer that
//! makes room by killing the process with the largest resident set. See docs/memory.md,
//! "Memory exhaustion".
//!
//! The kernel heap grows from the same frames as user memory and its small allocations are
//! infallible, so user memory must never eat the last frames: user page faults wait at the
//! reserve (the min watermark) while the OOM killer frees memory, tmpfs refuses new pages below
//! twice the reserve (`ENOSPC`), and fork refuses below it (`EAGAIN`).
//!
//! # Locks
//! `VICTIM` (the process killed last, whose memory is still on its way back) is a leaf lock:
//! nothing is taken while it is held. The killer takes each candidate's `Mm` lock (to count
//! its pages) one at a time, so it must be called without any `Mm` lock held.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use exo_abi::signal::{SigInfo, SIGKILL, SI_KERNEL};
use exo_abi::{Errno, KResult};
use crate::spinlock::SpinLock as Mutex;

use super::{Pid, Process};
use crate::memory::frames;

/// The reserve as a fraction of RAM (1/64: 4 MiB of 256 MiB), clamped to these frames.
const RESERVE_DIVISOR: usize = 64;
const RESERVE_MIN_FRAMES: usize = 256;
const RESERVE_MAX_FRAMES: usize = 4096;
/// How long a faulting task waits for a victim's memory to come back, and how often it looks.
const WAIT_NS: u64 = 2_000_000_000;
const POLL_NS: u64 = 5_000_000;

/// Cached reserve in frames (0 until first computed).
static RESERVE: AtomicUsize = AtomicUsize::new(0);
/// The last victim and when it was killed (ns since boot): no second victim is chosen while
/// this one is still releasing its memory (up to `WAIT_NS`).
static VICTIM: Mutex<Option<(Pid, u64)>> = Mutex::new(None);
/// When "no process to kill" was last logged (ns since boot; 0 = never).
static NO_VICTIM_LOGGED: AtomicU64 = AtomicU64::new(0);

/// Usable frames of RAM (managed by the buddy allocator, not reserved at boot).
pub fn total_frames() -> usize {
    let stats = frames::stats();
    stats.managed_frames.saturating_sub(stats.reserved_frames)
}

/// The reserve (min watermark), in frames: user memory stops here so the kernel heap, page
/// tables and kernel stacks always find frames.
pub fn reserve_frames() -> usize {
    match RESERVE.load(Ordering::Relaxed) {
        0 => {
            let reserve = (total_frames() / RESERVE_DIVISOR).clamp(RESERVE_MIN_FRAMES, RESERVE_MAX_FRAMES);
            RESERVE.store(reserve, Ordering::Relaxed);
            reserve
        }
        reserve => reserve,
    }
}

/// Whether a user page may be taken now (free frames above the reserve).
pub fn user_page_allowed() -> bool {
    frames::free_frames() > reserve_frames()
}

/// The tmpfs memory gate: a new file page only while free frames stay above twice the reserve
/// (files cannot be reclaimed by killing anyone, so they stop before the OOM killer would run).
pub fn tmpfs_page_allowed() -> bool {
    frames::free_frames() > 2 * reserve_frames()
}

/// Whether the kernel may build a new task or address space (fork, clone): `EAGAIN` at the
/// reserve, which belongs to the tasks that exist.
pub fn check_new_task() -> KResult<()> {
    if user_page_allowed() {
        Ok(())
    } else {
        Err(Errno::EAGAIN)
    }
}

/// A fallible zero-filled buffer of `len` bytes (`ENOMEM` instead of aborting), for buffers
/// whose size a user program chooses.
// The soundness rules (docs/reliability.md, docs/memory.md) name this as the way to size a
// buffer by a user; so far only the ktests call it, so it stays in the normal build too.
#[allow(dead_code)]
pub fn try_vec_zeroed(len: usize) -> KResult<alloc::vec::Vec<u8>> {
    let mut buffer = alloc::vec::Vec::new();
    buffer.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
    buffer.resize(len, 0);
    Ok(buffer)
}

/// Called by the current task before it takes a user page (page faults): returns at once while
/// free frames are above the reserve. Otherwise runs the OOM killer (one victim at a time) and
/// waits, bounded, for memory to come back. `Err(ENOMEM)` when the current task was killed (it
/// must go back towards user mode, where it exits) or no room appeared in time (the allocation
/// may then still fail and the fault becomes a signal). Must be called with interrupts enabled
/// and no lock held (it sleeps).
#[inline]
pub fn make_room() -> KResult<()> {
    if user_page_allowed() {
        return Ok(());
    }
    make_room_slow()
}

/// [`make_room`] below the reserve: the OOM killer, then a bounded wait.
#[inline(never)]
fn make_room_slow() -> KResult<()> {
    let me = super::current();
    let killed = || me.as_ref().is_some_and(|t| t.killed.load(Ordering::Acquire));
    let deadline = crate::time::since_boot_ns().saturating_add(WAIT_NS);
    loop {
        if killed() {
            return Err(Errno::ENOMEM);
        }
        if user_page_allowed() {
            return Ok(());
        }
        out_of_memory();
        if killed() {
            return Err(Errno::ENOMEM);
        }
        if crate::time::since_boot_ns() >= deadline {
            return Err(Errno::ENOMEM);
        }
        crate::sched::sleep_ns(POLL_NS);
    }
}

/// The OOM killer's entry point, for a user-page allocation that failed or found memory at the
/// reserve: unless the previous victim is still dying, chooses the process with the largest
/// resident set (never pid 1, never a process already exiting) and sends it SIGKILL. Returns
/// whether a process was killed now. Call without any `Mm` lock held; the caller then retries
/// (after `make_room`) or gives up. The kernel-stack cache is given back first: when that is
/// enough, nobody is killed.
pub fn out_of_memory() -> bool {
    if crate::memory::stacks::release_cached() > 0 && user_page_allowed() {
        return false;
    }
    // Clean cached disk pages go before any process (memory::reclaim's shrinkers).
    let wanted = (2 * reserve_frames()).saturating_sub(frames::free_frames()).max(64);
    if crate::memory::reclaim::reclaim(wanted) > 0 && user_page_allowed() {
        return false;
    }
    let now = crate::time::since_boot_ns();
    let last = *VICTIM.lock();
    if let Some((pid, when)) = last {
        let dying = super::process(pid).is_some_and(|p| !p.state.lock().zombie);
        if dying && now.saturating_sub(when) < WAIT_NS {
            return false;
        }
        let mut victim = VICTIM.lock();
        if *victim == last {
            *victim = None;
        }
    }
    let Some((process, rss)) = select_victim() else {
        // Said at most once a second: waiting tasks ask every few milliseconds.
        let said = NO_VICTIM_LOGGED.load(Ordering::Relaxed);
        if (said == 0 || now.saturating_sub(said) >= 1_000_000_000)
            && NO_VICTIM_LOGGED.compare_exchange(said, now.max(1), Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            log::warn!("oom: out of memory and no process to kill");
        }
        return false;
    };
    {
        let mut victim = VICTIM.lock();
        if victim.is_some() {
            // Another CPU chose a victim meanwhile.
            return false;
        }
        *victim = Some((process.pid, now));
    }
    log::warn!("oom: killed pid {} ({}) rss {} KiB", process.pid, process.comm(), rss * 4);
    super::signal::send_to_process(&process, SIGKILL, SigInfo::new(SIGKILL, SI_KERNEL));
    true
}

/// The live process with the most resident pages, other than pid 1 and processes already
/// exiting; with its resident pages.
fn select_victim() -> Option<(Arc<Process>, usize)> {
    let mut best: Option<(Arc<Process>, usize)> = None;
    for process in super::all_processes() {
        if process.pid == 1 {
            continue;
        }
        let Some(task) = ({
            let state = process.state.lock();
            if state.zombie || state.group_exit.is_some() {
                None
            } else {
                state.threads.first().cloned()
            }
        }) else {
            continue;
        };
        let rss = task.mm().usage().0;
        drop(task);
        if best.as_ref().is_none_or(|(_, most)| rss > *most) {
            best = Some((process, rss));
        }
    }
    best
}
