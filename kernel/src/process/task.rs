//! A task: the user-mode side of one thread — its thread id, its process, the resources it may
//! share with other tasks (memory, file table, filesystem context, signal handlers: each an
//! `Arc`, shared or copied by `clone` flags exactly as Linux does), its signal mask and pending
//! set, its alternate signal stack and its thread pointer (FS base).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use exo_abi::signal::{SigSet, StackT};
use crate::spinlock::SpinLock as Mutex;

use super::mm::Mm;
use super::signal::SigHandlers;
use super::{Pid, Process};
use crate::files::{FdTable, FsContext};
use crate::sched::{self, ThreadId};

/// Signal state private to one task.
pub struct TaskSignals {
    /// Blocked signals.
    pub mask: SigSet,
    /// Signals sent to this thread (tkill/tgkill, faults) and not yet delivered.
    pub pending: exo_signal::Pending,
    /// The alternate signal stack (`sigaltstack`).
    pub altstack: StackT,
    /// The mask to restore after the handler when `rt_sigsuspend`/`ppoll` replaced it.
    pub saved_mask: Option<SigSet>,
    /// Pending fault signals raised by the task's own instructions (`force_fault_signal`):
    /// these kill even PID 1, whose other default-action signals are dropped.
    pub forced: SigSet,
}

impl TaskSignals {
    pub fn new(mask: SigSet) -> TaskSignals {
        TaskSignals {
            mask,
            pending: exo_signal::Pending::new(),
            altstack: StackT { ss_sp: 0, ss_flags: exo_abi::signal::SS_DISABLE, _pad: 0, ss_size: 0 },
            saved_mask: None,
            forced: SigSet::empty(),
        }
    }
}

/// The user side of a thread. `repr(C)` keeps `attention` and `killed` side by side: the two
/// bytes are the return-work word the syscall entry tests with one 16-bit load (see
/// [`Task::switch_in`]).
#[repr(C)]
pub struct Task {
    pub tid: Pid,
    pub process: Arc<Process>,
    /// The scheduler thread running this task (set when it starts).
    pub thread: AtomicU64,
    pub mm: Mutex<Arc<Mm>>,
    pub files: Mutex<Arc<FdTable>>,
    pub fs: Mutex<Arc<FsContext>>,
    pub sighand: Mutex<Arc<SigHandlers>>,
    pub signals: Mutex<TaskSignals>,
    /// Something may need doing before returning to user mode (a signal may be pending, the
    /// task must exit or stop): the fast path checks only this.
    pub attention: AtomicBool,
    /// The task must exit (group exit or fatal signal), with this wait status.
    pub killed: AtomicBool,
    /// FS and GS bases of user mode (the thread pointer).
    pub fs_base: AtomicU64,
    pub gs_base: AtomicU64,
    /// `set_tid_address` / CLONE_CHILD_CLEARTID: zeroed and futex-woken at exit.
    pub clear_child_tid: AtomicU64,
    /// `set_robust_list` head and length (accepted and recorded).
    pub robust_list: AtomicU64,
    /// A `vfork` parent waits on this until the child execs or exits.
    pub vfork_done: Mutex<Option<Arc<super::Completion>>>,
    /// This thread's futex waiter, made at its first futex wait (`futex::Waiter`).
    pub futex_waiter: spin::Once<Arc<super::futex::Waiter>>,
    /// Nice value, scheduling policy and I/O priority (`sched_attr`; issue 17, time helper).
    pub sched_attr: super::sched_attr::TaskSched,
    /// The tracer's hold on this thread while it is ptraced (`ptrace.rs`; issue 17, proc).
    pub ptrace: Mutex<Option<Arc<super::ptrace::Tracee>>>,
}

impl Task {
    /// Loads this task's user segment bases into the CPU and registers the task as the CPU's
    /// user context (the scheduler calls this, through `UserContext`, when it switches to the
    /// task's thread; the thread itself once more when it gets its task, before it first
    /// enters user mode): the syscall entry then tests the task's return-work word, and
    /// [`super::with_syscall_task`] finds the task with one load.
    pub fn switch_in(&self) {
        crate::arch::set_fs_base(self.fs_base.load(Ordering::Relaxed));
        crate::arch::set_user_gs_base(self.gs_base.load(Ordering::Relaxed));
        crate::arch::percpu::set_user_context(self as *const Task as usize, self.return_work_word());
    }

    /// The 16-bit word the syscall entry tests before its fast return: `attention` and
    /// `killed` (adjacent, see the layout check below), or, when calls are traced (`strace`),
    /// a word that is never zero, so that every call ends in the traced exit work.
    fn return_work_word(&self) -> *const u16 {
        static TRACED: u16 = 1;
        if crate::params::strace() {
            &raw const TRACED
        } else {
            self.attention.as_ptr().cast::<u16>().cast_const()
        }
    }

    /// The scheduler thread id.
    pub fn thread_id(&self) -> ThreadId {
        self.thread.load(Ordering::Acquire) as ThreadId
    }

    /// The task's memory.
    pub fn mm(&self) -> Arc<Mm> {
        self.mm.lock().clone()
    }

    /// The task's file table.
    pub fn files(&self) -> Arc<FdTable> {
        self.files.lock().clone()
    }

    /// The task's filesystem context (root, cwd, umask).
    pub fn fs(&self) -> Arc<FsContext> {
        self.fs.lock().clone()
    }

    /// The task's signal handler table.
    pub fn sighand(&self) -> Arc<SigHandlers> {
        self.sighand.lock().clone()
    }

    /// Flags the task for the return-to-user work and wakes it if it is blocked or sleeping
    /// (an interruptible wait then returns EINTR or restarts).
    pub fn notify(&self) {
        self.attention.store(true, Ordering::SeqCst);
        core::sync::atomic::fence(Ordering::SeqCst);
        let id = self.thread_id();
        if id != 0 {
            sched::wake(id);
        }
    }

    /// Whether a blocking call of this task should stop waiting: an unblocked signal is pending
    /// or the task must exit.
    pub fn interrupted(&self) -> bool {
        if self.killed.load(Ordering::SeqCst) {
            return true;
        }
        if !self.attention.load(Ordering::SeqCst) {
            return false;
        }
        super::signal::has_deliverable(self)
    }
}

// The return-work word: `attention` then `killed`, 16-bit aligned.
const _: () = {
    let attention = core::mem::offset_of!(Task, attention);
    assert!(core::mem::offset_of!(Task, killed) == attention + 1 && attention % 2 == 0);
};

impl crate::sched::UserContext for Task {
    fn switch_in(&self) {
        Task::switch_in(self);
    }

    fn interrupted(&self) -> bool {
        Task::interrupted(self)
    }

    fn dying(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}
