//! Signals: handler tables, who may signal whom (`may_send`), sending (kill, tkill, faults,
//! SIGCHLD), the protection of PID 1, job-control stops and continues, and delivery on the way
//! back to user mode — default actions, handlers (through `signal_frame`), and the
//! restart-or-EINTR decision for interrupted system calls. The pure rules (what a signal does,
//! when a call restarts, sigaction and sigprocmask checks) are `exo_signal::delivery`'s.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use exo_abi::signal::*;
use exo_signal::delivery::{disposition, Disposition, Restart};
use exo_abi::wait;
use exo_abi::{Errno, KResult};
use crate::spinlock::SpinLock as Mutex;

use super::task::Task;
use super::{ChildEvent, Process};
use crate::arch::TrapFrame;

/// A table of signal actions (shared by threads, and by processes cloned with CLONE_SIGHAND).
pub struct SigHandlers {
    pub actions: Mutex<[SigAction; NSIG as usize]>,
}

impl SigHandlers {
    pub fn new() -> SigHandlers {
        SigHandlers { actions: Mutex::new([SigAction::default(); NSIG as usize]) }
    }

    /// A copy (fork without CLONE_SIGHAND).
    pub fn duplicate(&self) -> SigHandlers {
        SigHandlers { actions: Mutex::new(*self.actions.lock()) }
    }

    /// The action for `sig` (1..=64).
    pub fn get(&self, sig: u32) -> SigAction {
        self.actions.lock().get(sig as usize - 1).copied().unwrap_or_default()
    }

    /// After exec: handled signals go back to their default action; ignored ones stay ignored.
    pub fn reset_for_exec(&self) {
        for action in self.actions.lock().iter_mut() {
            if action.handler != SIG_IGN {
                *action = SigAction::default();
            }
        }
    }
}

/// Whether `sig` is a valid signal number.
pub fn valid(sig: u32) -> bool {
    (1..=NSIG).contains(&sig)
}

/// Whether `sig` would be discarded on arrival: ignored (explicitly, or by default) and not
/// blocked by `mask` (the rule is `exo_signal::discarded_on_arrival`).
fn ignored(handlers: &SigHandlers, sig: u32, mask: SigSet) -> bool {
    exo_signal::discarded_on_arrival(&handlers.get(sig), sig, mask)
}

/// Whether `sender` may send `sig` to `target` from user space (Linux's
/// `check_kill_permission`): always within one process; otherwise the sender must be root
/// (CAP_KILL), or its real or effective uid must equal the target's real or saved uid; SIGCONT
/// may also go to any process of the sender's session. (The two credential locks are taken one
/// after the other, never nested.)
pub fn may_send(sender: &Process, target: &Process, sig: u32) -> bool {
    if sender.pid == target.pid {
        return true;
    }
    let ids = |process: &Process| {
        let creds = process.creds.lock();
        exo_signal::Ids { uid: creds.uid, euid: creds.euid, suid: creds.suid }
    };
    let (from, to) = (ids(sender), ids(target));
    exo_signal::may_kill(from, to, sig, sig == SIGCONT && sender.sid() == target.sid())
}

/// Init is unkillable (Linux's SIGNAL_UNKILLABLE): a signal sent to PID 1 whose action there
/// is the default one is dropped on arrival — SIGKILL and SIGSTOP included. Only a fault in
/// init's own code (`force_fault_signal`) can still end it.
fn dropped_by_init(process: &Process, handlers: &SigHandlers, sig: u32) -> bool {
    process.pid == 1 && handlers.get(sig).handler == SIG_DFL
}

/// Effects of a signal at the moment it is sent: SIGCONT resumes a stopped process and
/// discards pending stops; a stop signal discards a pending SIGCONT; SIGKILL ends the process.
fn on_generate(process: &Arc<Process>, sig: u32) {
    if sig == SIGKILL {
        kill_process(process, wait::signaled_status(SIGKILL, false));
        return;
    }
    if sig == SIGCONT {
        let stop_set = SigSet::of(SIGSTOP).union(SigSet::of(SIGTSTP)).union(SigSet::of(SIGTTIN)).union(SigSet::of(SIGTTOU));
        // Each discard bumps `cont_seq` under the same lock a dequeue reads it under, so a
        // stop signal dequeued before the discard sees a changed value when it would stop.
        {
            let mut shared = process.pending.lock();
            shared.discard(stop_set);
            process.cont_seq.fetch_add(1, Ordering::SeqCst);
        }
        for task in process.threads() {
            let mut signals = task.signals.lock();
            signals.pending.discard(stop_set);
            process.cont_seq.fetch_add(1, Ordering::SeqCst);
        }
        let resumed = {
            let mut state = process.state.lock();
            let was = state.stopped;
            state.stopped = false;
            if was {
                state.event = Some(ChildEvent::Continued);
            }
            was
        };
        if resumed {
            process.stop_wait.wake_all();
            notify_parent(process, CLD_CONTINUED, SIGCONT as i32);
        }
    } else if matches!(sig, SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU) {
        process.pending.lock().discard(SigSet::of(SIGCONT));
        for task in process.threads() {
            task.signals.lock().pending.discard(SigSet::of(SIGCONT));
        }
    }
}

