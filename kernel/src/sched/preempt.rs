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
        if !current.is_idle {
            charge_tick(&current);
        }
        let ran = now.saturating_sub(current.run_start_ns.load(Ordering::Relaxed));
        let preempt = current.is_idle && cpu.load() > 0
            || {
                let policy = *current.sched.lock();
                cpu.run_queue.lock().should_preempt(&policy, ran)
            };
        if preempt {
            arch::percpu::request_resched();
        } else if !current.is_idle && ran >= cpu::config().quantum_ns {
            // Nothing else wants this CPU, so the thread keeps it; account its burst as if it
            // had been switched out and straight back in, so its EMA follows what it does.
            cpu::account_running(cpu, &current, ran, now);
        }
    }
}

/// The function the process layer registers to see every tick that finds a thread running
/// (ITIMER_VIRTUAL/PROF, CPU-time timers): the thread and whether it was in user mode. It runs
/// in the timer interrupt: atomics only, no lock a thread could hold.
static TICK_HOOK: spin::Once<fn(&Thread, bool, u64)> = spin::Once::new();

/// Registers [`TICK_HOOK`] (once).
pub fn on_tick(hook: fn(&Thread, bool, u64)) {
    TICK_HOOK.call_once(|| hook);
}

/// Charges this tick to the running thread's user or system time by the mode the tick
/// interrupted, and tells the process layer.
fn charge_tick(current: &Thread) {
    let user = arch::percpu::interrupted_user();
    let counter = if user { &current.user_ticks } else { &current.system_ticks };
    counter.fetch_add(1, Ordering::Relaxed);
    if let Some(hook) = TICK_HOOK.get() {
        hook(current, user, tick_ns());
    }
}

/// Called with interrupts off at the end of every interrupt (and when the outermost spin lock
/// is released with a switch pending): switches if a switch was asked for and preemption is
/// allowed on this CPU (no spin lock held).
pub fn preempt_point() {
    if !arch::percpu::preemption_due() {
        return;
    }
    if let Some(cpu) = this_cpu() {
        cpu::schedule_locked(cpu, true);
    }
}

/// While alive, the current thread is not preempted, so it stays on this CPU. It must not
/// block while holding the guard.
#[cfg(feature = "ktest")]
pub struct PreemptGuard {
    _not_send: core::marker::PhantomData<*const ()>,
}

/// Disables preemption until the guard is dropped.
#[cfg(feature = "ktest")]
pub fn preempt_disable() -> PreemptGuard {
    arch::percpu::preempt_disable();
    PreemptGuard { _not_send: core::marker::PhantomData }
}

#[cfg(feature = "ktest")]
impl Drop for PreemptGuard {
    fn drop(&mut self) {
        if arch::percpu::preempt_enable() {
            arch::preemption_point();
        }
    }
}
