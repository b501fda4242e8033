//! POSIX per-process timers (`timer_create` … `timer_delete`).
//!
//! A timer is an [`PosixTimer`] in a global table keyed by (pid, timer id). Timers on the
//! wall and monotonic clocks are queued in `ktimer` (a CLOCK_REALTIME deadline is converted to
//! the monotonic clock when armed: a later clock_settime does not move it). Timers on the
//! process or thread CPU-time clocks are checked from the timer tick: the process keeps a
//! countdown (`ProcessTimes`' budget, the least time any of its CPU timers still needs) that
//! the tick charges; when it runs out the task's next return to user mode runs
//! [`fire_cpu_timers`], which reads the exact clocks.
//!
//! An expiry sends the timer's signal with si_code SI_TIMER, si_timerid, si_overrun and
//! si_value; while that signal is still pending, further expiries only count overruns.
//! Timers are per process (fork does not copy them), deleted at exec and exit, and bounded by
//! RLIMIT_SIGPENDING per process (EAGAIN).

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::resource::RLIMIT_SIGPENDING;
use exo_abi::signal::{SigInfo, SI_TIMER};
use exo_abi::{Errno, KResult};

use super::{Pid, Process, Task};
use crate::spinlock::SpinLock;

/// The clock a timer counts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerClock {
    /// CLOCK_REALTIME (and its alarm variant).
    Realtime,
    /// CLOCK_MONOTONIC, CLOCK_BOOTTIME (and its alarm variant).
    Monotonic,
    /// CPU time of process `pid` (all threads).
    ProcessCpu(Pid),
    /// CPU time of thread `tid`.
    ThreadCpu(Pid),
}

impl TimerClock {
    fn is_cpu(self) -> bool {
        matches!(self, TimerClock::ProcessCpu(_) | TimerClock::ThreadCpu(_))
    }

    /// The clock's value now (ns).
    pub fn now(self) -> u64 {
        match self {
            TimerClock::Realtime => crate::time::realtime_ns(),
            TimerClock::Monotonic => crate::time::since_boot_ns(),
            TimerClock::ProcessCpu(pid) => super::process(pid).map_or(0, |p| p.cpu_time_ns()),
            TimerClock::ThreadCpu(tid) => {
                super::task(tid).and_then(|t| crate::sched::lookup(t.thread_id())).map_or(0, |t| t.runtime_ns())
            }
        }
    }
}

/// How an expiry is notified.
#[derive(Clone, Copy, Debug)]
pub struct Notify {
    /// 0: SIGEV_NONE.
    pub signo: u32,
    /// SIGEV_THREAD_ID's thread (else the process).
    pub tid: Option<Pid>,
    pub value: u64,
}

struct State {
    /// Next expiry in the clock's own ns (0: disarmed).
    deadline: u64,
    interval: u64,
    /// Expiries not signalled because the previous signal was still pending.
    overrun: u64,
    /// The overrun count of the last signal sent (timer_getoverrun).
    last_overrun: u64,
}

/// One POSIX timer.
pub struct PosixTimer {
    pub id: i32,
    pub pid: Pid,
    pub clock: TimerClock,
    notify: SpinLock<Notify>,
    key: u64,
    state: SpinLock<State>,
}

static TABLE: SpinLock<BTreeMap<(Pid, i32), Arc<PosixTimer>>> = SpinLock::new(BTreeMap::new());

/// The largest overrun value reported (Linux's DELAYTIMER_MAX = INT_MAX).
const DELAYTIMER_MAX: u64 = i32::MAX as u64;

/// Creates a timer of `process`; returns its id. EAGAIN past RLIMIT_SIGPENDING timers.
/// `notify.value` defaults (no sigevent) are the caller's.
pub fn create(process: &Arc<Process>, clock: TimerClock, notify: Notify) -> KResult<i32> {
    let limit = process.rlimit(RLIMIT_SIGPENDING).rlim_cur;
    let mut table = TABLE.lock();
    let count = process.times.posix_timers.load(Ordering::Relaxed);
    if u64::from(count) >= limit {
        return Err(Errno::EAGAIN);
    }
    // The lowest free id (Linux hands them out from 0).
    let mut id = 0i32;
    for (&(_, used), _) in table.range((process.pid, 0)..=(process.pid, i32::MAX)) {
        if used != id {
            break;
        }
        id = id.checked_add(1).ok_or(Errno::EAGAIN)?;
    }
    let timer = Arc::new(PosixTimer {
        id,
        pid: process.pid,
        clock,
        notify: SpinLock::new(notify),
        key: super::ktimer::new_key(),
        state: SpinLock::new(State { deadline: 0, interval: 0, overrun: 0, last_overrun: 0 }),
    });
    table.insert((process.pid, id), timer);
    process.times.posix_timers.fetch_add(1, Ordering::Relaxed);
    Ok(id)
}