/// Called after every signal is queued (signalfd wakes its readers and pollers; registered
/// by the file-system layer, above this one).
static SEND_HOOK: spin::Once<fn()> = spin::Once::new();

/// Registers [`SEND_HOOK`] (once).
pub fn on_send(hook: fn()) {
    SEND_HOOK.call_once(|| hook);
}

fn sent() {
    if let Some(hook) = SEND_HOOK.get() {
        hook();
    }
}

/// Sends `sig` to a process: queued on the process and a thread that does not block it is
/// woken (every such thread: whichever returns to user mode first takes it).
pub fn send_to_process(process: &Arc<Process>, sig: u32, info: SigInfo) {
    if process.state.lock().zombie {
        return;
    }
    let threads = process.threads();
    let Some(first) = threads.first() else { return };
    let handlers = first.sighand();
    if dropped_by_init(process, &handlers, sig) {
        return;
    }
    on_generate(process, sig);
    if sig == SIGKILL {
        return;
    }
    let all_block = threads.iter().all(|t| t.signals.lock().mask.contains(sig));
    if !all_block && ignored(&handlers, sig, SigSet::empty()) {
        return;
    }
    if all_block && ignored(&handlers, sig, SigSet::empty()) && sig != SIGCHLD {
        // Blocked signals stay pending even when ignored (Linux): keep it.
    }
    process.pending.lock().add(sig, info);
    for task in threads.iter().filter(|t| !t.signals.lock().mask.contains(sig)) {
        task.notify();
    }
    sent();
}

/// Sends `sig` to one thread (tkill, tgkill, faults).
pub fn send_to_task(task: &Arc<Task>, sig: u32, info: SigInfo) {
    let process = task.process.clone();
    if process.state.lock().zombie {
        return;
    }
    let handlers = task.sighand();
    if dropped_by_init(&process, &handlers, sig) {
        return;
    }
    on_generate(&process, sig);
    if sig == SIGKILL {
        return;
    }
    let mask = task.signals.lock().mask;
    if ignored(&handlers, sig, mask) {
        return;
    }
    task.signals.lock().pending.add(sig, info);
    task.notify();
    sent();
}

/// A fault signal caused by the task's own instruction: it cannot be blocked or ignored (the
/// action is reset to the default first, as Linux's force_sig does), so the task either runs
/// its handler or dies.
pub fn force_fault_signal(task: &Arc<Task>, sig: u32, code: i32, addr: u64) {
    {
        let handlers = task.sighand();
        let mut actions = handlers.actions.lock();
        let blocked = task.signals.lock().mask.contains(sig);
        if let Some(action) = actions.get_mut(sig as usize - 1) {
            if action.handler == SIG_IGN || blocked {
                *action = SigAction::default();
            }
        }
    }
    {
        let mut signals = task.signals.lock();
        signals.mask.remove(sig);
        signals.forced.add(sig);
        signals.pending.add(sig, SigInfo::fault(sig, code, addr));
    }
    task.attention.store(true, Ordering::SeqCst);
}

/// Makes every thread of `process` exit with wait status `status` (SIGKILL, exit_group, a
/// fatal signal). A stopped process is resumed so its threads can exit.
pub fn kill_process(process: &Arc<Process>, status: i32) {
    let threads = {
        let mut state = process.state.lock();
        if state.group_exit.is_none() {
            state.group_exit = Some(status);
        }
        state.stopped = false;
        state.threads.clone()
    };
    process.stop_wait.wake_all();
    for task in threads {
        task.killed.store(true, Ordering::SeqCst);
        task.notify();
    }
}

