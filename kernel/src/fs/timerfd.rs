//! timerfd: a timer behind a descriptor. Each expiry adds to a count that an 8-byte read
//! takes (waiting while it is 0, EAGAIN when non-blocking, EINVAL for a shorter buffer);
//! readable (poll/select/epoll) while the count is non-zero. The timer is a
//! `process::ktimer` entry on the monotonic clock; a CLOCK_REALTIME timer is re-evaluated when
//! the wall clock is set, and one armed with TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET then
//! fails its reads with ECANCELED (once) instead.

use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::poll::POLLIN;
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};

use super::file::{FileOps, OpenFile, PollBits};
use crate::process::ktimer;
use crate::sched::pollwait::{PollQueue, PollTable};
use crate::sched::wait::{WaitOutcome, WaitQueue};
use crate::spinlock::SpinLock;

struct State {
    /// Next expiry on the timer's clock (ns; 0: disarmed).
    deadline: u64,
    interval: u64,
    /// Expiries not read yet.
    ticks: u64,
    /// The wall-clock generation a cancelable timer was armed at (None: not cancelable).
    cancel_gen: Option<u64>,
    canceled: bool,
}

/// A timerfd object.
pub struct TimerFd {
    realtime: bool,
    key: u64,
    me: Weak<TimerFd>,
    state: SpinLock<State>,
    changed: WaitQueue,
    events: AtomicU64,
    pollers: Arc<PollQueue>,
}

/// Creates a timerfd on the realtime (`realtime`) or monotonic clock; `flags` are the O_* bits
/// kept on the file (O_NONBLOCK).
pub fn new(realtime: bool, flags: u32) -> Arc<OpenFile> {
    let ops = Arc::new_cyclic(|me| TimerFd {
        realtime,
        key: ktimer::new_key(),
        me: me.clone(),
        state: SpinLock::new(State { deadline: 0, interval: 0, ticks: 0, cancel_gen: None, canceled: false }),
        changed: WaitQueue::new(),
        events: AtomicU64::new(0),
        pollers: Arc::new(PollQueue::new()),
    });
    OpenFile::new(ops, exo_abi::fcntl::O_RDWR | flags)
}

/// The timerfd behind `file` (EINVAL if it is not one).
pub fn of(file: &OpenFile) -> KResult<&TimerFd> {
    file.ops.as_any().and_then(|a| a.downcast_ref::<TimerFd>()).ok_or(Errno::EINVAL)
}

impl TimerFd {
    fn now(&self) -> u64 {
        if self.realtime {
            crate::time::realtime_ns()
        } else {
            crate::time::since_boot_ns()
        }
    }

    /// The monotonic time at which clock value `deadline` comes (clock now `now`).
    fn mono_of(&self, deadline: u64, now: u64) -> u64 {
        if self.realtime {
            crate::time::since_boot_ns().saturating_add(deadline.saturating_sub(now))
        } else {
            deadline
        }
    }

    fn notify(&self) {
        self.events.fetch_add(1, Ordering::SeqCst);
        self.changed.wake_all();
        self.pollers.notify();
    }

    /// (time to the next expiry, period) in ns.
    pub fn get(&self) -> (u64, u64) {
        let now = self.now();
        let state = self.state.lock();
        let left = if state.deadline == 0 { 0 } else { state.deadline.saturating_sub(now).max(1) };
        (left, state.interval)
    }

    /// Arms (value > 0; absolute with `absolute`) or disarms; returns the previous setting.
    /// Arming or disarming drops unread expiries, as Linux does.
    pub fn set(&self, value: u64, interval: u64, absolute: bool, cancel_on_set: bool) -> KResult<(u64, u64)> {
        ktimer::start_thread()?;
        let old = self.get();
        let now = self.now();
        let mut state = self.state.lock();
        state.ticks = 0;
        state.canceled = false;
        state.interval = interval;
        state.cancel_gen = (self.realtime && absolute && cancel_on_set).then(ktimer::clock_set_generation);
        if value == 0 {
            state.deadline = 0;
            ktimer::cancel(self.key);
            return Ok(old);
        }
        let deadline = if absolute { value.max(1) } else { now.saturating_add(value) };
        state.deadline = deadline;
        let weak: Weak<dyn ktimer::Expire> = self.me.clone();
        ktimer::arm(self.key, self.mono_of(deadline, now), weak)?;
        Ok(old)
    }

    /// Waits until a read may succeed (interruptibly).
    fn wait(&self, file: &OpenFile) -> KResult<()> {
        if file.nonblocking() {
            return Err(Errno::EAGAIN);
        }
        let outcome = self.changed.wait_interruptible(
            || {
                let s = self.state.lock();
                s.ticks > 0 || s.canceled
            },
            crate::sched::signal_check(),
            None,
        );
        if outcome == WaitOutcome::Interrupted {
            return Err(Errno::ERESTARTSYS);
        }
        Ok(())
    }
}

impl ktimer::Expire for TimerFd {
    fn expire(&self, _mono_now: u64) {
        let now = self.now();
        let mut state = self.state.lock();
        if state.deadline == 0 {
            return;
        }
        if state.cancel_gen.is_some_and(|gen| gen != ktimer::clock_set_generation()) {
            state.canceled = true;
            state.cancel_gen = None;
            drop(state);
            self.notify();
            return;
        }
        if state.deadline > now {
            // Not due (the wall clock was set back): wait again for the same clock time.
            let mono = self.mono_of(state.deadline, now);
            let weak: Weak<dyn ktimer::Expire> = self.me.clone();
            let _ = ktimer::arm(self.key, mono, weak);
            return;
        }
        let (next, missed) = ktimer::next_period(state.deadline, state.interval, now);
        state.ticks = state.ticks.saturating_add(1 + missed);
        if state.interval == 0 {
            state.deadline = 0;
        } else {
            state.deadline = next;
            let weak: Weak<dyn ktimer::Expire> = self.me.clone();
            let _ = ktimer::arm(self.key, self.mono_of(next, now), weak);
        }
        drop(state);
        self.notify();
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        ktimer::cancel(self.key);
    }
}

impl FileOps for TimerFd {
    fn read(&self, file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        loop {
            {
                let mut state = self.state.lock();
                if state.canceled {
                    state.canceled = false;
                    return Err(Errno::ECANCELED);
                }
                if state.ticks > 0 {
                    let ticks = core::mem::take(&mut state.ticks);
                    drop(state);
                    buf[..8].copy_from_slice(&ticks.to_ne_bytes());
                    return Ok(8);
                }
            }
            self.wait(file)?;
        }
    }

    fn write(&self, _file: &OpenFile, _buf: &[u8]) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(Stat { st_mode: 0o600, st_nlink: 1, st_blksize: 4096, ..Stat::default() })
    }

    fn poll(&self) -> PollBits {
        let state = self.state.lock();
        if state.ticks > 0 || state.canceled {
            POLLIN as u32
        } else {
            0
        }
    }

    fn poll_register(&self, table: &mut PollTable) -> KResult<()> {
        table.add_shared(&self.pollers).map(|_| ())
    }

    fn poll_events(&self) -> u64 {
        self.events.load(Ordering::SeqCst)
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}
