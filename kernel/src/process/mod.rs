//! Processes and their threads (POSIX-X): the process table, PIDs, parent/child links, process
//! groups and sessions, credentials and resource limits, and the hooks the trap and syscall
//! paths call on the way back to user mode. See docs/process.md.
//!
//! Submodules: `task` (the user side of a thread), `mm` (memory map, demand paging),
//! `exec` (ELF loading), `clone` (fork/vfork/threads), `exit` (exit and wait), `signal`
//! (sending and delivering signals), `futex`, `vdso` (the user-space clock).

pub mod clone;
pub mod exec;
pub mod exit;
pub mod futex;
pub mod futex_ops;
pub mod info;
pub mod init;
pub mod itimer;
pub mod mm;
pub mod mm_file;
pub mod mm_shared;
pub mod oom;
pub mod signal;
mod signal_frame;
pub mod task;
pub mod vdso;

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use exo_abi::resource::{RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_STACK, RLIM_INFINITY, RLIM_NLIMITS};
use exo_abi::types::Rlimit;
use crate::spinlock::SpinLock as Mutex;

pub use self::signal_frame::{altstack_flags, sigreturn as signal_frame_return};
pub use self::task::Task;
use crate::arch::TrapFrame;
use crate::sched::wait::WaitQueue;

/// A process or thread id (one number space, as on Linux: a process's id is its first thread's).
pub type Pid = u32;

/// User and group ids of a process.
#[derive(Clone, Debug, Default)]
pub struct Creds {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    pub groups: Vec<u32>,
}

/// What a waiting parent can learn about a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildEvent {
    /// Exited or killed: the wait status; the child is a zombie until reaped.
    Exited(i32),
    /// Stopped by this signal (reported once for WUNTRACED).
    Stopped(u32),
    /// Continued by SIGCONT (reported once for WCONTINUED).
    Continued,
}

/// Mutable process state, under `Process::state`.
pub struct ProcState {
    pub pgid: Pid,
    pub sid: Pid,
    pub children: Vec<Arc<Process>>,
    pub threads: Vec<Arc<Task>>,
    /// Set once the whole process is exiting (exit_group or fatal signal): the wait status.
    pub group_exit: Option<i32>,
    /// The process has exited and waits to be reaped.
    pub zombie: bool,
    /// An unreported stop/continue/exit event for the parent's wait.
    pub event: Option<ChildEvent>,
    /// Stopped by a signal (job control).
    pub stopped: bool,
    /// CPU time of reaped children (ns): user, system.
    pub children_time_ns: (u64, u64),
}

/// A process: a thread group with its pid.
pub struct Process {
    pub pid: Pid,
    /// The parent's pid (0 for init). Read without a lock (getppid on every call of a shell
    /// loop); written at creation and, under this process's `state` lock, when exit hands it
    /// to init.
    pub parent: AtomicU32,
    pub state: Mutex<ProcState>,
    pub creds: Mutex<Creds>,
    pub rlimits: Mutex<[Rlimit; RLIM_NLIMITS as usize]>,
    /// Signals sent to the process as a whole, with their siginfo.
    pub pending: Mutex<exo_signal::Pending>,
    /// Bumped by every SIGCONT, under each pending-set lock it discards stop signals from: a
    /// stop signal takes effect only if no SIGCONT came between its dequeue and the stop
    /// (Linux's JOBCTL_STOP_DEQUEUED), so a SIGCONT racing with a dequeued stop is never lost.
    pub cont_seq: core::sync::atomic::AtomicU64,
    /// Parents wait here for child events; stopped threads wait here for SIGCONT.
    pub child_wait: WaitQueue,
    pub stop_wait: WaitQueue,
    /// The command name (for ps / messages), from the executable's file name.
    pub comm: Mutex<[u8; 16]>,
    /// Its argv as exec left it (NUL-separated), for /proc/<pid>/cmdline.
    pub cmdline: Mutex<Vec<u8>>,
    /// Start time (ns since boot).
    pub start_ns: u64,
    /// CPU time of exited threads (ns).
    pub dead_threads_ns: AtomicU64,
    /// Whether `execve` has run in this process (setpgid on a child then fails with EACCES).
    pub did_exec: AtomicBool,
    /// Counts child state changes (exit, stop, continue): waiters sleep until it moves.
    pub child_events: AtomicU64,
    /// The signal the parent gets when this process exits (SIGCHLD, or clone's choice).
    pub exit_signal: AtomicU32,
    /// Linux's "dumpable" flag: cleared when the process changes its effective or file-system
    /// ids (a root process that drops to a user keeps root's secrets in its memory), set again
    /// by an exec that leaves real and effective ids equal, and by prctl(PR_SET_DUMPABLE).
    /// Other users may only inspect a dumpable process ([`info::may_inspect`]).
    pub dumpable: AtomicBool,
}