/// Sends SIGCHLD (or the child's exit signal) about `child` to its parent and wakes the
/// parent's waiters. `code` is CLD_*, `status` the si_status.
pub fn notify_parent(child: &Arc<Process>, code: i32, status: i32) {
    let Some(parent) = super::process(child.ppid()) else { return };
    parent.child_events.fetch_add(1, Ordering::SeqCst);
    parent.child_wait.wake_all();
    let sig = if code == CLD_EXITED || code == CLD_KILLED || code == CLD_DUMPED {
        child.exit_signal.load(Ordering::Relaxed)
    } else {
        SIGCHLD
    };
    if !valid(sig) {
        return;
    }
    if sig == SIGCHLD && (code == CLD_STOPPED || code == CLD_CONTINUED) {
        let nocldstop = parent.threads().first().is_some_and(|t| t.sighand().get(SIGCHLD).flags & SA_NOCLDSTOP != 0);
        if nocldstop {
            return;
        }
    }
    let uid = child.creds.lock().uid;
    let (user, system) = super::cputime::process_times(child);
    let info = SigInfo::child(code, child.pid as i32, uid, status, (user / 10_000_000) as i64, (system / 10_000_000) as i64);
    send_to_process(&parent, sig, info);
}

/// Whether `task` has a signal it would act on now.
pub fn has_deliverable(task: &Task) -> bool {
    let signals = task.signals.lock();
    let pending = signals.pending.set().union(task.process.pending.lock().set());
    !pending.difference(signals.mask).is_empty()
}

/// Takes the next deliverable signal: thread-directed first, lowest number first. The third
/// value is the process's `cont_seq` read under the lock the signal came from.
fn dequeue(task: &Task) -> Option<(u32, SigInfo, u64)> {
    let mask = task.signals.lock().mask;
    dequeue_stamped(task, mask)
}

/// Takes the lowest pending signal not in `mask` (thread-directed first).
pub fn dequeue_from(task: &Task, mask: SigSet) -> Option<(u32, SigInfo)> {
    dequeue_stamped(task, mask).map(|(sig, info, _)| (sig, info))
}

fn dequeue_stamped(task: &Task, mask: SigSet) -> Option<(u32, SigInfo, u64)> {
    let (sig, mut info, seq) = dequeue_locked(task, mask)?;
    // A POSIX timer's signal reports the expiries missed while it was pending (issue 17).
    if info.si_code == exo_abi::signal::SI_TIMER {
        super::posix_timer::on_dequeue(task.process.pid, &mut info);
    }
    Some((sig, info, seq))
}

fn dequeue_locked(task: &Task, mask: SigSet) -> Option<(u32, SigInfo, u64)> {
    let cont_seq = &task.process.cont_seq;
    let mut signals = task.signals.lock();
    if let Some(sig) = signals.pending.set().difference(mask).first() {
        return signals.pending.take(sig).map(|info| (sig, info, cont_seq.load(Ordering::SeqCst)));
    }
    drop(signals);
    let mut shared = task.process.pending.lock();
    let sig = shared.set().difference(mask).first()?;
    shared.take(sig).map(|info| (sig, info, cont_seq.load(Ordering::SeqCst)))
}

/// Stops the process (job control) and waits for SIGCONT or SIGKILL. `cont_seq` is the
/// value read when the stop signal was dequeued: a SIGCONT sent since then cancels the stop.
fn stop_process(task: &Arc<Task>, sig: u32, cont_seq: u64) {
    let process = task.process.clone();
    let newly = {
        let mut state = process.state.lock();
        if process.cont_seq.load(Ordering::SeqCst) != cont_seq {
            return;
        }
        let newly = !state.stopped;
        state.stopped = true;
        state.event = Some(ChildEvent::Stopped(sig));
        newly
    };
    if newly {
        for other in process.threads() {
            if !Arc::ptr_eq(&other, task) {
                other.notify();
            }
        }
        notify_parent(&process, CLD_STOPPED, sig as i32);
    }
    wait_while_stopped(task);
}

fn wait_while_stopped(task: &Arc<Task>) {
    let process = task.process.clone();
    process.stop_wait.wait_until(|| !process.state.lock().stopped || task.killed.load(Ordering::SeqCst));
}

/// Converts an interrupted syscall's restart code for the way back to user mode.
/// `handler` is the action of the handler about to run (None: no handler runs).
fn fix_syscall_restart(frame: &mut TrapFrame, handler: Option<&SigAction>) {
    if frame.vector != crate::arch::SYSCALL_VECTOR {
        return;
    }
    let result = frame.rax as i64;
    if result >= 0 {
        return;
    }
    match exo_signal::delivery::restart(Errno(-result as i32), handler.map(|action| action.flags)) {
        Restart::Leave => {}
        Restart::Again => {
            frame.rax = frame.error_code;
            frame.rip -= 2;
        }
        Restart::Eintr => frame.rax = Errno::EINTR.as_return() as u64,
    }
}

