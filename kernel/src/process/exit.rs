//! Ending threads and processes, and waiting for children: `exit`, `exit_group`, zombies,
//! re-parenting of orphans to PID 1, SIGCHLD, and `wait4`/`waitid`.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use exo_abi::signal::{CLD_DUMPED, CLD_EXITED, CLD_KILLED, SIGCHLD, SA_NOCLDWAIT, SIG_IGN};
use exo_abi::wait::*;
use exo_abi::{Errno, KResult};

use super::mm::Mm;
use super::task::Task;
use super::{ChildEvent, Pid, Process};
use crate::sched::wait::WaitOutcome;

/// The memory every exited task points at (its own is released at exit).
fn empty_mm() -> Option<Arc<Mm>> {
    static EMPTY: spin::Once<Option<Arc<Mm>>> = spin::Once::new();
    EMPTY.call_once(|| Mm::new().ok().map(Arc::new)).clone()
}

/// Called with the pid of each process whose last thread is gone (System V semaphore undo,
/// `ipc::sysv_sem`, a layer above, registers it).
pub static EXIT_HOOK: spin::Once<fn(Pid)> = spin::Once::new();

/// Ends the calling thread. `status` is the process's wait status if this is the last thread
/// (or the group's exit status when `group` is set: the whole process ends). Never returns.
pub fn exit_current(status: i32, group: bool) -> ! {
    let Some(task) = super::current() else { crate::sched::exit(i64::from(status)) };
    let process = task.process.clone();
    if group {
        super::signal::kill_process(&process, status);
    }
    // Robust mutexes the thread still holds: owner died, a waiter woken (before the join word,
    // as Linux's mm_release).
    super::futex_ops::release_robust_list(&task);
    // CLONE_CHILD_CLEARTID / set_tid_address: the thread library's join waits on this word.
    let clear = crate::uaccess::UserPtr::<u32>::new(task.clear_child_tid.swap(0, Ordering::SeqCst));
    if !clear.is_null() && clear.write(&0).is_ok() {
        super::futex::wake(&task, clear, 1, u32::MAX);
    }
    if let Some(done) = task.vfork_done.lock().take() {
        done.complete();
    }
    release_resources(&task);
    let last = {
        let mut state = process.state.lock();
        state.threads.retain(|t| !Arc::ptr_eq(t, &task));
        state.threads.is_empty()
    };
    let runtime = crate::sched::current().runtime_ns();
    process.dead_threads_ns.fetch_add(runtime, Ordering::Relaxed);
    super::unregister_task(task.tid);
    if last {
        let status = process.state.lock().group_exit.unwrap_or(status);
        exit_process(&process, status);
    }
    drop(task);
    drop(process);
    crate::sched::exit(0)
}

/// Drops the task's memory and file table now (not when its thread control block goes), so
/// frames and files are released in a normal thread context.
fn release_resources(task: &Arc<Task>) {
    crate::sched::leave_address_space();
    if let Some(empty) = empty_mm() {
        let old = core::mem::replace(&mut *task.mm.lock(), empty);
        drop(old);
    }
    let old_files = core::mem::replace(&mut *task.files.lock(), Arc::new(crate::files::FdTable::new()));
    drop(old_files);
}

/// The last thread of `process` is gone: hand its children to init, become a zombie (or be
/// reaped at once if the parent ignores SIGCHLD) and tell the parent.
fn exit_process(process: &Arc<Process>, status: i32) {
    if process.pid == 1 {
        // Linux panics too. Only init itself gets here (exit, exit_group, a fault in its own
        // code): signals from other processes are dropped (`signal::dropped_by_init`).
        if status & 0x7f == 0 {
            panic!("attempted to kill init: init (pid 1) exited with status {}", (status >> 8) & 0xff);
        }
        panic!("attempted to kill init: init (pid 1) killed by signal {}{}", status & 0x7f, if status & 0x80 != 0 { " (core dumped)" } else { "" });
    }
    super::itimer::forget(process.pid);
    if let Some(hook) = EXIT_HOOK.get() {
        hook(process.pid);
    }
    let children = core::mem::take(&mut process.state.lock().children);
    if !children.is_empty() {
        if let Some(init) = super::process(1) {
            let mut zombie = false;
            for child in &children {
                let state = child.state.lock();
                child.parent.store(1, Ordering::Release);
                zombie |= state.zombie;
            }
            init.state.lock().children.extend(children);
            if zombie {
                init.child_events.fetch_add(1, Ordering::SeqCst);
                init.child_wait.wake_all();
            }
        }
    }
    let parent = super::process(process.ppid());
    let auto_reap = parent.as_ref().is_some_and(|p| {
        p.threads().first().is_some_and(|t| {
            let action = t.sighand().get(SIGCHLD);
            action.handler == SIG_IGN || action.flags & SA_NOCLDWAIT != 0
        })
    }) && process.exit_signal.load(Ordering::Relaxed) == SIGCHLD;
    {
        let mut state = process.state.lock();
        state.zombie = true;
        state.event = Some(ChildEvent::Exited(status));
    }
    if auto_reap {
        if let Some(parent) = &parent {
            parent.state.lock().children.retain(|c| !Arc::ptr_eq(c, process));
            super::unregister_process(process.pid);
            parent.child_events.fetch_add(1, Ordering::SeqCst);
            parent.child_wait.wake_all();
        }
        return;
    }
    let (code, si_status) = if status & 0x7f == 0 {
        (CLD_EXITED, (status >> 8) & 0xff)
    } else if status & 0x80 != 0 {
        (CLD_DUMPED, status & 0x7f)
    } else {
        (CLD_KILLED, status & 0x7f)
    };
    super::signal::notify_parent(process, code, si_status);
}