impl Process {
    /// The process's parent pid.
    pub fn ppid(&self) -> Pid {
        self.parent.load(Ordering::Acquire)
    }

    pub fn pgid(&self) -> Pid {
        self.state.lock().pgid
    }

    pub fn sid(&self) -> Pid {
        self.state.lock().sid
    }

    /// The command name as a string.
    pub fn comm(&self) -> alloc::string::String {
        let comm = *self.comm.lock();
        let end = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
        alloc::string::String::from_utf8_lossy(&comm[..end]).into_owned()
    }

    /// Sets the command name (truncated to 15 bytes).
    pub fn set_comm(&self, name: &[u8]) {
        let mut comm = [0u8; 16];
        let n = name.len().min(15);
        comm[..n].copy_from_slice(&name[..n]);
        *self.comm.lock() = comm;
    }

    /// A resource limit (soft, hard).
    pub fn rlimit(&self, resource: u32) -> Rlimit {
        self.rlimits.lock().get(resource as usize).copied().unwrap_or(Rlimit { rlim_cur: RLIM_INFINITY, rlim_max: RLIM_INFINITY })
    }

    /// CPU time of the process: its exited threads plus its live ones (ns).
    pub fn cpu_time_ns(&self) -> u64 {
        let live: u64 = self
            .threads()
            .iter()
            .filter_map(|t| crate::sched::lookup(t.thread_id()))
            .map(|thread| thread.runtime_ns())
            .sum();
        self.dead_threads_ns.load(Ordering::Relaxed) + live
    }

    /// (voluntary, involuntary) context switches of the process's live threads.
    pub fn context_switches(&self) -> (u64, u64) {
        self.threads()
            .iter()
            .filter_map(|t| crate::sched::lookup(t.thread_id()))
            .map(|thread| thread.context_switches())
            .fold((0, 0), |(v, i), (tv, ti)| (v + tv, i + ti))
    }

    /// The process's live threads.
    pub fn threads(&self) -> Vec<Arc<Task>> {
        self.state.lock().threads.clone()
    }
}

/// Default resource limits (Linux's usual defaults; RLIMIT_NPROC is half the task cap, as
/// Linux derives it from `threads-max`).
pub fn default_rlimits() -> [Rlimit; RLIM_NLIMITS as usize] {
    let mut limits = [Rlimit { rlim_cur: RLIM_INFINITY, rlim_max: RLIM_INFINITY }; RLIM_NLIMITS as usize];
    let nproc = (clone::max_tasks() / 2) as u64;
    limits[RLIMIT_NPROC as usize] = Rlimit { rlim_cur: nproc, rlim_max: nproc };
    limits[RLIMIT_NOFILE as usize] = Rlimit { rlim_cur: 1024, rlim_max: 4096 };
    limits[RLIMIT_STACK as usize] = Rlimit { rlim_cur: 8 << 20, rlim_max: RLIM_INFINITY };
    // Linux's default for POSIX message queue bytes per user (ipc::mqueue).
    limits[exo_abi::resource::RLIMIT_MSGQUEUE as usize] = Rlimit { rlim_cur: 819_200, rlim_max: 819_200 };
    limits
}

/// A one-shot event a thread can wait for (vfork).
pub struct Completion {
    done: AtomicBool,
    queue: WaitQueue,
}

impl Completion {
    pub fn new() -> Completion {
        Completion { done: AtomicBool::new(false), queue: WaitQueue::new() }
    }

    pub fn complete(&self) {
        self.done.store(true, Ordering::SeqCst);
        self.queue.wake_all();
    }

    /// Waits for the event, or until `killed()` holds (a SIGKILLed vfork parent must not wait
    /// for its child: it leaves at once and exits on its way back to user mode).
    pub fn wait_killable(&self, killed: impl Fn() -> bool) {
        let _ = self.queue.wait_interruptible(|| self.done.load(Ordering::SeqCst), killed, None);
    }
}

/// Every process (zombies included, until reaped), by pid.
static PROCESSES: Mutex<BTreeMap<Pid, Arc<Process>>> = Mutex::new(BTreeMap::new());
/// Every live task, by tid.
static TASKS: Mutex<BTreeMap<Pid, Arc<Task>>> = Mutex::new(BTreeMap::new());
/// The next id to try.
static NEXT_PID: AtomicU32 = AtomicU32::new(1);
/// Largest pid before wrapping around (Linux's default pid_max).
const PID_MAX: u32 = 32768;

