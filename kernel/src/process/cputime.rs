//! User and system CPU time of threads and processes, and the timers that run on them.
//!
//! The scheduler measures each thread's run time exactly (at every switch) and counts the
//! timer ticks that found it in user mode and in the kernel; `exo_sched::cputime` splits the
//! exact time by that ratio (Linux's `cputime_adjust`). A process's time is its live threads'
//! plus what its ended threads left in [`ProcessTimes`]; its reaped children's is in
//! `ProcState::children_time_ns` (user, system).
//!
//! ITIMER_VIRTUAL (user time, SIGVTALRM) and ITIMER_PROF (user + system, SIGPROF) count down
//! in the timer tick ([`tick`], registered with `sched::on_tick`): atomics only, since it runs
//! in an interrupt. An expiry sets a bit and the task's `attention`; the signal is sent on the
//! way back to user mode ([`deliver_expired`]), where taking locks is allowed.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use exo_abi::signal::{SigInfo, SIGPROF, SIGVTALRM, SI_KERNEL};

use super::{Process, Task};

/// One CPU-time interval timer: ns left (0: disarmed) and the period.
pub struct CpuItimer {
    left: AtomicU64,
    interval: AtomicU64,
}

impl CpuItimer {
    const fn new() -> CpuItimer {
        CpuItimer { left: AtomicU64::new(0), interval: AtomicU64::new(0) }
    }

    /// (ns left, period).
    pub fn get(&self) -> (u64, u64) {
        (self.left.load(Ordering::Acquire), self.interval.load(Ordering::Acquire))
    }

    /// Arms (value > 0) or disarms; returns the previous (left, period).
    pub fn set(&self, value: u64, interval: u64) -> (u64, u64) {
        let old_interval = self.interval.swap(interval, Ordering::AcqRel);
        let old_left = self.left.swap(value, Ordering::AcqRel);
        (old_left, old_interval)
    }

    /// Takes `ns` of CPU time off; returns whether the timer expired (then re-armed with its
    /// period, or disarmed).
    fn charge(&self, ns: u64) -> bool {
        let mut left = self.left.load(Ordering::Acquire);
        loop {
            if left == 0 {
                return false;
            }
            let (next, expired) = if left > ns {
                (left - ns, false)
            } else {
                (self.interval.load(Ordering::Acquire), true)
            };
            match self.left.compare_exchange(left, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return expired,
                Err(now) => left = now,
            }
        }
    }
}

/// Per-process CPU-time state (a field of `Process`).
pub struct ProcessTimes {
    /// User and system time of the process's ended threads (ns).
    pub dead_user_ns: AtomicU64,
    pub dead_system_ns: AtomicU64,
    pub virtual_timer: CpuItimer,
    pub prof_timer: CpuItimer,
    /// Expired CPU timers whose signal is not sent yet: bit 0 SIGVTALRM, bit 1 SIGPROF.
    expired: AtomicU32,
    /// POSIX timers the process owns (`posix_timer`; bounded by RLIMIT_SIGPENDING).
    pub posix_timers: AtomicU32,
    /// CPU time (ns) until the earliest CPU-clock POSIX timer may be due (0: none armed).
    pub cpu_budget: AtomicU64,
}

impl ProcessTimes {
    pub const fn new() -> ProcessTimes {
        ProcessTimes {
            dead_user_ns: AtomicU64::new(0),
            dead_system_ns: AtomicU64::new(0),
            virtual_timer: CpuItimer::new(),
            prof_timer: CpuItimer::new(),
            expired: AtomicU32::new(0),
            posix_timers: AtomicU32::new(0),
            cpu_budget: AtomicU64::new(0),
        }
    }

    /// Adds an ending thread's (user, system) time.
    pub fn add_dead(&self, (user, system): (u64, u64)) {
        self.dead_user_ns.fetch_add(user, Ordering::Relaxed);
        self.dead_system_ns.fetch_add(system, Ordering::Relaxed);
    }
}

impl Default for ProcessTimes {
    fn default() -> Self {
        ProcessTimes::new()
    }
}

/// (user, system) ns of a task's thread.
pub fn thread_times(task: &Task) -> (u64, u64) {
    crate::sched::lookup(task.thread_id()).map_or((0, 0), |t| t.cpu_times())
}

/// (user, system) ns of a process: its ended threads and its live ones.
pub fn process_times(process: &Process) -> (u64, u64) {
    let mut user = process.times.dead_user_ns.load(Ordering::Relaxed);
    let mut system = process.times.dead_system_ns.load(Ordering::Relaxed);
    for task in process.threads() {
        let (u, s) = thread_times(&task);
        user += u;
        system += s;
    }
    (user, system)
}

/// (user, system) ns of a process together with its reaped children (what wait4 reports).
pub fn process_and_children(process: &Process) -> (u64, u64) {
    let (u, s) = process_times(process);
    let (cu, cs) = process.state.lock().children_time_ns;
    (u + cu, s + cs)
}

/// The timer tick's hook: charges the CPU-time interval timers of the running thread's
/// process. Interrupt context: atomics only.
fn tick(thread: &crate::sched::Thread, user: bool, ns: u64) {
    let Some(task) = thread.user_ref::<Task>() else { return };
    let times = &task.process.times;
    let mut bits = 0;
    if user && times.virtual_timer.charge(ns) {
        bits |= 1;
    }
    if times.prof_timer.charge(ns) {
        bits |= 2;
    }
    bits |= super::posix_timer::cpu_tick(task, ns);
    if bits != 0 {
        times.expired.fetch_or(bits, Ordering::AcqRel);
        task.attention.store(true, Ordering::SeqCst);
    }
}

/// Registers [`tick`] with the scheduler (at boot).
pub fn init() {
    crate::sched::on_tick(tick);
}

/// Sends the signals of expired CPU-time timers of the task's process (on the way back to
/// user mode, before pending signals are handled).
pub fn deliver_expired(task: &Arc<Task>) {
    let bits = task.process.times.expired.swap(0, Ordering::AcqRel);
    if bits == 0 {
        return;
    }
    if bits & 1 != 0 {
        super::signal::send_to_process(&task.process, SIGVTALRM, SigInfo::new(SIGVTALRM, SI_KERNEL));
    }
    if bits & 2 != 0 {
        super::signal::send_to_process(&task.process, SIGPROF, SigInfo::new(SIGPROF, SI_KERNEL));
    }
    if bits & 4 != 0 {
        super::posix_timer::fire_cpu_timers(task);
    }
}
