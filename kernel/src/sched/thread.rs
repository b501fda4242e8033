//! Thread control blocks and the global thread table.
//!
//! A thread is an `Arc<Thread>`: its kernel stack (with a guard page), its saved stack pointer
//! while it is off the CPU, its state, its scheduling state (`exo_sched::ThreadSched`), optional
//! FPU state, and what `join` needs (exit value, a wait queue).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::any::TypeId;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use exo_sched::{Priority, ThreadSched};
use crate::spinlock::SpinLock as Mutex;

use crate::spinlock::IrqSpinLock;

use super::wait::WaitQueue;
use crate::arch::{self, FpuState};
use crate::memory::stacks::KernelStack;

/// A thread's identifier (never reused while the kernel runs).
pub type ThreadId = u32;

/// Where a thread is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ThreadState {
    /// Runnable, in a run queue.
    Ready = 0,
    /// On a CPU.
    Running = 1,
    /// Waiting in a wait queue.
    Blocked = 2,
    /// Waiting for a deadline.
    Sleeping = 3,
    /// Finished; its exit value is available to `join`.
    Exited = 4,
}

impl ThreadState {
    fn from_u8(v: u8) -> ThreadState {
        match v {
            0 => ThreadState::Ready,
            1 => ThreadState::Running,
            2 => ThreadState::Blocked,
            3 => ThreadState::Sleeping,
            _ => ThreadState::Exited,
        }
    }
}

/// The body of a thread; its return value is the thread's exit value.
pub type Entry = Box<dyn FnOnce() -> i64 + Send>;

/// The user-mode side of a thread as the scheduler sees it (the process layer's `Task`
/// implements it): what to load when the thread is switched in, and a way for its owner to
/// get its own type back.
pub trait UserContext: Send + Sync {
    /// Loads the user-mode CPU state the context switch does not restore (FS and GS bases).
    fn switch_in(&self);
    /// Whether a blocking call should stop waiting: a signal the task would act on is pending,
    /// or it must exit.
    fn interrupted(&self) -> bool;
    /// Whether the task must exit (SIGKILL, a fatal signal, exit_group).
    fn dying(&self) -> bool;
}

/// The condition every interruptible wait (pipes, FIFOs, eventfd, the TTY, futexes) passes
/// on: whether the current thread's blocking call should stop waiting (see
/// [`UserContext::interrupted`]; always false for a kernel thread), with the thread looked up
/// once here rather than at every evaluation (a wait checks it each time it wakes).
pub fn signal_check() -> impl Fn() -> bool {
    let user = super::current().user.get().map(|slot| slot.context.clone());
    move || user.as_ref().is_some_and(|context| context.interrupted())
}

/// Whether the current thread's task must exit: a transfer that can run long (a 2 GiB write,
/// sendfile, reading /dev/zero) checks it between chunks and stops with what it moved, so a
/// killed task is gone within milliseconds. Always false for a kernel thread.
pub fn fatal_signal_pending() -> bool {
    super::current().user.get().is_some_and(|user| user.context.dying())
}

/// A thread's user side and the type it was given as, so that its owner gets its own type
/// back with a comparison instead of dynamic dispatch (the system-call path asks for it twice
/// per call).
struct UserSlot {
    context: Arc<dyn UserContext>,
    type_id: TypeId,
    /// The `T` inside `context` (`Arc::as_ptr` of the `Arc<T>` it was given as), kept so that
    /// getting it back needs no look-up of the type's alignment in the vtable.
    data: *const (),
}

