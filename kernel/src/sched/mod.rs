//! Threads and scheduling: spawn/join/exit/yield/sleep, blocking and waking, timer-driven
//! preemption, and one scheduler per CPU built on the `exo_sched` policy (Realtime ahead of the
//! Hot / Normal / Cold queues chosen by each thread's EMA runtime). See docs/scheduler.md.

pub mod watchdog;
mod cpu;
pub mod sync;
mod thread;
pub mod wait;

use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

pub use exo_sched::Priority;
#[cfg(feature = "ktest")]
pub use exo_sched::Queue;

pub use self::cpu::{online, this_cpu, CpuScheduler};
pub use self::thread::{
    fatal_signal_pending, for_each as for_each_thread, lookup, signal_pending, Thread, ThreadId, ThreadState, UserContext,
};
use crate::memory::stacks::{KernelStack, StackError};
use crate::spinlock::IrqSpinLock;
use crate::{arch, time};

/// The timer queue: sleeping threads and wait deadlines, by (deadline ns, id).
static SLEEPERS: IrqSpinLock<BTreeSet<(u64, ThreadId)>> = IrqSpinLock::new(BTreeSet::new());

/// Starts the scheduler on the boot CPU: the code running now becomes the thread "main" and an
/// idle thread is created.
pub fn init(config: exo_sched::SchedConfig) -> Result<(), StartError> {
    config.validate().map_err(StartError::Config)?;
    cpu::CONFIG.call_once(|| config);
    crate::memory::address_space::on_tree_destroyed(forget_address_space);
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
        // The reschedule IPI needs no work of its own: `preempt_point` follows every interrupt.
        arch::smp::register_local_handler(arch::VECTOR_RESCHEDULE, || {});
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
    if victim.load() < 2 {
        return false;
    }
    let stolen = victim.run_queue.lock().steal();
    match stolen.and_then(lookup) {
        Some(thread) => {
            me.enqueue(&thread);
            true
        }
        None => false,
    }
}

/// What the entry of a thread spawned with `SpawnOptions::user` returns once it has filled its
/// user frame: the thread then enters user mode instead of exiting.
pub const ENTER_USER: i64 = i64::MIN;

extern "C" fn thread_entry(id: u64) -> ! {
    cpu::finish_switch();
    // A new thread starts right after the switch; nothing is held, so interrupts (and
    // preemption) may come.
    arch::enable_interrupts();
    let entry = lookup(id as ThreadId).and_then(|t| t.entry.lock().take());
    // The entry (and everything it captured) is freed when the call returns, so a user thread's
    // entry returns before the thread leaves for user mode.
    let value = entry.map_or(0, |f| f());
    if value == ENTER_USER {
        let frame = current().user_frame();
        if let Some(frame) = frame {
            // SAFETY: the entry filled this thread's user frame (top of its own kernel stack)
            // and did the return-to-user work; nothing on this stack is needed any more.
            unsafe { arch::enter_user(frame) }
        }
    }
    exit(value)
}

fn new_thread(name: &str, priority: Priority, entry: thread::Entry, uses_fpu: bool, is_idle: bool) -> Result<Arc<Thread>, StackError> {
    new_thread_reserving(name, priority, entry, uses_fpu, is_idle, 0)
}

/// Creates a thread whose code starts `reserve` bytes below its stack top (a user thread keeps
/// its user-mode register frame there).
fn new_thread_reserving(name: &str, priority: Priority, entry: thread::Entry, uses_fpu: bool, is_idle: bool, reserve: u64) -> Result<Arc<Thread>, StackError> {
    let stack = KernelStack::new()?;
    let top = stack.top() - reserve;
    let thread = Arc::new(Thread::new(name, priority, Some(stack), Some(entry), uses_fpu, is_idle));
    // SAFETY: the stack was just mapped for this thread and nothing else uses it.
    let rsp = unsafe { arch::prepare_stack(top, thread_entry, u64::from(thread.id)) };
    // The thread has never run; no CPU resumes it before it is enqueued.
    thread.saved_rsp.store(rsp, core::sync::atomic::Ordering::Release);
    thread::register(thread.clone());
    Ok(thread)
}

/// Options for [`spawn_with`].
#[derive(Clone, Copy, Debug)]
pub struct SpawnOptions {
    pub priority: Priority,
    /// Save and restore the x87/SSE/AVX state when switching this thread.
    pub uses_fpu: bool,
    /// Start on this CPU instead of the least loaded one.
    pub cpu: Option<usize>,
    /// The thread will run user code: the top of its kernel stack is kept for its user-mode
    /// register frame (`arch::USER_FRAME_SIZE` bytes), where entries from user mode save it.
    pub user: bool,
}

