//! Read-only views of processes and of the scheduler for `/proc` and other reporters: who may
//! inspect whom ([`may_inspect`], Linux's ptrace read-access rule), a consistent snapshot of
//! one process ([`ProcInfo`]: ids, state letter, credentials, times, memory sizes), the number
//! of runnable threads, per-CPU idle time, and a Linux-style load average (exponentially
//! decayed run-queue lengths, sampled lazily when read).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_sched::Priority;
use crate::spinlock::SpinLock as Mutex;

use super::{Creds, Pid, Process, Task};
use crate::sched::{self, ThreadState};

/// What `/proc/<pid>/stat` and `status` report about a process.
pub struct ProcInfo {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgid: Pid,
    pub sid: Pid,
    pub comm: String,
    /// `R`, `S`, `T` or `Z`.
    pub state: u8,
    pub threads: usize,
    pub creds: Creds,
    /// CPU time of the process (ns) and of its reaped children (user, system).
    pub cpu_ns: u64,
    pub children_ns: (u64, u64),
    /// Start time, ns since boot.
    pub start_ns: u64,
    /// Total size of the memory areas (bytes) and resident pages.
    pub vm_bytes: u64,
    pub rss_pages: usize,
    /// Blocked signals of the first thread.
    pub sig_blocked: u64,
}

/// Which of the inspector's ids are compared (Linux's PTRACE_MODE_FSCREDS / _REALCREDS).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CredMode {
    /// The file-system uid and gid (`/proc/<pid>/…` files and links).
    Fs,
    /// The real uid and gid (`get_robust_list`, `process_vm_readv`).
    Real,
}

/// Whether `me` may read `target`'s private state — its memory map, descriptors, cwd and
/// root, robust-list head (Linux's `ptrace_may_access(PTRACE_MODE_READ_*)`): the ids must match
/// ([`same_owner`]) and the target must be "dumpable" (it has not changed credentials since its
/// last exec, or said PR_SET_DUMPABLE), unless `me` is the target or root.
pub fn may_inspect(me: &Process, target: &Process, mode: CredMode) -> bool {
    same_owner(me, target, mode)
        && (me.pid == target.pid
            || target.dumpable.load(core::sync::atomic::Ordering::Relaxed)
            || me.creds.lock().euid == 0)
}

/// Whether `me` owns `target` by Linux's id rule (also `prlimit64`'s, which ignores the
/// dumpable flag): always within one process; root (CAP_SYS_PTRACE / CAP_SYS_RESOURCE) always;
/// otherwise the inspector's uid must equal the target's real, effective and saved uid, and its
/// gid the target's three gids. The two credential locks are taken one after the other, never
/// nested.
pub fn same_owner(me: &Process, target: &Process, mode: CredMode) -> bool {
    if me.pid == target.pid {
        return true;
    }
    let (euid, uid, gid) = {
        let c = me.creds.lock();
        match mode {
            CredMode::Fs => (c.euid, c.fsuid, c.fsgid),
            CredMode::Real => (c.euid, c.uid, c.gid),
        }
    };
    if euid == 0 {
        return true;
    }
    let c = target.creds.lock();
    [c.uid, c.euid, c.suid].iter().all(|&u| u == uid) && [c.gid, c.egid, c.sgid].iter().all(|&g| g == gid)
}

/// The process's first live thread (none for a zombie).
pub fn main_task(process: &Process) -> Option<Arc<Task>> {
    process.state.lock().threads.first().cloned()
}

/// The state letter of a process as `ps` shows it.
fn state_letter(zombie: bool, stopped: bool, threads: &[Arc<Task>]) -> u8 {
    if zombie || threads.is_empty() {
        return b'Z';
    }
    if stopped {
        return b'T';
    }
    let running = threads.iter().any(|t| {
        sched::lookup(t.thread_id()).is_some_and(|th| matches!(th.state(), ThreadState::Running | ThreadState::Ready))
    });
    if running {
        b'R'
    } else {
        b'S'
    }
}