/// A thread control block.
pub struct Thread {
    pub id: ThreadId,
    name: [u8; 32],
    name_len: usize,
    state: AtomicU8,
    pub priority: Priority,
    /// Stack pointer saved by the context switch; meaningful only while off the CPU.
    pub(super) saved_rsp: AtomicU64,
    /// True from the moment a CPU starts switching to this thread until the next switch away
    /// from it has completed; no other CPU may resume it meanwhile.
    pub(super) on_cpu: AtomicBool,
    /// The CPU whose run queue holds or last ran the thread.
    pub(super) cpu: AtomicUsize,
    pub(super) stack: Option<KernelStack>,
    pub(super) sched: IrqSpinLock<ThreadSched>,
    /// The thread's FPU/SSE/AVX state while it is off a CPU. Only the switch touches it, with
    /// interrupts off, on the CPU the thread leaves or enters: a bare spin lock (no preemption
    /// count, no lock-order class) is enough.
    pub(super) fpu: Option<spin::Mutex<Box<FpuState>>>,
    pub(super) entry: Mutex<Option<Entry>>,
    /// Time (ns) the thread last started running, and total run time.
    pub(super) run_start_ns: AtomicU64,
    pub(super) runtime_ns: AtomicU64,
    /// CPU time since the thread last blocked, slept or started: its current CPU burst, which
    /// continues across preemptions (the EMA is over bursts, so a CPU-bound thread's grows
    /// past the quantum and it reaches Cold).
    pub(super) burst_ns: AtomicU64,
    pub(super) switches: AtomicU64,
    /// Switches out because the thread blocked or slept (Linux's nvcsw), and because it was
    /// preempted or yielded while runnable (nivcsw): what getrusage reports.
    pub(super) voluntary_switches: AtomicU64,
    pub(super) involuntary_switches: AtomicU64,
    /// Set by a [`PollQueue`](super::pollwait::PollQueue) notify while the thread is registered
    /// on it (poll/select/epoll_wait): the thread's poll wait ends (`pollwait::PollTable::wait`).
    pub(super) poll_woken: AtomicBool,
    pub(super) exit_value: AtomicI64,
    pub(super) joiners: WaitQueue,
    /// Deadline (ns since boot) while sleeping.
    pub(super) wake_at_ns: AtomicU64,
    /// When the timer tick found the deadline passed and woke the thread (ns since boot).
    pub(super) woken_at_ns: AtomicU64,
    /// Root of the thread's address space (its page-table tree), or 0 for a kernel thread, which
    /// runs on whatever tree is loaded (all share the kernel half).
    pub(super) address_space_root: AtomicU64,
    /// Whether the thread is the CPU's idle thread.
    pub(super) is_idle: bool,
    /// Nobody will join: the thread leaves the table as soon as it has exited.
    pub(super) detached: AtomicBool,
    /// Number of CPUs this thread ran on (for tests of migration); bit per CPU.
    pub(super) cpus_seen: AtomicU32,
    /// The user-mode side of the thread (the process layer's task: its process, signal state,
    /// thread pointer), for threads that run user code; set once by the thread itself before it
    /// first enters user mode. The scheduler sees only [`UserContext`].
    user: spin::Once<UserSlot>,
    /// The locks the thread holds, for lockdep (empty in release builds).
    pub(super) lockdep: crate::lockdep::HeldLocks,
    /// Timer ticks that found the thread running in user mode and in the kernel: the ratio
    /// splits its exact run time into user and system time (Linux's `cputime_adjust`).
    pub(super) user_ticks: AtomicU64,
    pub(super) system_ticks: AtomicU64,
    /// The CPUs the thread may run on (`exo_sched::affinity`; bit n = CPU n).
    pub(super) affinity: AtomicU64,
}

// SAFETY: `saved_rsp` is written only by the context switch on the CPU that owns the thread
// (`on_cpu`), and read for resuming only by the CPU that switches to it after `on_cpu` was
// cleared (diagnostics may read it any time: it is atomic); every other field is atomic or
// behind a lock.
unsafe impl Sync for Thread {}
// SAFETY: see above; nothing in `Thread` is tied to the creating CPU.
unsafe impl Send for Thread {}

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

impl Thread {
    pub(super) fn new(name: &str, priority: Priority, stack: Option<KernelStack>, entry: Option<Entry>, uses_fpu: bool, is_idle: bool) -> Thread {
        let mut buf = [0u8; 32];
        let len = name.len().min(32);
        buf[..len].copy_from_slice(&name.as_bytes()[..len]);
        Thread {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name: buf,
            name_len: len,
            state: AtomicU8::new(ThreadState::Ready as u8),
            priority,
            saved_rsp: AtomicU64::new(0),
            on_cpu: AtomicBool::new(false),
            cpu: AtomicUsize::new(arch::cpu_index()),
            stack,
            sched: IrqSpinLock::new(ThreadSched::new(priority, &super::cpu::config())),
            fpu: uses_fpu.then(|| spin::Mutex::new(Box::new(FpuState::new()))),
            entry: Mutex::new(entry),
            run_start_ns: AtomicU64::new(0),
            runtime_ns: AtomicU64::new(0),
            burst_ns: AtomicU64::new(0),
            switches: AtomicU64::new(0),
            voluntary_switches: AtomicU64::new(0),
            involuntary_switches: AtomicU64::new(0),
            poll_woken: AtomicBool::new(false),
            exit_value: AtomicI64::new(0),
            joiners: WaitQueue::new(),
            wake_at_ns: AtomicU64::new(0),
            woken_at_ns: AtomicU64::new(0),
            address_space_root: AtomicU64::new(0),
            is_idle,
            detached: AtomicBool::new(false),
            cpus_seen: AtomicU32::new(0),
            user: spin::Once::new(),
            lockdep: crate::lockdep::HeldLocks::new(),
            user_ticks: AtomicU64::new(0),
            system_ticks: AtomicU64::new(0),
            affinity: AtomicU64::new(exo_sched::affinity::ALL),
        }
    }