impl Default for SpawnOptions {
    fn default() -> Self {
        SpawnOptions { priority: Priority::Normal, uses_fpu: false, cpu: None, user: false }
    }
}

/// A handle to wait for a thread's end.
pub struct JoinHandle {
    thread: Option<Arc<Thread>>,
}

impl JoinHandle {
    /// The thread.
    pub fn thread(&self) -> &Arc<Thread> {
        match &self.thread {
            Some(thread) => thread,
            None => unreachable!("a JoinHandle holds its thread until join or drop"),
        }
    }

    /// Waits for the thread to exit and returns its exit value.
    #[cfg(feature = "ktest")]
    pub fn join(mut self) -> i64 {
        let Some(thread) = self.thread.take() else { return 0 };
        thread.joiners.wait_until(|| thread.state() == ThreadState::Exited);
        // Its last switch away must be complete before its stack may be freed.
        while thread.on_cpu.load(Ordering::Acquire) {
            core::hint::spin_loop();
        }
        thread::unregister(thread.id);
        thread.exit_value()
    }
}

impl Drop for JoinHandle {
    /// Dropping the handle without joining detaches the thread: it leaves the table when it
    /// exits.
    fn drop(&mut self) {
        let Some(thread) = self.thread.take() else { return };
        // SeqCst: pairs with `finish_switch` (see there).
        thread.detached.store(true, Ordering::SeqCst);
        if thread.state() == ThreadState::Exited && !thread.on_cpu.load(Ordering::SeqCst) {
            thread::unregister(thread.id);
        }
    }
}

/// Starts a thread running `f` with default options.
pub fn spawn(name: &str, f: impl FnOnce() -> i64 + Send + 'static) -> Result<JoinHandle, StackError> {
    spawn_with(name, SpawnOptions::default(), f)
}

/// Starts a thread running `f`.
pub fn spawn_with(name: &str, options: SpawnOptions, f: impl FnOnce() -> i64 + Send + 'static) -> Result<JoinHandle, StackError> {
    let reserve = if options.user { arch::USER_FRAME_SIZE } else { 0 };
    let thread = new_thread_reserving(name, options.priority, Box::new(f), options.uses_fpu || options.user, false, reserve)?;
    let target = options
        .cpu
        .and_then(cpu::cpu)
        .or_else(|| online().min_by_key(|c| c.load()))
        .or_else(this_cpu);
    if let Some(target) = target {
        target.enqueue(&thread);
        kick(target);
    }
    Ok(JoinHandle { thread: Some(thread) })
}

/// Makes a CPU that got new work reconsider what it runs: at once (reschedule IPI) if it is
/// another CPU, at the end of the current interrupt or call otherwise.
fn kick(target: &CpuScheduler) {
    target.need_resched.store(true, Ordering::Release);
    if this_cpu().map(|c| c.index) != Some(target.index) {
        arch::smp::send_ipi_to_cpu(target.index, arch::VECTOR_RESCHEDULE);
    }
}

/// Number of threads alive (including exited ones not yet joined).
#[cfg(feature = "ktest")]
pub fn thread_count() -> usize {
    thread::count()
}

