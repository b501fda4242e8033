//! Pending signals of a thread or a process: the set, and the siginfo of each instance. A
//! standard signal (1-31) is pending at most once — a second one while it is pending is lost,
//! as POSIX allows; real-time signals (32-64) queue, every instance delivered with its own
//! siginfo, in order.

use alloc::collections::VecDeque;

use exo_abi::signal::{SigInfo, SigSet, SIGRTMIN};

/// Most queued real-time instances per thread or process (Linux bounds them by
/// RLIMIT_SIGPENDING); further ones are dropped.
const MAX_QUEUED: usize = 1024;

/// A set of pending signals with their siginfo.
pub struct Pending {
    set: SigSet,
    queue: VecDeque<SigInfo>,
}

impl Pending {
    pub const fn new() -> Pending {
        Pending { set: SigSet::empty(), queue: VecDeque::new() }
    }

    /// The signals pending.
    pub fn set(&self) -> SigSet {
        self.set
    }


    /// Makes `sig` pending with `info` (queued for a real-time signal).
    pub fn add(&mut self, sig: u32, info: SigInfo) {
        if self.set.contains(sig) && sig < SIGRTMIN {
            return;
        }
        if self.queue.len() >= MAX_QUEUED || self.queue.try_reserve(1).is_err() {
            return;
        }
        self.queue.push_back(info);
        self.set.add(sig);
    }

    /// Takes the first instance of `sig`; the signal stays pending while instances remain.
    pub fn take(&mut self, sig: u32) -> Option<SigInfo> {
        if !self.set.contains(sig) {
            return None;
        }
        let index = self.queue.iter().position(|i| i.si_signo as u32 == sig);
        let info = index.and_then(|i| self.queue.remove(i));
        if !self.queue.iter().any(|i| i.si_signo as u32 == sig) {
            self.set.remove(sig);
        }
        Some(info.unwrap_or(SigInfo::new(sig, exo_abi::signal::SI_KERNEL)))
    }

    /// Drops every instance of the signals in `set`.
    pub fn discard(&mut self, set: SigSet) {
        self.queue.retain(|i| !set.contains(i.si_signo as u32));
        self.set = self.set.difference(set);
    }
}