    /// Gives the thread its user side (once, by the thread itself before it first enters user
    /// mode); later calls keep the first.
    pub fn set_user<T: UserContext + 'static>(&self, context: Arc<T>) {
        let data = Arc::as_ptr(&context).cast::<()>();
        self.user.call_once(|| UserSlot { context, type_id: TypeId::of::<T>(), data });
    }

    /// The thread's user side, if it has one.
    pub fn user(&self) -> Option<&Arc<dyn UserContext>> {
        self.user.get().map(|slot| &slot.context)
    }

    /// The thread's user side borrowed as the type it was given as (`set_user::<T>`), if it is
    /// a `T` (no reference-count traffic).
    pub fn user_ref<T: UserContext + 'static>(&self) -> Option<&T> {
        let slot = self.user.get()?;
        if slot.type_id != TypeId::of::<T>() {
            return None;
        }
        // SAFETY: `type_id` was recorded from the concrete type of `context` when it was stored
        // (`set_user::<T>`), and it equals `T`'s: `data` is then the `Arc<T>`'s pointer to its
        // `T`, which the `Arc` in the slot keeps alive as long as the thread, so as long as the
        // returned borrow.
        Some(unsafe { &*slot.data.cast::<T>() })
    }

    /// The thread's user side as the type it was given as (`set_user::<T>`), if it is a `T`.
    pub fn user_as<T: UserContext + 'static>(&self) -> Option<Arc<T>> {
        let slot = self.user.get()?;
        if slot.type_id != TypeId::of::<T>() {
            return None;
        }
        let raw = slot.data.cast::<T>();
        // SAFETY: `type_id` was recorded from `T` when stored (`set_user::<T>` coerced an
        // `Arc<T>`): `data` is that `Arc`'s pointer to its `T`, which the slot keeps alive, so
        // the strong count may be raised through it and the reference rebuilt as an `Arc<T>`.
        unsafe {
            Arc::increment_strong_count(raw);
            Some(Arc::from_raw(raw))
        }
    }

    /// The thread's name (truncated to 32 bytes).
    pub fn name(&self) -> &str {
        core::str::from_utf8(&self.name[..self.name_len]).unwrap_or("?")
    }

    pub fn state(&self) -> ThreadState {
        ThreadState::from_u8(self.state.load(Ordering::Acquire))
    }

    pub(super) fn set_state(&self, state: ThreadState) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// Moves from `from` to `to` if the thread is in `from`; returns whether it did.
    pub(super) fn transition(&self, from: ThreadState, to: ThreadState) -> bool {
        self.state.compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Writes where the thread is in the kernel (`/proc/<pid>/stack`): the backtrace of a
    /// switched-out thread (read while it may be resumed, so possibly stale); for a thread
    /// running on another CPU, that CPU gets an NMI whose handler prints its backtrace on the
    /// console.
    pub fn write_kernel_stack(&self, out: &mut impl core::fmt::Write) {
        if self.on_cpu.load(Ordering::Acquire) {
            let cpu = self.cpu.load(Ordering::Relaxed);
            if cpu == arch::cpu_index() {
                crate::debug::write_backtrace(out, None, arch::current_frame_pointer());
                return;
            }
            let _ = writeln!(out, "running on CPU {cpu}: its backtrace is printed on the console (NMI)");
            if !arch::smp::send_nmi_to_cpu(cpu) {
                let _ = writeln!(out, "(CPU {cpu} is not online)");
            }
            return;
        }
        match arch::switched_out_frame(self.saved_rsp.load(Ordering::Acquire)) {
            Some((rbp, ret)) => crate::debug::write_backtrace(out, Some(ret), rbp),
            None => {
                let _ = writeln!(out, "no saved context");
            }
        }
    }

    /// (voluntary, involuntary) context switches out of this thread so far.
    pub fn context_switches(&self) -> (u64, u64) {
        (self.voluntary_switches.load(Ordering::Relaxed), self.involuntary_switches.load(Ordering::Relaxed))
    }

    /// Total time spent running, in ns (including the current run). "Running" is being on a
    /// CPU, not the `Running` state: the idle threads keep that state while switched out, and
    /// counting from their last switch-out made the idle time of `/proc/stat` jump ahead while
    /// other threads ran and fall back when the idle thread ran again.
    pub fn runtime_ns(&self) -> u64 {
        let finished = self.runtime_ns.load(Ordering::Relaxed);
        if !self.on_cpu.load(Ordering::Acquire) {
            return finished;
        }
        let started = self.run_start_ns.load(Ordering::Relaxed);
        finished + crate::time::since_boot_ns().saturating_sub(started)
    }

    /// Its run time split into (user, system) ns by the ticks that found it in each mode
    /// (all user time before the first tick, as Linux does).
    pub fn cpu_times(&self) -> (u64, u64) {
        let total = self.runtime_ns();
        exo_sched::cputime::split_runtime(
            total,
            self.user_ticks.load(Ordering::Relaxed),
            self.system_ticks.load(Ordering::Relaxed),
        )
    }

    /// The CPUs the thread may run on (bit n = CPU n).
    pub fn affinity(&self) -> u64 {
        self.affinity.load(Ordering::Acquire)
    }

    /// Whether the thread may run on CPU `cpu`.
    pub fn allowed_on(&self, cpu: usize) -> bool {
        exo_sched::affinity::allows(self.affinity(), cpu)
    }

    /// The CPU the thread last ran on (or is queued on).
    pub fn last_cpu(&self) -> usize {
        self.cpu.load(Ordering::Relaxed)
    }

    /// Bit mask of the CPUs this thread has run on.
    #[cfg(feature = "ktest")]
    pub fn cpus_seen(&self) -> u32 {
        self.cpus_seen.load(Ordering::Relaxed)
    }

    /// The scheduling queue the thread's EMA currently places it in.
    pub fn queue(&self) -> exo_sched::Queue {
        self.sched.lock().queue()
    }

    /// The user-mode register frame at the top of the thread's kernel stack (threads spawned
    /// with `SpawnOptions::user`); None for threads without a stack of their own.
    pub fn user_frame(&self) -> Option<*mut arch::TrapFrame> {
        self.stack.as_ref().map(|s| (s.top() - arch::USER_FRAME_SIZE) as *mut arch::TrapFrame)
    }


    /// The thread's exit value (meaningful once it has exited).
    #[cfg(feature = "ktest")]
    pub fn exit_value(&self) -> i64 {
        self.exit_value.load(Ordering::Acquire)
    }
}

/// Every live thread (exited threads stay until joined and dropped).
static THREADS: IrqSpinLock<BTreeMap<ThreadId, Arc<Thread>>> = IrqSpinLock::new(BTreeMap::new());

/// Adds a thread to the table.
pub(super) fn register(thread: Arc<Thread>) {
    THREADS.lock().insert(thread.id, thread);
}

/// Removes a thread from the table.
pub(super) fn unregister(id: ThreadId) -> Option<Arc<Thread>> {
    THREADS.lock().remove(&id)
}

/// The thread with this id, if it is alive.
pub fn lookup(id: ThreadId) -> Option<Arc<Thread>> {
    THREADS.lock().get(&id).cloned()
}

/// Calls `f` with every thread in the table (a snapshot, taken with the table locked).
pub fn for_each(mut f: impl FnMut(&Thread)) {
    let snapshot: alloc::vec::Vec<Arc<Thread>> = THREADS.lock().values().cloned().collect();
    snapshot.iter().for_each(|t| f(t));
}

/// Number of threads in the table.
#[cfg(feature = "ktest")]
pub fn count() -> usize {
    THREADS.lock().len()
}