/// The timer `id` of process `pid` (EINVAL if none).
pub fn get(pid: Pid, id: i32) -> KResult<Arc<PosixTimer>> {
    TABLE.lock().get(&(pid, id)).cloned().ok_or(Errno::EINVAL)
}

/// Sets the si_value of timer `id` (the default one is the id, known once created).
pub fn set_notify_value(pid: Pid, id: i32, value: u64) -> KResult<()> {
    get(pid, id)?.notify.lock().value = value;
    Ok(())
}

/// Deletes timer `id` of `process` (EINVAL if none).
pub fn delete(process: &Process, id: i32) -> KResult<()> {
    let timer = TABLE.lock().remove(&(process.pid, id)).ok_or(Errno::EINVAL)?;
    process.times.posix_timers.fetch_sub(1, Ordering::Relaxed);
    timer.state.lock().deadline = 0;
    super::ktimer::cancel(timer.key);
    Ok(())
}

/// Deletes every timer of `process` (exec, exit).
pub fn forget_process(process: &Process) {
    let timers: Vec<Arc<PosixTimer>> = {
        let mut table = TABLE.lock();
        let ids: Vec<(Pid, i32)> = table.range((process.pid, 0)..=(process.pid, i32::MAX)).map(|(k, _)| *k).collect();
        ids.iter().filter_map(|k| table.remove(k)).collect()
    };
    for timer in timers {
        timer.state.lock().deadline = 0;
        super::ktimer::cancel(timer.key);
    }
    process.times.posix_timers.store(0, Ordering::Relaxed);
}

impl PosixTimer {
    /// The timer's setting as (time to the next expiry, period) in ns; (0, period) when
    /// disarmed.
    pub fn get(&self) -> (u64, u64) {
        let now = self.clock.now();
        let state = self.state.lock();
        if state.deadline == 0 {
            return (0, state.interval);
        }
        (state.deadline.saturating_sub(now).max(1), state.interval)
    }

    /// Arms (value > 0: relative, or absolute with `absolute`) or disarms the timer; returns the
    /// previous setting.
    pub fn set(self: &Arc<Self>, value: u64, interval: u64, absolute: bool) -> KResult<(u64, u64)> {
        if !self.clock.is_cpu() {
            super::ktimer::start_thread()?;
        }
        let old = self.get();
        let now = self.clock.now();
        let mut state = self.state.lock();
        state.overrun = 0;
        state.interval = interval;
        if value == 0 {
            state.deadline = 0;
            super::ktimer::cancel(self.key);
            return Ok(old);
        }
        // An absolute time already passed expires at once (deadline `now`, at least 1).
        let deadline = if absolute { value.max(1) } else { now.saturating_add(value) };
        state.deadline = deadline;
        if self.clock.is_cpu() {
            drop(state);
            if let Some(process) = super::process(self.pid) {
                rebudget(&process);
            }
        } else {
            let mono = match self.clock {
                TimerClock::Realtime => crate::time::since_boot_ns().saturating_add(deadline.saturating_sub(now)),
                _ => deadline,
            };
            super::ktimer::arm(self.key, mono, super::ktimer::weak_of(self))?;
        }
        Ok(old)
    }

    /// The overrun count of the last signal (timer_getoverrun).
    pub fn overrun(&self) -> u64 {
        self.state.lock().last_overrun.min(DELAYTIMER_MAX)
    }

