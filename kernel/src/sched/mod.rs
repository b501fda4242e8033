//! Threads and scheduling: starting the scheduler on each CPU, the idle loop and work stealing,
//! blocking, waking, yielding and exiting, on one scheduler per CPU built on the `exo_sched`
//! policy (Realtime ahead of the Hot / Normal / Cold queues chosen by each thread's EMA
//! runtime). Spawning is in `spawn.rs`, sleeping and the timer queue in `sleep.rs`,
//! address-space switching in `space.rs`, the tick and preemption in `preempt.rs`, the context
//! switch in `cpu.rs`. See docs/scheduler.md.

pub mod affinity;
mod cpu;
pub mod parking;
pub mod pollwait;
mod preempt;
mod sleep;
mod space;
mod spawn;
pub mod sync;
mod thread;
pub mod wait;
pub mod watchdog;

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

pub use exo_sched::Priority;
#[cfg(feature = "ktest")]
pub use exo_sched::Queue;

pub use self::cpu::{online, this_cpu, CpuScheduler};
pub use self::preempt::*;
pub use self::sleep::*;
pub use self::space::*;
pub use self::spawn::*;
use self::spawn::new_thread;
pub use self::thread::{
    fatal_signal_pending, for_each as for_each_thread, lookup, signal_check, Thread, ThreadId, ThreadState, UserContext,
};
use crate::memory::stacks::StackError;
use crate::{arch, time};


/// Starts the scheduler on the boot CPU: the code running now becomes the thread "main" and an
/// idle thread is created.
pub fn init(config: exo_sched::SchedConfig) -> Result<(), StartError> {
    config.validate().map_err(StartError::Config)?;
    cpu::CONFIG.call_once(|| config);
    crate::memory::address_space::on_tree_destroyed(forget_address_space);
    parking::install();
    start_cpu("main", false)
}

/// Why the scheduler could not start on a CPU (shown with `{:?}` in the boot log).
#[allow(dead_code)]
#[derive(Debug)]
pub enum StartError {
    Config(exo_sched::ConfigError),
    Stack(StackError),
}

/// Tick period of the scheduler timer in ns (0 until it runs).
static TICK_NS: AtomicU64 = AtomicU64::new(0);

/// The timer tick period in ns.
pub fn tick_ns() -> u64 {
    TICK_NS.load(Ordering::Relaxed)
}

/// Tick rate of the legacy PIT when there is no usable local APIC timer.
const PIT_FALLBACK_HZ: u32 = 100;

/// Starts this CPU's periodic scheduler tick at `hz`: its local APIC timer, or on a machine
/// without a usable APIC (boot CPU only) the legacy PIT on IRQ0 at 100 Hz.
pub fn start_tick(hz: u32) {
    if arch::apic_timer_periodic(hz, arch::VECTOR_TIMER) {
        arch::smp::register_local_handler(arch::VECTOR_TIMER, timer_tick);
        // The reschedule IPI asks this CPU for a switch; `preempt_point` follows every interrupt.
        arch::smp::register_local_handler(arch::VECTOR_RESCHEDULE, arch::percpu::request_resched);
        TICK_NS.store(1_000_000_000 / u64::from(hz.max(1)), Ordering::Relaxed);
    } else if arch::cpu_index() == 0 {
        let rate = arch::start_pit_periodic(PIT_FALLBACK_HZ);
        TICK_NS.store(1_000_000_000 / rate.max(1), Ordering::Relaxed);
        arch::register_irq(0, timer_tick);
    }
}

/// Makes the running code of this CPU a thread (the boot thread of the BSP, or an AP's start-up
/// context, which then serves as that CPU's idle thread when `as_idle`).
fn start_cpu(name: &str, as_idle: bool) -> Result<(), StartError> {
    let index = arch::cpu_index();
    let boot = Arc::new(Thread::new(name, if as_idle { Priority::Idle } else { Priority::Normal }, None, None, false, as_idle));
    boot.set_state(ThreadState::Running);
    boot.on_cpu.store(true, Ordering::Release);
    boot.run_start_ns.store(time::since_boot_ns(), Ordering::Relaxed);
    boot.cpus_seen.fetch_or(1 << (index % 32), Ordering::Relaxed);
    thread::register(boot.clone());
    let cpu = cpu::init_cpu(index, boot.clone()).ok_or(StartError::Config(exo_sched::ConfigError::ZeroQuantum))?;
    if as_idle {
        cpu.idle.call_once(|| boot);
    } else {
        let idle = new_thread("idle", Priority::Idle, Box::new(|| idle_loop()), false, true).map_err(StartError::Stack)?;
        cpu.idle.call_once(|| idle);
    }
    Ok(())
}

