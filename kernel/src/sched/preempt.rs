//! Preemption: the timer tick's work (waking sleepers, ending quanta), the preemption point at
//! the end of every interrupt, and (test builds) a guard that disables preemption.

use core::sync::atomic::Ordering;

use super::*;

/// Timer interrupt work on this CPU: wakes sleepers whose deadline passed and asks for a switch
/// when the running thread's quantum is over.
pub fn timer_tick() {
    let Some(cpu) = this_cpu() else { return };
    cpu.ticks.fetch_add(1, Ordering::Relaxed);
    watchdog::tick();
    let now = time::since_boot_ns();
    sleep::wake_due(now);
    if let Some(current) = cpu.current() {
        let ran = now.saturating_sub(current.run_start_ns.load(Ordering::Relaxed));
        let preempt = current.is_idle && cpu.load() > 0
            || {
                let policy = *current.sched.lock();
                cpu.run_queue.lock().should_preempt(&policy, ran)
            };
        if preempt {
            cpu.need_resched.store(true, Ordering::Release);
        } else if !current.is_idle && ran >= cpu::config().quantum_ns {
            // Nothing else wants this CPU, so the thread keeps it; account its burst as if it
            // had been switched out and straight back in, so its EMA follows what it does.
            cpu::account_running(cpu, &current, ran, now);
        }
    }
}

/// Called at the end of every interrupt: switches if a switch was asked for and preemption is
/// allowed on this CPU.
pub fn preempt_point() {
    let Some(cpu) = this_cpu() else { return };
    if cpu.need_resched.load(Ordering::Acquire) && cpu.preempt_count.load(Ordering::Relaxed) == 0 {
        cpu::schedule_locked(cpu, true);
    }
}

/// While alive, the current thread is not preempted, so it stays on this CPU. It must not
/// block while holding the guard.
#[cfg(feature = "ktest")]
pub struct PreemptGuard {
    cpu: Option<&'static CpuScheduler>,
}

/// Disables preemption until the guard is dropped.
#[cfg(feature = "ktest")]
pub fn preempt_disable() -> PreemptGuard {
    let cpu = arch::without_interrupts(|| {
        let cpu = this_cpu();
        if let Some(cpu) = cpu {
            cpu.preempt_count.fetch_add(1, Ordering::Relaxed);
        }
        cpu
    });
    PreemptGuard { cpu }
}

#[cfg(feature = "ktest")]
impl Drop for PreemptGuard {
    fn drop(&mut self) {
        if let Some(cpu) = self.cpu {
            cpu.preempt_count.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
