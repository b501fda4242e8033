//! Per-process settings of the process-level calls (`prctl`, `personality`, `membarrier`,
//! `mlock`): one [`ProcExtra`] record at the end of each [`Process`], plus the two effects
//! that act at exit — the parent-death signal (`PR_SET_PDEATHSIG`) and the choice of the
//! reaper that adopts orphans (`PR_SET_CHILD_SUBREAPER`, else init).

use alloc::sync::Arc;
use super::{Pid, Process};

/// Linux's default timer slack (ns).
pub const DEFAULT_TIMER_SLACK_NS: u64 = 50_000;

/// The settings (under `Process::extra`).
#[derive(Clone, Debug)]
pub struct ProcExtra {
    /// Signal sent to this process when its parent exits (0: none). Cleared in a fork child.
    pub pdeathsig: u32,
    /// Orphaned descendants are re-parented to this process rather than to init.
    pub subreaper: bool,
    /// A descendant of a subreaper (inherited), so orphans look for one upwards.
    pub has_subreaper: bool,
    pub no_new_privs: bool,
    pub keepcaps: bool,
    pub timer_slack_ns: u64,
    pub personality: u32,
    /// MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED{,_SYNC_CORE} / _GLOBAL_EXPEDITED done.
    pub membarrier_private: bool,
    pub membarrier_sync_core: bool,
    pub membarrier_global: bool,
    /// Bytes locked by mlock/mlock2 (charged to RLIMIT_MEMLOCK for non-root).
    pub locked_bytes: u64,
    /// mlockall's MCL_* flags in force.
    pub lockall: u32,
    /// Locked ranges [start, end) (mlock/mlock2; merged; bounded by `MAX_LOCKED_RANGES`).
    pub locked: alloc::vec::Vec<(u64, u64)>,
    /// Capabilities dropped by capset from root's full sets: (effective, permitted).
    pub caps_dropped: (u64, u64),
}

/// Most separate locked ranges a process may have (ENOMEM past it).
pub const MAX_LOCKED_RANGES: usize = 4096;

impl ProcExtra {
    pub const fn new() -> ProcExtra {
        ProcExtra {
            pdeathsig: 0,
            subreaper: false,
            has_subreaper: false,
            no_new_privs: false,
            keepcaps: false,
            timer_slack_ns: DEFAULT_TIMER_SLACK_NS,
            personality: 0,
            membarrier_private: false,
            membarrier_sync_core: false,
            membarrier_global: false,
            locked_bytes: 0,
            lockall: 0,
            locked: alloc::vec::Vec::new(),
            caps_dropped: (0, 0),
        }
    }

    /// What a fork child inherits (Linux: no_new_privs, personality, timer slack, the
    /// subreaper ancestry; not the death signal, locks or membarrier registrations).
    pub fn for_child(&self) -> ProcExtra {
        ProcExtra {
            no_new_privs: self.no_new_privs,
            personality: self.personality,
            timer_slack_ns: self.timer_slack_ns,
            has_subreaper: self.has_subreaper || self.subreaper,
            ..ProcExtra::new()
        }
    }
}

impl Default for ProcExtra {
    fn default() -> Self {
        Self::new()
    }
}

/// The process that adopts the orphans of `dying`: the nearest living ancestor that is a
/// child subreaper, else init (pid 1).
pub fn reaper_for(dying: &Process) -> Option<Arc<Process>> {
    if dying.extra.lock().has_subreaper {
        let mut pid: Pid = dying.ppid();
        // Bounded: a parent chain is at most as long as the process table.
        for _ in 0..super::process_count() + 1 {
            if pid <= 1 {
                break;
            }
            let Some(ancestor) = super::process(pid) else { break };
            let alive = !ancestor.state.lock().zombie && ancestor.state.lock().group_exit.is_none();
            if alive && ancestor.extra.lock().subreaper {
                return Some(ancestor);
            }
            pid = ancestor.ppid();
        }
    }
    super::process(1)
}

/// `parent` is exiting: each child with a parent-death signal gets it (sent as by the
/// kernel, SI_USER from the parent's pid, as Linux's `group_send_sig_info`).
pub fn send_death_signals(children: &[Arc<Process>], parent_pid: Pid) {
    for child in children {
        let sig = child.extra.lock().pdeathsig;
        if sig != 0 && super::signal::valid(sig) {
            let info = exo_abi::signal::SigInfo::user(sig, exo_abi::signal::SI_USER, parent_pid as i32, 0);
            super::signal::send_to_process(child, sig, info);
        }
    }
}
