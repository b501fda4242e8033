//! A task's scheduling attributes as user space sets them: nice value (`setpriority`),
//! policy and realtime priority (`sched_setscheduler`, `sched_setattr`), I/O priority
//! (`ioprio_set`). Inherited by fork and clone (except what SCHED_RESET_ON_FORK resets).
//!
//! The scheduler's own notion is its `Priority` class: SCHED_FIFO/RR map to `Realtime`,
//! SCHED_IDLE to `Idle`, the others to `Normal` ([`priority_of`]); it has no weights, so the
//! nice value is recorded (shown by getpriority and /proc/<pid>/stat) without changing CPU
//! shares.

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};

/// Linux's policies.
pub const SCHED_OTHER: u32 = 0;
pub const SCHED_FIFO: u32 = 1;
pub const SCHED_RR: u32 = 2;
pub const SCHED_BATCH: u32 = 3;
pub const SCHED_IDLE: u32 = 5;
pub const SCHED_DEADLINE: u32 = 6;

/// The scheduling attributes of one task.
pub struct TaskSched {
    pub nice: AtomicI32,
    pub policy: AtomicU32,
    pub rt_priority: AtomicU32,
    pub ioprio: AtomicU32,
    pub reset_on_fork: AtomicBool,
}

impl TaskSched {
    pub const fn new() -> TaskSched {
        TaskSched {
            nice: AtomicI32::new(0),
            policy: AtomicU32::new(SCHED_OTHER),
            rt_priority: AtomicU32::new(0),
            ioprio: AtomicU32::new(0),
            reset_on_fork: AtomicBool::new(false),
        }
    }

    /// The attributes a child created by this task starts with.
    pub fn inherit(&self) -> TaskSched {
        let reset = self.reset_on_fork.load(Ordering::Relaxed);
        let mut policy = self.policy.load(Ordering::Relaxed);
        let mut rt = self.rt_priority.load(Ordering::Relaxed);
        let mut nice = self.nice.load(Ordering::Relaxed);
        if reset {
            if matches!(policy, SCHED_FIFO | SCHED_RR) {
                policy = SCHED_OTHER;
                rt = 0;
            }
            nice = nice.max(0);
        }
        TaskSched {
            nice: AtomicI32::new(nice),
            policy: AtomicU32::new(policy),
            rt_priority: AtomicU32::new(rt),
            ioprio: AtomicU32::new(self.ioprio.load(Ordering::Relaxed)),
            reset_on_fork: AtomicBool::new(false),
        }
    }

    pub fn nice(&self) -> i32 {
        self.nice.load(Ordering::Relaxed)
    }
}

impl Default for TaskSched {
    fn default() -> Self {
        TaskSched::new()
    }
}

/// The scheduler class for a policy.
pub fn priority_of(policy: u32) -> crate::sched::Priority {
    match policy {
        SCHED_FIFO | SCHED_RR => crate::sched::Priority::Realtime,
        SCHED_IDLE => crate::sched::Priority::Idle,
        _ => crate::sched::Priority::Normal,
    }
}
