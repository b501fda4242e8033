//! `exo-signal`: the pure rules of Linux signals that Exo-OS's process layer applies
//! (`kernel/src/process/signal.rs` holds the locks and does the waking):
//!
//! - [`Pending`]: a set of pending signals with the siginfo of each instance. A standard signal
//!   (1-31) is pending at most once — a second one while it is pending is lost, as POSIX
//!   allows; real-time signals (32-64) queue, each instance delivered with its own siginfo, in
//!   order, at most [`MAX_QUEUED`] of them.
//! - [`discarded_on_arrival`]: a signal whose action is to ignore it (explicitly, or by default)
//!   and that the receiver does not block is dropped when sent.
//! - [`may_kill`]: who may signal whom (Linux's `check_kill_permission`).
//! - [`delivery`]: what a dequeued signal does (ignore, stop, terminate, run the handler), the
//!   restart-or-EINTR rule for interrupted calls, and the checks of `rt_sigaction` and
//!   `rt_sigprocmask`.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod delivery;
#[cfg(test)]
mod delivery_tests;
#[cfg(test)]
mod tests;

use alloc::collections::VecDeque;

use exo_abi::signal::{default_action, DefaultAction, SigAction, SigInfo, SigSet, SIGCONT, SIGKILL, SIGRTMIN, SIGSTOP, SIG_DFL, SIG_IGN, SI_KERNEL};

/// Most queued instances per thread or process (Linux bounds them by RLIMIT_SIGPENDING);
/// further real-time ones are dropped.
pub const MAX_QUEUED: usize = 1024;

/// A set of pending signals with their siginfo.
#[derive(Debug, Default)]
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

    /// Makes `sig` pending with `info` (queued for a real-time signal). Returns false when the
    /// instance was dropped: a standard signal already pending, or the queue full (or out of
    /// memory).
    pub fn add(&mut self, sig: u32, info: SigInfo) -> bool {
        if self.set.contains(sig) && sig < SIGRTMIN {
            return false;
        }
        if self.queue.len() >= MAX_QUEUED || self.queue.try_reserve(1).is_err() {
            return false;
        }
        self.queue.push_back(info);
        self.set.add(sig);
        true
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
        Some(info.unwrap_or(SigInfo::new(sig, SI_KERNEL)))
    }

    /// Drops every instance of the signals in `set`.
    pub fn discard(&mut self, set: SigSet) {
        self.queue.retain(|i| !set.contains(i.si_signo as u32));
        self.set = self.set.difference(set);
    }

    /// Instances queued (every pending signal has at least one).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

/// Whether `sig`, whose action is `action`, is dropped on arrival at a receiver blocking
/// `mask`: ignored (SIG_IGN, or SIG_DFL with a default of ignore) and not blocked. SIGKILL and
/// SIGSTOP are never ignored.
pub fn discarded_on_arrival(action: &SigAction, sig: u32, mask: SigSet) -> bool {
    if mask.contains(sig) {
        return false;
    }
    match action.handler {
        SIG_IGN => sig != SIGKILL && sig != SIGSTOP,
        SIG_DFL => default_action(sig) == DefaultAction::Ignore,
        _ => false,
    }
}

/// The ids [`may_kill`] compares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
}

/// Whether a process with ids `sender` may send `sig` to a *different* process with ids
/// `target` (Linux's `check_kill_permission`): root (euid 0, standing for CAP_KILL) may; so may
/// a sender whose real or effective uid equals the target's real or saved uid; SIGCONT may also
/// go to any process of the sender's session (`same_session`).
pub fn may_kill(sender: Ids, target: Ids, sig: u32, same_session: bool) -> bool {
    let ids_match = [sender.uid, sender.euid].iter().any(|&id| id == target.uid || id == target.suid);
    sender.euid == 0 || ids_match || (sig == SIGCONT && same_session)
}
