//! The delivery rules: what a dequeued signal does to the receiver ([`disposition`]), whether a
//! system call interrupted by it is restarted ([`restart`]), and the checks of `rt_sigaction`
//! ([`checked_action`]) and `rt_sigprocmask` ([`changed_mask`]). Pure functions of the action,
//! the signal and the state; the kernel applies them under its locks.

use exo_abi::signal::{
    default_action, DefaultAction, SigAction, SigSet, SA_RESTART, SA_UNSUPPORTED, SIGKILL, SIGSTOP, SIG_BLOCK,
    SIG_DFL, SIG_IGN, SIG_SETMASK, SIG_UNBLOCK,
};
use exo_abi::Errno;

/// What a signal taken off the pending set does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Nothing (ignored, a default of ignore or continue, or init's protection).
    Ignore,
    /// The process stops (job control) until SIGCONT.
    Stop,
    /// The process ends, killed by the signal (`core`: with a core-dump status).
    Terminate { core: bool },
    /// The user's handler runs (a signal frame is pushed).
    Handle,
}

/// What `sig`, whose action is `action`, does to its receiver. `is_init`: the receiver is PID 1,
/// which acts on no default action except a fault's (`forced`: the kernel raised it for a
/// fault the process cannot go on from), as Linux protects init.
pub fn disposition(action: &SigAction, sig: u32, is_init: bool, forced: bool) -> Disposition {
    match action.handler {
        SIG_IGN => Disposition::Ignore,
        SIG_DFL if is_init && !forced => Disposition::Ignore,
        SIG_DFL => match default_action(sig) {
            DefaultAction::Ignore | DefaultAction::Continue => Disposition::Ignore,
            DefaultAction::Stop => Disposition::Stop,
            DefaultAction::Terminate => Disposition::Terminate { core: false },
            DefaultAction::CoreDump => Disposition::Terminate { core: true },
        },
        _ => Disposition::Handle,
    }
}

/// What becomes of a system call that returned `code` on the way back to user mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// Not an interrupted call (a result, or an ordinary error): left as it is.
    Leave,
    /// Run the call again (the instruction pointer goes back over `syscall`).
    Again,
    /// Return EINTR.
    Eintr,
}

/// Linux's restart rule for a call that returned `code`, when a handler with flags
/// `handler_flags` is about to run (`None`: no handler runs). ERESTARTNOINTR always restarts;
/// with no handler every restart code restarts except ERESTART_RESTARTBLOCK; with a handler
/// ERESTARTSYS restarts only under SA_RESTART, and the others give EINTR.
pub fn restart(code: Errno, handler_flags: Option<u64>) -> Restart {
    if !code.is_restart() {
        return Restart::Leave;
    }
    let again = match (code, handler_flags) {
        (Errno::ERESTARTNOINTR, _) => true,
        (_, None) => code != Errno::ERESTART_RESTARTBLOCK,
        (Errno::ERESTARTSYS, Some(flags)) => flags & SA_RESTART != 0,
        _ => false,
    };
    if again { Restart::Again } else { Restart::Eintr }
}

/// `rt_sigaction`'s checks and normalisation: EINVAL for an invalid signal number or a new
/// action for SIGKILL or SIGSTOP; flags Exo-OS does not support are dropped and SIGKILL and
/// SIGSTOP can never be blocked by the handler's mask. Returns the action to store (None when
/// only the old one is asked for).
pub fn checked_action(sig: u32, new: Option<SigAction>) -> Result<Option<SigAction>, Errno> {
    if !(1..=exo_abi::signal::NSIG).contains(&sig) || (new.is_some() && (sig == SIGKILL || sig == SIGSTOP)) {
        return Err(Errno::EINVAL);
    }
    Ok(new.map(|mut action| {
        action.flags &= !SA_UNSUPPORTED;
        action.mask &= !SigSet::UNBLOCKABLE.0;
        action
    }))
}

/// `rt_sigprocmask`'s new mask from the old one, `how` and `set` (None: only the old mask is
/// asked for, and `how` is not looked at, as on Linux). SIGKILL and SIGSTOP are never blocked.
pub fn changed_mask(old: SigSet, how: i32, set: Option<SigSet>) -> Result<SigSet, Errno> {
    let Some(set) = set else { return Ok(old) };
    let new = match how {
        SIG_BLOCK => old.union(set),
        SIG_UNBLOCK => old.difference(set),
        SIG_SETMASK => set,
        _ => return Err(Errno::EINVAL),
    };
    Ok(new.difference(SigSet::UNBLOCKABLE))
}