/// The return-to-user work: wait while stopped, act on pending signals (default actions
/// here; at most one handler frame is set up per return). Returns the wait status to exit with
/// when the task must die instead (the caller exits, holding no references).
pub fn handle_pending(task: &Arc<Task>, frame: &mut TrapFrame) -> Option<i32> {
    loop {
        if task.killed.load(Ordering::SeqCst) {
            return Some(task.process.state.lock().group_exit.unwrap_or(wait::signaled_status(SIGKILL, false)));
        }
        if task.process.state.lock().stopped {
            wait_while_stopped(task);
            continue;
        }
        task.attention.store(false, Ordering::SeqCst);
        let Some((mut sig, mut info, cont_seq)) = dequeue(task) else { break };
        // A traced thread stops first: its tracer decides which signal, if any, is delivered.
        if let Some(chosen) = super::ptrace::signal_stop(task, frame, sig, info) {
            if chosen == 0 || !valid(chosen) {
                task.signals.lock().forced.remove(sig);
                continue;
            }
            if chosen != sig {
                task.signals.lock().forced.remove(sig);
                sig = chosen;
                info = SigInfo::user(sig, SI_USER, 0, 0);
                if task.signals.lock().mask.contains(sig) {
                    // Blocked: queued for later (Linux requeues it too).
                    task.signals.lock().pending.add(sig, info);
                    continue;
                }
            }
        }
        let forced = {
            let mut signals = task.signals.lock();
            let forced = signals.forced.contains(sig);
            signals.forced.remove(sig);
            forced
        };
        let action = task.sighand().get(sig);
        // Init acts on no default action but a fault's (it may have had a handler when the
        // signal was sent, and reset it since).
        match disposition(&action, sig, task.process.pid == 1, forced) {
            Disposition::Ignore => continue,
            Disposition::Stop => {
                stop_process(task, sig, cont_seq);
                continue;
            }
            Disposition::Terminate { core } => {
                kill_process(&task.process, wait::signaled_status(sig, core));
                continue;
            }
            Disposition::Handle => {
                fix_syscall_restart(frame, Some(&action));
                if super::signal_frame::setup(task, frame, sig, &info, &action).is_err() {
                    // The frame could not be written (bad stack): the process dies of SIGSEGV.
                    kill_process(&task.process, wait::signaled_status(SIGSEGV, true));
                    continue;
                }
                if action.flags & SA_RESETHAND != 0 {
                    if let Some(slot) = task.sighand().actions.lock().get_mut(sig as usize - 1) {
                        *slot = SigAction::default();
                    }
                }
                task.attention.store(true, Ordering::SeqCst);
                return None;
            }
        }
    }
    fix_syscall_restart(frame, None);
    // No handler ran: a mask replaced by sigsuspend/ppoll goes back now.
    let mut signals = task.signals.lock();
    if let Some(saved) = signals.saved_mask.take() {
        signals.mask = saved;
    }
    drop(signals);
    if has_deliverable(task) {
        task.attention.store(true, Ordering::SeqCst);
    }
    None
}

/// rt_sigaction: validates and swaps an action.
pub fn set_action(task: &Task, sig: u32, new: Option<SigAction>) -> KResult<SigAction> {
    let new = exo_signal::delivery::checked_action(sig, new)?;
    let handlers = task.sighand();
    let mut actions = handlers.actions.lock();
    let slot = actions.get_mut(sig as usize - 1).ok_or(Errno::EINVAL)?;
    let old = *slot;
    if let Some(new) = new {
        *slot = new;
        drop(actions);
        // Setting SIG_IGN (or a default of ignore) discards pending instances (POSIX).
        if ignored(&handlers, sig, SigSet::empty()) {
            task.process.pending.lock().discard(SigSet::of(sig));
            for thread in task.process.threads() {
                thread.signals.lock().pending.discard(SigSet::of(sig));
            }
        }
    }
    Ok(old)
}

/// Changes the task's mask (SIGKILL and SIGSTOP can never be blocked). Returns the old mask.
pub fn set_mask(task: &Task, how: i32, set: Option<SigSet>) -> KResult<SigSet> {
    let mut signals = task.signals.lock();
    let old = signals.mask;
    signals.mask = exo_signal::delivery::changed_mask(old, how, set)?;
    let changed = set.is_some();
    drop(signals);
    if changed && has_deliverable(task) {
        task.attention.store(true, Ordering::SeqCst);
    }
    Ok(old)
}

/// Signals pending for the task (thread and process), blocked or not.
pub fn pending(task: &Task) -> SigSet {
    task.signals.lock().pending.set().union(task.process.pending.lock().set())
}