/// Entry of an application processor once its CPU state is set up: becomes that CPU's idle
/// thread and runs threads forever.
pub fn run_application_processor() -> ! {
    if let Err(error) = start_cpu("idle", true) {
        log::error!("sched: CPU {} cannot start its scheduler: {error:?}", arch::cpu_index());
        arch::halt_forever();
    }
    idle_loop()
}

fn idle_loop() -> ! {
    loop {
        let has_work = this_cpu().is_some_and(|c| c.load() > 0 || steal_work(c));
        if has_work {
            schedule();
        } else {
            arch::enable_interrupts_and_wait();
        }
    }
}

/// An idle CPU takes a thread from the busiest other CPU. Returns whether it got one.
fn steal_work(me: &'static CpuScheduler) -> bool {
    let Some(victim) = online().filter(|c| c.index != me.index).max_by_key(|c| c.load()) else { return false };
    // One queued thread is enough: it waits behind the thread running there while this CPU
    // idles (waiting for a second one left a CPU idle for the whole run of a 4-worker load).
    if victim.load() == 0 {
        return false;
    }
    let stolen = victim.run_queue.lock().steal_where(|queued| queued.0.allowed_on(me.index)).map(|queued| queued.0);
    match stolen {
        Some(thread) => {
            me.enqueue(&thread);
            true
        }
        None => false,
    }
}

/// Makes a CPU that got `woken` (a woken or new thread, queued there) reconsider what it runs:
/// another CPU at once (reschedule IPI); this CPU at its next preemption point (the end of the
/// interrupt, or of the outermost spin lock) if `woken` should preempt the running thread
/// (`RunQueue::should_preempt_on_wake`: the idle thread, a Cold thread for a Hot one, an
/// expired quantum, a realtime thread). Otherwise `woken` runs when the running thread blocks,
/// yields or ends its quantum: the waker of a request/reply pair keeps the CPU until it waits.
fn kick(target: &CpuScheduler, woken: &Thread) {
    let here = arch::cpu_index();
    if here != target.index {
        // Its handler asks that CPU for a switch (no CPU writes another's preemption word).
        arch::smp::send_ipi_to_cpu(target.index, arch::VECTOR_RESCHEDULE);
        return;
    }
    if arch::percpu::current_thread() == 0 {
        arch::percpu::request_resched();
        return;
    }
    let preempt = with_current(|current| {
        if current.is_idle {
            return true;
        }
        let ran = time::since_boot_ns().saturating_sub(current.run_start_ns.load(Ordering::Relaxed));
        let running = *current.sched.lock();
        let incoming = *woken.sched.lock();
        target.run_queue.lock().should_preempt_on_wake(&running, &incoming, ran)
    });
    if preempt {
        arch::percpu::request_resched();
    }
}

/// The running thread, as this CPU's per-CPU current-thread word holds it (see
/// [`with_current`]): one GS-relative load and a reference-count increment, no lock and no
/// interrupt masking.
pub fn current() -> Arc<Thread> {
    let ptr = current_ptr();
    // SAFETY: `current_ptr` gives `Arc::as_ptr` of the running thread's `Arc`, which this CPU's
    // `current` slot (or `previous`, during a switch) keeps alive while the thread runs, so the
    // strong count is at least one and may be raised to build a new `Arc`.
    unsafe {
        Arc::increment_strong_count(ptr);
        Arc::from_raw(ptr)
    }
}

/// The running thread's address, from the per-CPU word `schedule_locked` sets before every
/// switch (panics if the scheduler has not started on this CPU).
#[inline]
fn current_ptr() -> *const Thread {
    // One load through GS: atomic with respect to interrupts, and the word follows the thread
    // (a preemption right after the load moves the thread, not the value it read).
    match arch::percpu::current_thread() {
        0 => panic!("sched: no current thread (scheduler not started on CPU {})", arch::cpu_index()),
        ptr => ptr as *const Thread,
    }
}

/// Runs `f` on the running thread without taking a reference to it (no reference-count
/// traffic, no lock, interrupts left as they are: the cheap way for checks on every system
/// call). `f` may be preempted and moved to another CPU; the borrow stays valid since the
/// thread is alive as long as it runs.
#[inline]
pub fn with_current<R>(f: impl FnOnce(&Thread) -> R) -> R {
    // SAFETY: see `current`: the running thread is kept alive by the scheduler slot of the CPU
    // running it for as long as it runs, which covers this call.
    f(unsafe { &*current_ptr() })
}

