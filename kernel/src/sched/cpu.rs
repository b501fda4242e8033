//! One CPU's scheduler: its run queue (`exo_sched::RunQueue`), the running thread, its idle
//! thread, and the context switch between threads (`schedule`).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_sched::{RunQueue, SchedConfig};
use spin::Once;

use crate::spinlock::IrqSpinLock;

use super::thread::{self, Thread, ThreadState};
use crate::{arch, time};

/// Most CPUs the scheduler handles.
pub const MAX_CPUS: usize = 16;

/// Scheduler state of one CPU.
pub struct CpuScheduler {
    pub(super) index: usize,
    pub(super) run_queue: IrqSpinLock<Queued>,
    /// The running thread, and the one this CPU just switched away from (released by
    /// `finish_switch`): one lock for both, so a switch takes it once on each side.
    slots: IrqSpinLock<Slots>,
    pub(super) idle: Once<Arc<Thread>>,
    pub(super) switches: AtomicU64,
    pub(super) ticks: AtomicU64,
}

/// What [`CpuScheduler::slots`] holds.
struct Slots {
    current: Option<Arc<Thread>>,
    previous: Option<Arc<Thread>>,
}

/// A CPU's run queue: the policy (`exo_sched::RunQueue`) holding the queued threads
/// themselves, so that a pick gives the thread's `Arc` at once (no look-up by id).
pub(super) type Queued = RunQueue<QueuedThread>;

/// A runnable thread as its run queue holds it.
pub(super) struct QueuedThread(pub(super) Arc<Thread>);

impl exo_sched::Runnable for QueuedThread {
    fn thread_id(&self) -> exo_sched::ThreadId {
        self.0.id
    }
}

/// Room reserved in each queue of a CPU from the start (the queues grow beyond it on demand).
const QUEUED_CAPACITY: usize = 16;

/// Queues `thread` with policy state `policy` at `now` on `queue`.
pub(super) fn enqueue_on(queue: &mut Queued, thread: &Arc<Thread>, policy: &exo_sched::ThreadSched, now: u64) {
    if let Err(error) = queue.enqueue(QueuedThread(thread.clone()), policy, now) {
        log::error!("sched: cannot queue thread {}: {error:?}", thread.id);
    }
}

/// The next thread to run at `now`, taken out of `queue`.
pub(super) fn pick(queue: &mut Queued, now: u64) -> Option<Arc<Thread>> {
    queue.pick_next(now).map(|queued| queued.0)
}

static CPUS: [Once<CpuScheduler>; MAX_CPUS] = [const { Once::new() }; MAX_CPUS];

/// The scheduler configuration (quantum 10 ms by default).
pub static CONFIG: Once<SchedConfig> = Once::new();

/// The scheduler configuration in force.
pub(super) fn config() -> SchedConfig {
    CONFIG.get().copied().unwrap_or_default()
}

/// Sets up CPU `index`'s scheduler with `boot` as its running thread (`None` if the
/// configuration is invalid).
pub(super) fn init_cpu(index: usize, boot: Arc<Thread>) -> Option<&'static CpuScheduler> {
    let run_queue = Queued::with_capacity(config(), QUEUED_CAPACITY).ok()?;
    let slot = &CPUS[index % MAX_CPUS];
    crate::lockdep::HeldRef::of(&boot.lockdep).enter();
    let boot_ptr = Arc::as_ptr(&boot) as usize;
    Some(slot.call_once(|| {
        // The per-CPU current-thread word (`sched::current`): `boot` stays alive in `current`.
        arch::percpu::set_current_thread(boot_ptr);
        CpuScheduler {
            index,
            run_queue: IrqSpinLock::new(run_queue),
            slots: IrqSpinLock::new(Slots { current: Some(boot), previous: None }),
            idle: Once::new(),
            switches: AtomicU64::new(0),
            ticks: AtomicU64::new(0),
        }
    }))
}

