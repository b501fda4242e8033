//! CPU affinity (`sched_setaffinity`): each thread carries a mask of the CPUs it may run on
//! (`Thread::affinity`); the scheduler queues a thread only on an allowed CPU (wake-ups,
//! spawning, work stealing), moves a running thread off a CPU its new mask excludes at its
//! next switch, and takes a queued one out of a disallowed CPU's queue at once. The mask
//! logic itself is `exo_sched::affinity` (host-tested).

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use super::cpu::{self, CpuScheduler};
use super::thread::{Thread, ThreadState};
use super::{kick, online, this_cpu};
use crate::arch;

/// The online CPUs as a mask.
pub fn online_mask() -> u64 {
    online().fold(0, |mask, c| mask | 1u64.checked_shl(c.index as u32).unwrap_or(0))
}

/// The CPU `thread` should be queued on, preferring `preferred`: an allowed online CPU
/// (the least loaded one if `preferred` is not allowed); `preferred` itself if the mask
/// allows no online CPU (cannot happen through `set_affinity`, which refuses such a mask).
pub(super) fn place(thread: &Thread, preferred: usize) -> Option<&'static CpuScheduler> {
    let mask = thread.affinity();
    if mask == exo_sched::affinity::ALL {
        // The usual case, on every wake-up: no mask to honour.
        return cpu::cpu(preferred).or_else(this_cpu);
    }
    let chosen = exo_sched::affinity::choose(mask, online_mask(), preferred, |c| {
        cpu::cpu(c).map_or(usize::MAX, |s| s.load())
    });
    chosen.and_then(cpu::cpu).or_else(|| cpu::cpu(preferred)).or_else(this_cpu)
}

/// Queues `thread` (runnable, off every run queue) on an allowed CPU and makes that CPU
/// reconsider what it runs.
pub(super) fn requeue_allowed(thread: &Arc<Thread>, preferred: usize) {
    if let Some(target) = place(thread, preferred) {
        target.enqueue(thread);
        kick(target, thread);
    }
}

/// Why a mask was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoOnlineCpu;

/// Sets `thread`'s CPU mask (`mask` must allow an online CPU, else `NoOnlineCpu`: EINVAL).
/// The current thread moves at once if its CPU is excluded; a thread queued on an excluded CPU
/// is moved to an allowed one; one running on an excluded CPU is asked to switch (a reschedule
/// IPI) and moves at that switch.
pub fn set_affinity(thread: &Arc<Thread>, mask: u64) -> Result<(), NoOnlineCpu> {
    if mask & online_mask() == 0 {
        return Err(NoOnlineCpu);
    }
    thread.affinity.store(mask, Ordering::Release);
    let here = thread.cpu.load(Ordering::Relaxed);
    if thread.allowed_on(here) {
        return Ok(());
    }
    if Arc::as_ptr(thread) == super::current_ptr() {
        // `schedule_locked` sees the running thread is not allowed here and moves it.
        super::schedule();
        return Ok(());
    }
    let Some(old) = cpu::cpu(here) else { return Ok(()) };
    let removed = thread.state() == ThreadState::Ready && old.run_queue.lock().remove(thread.id);
    if removed {
        requeue_allowed(thread, here);
    } else if thread.on_cpu.load(Ordering::Acquire) && here != arch::cpu_index() {
        arch::smp::send_ipi_to_cpu(here, arch::VECTOR_RESCHEDULE);
    }
    Ok(())
}