/// Runs another thread if one is ready; the caller stays runnable.
pub fn schedule() {
    // Look the CPU up with interrupts off: until then the thread may be preempted and moved.
    arch::without_interrupts(|| {
        if let Some(cpu) = this_cpu() {
            cpu::schedule_locked(cpu, false);
        }
    });
}

/// The current thread marked itself `from` (`Blocked` or `Sleeping`) but will not sleep after
/// all (its condition holds, a signal came): it runs on. If a waker or a preemption already made
/// it runnable, it sits in a run queue: let the scheduler take it from there, so that its state
/// and the run queues agree again (a thread running while marked `Ready` could be stolen).
pub(crate) fn cancel_block(me: &Thread, from: ThreadState) {
    if me.transition(from, ThreadState::Running) {
        return;
    }
    while me.state() == ThreadState::Ready {
        schedule();
    }
}

/// Runs `next` — a thread blocked in a wait, taken out of its wait queue by the caller — right
/// now on this CPU, without a pass through the run queue (a hand-off: the caller just made
/// `next`'s condition true and is about to wait itself). The caller stays as it is: marked
/// `Blocked` by its own wait it sleeps; otherwise it stays runnable. When `next` is not blocked
/// any more, last ran on another CPU or is the caller, it is woken the ordinary way instead.
pub fn switch_to(next: Arc<Thread>) {
    arch::without_interrupts(|| {
        let Some(cpu) = this_cpu() else { return };
        let here = next.cpu.load(Ordering::Relaxed) == cpu.index && Arc::as_ptr(&next) != current_ptr();
        if here && next.transition(ThreadState::Blocked, ThreadState::Ready) {
            cpu::schedule_locked_to(cpu, false, Some(next));
        } else {
            wake_thread(&next);
            cpu::schedule_locked(cpu, false);
        }
    });
}

/// Gives up the CPU to another ready thread, if any.
pub fn yield_now() {
    schedule();
}

/// Makes a blocked or sleeping thread runnable again. Returns whether it was waiting.
pub fn wake(id: ThreadId) -> bool {
    lookup(id).is_some_and(|thread| wake_thread(&thread))
}

/// [`wake`] for a thread at hand (a wait queue holds its waiters' `Arc`s): no look-up.
pub(crate) fn wake_thread(thread: &Arc<Thread>) -> bool {
    if !(thread.transition(ThreadState::Blocked, ThreadState::Ready)
        || thread.transition(ThreadState::Sleeping, ThreadState::Ready))
    {
        return false;
    }
    let Some(target) = affinity::place(thread, thread.cpu.load(Ordering::Relaxed)) else { return true };
    if arch::cpu_index() == target.index && arch::percpu::current_thread() != 0 {
        // Woken on this CPU: queue it and test for preemption in one go (what `enqueue` and
        // `kick` do separately).
        if with_current(|current| target.enqueue_woken(thread, current)) {
            arch::percpu::request_resched();
        }
        return true;
    }
    target.enqueue(thread);
    kick(target, thread);
    true
}

/// Ends the current thread with `value`.
pub fn exit(value: i64) -> ! {
    // Interrupts stay off to the end: a thread preempted after becoming `Exited` would never run
    // again, leaving its joiners unwoken and the references on its stack never dropped. (The
    // next thread restores its own interrupt state when it resumes.)
    arch::disable_interrupts();
    let me = current();
    me.exit_value.store(value, Ordering::Release);
    me.set_state(ThreadState::Exited);
    me.joiners.wake_all();
    drop(me);
    if let Some(cpu) = this_cpu() {
        cpu::schedule_locked(cpu, false);
    }
    panic!("sched: an exited thread was scheduled again");
}


/// Gives `thread` a new scheduling class (`sched_setscheduler`): its policy state changes and,
/// if it is queued, it moves to its new queue.
pub fn set_priority(thread: &Arc<Thread>, priority: Priority) {
    let now = time::since_boot_ns();
    let Some(cpu) = cpu::cpu(thread.cpu.load(Ordering::Relaxed)).or_else(this_cpu) else { return };
    let mut queue = cpu.run_queue.lock();
    let mut policy = thread.sched.lock();
    queue.set_priority(thread.id, &mut policy, priority, now);
}
