//! Creating processes and threads: `clone` with Linux's flags (fork, vfork and pthread_create
//! are all clones), and starting the new thread in user mode. Limits on new tasks (`EAGAIN`):
//! the system-wide cap ([`max_tasks`], Linux's `threads-max`), the real user's `RLIMIT_NPROC`
//! (root exempt) and the memory reserve (`oom::check_new_task`).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use exo_abi::clone::*;
use exo_abi::signal::NSIG;
use exo_abi::{Errno, KResult};
use crate::spinlock::SpinLock as Mutex;

use super::mm::Mm;
use super::signal::SigHandlers;
use super::task::{Task, TaskSignals};
use super::{Completion, Pid, ProcState, Process};
use crate::arch::{self, LegacyFpuState, TrapFrame};
use crate::sched::{self, SpawnOptions};
use crate::uaccess::{UserAddr, UserPtr};

/// The arguments of clone/clone3 the kernel uses. `stack` (the child's stack pointer) and
/// `tls` (its thread pointer) are addresses the kernel only loads into registers; the thread
/// ids are written through `parent_tid` and `child_tid`.
#[derive(Clone, Copy, Debug)]
pub struct CloneArgs {
    pub flags: u64,
    pub stack: UserAddr,
    pub parent_tid: UserPtr<Pid>,
    pub child_tid: UserPtr<Pid>,
    pub tls: UserAddr,
    pub exit_signal: u32,
}

impl Default for CloneArgs {
    /// fork's: no flags, no addresses, no exit signal.
    fn default() -> Self {
        Self {
            flags: 0,
            stack: UserAddr::new(0),
            parent_tid: UserPtr::null(),
            child_tid: UserPtr::null(),
            tls: UserAddr::new(0),
            exit_signal: 0,
        }
    }
}

/// Flags Exo-OS implements; anything else is EINVAL.
const SUPPORTED: u64 = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_VFORK | CLONE_PARENT
    | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID
    | CLONE_DETACHED | CLONE_CHILD_SETTID | CLONE_IO | CLONE_UNTRACED | CLONE_PTRACE;

