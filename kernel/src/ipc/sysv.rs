//! What the System V IPC families (`sysv_msg`, `sysv_sem`, `sysv_shm`) and POSIX message
//! queues (`mqueue`) share: the caller's credentials and pid, the time stamps, and waiting
//! for an object to change (a generation counter and a wait queue per object, so a waiter
//! sleeps without the family's lock and learns when the object was removed).

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use exo_abi::{Errno, KResult};
use exo_sysvipc::Cred;

use crate::sched::wait::{WaitOutcome, WaitQueue};

/// The calling process as the permission checks and the pid fields see it.
pub struct Caller {
    pub pid: u32,
    pub euid: u32,
    pub egid: u32,
    pub groups: Vec<u32>,
}

impl Caller {
    /// The credentials for `exo_sysvipc`'s checks.
    pub fn cred(&self) -> Cred<'_> {
        Cred { euid: self.euid, egid: self.egid, groups: &self.groups }
    }

    pub fn is_root(&self) -> bool {
        self.euid == 0
    }
}

/// The running process (ENOSYS outside a user thread; ENOMEM copying its groups).
pub fn caller() -> KResult<Caller> {
    let task = crate::process::current().ok_or(Errno::ENOSYS)?;
    let creds = task.process.creds.lock();
    let mut groups = Vec::new();
    groups.try_reserve_exact(creds.groups.len()).map_err(|_| Errno::ENOMEM)?;
    groups.extend_from_slice(&creds.groups);
    Ok(Caller { pid: task.process.pid, euid: creds.euid, egid: creds.egid, groups })
}

/// Seconds since the epoch, for the `*_time` fields.
pub fn now() -> i64 {
    (crate::time::realtime_ns() / 1_000_000_000) as i64
}

/// The waiting side of one object.
#[derive(Default)]
pub struct Waiters {
    queue: WaitQueue,
    generation: AtomicU64,
    removed: AtomicBool,
}

impl Waiters {
    /// The generation to wait from: read under the family's lock, before dropping it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The object changed (call after the change, lock held or not): every waiter retries.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.queue.wake_all();
    }

    /// The object was removed: every waiter fails with EIDRM.
    pub fn removed(&self) {
        self.removed.store(true, Ordering::SeqCst);
        self.changed();
    }

    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::SeqCst)
    }

    /// Sleeps until the object changes after generation `seen` (Ok: retry), is removed
    /// (EIDRM), a signal comes (`interrupted`, returned as is: ERESTARTNOHAND for System V,
    /// ERESTARTSYS for POSIX queues) or `deadline` (ns since boot) passes (`timed_out`).
    pub fn wait(&self, seen: u64, deadline: Option<u64>, interrupted: Errno, timed_out: Errno) -> KResult<()> {
        let outcome = self.queue.wait_interruptible(|| self.generation() != seen, crate::sched::signal_check(), deadline);
        if self.is_removed() {
            return Err(Errno::EIDRM);
        }
        match outcome {
            WaitOutcome::Ready => Ok(()),
            WaitOutcome::Interrupted => Err(interrupted),
            WaitOutcome::TimedOut => Err(timed_out),
        }
    }
}