/// This CPU's scheduler, if the scheduler runs here.
pub fn this_cpu() -> Option<&'static CpuScheduler> {
    CPUS.get(arch::cpu_index())?.get()
}

/// CPU `index`'s scheduler, if it runs.
pub fn cpu(index: usize) -> Option<&'static CpuScheduler> {
    CPUS.get(index)?.get()
}

/// Every CPU whose scheduler runs.
pub fn online() -> impl Iterator<Item = &'static CpuScheduler> {
    CPUS.iter().filter_map(|c| c.get())
}

impl CpuScheduler {
    /// The CPU's index.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Timer ticks handled by this CPU.
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// The run queue's statistics (picks per queue, migrations, lengths).
    #[cfg(feature = "ktest")]
    pub fn stats(&self) -> exo_sched::SchedStats {
        self.run_queue.lock().stats()
    }

    /// The thread running on this CPU.
    pub fn current(&self) -> Option<Arc<Thread>> {
        self.slots.lock().current.clone()
    }

    /// Runnable threads queued here.
    pub fn load(&self) -> usize {
        self.run_queue.lock().len()
    }

    /// Context switches done by this CPU.
    pub fn switches(&self) -> u64 {
        self.switches.load(Ordering::Relaxed)
    }

    /// Puts `thread` on this CPU's run queue.
    pub(super) fn enqueue(&self, thread: &Arc<Thread>) {
        let now = time::since_boot_ns();
        thread.cpu.store(self.index, Ordering::Relaxed);
        // Never hold a thread's `sched` lock and a run-queue lock together: copy the state out.
        let policy = *thread.sched.lock();
        enqueue_on(&mut self.run_queue.lock(), thread, &policy, now);
    }
}

impl CpuScheduler {
    /// Queues the woken `thread` on this CPU (the one running the waker `current`) and tells
    /// whether it should preempt `current` (the idle thread always is; otherwise
    /// `RunQueue::should_preempt_on_wake`): `enqueue` and `kick`'s test with one clock read and
    /// one hold of the run-queue lock. Both policy states are copied out before that lock.
    pub(super) fn enqueue_woken(&self, thread: &Arc<Thread>, current: &Thread) -> bool {
        let now = time::since_boot_ns();
        thread.cpu.store(self.index, Ordering::Relaxed);
        let incoming = *thread.sched.lock();
        let running = (!current.is_idle).then(|| *current.sched.lock());
        let mut queue = self.run_queue.lock();
        enqueue_on(&mut queue, thread, &incoming, now);
        running.is_none_or(|running| {
            let ran = now.saturating_sub(current.run_start_ns.load(Ordering::Relaxed));
            queue.should_preempt_on_wake(&running, &incoming, ran)
        })
    }
}

/// Picks the next thread and switches to it. Interrupts must be off. `preempted`: an
/// interrupt is switching the thread out, not the thread itself. A preempted thread that had
/// marked itself `Blocked` or `Sleeping` was still checking its wait condition (see
/// `wait::WaitQueue`): it stays runnable, as in Linux, so a wake-up that came before it was
/// queued cannot be lost; it re-checks and blocks again when it runs.
pub(super) fn schedule_locked(cpu: &'static CpuScheduler, preempted: bool) {
    schedule_locked_to(cpu, preempted, None)
}