/// The running thread.
pub fn current() -> Arc<Thread> {
    // With interrupts off, so the thread cannot move to another CPU between the two steps.
    match arch::without_interrupts(|| this_cpu().and_then(|c| c.current())) {
        Some(thread) => thread,
        None => panic!("sched: no current thread (scheduler not started on CPU {})", arch::cpu_index()),
    }
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

/// Gives up the CPU to another ready thread, if any.
pub fn yield_now() {
    schedule();
}

/// Makes a blocked or sleeping thread runnable again. Returns whether it was waiting.
pub fn wake(id: ThreadId) -> bool {
    let Some(thread) = lookup(id) else { return false };
    if !(thread.transition(ThreadState::Blocked, ThreadState::Ready)
        || thread.transition(ThreadState::Sleeping, ThreadState::Ready))
    {
        return false;
    }
    let target = cpu::cpu(thread.cpu.load(Ordering::Relaxed)).or_else(this_cpu);
    if let Some(target) = target {
        target.enqueue(&thread);
        kick(target);
    }
    true
}

/// Wakes thread `id` at `deadline` (ns since boot) if it is blocked then (wait timeouts).
pub(crate) fn add_timeout(deadline: u64, id: ThreadId) {
    SLEEPERS.lock().insert((deadline, id));
}

/// Withdraws a timeout registered with [`add_timeout`].
pub(crate) fn cancel_timeout(deadline: u64, id: ThreadId) {
    SLEEPERS.lock().remove(&(deadline, id));
}

/// Blocks the current thread for at least `ns` nanoseconds.
#[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
pub fn sleep_ns(ns: u64) {
    let deadline = time::since_boot_ns().saturating_add(ns);
    sleep_until_interruptible(deadline, || false);
}

/// Sleeps until `deadline` (ns since boot) or until `interrupted()` holds (checked, with
/// interrupts on, after the thread is marked asleep; whoever makes it true wakes the thread).
/// Returns false when interrupted before the deadline.
#[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
pub fn sleep_until_interruptible(deadline: u64, interrupted: impl Fn() -> bool) -> bool {
    crate::lockdep::might_sleep();
    let me = current();
    loop {
        if time::since_boot_ns() >= deadline {
            return true;
        }
        arch::without_interrupts(|| {
            me.wake_at_ns.store(deadline, Ordering::Relaxed);
            me.set_state(ThreadState::Sleeping);
            SLEEPERS.lock().insert((deadline, me.id));
        });
        // Asleep before looking at the signal state (see `WaitQueue::prepare`).
        core::sync::atomic::fence(Ordering::SeqCst);
        let was_interrupted = interrupted();
        if was_interrupted {
            cancel_block(&me, ThreadState::Sleeping);
        } else {
            // Woken by the tick, a signal, or made runnable by a preemption: the loop decides.
            while me.state() == ThreadState::Sleeping {
                schedule();
            }
            cancel_block(&me, ThreadState::Sleeping);
        }
        SLEEPERS.lock().remove(&(deadline, me.id));
        if was_interrupted || interrupted() {
            return time::since_boot_ns() >= deadline;
        }
    }
}

/// Makes `space` the current thread's address space and loads it; from now on the scheduler
/// loads it whenever it switches to this thread. The caller keeps `space` alive until it calls
/// [`leave_address_space`] or the thread exits.
pub fn enter_address_space(space: &crate::memory::address_space::AddressSpace) {
    arch::without_interrupts(|| {
        current().address_space_root.store(space.root(), Ordering::Release);
        space.activate();
    });
}

/// The tree rooted at `root` is being destroyed: if the current thread still names it as its
/// address space, it becomes a kernel thread on the master tree.
pub fn forget_address_space(root: u64) {
    arch::without_interrupts(|| {
        let Some(thread) = this_cpu().and_then(|c| c.current()) else { return };
        if thread.address_space_root.load(Ordering::Acquire) == root {
            thread.address_space_root.store(0, Ordering::Release);
            crate::memory::paging::activate_kernel_table();
        }
    });
}

/// Makes the current thread a plain kernel thread again and loads the kernel's master tree.
pub fn leave_address_space() {
    arch::without_interrupts(|| {
        current().address_space_root.store(0, Ordering::Release);
        crate::memory::paging::activate_kernel_table();
    });
}

/// How late the timer woke the current thread from its last sleep: ns from the deadline to the
/// tick that made it runnable.
#[cfg(feature = "ktest")]
pub fn last_wake_delay_ns() -> u64 {
    let me = current();
    me.woken_at_ns.load(Ordering::Relaxed).saturating_sub(me.wake_at_ns.load(Ordering::Relaxed))
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

/// Timer interrupt work on this CPU: wakes sleepers whose deadline passed and asks for a switch
/// when the running thread's quantum is over.
pub fn timer_tick() {
    let Some(cpu) = this_cpu() else { return };
    cpu.ticks.fetch_add(1, Ordering::Relaxed);
    watchdog::tick();
    let now = time::since_boot_ns();
    loop {
        let due = {
            let mut sleepers = SLEEPERS.lock();
            match sleepers.first().copied() {
                Some((deadline, id)) if deadline <= now => {
                    sleepers.pop_first();
                    Some(id)
                }
                _ => None,
            }
        };
        match due {
            Some(id) => {
                if let Some(thread) = lookup(id) {
                    thread.woken_at_ns.store(now, Ordering::Relaxed);
                }
                wake(id);
            }
            None => break,
        }
    }
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