    /// Handles an expiry at clock value `now` if due; returns the next deadline (0: none).
    fn fire(&self, now: u64) -> u64 {
        let mut state = self.state.lock();
        if state.deadline == 0 || state.deadline > now {
            return state.deadline;
        }
        let (next, missed) = super::ktimer::next_period(state.deadline, state.interval, now);
        state.overrun = state.overrun.saturating_add(missed);
        state.deadline = if state.interval == 0 { 0 } else { next };
        let next = state.deadline;
        let notify = *self.notify.lock();
        if notify.signo == 0 {
            return next;
        }
        // Still pending: one more overrun, no second signal.
        if self.signal_pending(&notify) {
            state.overrun = state.overrun.saturating_add(1);
            return next;
        }
        drop(state);
        // si_overrun is filled in when the signal is taken ([`on_dequeue`]).
        let sig = notify.signo;
        let info = SigInfo::queued(sig, SI_TIMER, self.id, 0, notify.value);
        match notify.tid.and_then(super::task) {
            Some(task) => super::signal::send_to_task(&task, sig, info),
            None => {
                if let Some(process) = super::process(self.pid) {
                    super::signal::send_to_process(&process, sig, info);
                }
            }
        }
        next
    }

    /// Whether the timer's signal is pending at its target.
    fn signal_pending(&self, notify: &Notify) -> bool {
        let sig = notify.signo;
        match notify.tid.and_then(super::task) {
            Some(task) => task.signals.lock().pending.set().contains(sig),
            None => super::process(self.pid).is_some_and(|p| p.pending.lock().set().contains(sig)),
        }
    }
}

impl super::ktimer::Expire for PosixTimer {
    fn expire(&self, _mono_now: u64) {
        let now = self.clock.now();
        let next = self.fire(now);
        if next == 0 {
            return;
        }
        let mono = match self.clock {
            TimerClock::Realtime => crate::time::since_boot_ns().saturating_add(next.saturating_sub(now)),
            _ => next,
        };
        // Re-armed under the timer's identity; a concurrent set replaced the deadline first.
        if let Some(me) = TABLE.lock().get(&(self.pid, self.id)).cloned() {
            let _ = super::ktimer::arm(self.key, mono, super::ktimer::weak_of(&me));
        }
    }
}

/// A timer's signal is being delivered (or taken by sigwaitinfo/signalfd): its si_overrun is
/// the expiries counted while it was pending, which becomes timer_getoverrun's value.
pub fn on_dequeue(pid: Pid, info: &mut SigInfo) {
    let id = info.pid();
    let Some(timer) = TABLE.lock().get(&(pid, id)).cloned() else { return };
    let overrun = {
        let mut state = timer.state.lock();
        let overrun = core::mem::take(&mut state.overrun).min(DELAYTIMER_MAX);
        state.last_overrun = overrun;
        overrun
    };
    *info = SigInfo::queued(info.signo(), SI_TIMER, id, overrun as u32, info.value());
}

/// The process's CPU timers.
fn cpu_timers(pid: Pid) -> Vec<Arc<PosixTimer>> {
    TABLE.lock().range((pid, 0)..=(pid, i32::MAX)).filter(|(_, t)| t.clock.is_cpu()).map(|(_, t)| t.clone()).collect()
}

/// Recomputes the process's CPU-timer countdown: the least CPU time any armed CPU timer still
/// needs (0: none armed).
fn rebudget(process: &Process) {
    let mut least = u64::MAX;
    for timer in cpu_timers(process.pid) {
        let deadline = timer.state.lock().deadline;
        if deadline != 0 {
            least = least.min(deadline.saturating_sub(timer.clock.now()).max(1));
        }
    }
    process.times.cpu_budget.store(if least == u64::MAX { 0 } else { least }, Ordering::Release);
}

/// From the timer tick (interrupt context, atomics only): charges `ns` to the process's
/// CPU-timer countdown; returns bit 4 when it ran out (`cputime::deliver_expired` then calls
/// [`fire_cpu_timers`]).
pub fn cpu_tick(task: &Task, ns: u64) -> u32 {
    let budget: &AtomicU64 = &task.process.times.cpu_budget;
    let mut left = budget.load(Ordering::Acquire);
    loop {
        if left == 0 {
            return 0;
        }
        let next = left.saturating_sub(ns);
        match budget.compare_exchange(left, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return if next == 0 { 4 } else { 0 },
            Err(now) => left = now,
        }
    }
}

/// Fires the due CPU-time timers of the task's process and sets the next countdown.
pub fn fire_cpu_timers(task: &Arc<Task>) {
    for timer in cpu_timers(task.process.pid) {
        timer.fire(timer.clock.now());
    }
    rebudget(&task.process);
}
