//! Job control for the console TTY: which session the terminal controls, the foreground
//! process group, the background checks of read (SIGTTIN), write with TOSTOP and settings
//! changes (SIGTTOU), and signalling a process group.

use alloc::sync::Arc;

use exo_abi::signal::{SigInfo, SIG_IGN, SI_KERNEL};
use exo_abi::{Errno, KResult};

use crate::process::{Pid, Process, Task};

/// Sends `sig` to every process of group `pgrp`.
pub fn signal_group(pgrp: Pid, sig: u32) {
    for process in crate::process::all_processes() {
        if process.pgid() == pgrp {
            crate::process::signal::send_to_process(&process, sig, SigInfo::new(sig, SI_KERNEL));
        }
    }
}

fn alive(pid: Pid) -> bool {
    crate::process::process(pid).is_some_and(|p| !p.state.lock().zombie)
}

/// The session of the terminal, dropping it when its leader is gone.
pub fn session() -> Option<Pid> {
    let sid = super::with(|tty| tty.session)?;
    if alive(sid) {
        return Some(sid);
    }
    super::with(|tty| {
        if tty.session == Some(sid) {
            tty.session = None;
            tty.pgrp = None;
        }
    });
    None
}

/// Whether the terminal is `process`'s controlling terminal.
pub fn is_ctty_of(process: &Process) -> bool {
    session().is_some_and(|sid| sid == process.sid())
}

/// Whether `task` ignores or blocks `sig`.
fn ignores_or_blocks(task: &Task, sig: u32) -> bool {
    task.signals.lock().mask.contains(sig) || task.sighand().get(sig).handler == SIG_IGN
}

/// Whether group `pgrp` of session `sid` is orphaned: no member has a parent in another group
/// of the same session.
fn orphaned(pgrp: Pid, sid: Pid) -> bool {
    !crate::process::all_processes().iter().any(|p| {
        p.pgid() == pgrp
            && !p.state.lock().zombie
            && crate::process::process(p.ppid()).is_some_and(|parent| parent.pgid() != pgrp && parent.sid() == sid)
    })
}

/// Whether the caller is in a background group of the terminal's session: its group then.
fn background(task: &Task) -> Option<Pid> {
    let process: &Arc<Process> = &task.process;
    let (sid, pgid) = (process.sid(), process.pgid());
    let (session, fg) = super::with(|tty| (tty.session, tty.pgrp));
    (session == Some(sid) && fg.is_some_and(|fg| fg != pgid) && alive(sid)).then_some(pgid)
}

/// The check before a read: a background group gets SIGTTIN (EIO if it ignores or blocks it,
/// or is orphaned).
pub fn check_read() -> KResult<()> {
    let Some(task) = crate::process::current() else { return Ok(()) };
    let Some(pgid) = background(&task) else { return Ok(()) };
    if ignores_or_blocks(&task, exo_abi::signal::SIGTTIN) || orphaned(pgid, task.process.sid()) {
        return Err(Errno::EIO);
    }
    signal_group(pgid, exo_abi::signal::SIGTTIN);
    Err(Errno::ERESTARTSYS)
}

/// The check before a write (`tostop`: TOSTOP is set) or a settings change (always): a
/// background group gets SIGTTOU, unless it ignores or blocks it (then the operation goes on).
pub fn check_change(tostop: bool) -> KResult<()> {
    if !tostop {
        return Ok(());
    }
    let Some(task) = crate::process::current() else { return Ok(()) };
    let Some(pgid) = background(&task) else { return Ok(()) };
    if ignores_or_blocks(&task, exo_abi::signal::SIGTTOU) {
        return Ok(());
    }
    if orphaned(pgid, task.process.sid()) {
        return Err(Errno::EIO);
    }
    signal_group(pgid, exo_abi::signal::SIGTTOU);
    Err(Errno::ERESTARTSYS)
}

/// TIOCSCTTY: a session leader without a controlling terminal takes this one (stealing it
/// from another session only with `force` and as root).
pub fn set_ctty(force: bool) -> KResult<()> {
    let task = crate::process::current().ok_or(Errno::EPERM)?;
    let process = &task.process;
    let (pid, sid, pgid) = (process.pid, process.sid(), process.pgid());
    let current = session();
    if current == Some(sid) {
        return Ok(());
    }
    if pid != sid {
        return Err(Errno::EPERM);
    }
    if current.is_some() && !(force && process.creds.lock().euid == 0) {
        return Err(Errno::EPERM);
    }
    super::with(|tty| {
        tty.session = Some(sid);
        tty.pgrp = Some(pgid);
    });
    Ok(())
}

/// TIOCNOTTY: the session leader gives the terminal up (its foreground group gets SIGHUP and
/// SIGCONT); another member just succeeds.
pub fn drop_ctty() -> KResult<()> {
    let task = crate::process::current().ok_or(Errno::ENOTTY)?;
    let process = &task.process;
    if !is_ctty_of(process) {
        return Err(Errno::ENOTTY);
    }
    if process.pid == process.sid() {
        let pgrp = super::with(|tty| {
            tty.session = None;
            tty.pgrp.take()
        });
        if let Some(pgrp) = pgrp {
            signal_group(pgrp, exo_abi::signal::SIGHUP);
            signal_group(pgrp, exo_abi::signal::SIGCONT);
        }
    }
    Ok(())
}

/// TIOCSPGRP: makes `pgrp` (a group of the caller's session) the foreground group.
pub fn set_foreground(pgrp: i32) -> KResult<()> {
    let task = crate::process::current().ok_or(Errno::ENOTTY)?;
    if !is_ctty_of(&task.process) {
        return Err(Errno::ENOTTY);
    }
    check_change(true)?;
    let pgrp = Pid::try_from(pgrp).map_err(|_| Errno::EINVAL)?;
    let sid = task.process.sid();
    let members: alloc::vec::Vec<_> =
        crate::process::all_processes().into_iter().filter(|p| p.pgid() == pgrp && !p.state.lock().zombie).collect();
    if members.is_empty() {
        return Err(Errno::ESRCH);
    }
    if members.iter().any(|p| p.sid() != sid) {
        return Err(Errno::EPERM);
    }
    super::with(|tty| tty.pgrp = Some(pgrp));
    Ok(())
}