/// A snapshot of `process` (locks are taken one at a time, never the `Mm` lock while another
/// is held).
pub fn snapshot(process: &Process) -> ProcInfo {
    let (ppid, pgid, sid, zombie, stopped, threads, children_ns) = {
        let st = process.state.lock();
        (process.ppid(), st.pgid, st.sid, st.zombie, st.stopped, st.threads.clone(), st.children_time_ns)
    };
    let state = state_letter(zombie, stopped, &threads);
    let (rss_pages, vm_bytes) = threads.first().map_or((0, 0), |t| t.mm().usage());
    let sig_blocked = threads.first().map_or(0, |t| t.signals.lock().mask.0);
    let creds = process.creds.lock().clone();
    ProcInfo {
        pid: process.pid,
        ppid,
        pgid,
        sid,
        comm: process.comm(),
        state,
        threads: threads.len(),
        creds,
        cpu_ns: process.cpu_time_ns(),
        children_ns,
        start_ns: process.start_ns,
        vm_bytes,
        rss_pages,
        sig_blocked,
    }
}

/// Runnable threads (running or queued) outside the idle threads, and all threads.
pub fn thread_counts() -> (usize, usize) {
    let (mut runnable, mut total) = (0, 0);
    sched::for_each_thread(|t| {
        if t.priority == Priority::Idle || t.state() == ThreadState::Exited {
            return;
        }
        total += 1;
        if matches!(t.state(), ThreadState::Running | ThreadState::Ready) {
            runnable += 1;
        }
    });
    (runnable, total)
}

/// Time (ns) the idle thread of each CPU has run, indexed by CPU (the thread's last CPU).
pub fn idle_ns_per_cpu() -> Vec<u64> {
    let cpus = sched::online().map(|c| c.index() + 1).max().unwrap_or(1);
    let mut idle = alloc::vec![0u64; cpus];
    sched::for_each_thread(|t| {
        if t.priority == Priority::Idle {
            if let Some(slot) = idle.get_mut(t.last_cpu()) {
                *slot += t.runtime_ns();
            }
        }
    });
    idle
}

/// Fixed-point load averages as Linux keeps them (11 fractional bits), sampled every 5 s.
const FSHIFT: u32 = 11;
const FIXED_1: u64 = 1 << FSHIFT;
/// `FIXED_1 / exp(5 s / 1 min)`, `/ exp(5 s / 5 min)`, `/ exp(5 s / 15 min)`.
const EXP: [u64; 3] = [1884, 2014, 2037];
const SAMPLE_NS: u64 = 5_000_000_000;

/// Time of the last sample (ns since boot) and the three averages.
static LOAD: Mutex<(u64, [u64; 3])> = Mutex::new((0, [0; 3]));

/// The 1, 5 and 15-minute load averages, in units of 1/100 (for "0.42"). The run-queue length
/// is sampled when this is called: the 5-second steps missed since the last call are applied
/// with the current length (a lazy version of Linux's periodic calc_load).
pub fn load_average() -> [u64; 3] {
    let now = crate::time::since_boot_ns();
    let (runnable, _) = thread_counts();
    // The reader itself is running: do not count it (Linux samples from the timer).
    let active = (runnable.saturating_sub(1) as u64) * FIXED_1;
    let mut load = LOAD.lock();
    let steps = now.saturating_sub(load.0) / SAMPLE_NS;
    for _ in 0..steps.min(2000) {
        for (avg, exp) in load.1.iter_mut().zip(EXP) {
            *avg = (*avg * exp + active * (FIXED_1 - exp)) >> FSHIFT;
        }
    }
    load.0 += steps * SAMPLE_NS;
    let averages = load.1;
    drop(load);
    averages.map(|a| (a * 100 + FIXED_1 / 200) >> FSHIFT)
}