/// A free id for a new process or thread (ids of live processes and tasks are not reused).
pub fn alloc_pid() -> Option<Pid> {
    let processes = PROCESSES.lock();
    let tasks = TASKS.lock();
    for _ in 0..PID_MAX {
        let pid = NEXT_PID.fetch_add(1, Ordering::Relaxed);
        let pid = if pid >= PID_MAX {
            NEXT_PID.store(2, Ordering::Relaxed);
            continue;
        } else {
            pid
        };
        if !processes.contains_key(&pid) && !tasks.contains_key(&pid) {
            return Some(pid);
        }
    }
    None
}

pub fn register_process(process: Arc<Process>) {
    PROCESSES.lock().insert(process.pid, process);
}

pub fn unregister_process(pid: Pid) {
    PROCESSES.lock().remove(&pid);
}

pub fn register_task(task: Arc<Task>) {
    TASKS.lock().insert(task.tid, task);
}

pub fn unregister_task(tid: Pid) {
    TASKS.lock().remove(&tid);
}

/// The process with this pid (zombies included).
pub fn process(pid: Pid) -> Option<Arc<Process>> {
    PROCESSES.lock().get(&pid).cloned()
}

/// The live task with this tid.
pub fn task(tid: Pid) -> Option<Arc<Task>> {
    TASKS.lock().get(&tid).cloned()
}

/// A snapshot of every process.
pub fn all_processes() -> Vec<Arc<Process>> {
    PROCESSES.lock().values().cloned().collect()
}

/// Number of processes (for sysinfo).
pub fn process_count() -> usize {
    PROCESSES.lock().len()
}

/// The task of the running thread, if it runs user code.
pub fn current() -> Option<Arc<Task>> {
    // Borrowing the thread saves a reference-count round trip on it (every system call asks).
    crate::sched::with_current(task_of)
}

/// Runs `f` on the running thread's task, borrowed (no reference-count traffic), if the thread
/// runs user code. `f` may block: the task lives as long as its thread, which is running it.
#[inline]
pub fn with_current_task<R>(f: impl FnOnce(&Task) -> R) -> Option<R> {
    crate::sched::with_current(|thread| thread.user_ref::<Task>().map(f))
}

/// Runs `f` on the running thread's task, found with one per-CPU load (the context the
/// thread's [`Task::switch_in`] registered), for system-call handlers: `getppid` costs a few
/// instructions.
///
/// # Safety
/// Only on the system-call path of a user thread (a system call's handler): a kernel thread
/// does not register a context, so the word may name a task that no longer exists.
#[inline(always)]
pub unsafe fn with_syscall_task<R>(f: impl FnOnce(&Task) -> R) -> Option<R> {
    let task = crate::arch::percpu::user_context() as *const Task;
    if task.is_null() {
        return None;
    }
    // SAFETY: the caller runs a system call of a user thread, whose `switch_in` registered its
    // task on this CPU before the thread ran here (every switch to it, and its first entry to
    // user mode), and the task lives as long as its thread, which is running this.
    Some(f(unsafe { &*task }))
}

/// The task of `thread`, if it runs user code (every thread's user context is a `Task`).
pub fn task_of(thread: &crate::sched::Thread) -> Option<Arc<Task>> {
    thread.user_as::<Task>()
}

/// The user frame of the running thread (top of its kernel stack), for the start of a new
/// user thread (clone, PID 1), which fills it before its first entry to user mode.
///
/// # Safety
/// No other reference to the frame may exist while the returned one is used: call it only in
/// a new thread's entry, before the thread has ever entered user mode (afterwards every trap
/// and system call hands its code the frame as `&mut`, and a second one would alias it).
pub(super) unsafe fn new_thread_frame() -> Option<&'static mut TrapFrame> {
    let thread = crate::sched::current();
    // SAFETY: a user thread's frame lives at the top of its own kernel stack for the thread's
    // whole life, only the thread itself (running here) touches it, and the caller holds no
    // other reference to it.
    thread.user_frame().map(|f| unsafe { &mut *f })
}

/// Work on the way back to user mode (after every syscall and every interrupt or exception
/// from user mode): exit if killed, stop if stopped, deliver pending signals.
pub fn return_to_user(frame: &mut TrapFrame) {
    if return_work_pending() {
        return_to_user_work(frame);
    }
}

/// Whether the running thread has work to do before it returns to user mode: its task's
/// `attention` (a signal may be pending, a stop was asked) or `killed` flag. The fast exit of
/// every system call tests only this — two byte loads on the borrowed thread and task, no
/// reference count, no lock — and runs [`return_to_user_work`] when it holds.
#[inline(always)]
pub fn return_work_pending() -> bool {
    crate::sched::with_current(|thread| {
        thread.user_ref::<Task>().is_some_and(|task| task.attention.load(Ordering::Acquire) || task.killed.load(Ordering::Acquire))
    })
}