/// Which children a wait looks at.
#[derive(Clone, Copy, Debug)]
pub enum WaitFor {
    Any,
    Pid(Pid),
    Group(Pid),
}

/// What a wait found.
pub struct Reaped {
    pub pid: Pid,
    pub uid: u32,
    pub event: ChildEvent,
    /// CPU time of the child (ns), for rusage.
    pub cpu_ns: u64,
}

fn matches(spec: WaitFor, child: &Process) -> bool {
    match spec {
        WaitFor::Any => true,
        WaitFor::Pid(pid) => child.pid == pid,
        WaitFor::Group(pgid) => child.pgid() == pgid,
    }
}

/// Looks once for a child event `options` asks for. Ok(None): matching children exist but
/// none has news. Err(ECHILD): no matching child.
fn try_wait(me: &Arc<Process>, spec: WaitFor, options: u32) -> KResult<Option<Reaped>> {
    let mut state = me.state.lock();
    let mut found = false;
    let mut reap_index = None;
    let mut result = None;
    for (index, child) in state.children.iter().enumerate() {
        if !matches(spec, child) {
            continue;
        }
        found = true;
        let mut child_state = child.state.lock();
        let Some(event) = child_state.event else { continue };
        let wanted = match event {
            ChildEvent::Exited(_) => options & WEXITED != 0,
            ChildEvent::Stopped(_) => options & WSTOPPED != 0,
            ChildEvent::Continued => options & WCONTINUED != 0,
        };
        if !wanted {
            continue;
        }
        let consume = options & WNOWAIT == 0;
        if consume {
            if let ChildEvent::Exited(_) = event {
                reap_index = Some(index);
            } else {
                child_state.event = None;
            }
        }
        drop(child_state);
        let uid = child.creds.lock().uid;
        result = Some(Reaped { pid: child.pid, uid, event, cpu_ns: child.cpu_time_ns() });
        break;
    }
    if let Some(index) = reap_index {
        let child = state.children.remove(index);
        let time = child.cpu_time_ns() + child.state.lock().children_time_ns.0;
        state.children_time_ns.0 += time;
        drop(state);
        super::unregister_process(child.pid);
    }
    match (result, found) {
        (Some(reaped), _) => Ok(Some(reaped)),
        (None, true) => Ok(None),
        (None, false) => Err(Errno::ECHILD),
    }
}

/// Waits for a child event (wait4/waitid). Ok(None) only with WNOHANG.
pub fn wait(spec: WaitFor, options: u32) -> KResult<Option<Reaped>> {
    let task = super::current().ok_or(Errno::ECHILD)?;
    let me = task.process.clone();
    loop {
        let seen = me.child_events.load(Ordering::SeqCst);
        if let Some(reaped) = try_wait(&me, spec, options)? {
            return Ok(Some(reaped));
        }
        if options & WNOHANG != 0 {
            return Ok(None);
        }
        let outcome = me.child_wait.wait_interruptible(
            || me.child_events.load(Ordering::SeqCst) != seen,
            || task.interrupted(),
            None,
        );
        if outcome == WaitOutcome::Interrupted {
            return Err(Errno::ERESTARTSYS);
        }
    }
}

/// The wait status word of an event.
pub fn status_word(event: ChildEvent) -> i32 {
    match event {
        ChildEvent::Exited(status) => status,
        ChildEvent::Stopped(sig) => stopped_status(sig),
        ChildEvent::Continued => CONTINUED_STATUS,
    }
}