fn validate(flags: u64) -> KResult<()> {
    if flags & !SUPPORTED != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Kernel stack slots (`memory::stacks`): every thread needs one.
const KERNEL_STACK_SLOTS: usize = 1024;
/// Slots kept for kernel threads (idle and boot threads, workers).
const KERNEL_THREAD_SLOTS: usize = 64;

/// The system-wide cap on user tasks (Linux's `threads-max`): one per 64 frames of RAM (a
/// kernel stack is 8 frames; Linux lets stacks take at most 1/8 of the memory), within the
/// kernel-stack slots.
pub fn max_tasks() -> usize {
    (super::oom::total_frames() / 64).clamp(20, KERNEL_STACK_SLOTS - KERNEL_THREAD_SLOTS)
}

/// Tasks of processes whose real user is `uid` (a zombie counts once until reaped, as Linux
/// counts a task until it is released), and all tasks.
fn task_counts(uid: u32) -> (usize, usize) {
    let (mut mine, mut all) = (0, 0);
    for process in super::all_processes() {
        let tasks = process.state.lock().threads.len().max(1);
        all += tasks;
        if process.creds.lock().uid == uid {
            mine += tasks;
        }
    }
    (mine, all)
}

/// Whether `parent` may create one more task: `EAGAIN` at the system-wide cap, when the
/// memory reserve is reached, or when its real user already has `RLIMIT_NPROC` tasks (root —
/// real uid 0, or euid 0 standing for CAP_SYS_RESOURCE/CAP_SYS_ADMIN — is exempt from that one).
fn check_task_limits(parent: &Task) -> KResult<()> {
    super::oom::check_new_task()?;
    let (uid, euid) = {
        let creds = parent.process.creds.lock();
        (creds.uid, creds.euid)
    };
    let limit = parent.process.rlimit(exo_abi::resource::RLIMIT_NPROC).rlim_cur;
    let (mine, all) = task_counts(uid);
    if all >= max_tasks() {
        return Err(Errno::EAGAIN);
    }
    if uid != 0 && euid != 0 && mine as u64 >= limit {
        return Err(Errno::EAGAIN);
    }
    Ok(())
}

/// Creates a process or thread that resumes user mode from a copy of `frame` with rax = 0.
/// Returns the new thread's id.
pub fn clone(args: CloneArgs, frame: &TrapFrame) -> KResult<Pid> {
    validate(args.flags)?;
    if args.exit_signal > NSIG {
        return Err(Errno::EINVAL);
    }
    let flags = args.flags;
    let parent = super::current().ok_or(Errno::EINVAL)?;
    check_task_limits(&parent)?;
    let tid = super::alloc_pid().ok_or(Errno::EAGAIN)?;
    let mm = if flags & CLONE_VM != 0 { parent.mm() } else { parent.mm().fork()? };
    let files = if flags & CLONE_FILES != 0 { parent.files() } else { Arc::new(parent.files().duplicate()?) };
    let fs = if flags & CLONE_FS != 0 { parent.fs() } else { Arc::new(parent.fs().duplicate()) };
    let sighand = if flags & CLONE_SIGHAND != 0 { parent.sighand() } else { Arc::new(parent.sighand().duplicate()) };
    let process = if flags & CLONE_THREAD != 0 {
        parent.process.clone()
    } else {
        new_process(&parent.process, tid, flags, args.exit_signal)
    };
    let mask = parent.signals.lock().mask;
    let task = Arc::new(Task {
        tid,
        process: process.clone(),
        thread: AtomicU64::new(0),
        mm: Mutex::new(mm.clone()),
        files: Mutex::new(files),
        fs: Mutex::new(fs),
        sighand: Mutex::new(sighand),
        signals: Mutex::new(TaskSignals::new(mask)),
        attention: AtomicBool::new(false),
        killed: AtomicBool::new(false),
        fs_base: AtomicU64::new(if flags & CLONE_SETTLS != 0 { args.tls.get() } else { parent.fs_base.load(Ordering::Relaxed) }),
        gs_base: AtomicU64::new(parent.gs_base.load(Ordering::Relaxed)),
        clear_child_tid: AtomicU64::new(if flags & CLONE_CHILD_CLEARTID != 0 { args.child_tid.addr() } else { 0 }),
        robust_list: AtomicU64::new(0),
        vfork_done: Mutex::new(None),
        futex_waiter: spin::Once::new(),
        sched_attr: parent.sched_attr.inherit(),
        ptrace: Mutex::new(None),
    });
    if flags & CLONE_PARENT_SETTID != 0 {
        args.parent_tid.write(&tid)?;
    }
    let vfork = (flags & CLONE_VFORK != 0).then(|| Arc::new(Completion::new()));
    *task.vfork_done.lock() = vfork.clone();
    // The thread joins its process (and a new process its parent) before it can run.
    let killed = {
        let mut state = process.state.lock();
        state.threads.push(task.clone());
        state.group_exit.is_some()
    };
    if killed {
        task.killed.store(true, Ordering::SeqCst);
    }
    super::register_task(task.clone());
    if flags & CLONE_THREAD == 0 {
        let parent_pid = process.ppid();
        if let Some(parent_process) = super::process(parent_pid) {
            parent_process.state.lock().children.push(process.clone());
        }
        super::register_process(process.clone());
    }
    let mut child_frame = *frame;
    child_frame.rax = 0;
    if args.stack.get() != 0 {
        child_frame.rsp = args.stack.get();
    }
    let child_tid = (flags & CLONE_CHILD_SETTID != 0).then_some(args.child_tid);
    if let Err(error) = start_thread(task.clone(), child_frame, LegacyFpuState::capture(), child_tid) {
        super::unregister_task(tid);
        process.state.lock().threads.retain(|t| !Arc::ptr_eq(t, &task));
        if flags & CLONE_THREAD == 0 {
            if let Some(parent_process) = super::process(process.ppid()) {
                parent_process.state.lock().children.retain(|c| !Arc::ptr_eq(c, &process));
            }
            super::unregister_process(tid);
        }
        return Err(error);
    }
    if let Some(done) = vfork {
        let me = crate::process::current();
        done.wait_killable(|| me.as_ref().is_some_and(|me| me.killed.load(Ordering::SeqCst)));
    }
    Ok(tid)
}

fn new_process(parent: &Arc<Process>, pid: Pid, flags: u64, exit_signal: u32) -> Arc<Process> {
    let parent_state = parent.state.lock();
    let ppid = if flags & CLONE_PARENT != 0 { parent.ppid() } else { parent.pid };
    let state = ProcState {
        pgid: parent_state.pgid,
        sid: parent_state.sid,
        children: alloc::vec::Vec::new(),
        threads: alloc::vec::Vec::new(),
        group_exit: None,
        zombie: false,
        event: None,
        stopped: false,
        children_time_ns: (0, 0),
    };
    drop(parent_state);
    Arc::new(Process {
        pid,
        parent: AtomicU32::new(ppid),
        state: Mutex::new(state),
        creds: Mutex::new(parent.creds.lock().clone()),
        rlimits: Mutex::new(*parent.rlimits.lock()),
        pending: Mutex::new(exo_signal::Pending::new()),
        cont_seq: core::sync::atomic::AtomicU64::new(0),
        child_wait: crate::sched::wait::WaitQueue::new(),
        stop_wait: crate::sched::wait::WaitQueue::new(),
        comm: Mutex::new(*parent.comm.lock()),
        cmdline: Mutex::new(parent.cmdline.lock().clone()),
        start_ns: crate::time::since_boot_ns(),
        dead_threads_ns: AtomicU64::new(0),
        did_exec: AtomicBool::new(false),
        child_events: AtomicU64::new(0),
        exit_signal: AtomicU32::new(exit_signal),
        dumpable: AtomicBool::new(parent.dumpable.load(Ordering::Relaxed)),
        times: super::cputime::ProcessTimes::new(),
        exe: Mutex::new(parent.exe.lock().clone()),
        extra: Mutex::new(parent.extra.lock().for_child()),
    })
}

/// Starts a scheduler thread that runs `task` in user mode from `frame`, with the FPU
/// registers `fpu`; `child_tid` gets the thread id written in the task's own memory first.
pub fn start_thread(task: Arc<Task>, frame: TrapFrame, mut fpu: LegacyFpuState, child_tid: Option<UserPtr<Pid>>) -> KResult<()> {
    let name = task.process.comm();
    // The new thread inherits the creator's CPU affinity (fork, clone; init starts with all).
    let affinity = sched::current().affinity();
    let options = SpawnOptions { user: true, affinity, ..SpawnOptions::default() };
    let start = task.clone();
    let handle = sched::spawn_with(&name, options, move || {
        let me = sched::current();
        me.set_user(start.clone());
        start.thread.store(u64::from(me.id), Ordering::Release);
        start.mm().enter();
        start.switch_in();
        fpu.load();
        if let Some(child_tid) = child_tid {
            let _ = child_tid.write(&start.tid);
        }
        // SAFETY: this is the new thread's entry, before it has ever been in user mode: no
        // other reference to its frame exists.
        let Some(slot) = (unsafe { super::new_thread_frame() }) else { return -1 };
        *slot = frame;
        arch::sanitize_user_frame(slot);
        drop(start);
        drop(me);
        super::return_to_user(slot);
        sched::ENTER_USER
    })
    .map_err(|_| Errno::ENOMEM)?;
    task.thread.store(u64::from(handle.thread().id), Ordering::Release);
    drop(handle);
    Ok(())
}

/// A task for a new process with no parent (init), with fresh resources.
pub fn new_init_task(pid: Pid, mm: Arc<Mm>, files: Arc<crate::files::FdTable>, fs: Arc<crate::files::FsContext>) -> Arc<Task> {
    let state = ProcState {
        pgid: pid,
        sid: pid,
        children: alloc::vec::Vec::new(),
        threads: alloc::vec::Vec::new(),
        group_exit: None,
        zombie: false,
        event: None,
        stopped: false,
        children_time_ns: (0, 0),
    };
    let process = Arc::new(Process {
        pid,
        parent: AtomicU32::new(0),
        state: Mutex::new(state),
        creds: Mutex::new(super::Creds::default()),
        rlimits: Mutex::new(super::default_rlimits()),
        pending: Mutex::new(exo_signal::Pending::new()),
        cont_seq: core::sync::atomic::AtomicU64::new(0),
        child_wait: crate::sched::wait::WaitQueue::new(),
        stop_wait: crate::sched::wait::WaitQueue::new(),
        comm: Mutex::new(*b"init\0\0\0\0\0\0\0\0\0\0\0\0"),
        cmdline: Mutex::new(alloc::vec::Vec::new()),
        start_ns: crate::time::since_boot_ns(),
        dead_threads_ns: AtomicU64::new(0),
        did_exec: AtomicBool::new(false),
        child_events: AtomicU64::new(0),
        exit_signal: AtomicU32::new(exo_abi::signal::SIGCHLD),
        dumpable: AtomicBool::new(true),
        times: super::cputime::ProcessTimes::new(),
        exe: Mutex::new(None),
        extra: Mutex::new(super::extra::ProcExtra::new()),
    });
    let task = Arc::new(Task {
        tid: pid,
        process: process.clone(),
        thread: AtomicU64::new(0),
        mm: Mutex::new(mm),
        files: Mutex::new(files),
        fs: Mutex::new(fs),
        sighand: Mutex::new(Arc::new(SigHandlers::new())),
        signals: Mutex::new(TaskSignals::new(exo_abi::signal::SigSet::empty())),
        attention: AtomicBool::new(false),
        killed: AtomicBool::new(false),
        fs_base: AtomicU64::new(0),
        gs_base: AtomicU64::new(0),
        clear_child_tid: AtomicU64::new(0),
        robust_list: AtomicU64::new(0),
        vfork_done: Mutex::new(None),
        futex_waiter: spin::Once::new(),
        sched_attr: super::sched_attr::TaskSched::new(),
        ptrace: Mutex::new(None),
    });
    process.state.lock().threads.push(task.clone());
    super::register_process(process);
    super::register_task(task.clone());
    task
}