/// [`schedule_locked`], or with `direct` (a thread the caller moved from `Blocked` to `Ready`
/// without queueing it anywhere: a hand-off) run next instead of the run queue's pick.
pub(super) fn schedule_locked_to(cpu: &'static CpuScheduler, preempted: bool, direct: Option<Arc<Thread>>) {
    let now = time::since_boot_ns();
    // The running thread, from the per-CPU word kept in step with `slots.current`.
    if arch::percpu::current_thread() == 0 {
        return;
    }
    let prev = super::current();
    let ran = now.saturating_sub(prev.run_start_ns.load(Ordering::Relaxed));
    arch::percpu::clear_need_resched();
    // Whether `prev` gives up the CPU because it blocked, slept or exited (getrusage's
    // voluntary switches) rather than being preempted or yielding (involuntary).
    let mut voluntary = false;
    // Threads this CPU may not run (affinity): `prev`, and picked threads whose mask changed
    // while they were queued here; queued on an allowed CPU once the run-queue lock is free.
    let mut migrate: [Option<Arc<Thread>>; 4] = [const { None }; 4];
    let next = if let Some(direct) = direct {
        // A hand-off: `prev` blocked (or was already woken and queued by its waker) and `next`
        // comes from no queue, so the run queue is not touched. Its time is counted; its burst
        // ends without updating its EMA (the next ordinary switch does that).
        prev.runtime_ns.fetch_add(ran, Ordering::Relaxed);
        prev.run_start_ns.store(now, Ordering::Relaxed);
        prev.burst_ns.store(0, Ordering::Relaxed);
        voluntary = true;
        Some(direct)
    } else {
        let mut queue = cpu.run_queue.lock();
        {
            // Accounted and re-queued under one hold of its policy lock (below the run queue's).
            let mut policy = prev.sched.lock();
            account(&mut queue, &prev, &mut policy, ran, now);
            if !prev.is_idle {
                if prev.state() != ThreadState::Running {
                    // Blocked, sleeping or exited (or already woken again): the burst is over.
                    prev.burst_ns.store(0, Ordering::Relaxed);
                }
                let keep_runnable = prev.transition(ThreadState::Running, ThreadState::Ready)
                    || preempted
                        && (prev.transition(ThreadState::Blocked, ThreadState::Ready)
                            || prev.transition(ThreadState::Sleeping, ThreadState::Ready));
                if keep_runnable {
                    if prev.allowed_on(cpu.index) {
                        enqueue_on(&mut queue, &prev, &policy, now);
                    } else {
                        migrate[0] = Some(prev.clone());
                    }
                }
                voluntary = !keep_runnable;
            }
        }
        let mut next = pick(&mut queue, now);
        for slot in migrate.iter_mut().skip(1) {
            match next.take() {
                Some(thread) if !thread.allowed_on(cpu.index) => {
                    *slot = Some(thread);
                    next = pick(&mut queue, now);
                }
                other => {
                    next = other;
                    break;
                }
            }
        }
        next
    };
    for thread in migrate.iter_mut().filter_map(Option::take) {
        // `prev` may be picked there before this switch ends: that CPU waits for `on_cpu`.
        super::affinity::requeue_allowed(&thread, cpu.index);
    }
    let next = match next.or_else(|| cpu.idle.get().cloned()) {
        Some(next) => next,
        None => return,
    };
    if Arc::ptr_eq(&next, &prev) {
        prev.set_state(ThreadState::Running);
        return;
    }
    // The thread may still be leaving another CPU (woken and stolen before its switch ended).
    while next.on_cpu.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    next.on_cpu.store(true, Ordering::Release);
    next.set_state(ThreadState::Running);
    next.run_start_ns.store(now, Ordering::Relaxed);
    next.cpu.store(cpu.index, Ordering::Relaxed);
    next.cpus_seen.fetch_or(1 << (cpu.index % 32), Ordering::Relaxed);
    next.switches.fetch_add(1, Ordering::Relaxed);
    if !prev.is_idle {
        let counter = if voluntary { &prev.voluntary_switches } else { &prev.involuntary_switches };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    cpu.switches.fetch_add(1, Ordering::Relaxed);
    // CR3 changes only when the next thread has an address space of its own that is not the
    // loaded one; kernel threads keep whatever tree is loaded (they only use the shared kernel
    // half), so switching to and from them costs no TLB flush.
    let root = next.address_space_root.load(Ordering::Acquire);
    if root != 0 && root != arch::mmu::current_root() {
        // SAFETY: a thread's root is an `AddressSpace`'s tree, which shares the kernel half
        // (code, stacks, per-CPU data) and outlives the thread's use of it.
        unsafe { arch::mmu::load_root(root) };
    }
    if let Some(stack) = &next.stack {
        // Where the CPU enters the kernel from user mode while `next` runs (TSS RSP0).
        arch::percpu::set_kernel_stack_top(stack.top());
    }
    if let Some(fpu) = &prev.fpu {
        fpu.lock().save();
    }
    if let Some(fpu) = &next.fpu {
        fpu.lock().restore();
    }
    if let Some(task) = next.user() {
        task.switch_in();
    }
    let save = prev.saved_rsp.as_ptr();
    // `next` is off every CPU (`on_cpu` was false) so its saved stack pointer is stable.
    let next_rsp = next.saved_rsp.load(Ordering::Acquire);
    let next_locks = crate::lockdep::HeldRef::of(&next.lockdep);
    // The per-CPU word `sched::current` reads, kept in step with `current` (interrupts are off).
    arch::percpu::set_current_thread(Arc::as_ptr(&next) as usize);
    {
        let mut slots = cpu.slots.lock();
        // `current` held `prev`: it moves to `previous`, which keeps it alive until
        // `finish_switch` (our own reference is dropped below, before the switch).
        let old = slots.current.replace(next);
        slots.previous = old;
    }
    drop(prev);
    // From here on this CPU's locking is `next`'s (lockdep's held-lock stack).
    next_locks.enter();
    // The preemption-disable count belongs to the thread: `prev` gets its own back when it runs
    // again, `next` starts from zero. It is zero here unless `prev` sleeps holding a spin lock,
    // a bug lockdep reports in checked builds; carrying the count with the thread keeps that
    // bug from disabling preemption on this CPU for whoever runs next.
    let held = arch::percpu::replace_preempt_count(0);
    // SAFETY: interrupts are off; `next_rsp` was saved by the switch or `prepare_stack` on a
    // stack owned by `next`, which stays alive (the table and `current` hold it); `save` points
    // into `prev`, kept alive by `previous` until `finish_switch` on the other side.
    unsafe { arch::switch_context(save, next_rsp) };
    arch::percpu::replace_preempt_count(held);
    finish_switch();
}

/// Accounts the running thread's time so far without switching (its quantum is over but no other
/// thread is runnable): the burst grows, the EMA and queue are updated, the run restarts now.
pub(super) fn account_running(cpu: &CpuScheduler, thread: &Thread, ran: u64, now: u64) {
    let mut queue = cpu.run_queue.lock();
    account(&mut queue, thread, &mut thread.sched.lock(), ran, now);
}

/// Ends a run of `ran` ns at `now`: run time, CPU burst and (except for idle threads) the EMA
/// and queue. Only the CPU running the thread calls it, with the run queue locked and then the
/// thread's `sched` lock (`policy`; never the other way round).
fn account(queue: &mut Queued, thread: &Thread, policy: &mut exo_sched::ThreadSched, ran: u64, now: u64) {
    thread.runtime_ns.fetch_add(ran, Ordering::Relaxed);
    thread.run_start_ns.store(now, Ordering::Relaxed);
    if !thread.is_idle {
        let burst = thread.burst_ns.fetch_add(ran, Ordering::Relaxed) + ran;
        queue.account(policy, burst);
    }
}

/// Completes a switch on the new thread's side: the previous thread is now fully off this CPU.
pub(super) fn finish_switch() {
    let Some(cpu) = this_cpu() else { return };
    let Some(prev) = cpu.slots.lock().previous.take() else { return };
    // SeqCst with `JoinHandle::drop`'s store of `detached` then load of `on_cpu`: at least one
    // side sees the other's store, so a detached thread is always removed (maybe twice, which is
    // harmless).
    prev.on_cpu.store(false, Ordering::SeqCst);
    if prev.state() == ThreadState::Exited && prev.detached.load(Ordering::SeqCst) {
        thread::unregister(prev.id);
    }
}