/// The complete return-to-user work, out of the fast path: signal delivery (which may rewrite
/// `frame`, so the entry then returns through `iretq`), stopping, exiting.
#[cold]
#[inline(never)]
pub fn return_to_user_work(frame: &mut TrapFrame) {
    let Some(task) = current() else { return };
    if !task.attention.load(Ordering::Acquire) && !task.killed.load(Ordering::Acquire) {
        return;
    }
    let interrupts = crate::arch::save_and_disable_interrupts();
    crate::arch::enable_interrupts();
    let exit = signal::handle_pending(&task, frame);
    if let Some(status) = exit {
        // Killed without a group exit means another thread's execve ended this one: only this
        // thread goes (a group exit here would kill the exec'ing thread too).
        let group = task.process.state.lock().group_exit.is_some();
        // Never returns: no reference may stay on this stack.
        drop(task);
        exit::exit_current(status, group);
    }
    crate::arch::restore_interrupts(interrupts);
}

/// A CPU exception raised by user code: a page fault the memory map allows is resolved;
/// anything else becomes a signal for the task (delivered by `return_to_user`).
pub fn user_exception(frame: &mut TrapFrame, vector: u8, cr2: u64) {
    crate::arch::enable_interrupts();
    let Some(task) = current() else {
        log::error!("user-mode exception {vector} on a thread without a process");
        crate::sched::exit(-1);
    };
    if vector == 14 {
        if crate::params::strace() {
            log::info!("[{}] page fault at {cr2:#x} rip {:#x} error {:#x}", task.tid, frame.rip, frame.error_code);
        }
        // At the memory reserve the OOM killer makes room first; a task it kills exits on
        // its way back to user mode.
        if oom::make_room().is_err() && task.killed.load(Ordering::Acquire) {
            return;
        }
        match task.mm().handle_fault(cr2, frame.error_code, true) {
            Ok(()) => return,
            Err((signo, code)) => {
                signal::force_fault_signal(&task, signo, code, cr2);
                return;
            }
        }
    }
    use exo_abi::signal::*;
    let (signo, code, addr) = match vector {
        0 => (SIGFPE, FPE_INTDIV, frame.rip),
        1 | 3 => (SIGTRAP, SI_KERNEL, frame.rip),
        4 => (SIGSEGV, SI_KERNEL, 0),
        5 => (SIGSEGV, SI_KERNEL, 0),
        6 => (SIGILL, ILL_ILLOPN, frame.rip),
        7 => (SIGFPE, SI_KERNEL, frame.rip),
        16 => (SIGFPE, SI_KERNEL, frame.rip),
        17 => (SIGBUS, BUS_ADRALN, frame.rip),
        19 => (SIGFPE, SI_KERNEL, frame.rip),
        _ => (SIGSEGV, SI_KERNEL, 0),
    };
    signal::force_fault_signal(&task, signo, code, addr);
}

/// A kernel access to user memory (a copy routine) faulted at `addr`: resolved by the process's
/// memory map exactly as a user-mode fault would be (demand paging, copy-on-write, the areas'
/// protection, under the map's lock). Returns false for a bad address (the copy then fails with
/// EFAULT).
///
/// The map's lock is a sleeping mutex, and resolving may shoot down TLBs. A copy made with
/// interrupts off can do neither (it cannot sleep, and it may hold a spin lock another CPU
/// spins on with interrupts off, which would then never answer the shootdown): it gets EFAULT,
/// and the kernel warns once, since such a caller is a bug to fix (user memory is copied with
/// interrupts on and no spin lock held).
pub fn resolve_kernel_access(addr: u64, error: u64, interrupts_were_on: bool) -> bool {
    if addr >= crate::uaccess::USER_END {
        return false;
    }
    let Some(task) = current() else { return false };
    if !interrupts_were_on {
        static REPORTED: AtomicBool = AtomicBool::new(false);
        if !REPORTED.swap(true, Ordering::Relaxed) {
            log::warn!("user memory at {addr:#x} copied with interrupts off: EFAULT (a fault there cannot be resolved)");
        }
        return false;
    }
    crate::arch::enable_interrupts();
    // The reserve holds here too: wait for the OOM killer (sleeping is allowed here). A killed
    // task fails the copy and exits on its way out.
    let resolved = oom::make_room().is_ok() && task.mm().handle_fault(addr, error, false).is_ok();
    crate::arch::disable_interrupts();
    resolved
}
