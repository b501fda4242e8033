//! ptrace's kernel side: which threads are traced and by whom, the stops (syscall entry and
//! exit, signal delivery, exec event), and the hand-over of a stopped tracee's registers.
//!
//! **Soundness.** A tracee stops only on its own way to or from user mode (`stop`): it copies
//! its user frame into its [`Tracee`] record, marks itself stopped, tells the tracer and
//! sleeps until the tracer resumes it (or it is killed). The tracer reads and writes that copy,
//! under the record's lock, only while the tracee is stopped and not yet resumed; the tracee
//! copies it back after it wakes, under the same lock. So the tracee never runs while the
//! tracer looks at its registers, and the tracer never touches the live frame. A SIGKILL sets
//! the task's `killed` flag and wakes it: the stop's wait ends on that alone, so a kill always
//! ends a stopped tracee promptly. Registers written by the tracer are validated when written
//! (`set_regs`: canonical user rip, user selectors, safe flags).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use exo_abi::ptrace::*;
use exo_abi::signal::{SigInfo, CLD_TRAPPED, SIGCHLD, SIGKILL, SIGTRAP, SI_USER};
use exo_abi::{Errno, KResult};

use super::exit::Reaped;
use super::task::Task;
use super::{ChildEvent, Pid, Process};
use crate::arch::TrapFrame;
use crate::sched::wait::WaitQueue;
use crate::spinlock::SpinLock as Mutex;

/// What the tracer holds of a traced thread.
pub struct Tracee {
    /// The tracing process.
    pub tracer: Pid,
    /// Resumed with PTRACE_SYSCALL: stop at the next syscall entry or exit.
    syscall_stops: AtomicBool,
    state: Mutex<TraceState>,
    /// The tracee sleeps here while stopped.
    queue: WaitQueue,
}

struct TraceState {
    options: u64,
    /// In a ptrace-stop: `regs` is the tracee's user state.
    stopped: bool,
    /// The tracer resumed it: the signal to deliver (0: none).
    resume: Option<u32>,
    /// Detached while stopped: the tracee leaves the stop with its registers.
    detached: bool,
    /// The stop not yet reported to the tracer's wait: WSTOPSIG | event << 8.
    report: Option<u32>,
    regs: TrapFrame,
    fs_base: u64,
    gs_base: u64,
    siginfo: SigInfo,
    event_msg: u64,
    /// Between a syscall-entry stop and its exit stop.
    in_syscall: bool,
}

/// Every traced thread (at most one entry per live task).
static TRACED: Mutex<Vec<Arc<Task>>> = Mutex::new(Vec::new());

fn tracee_of(task: &Task) -> Option<Arc<Tracee>> {
    task.ptrace.lock().clone()
}

/// Starts tracing `target` for process `tracer` (TRACEME, ATTACH, SEIZE). EPERM if it is
/// traced already.
pub fn attach(tracer: Pid, target: &Arc<Task>, options: u64) -> KResult<()> {
    let mut registry = TRACED.lock();
    registry.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    let mut slot = target.ptrace.lock();
    if slot.is_some() {
        return Err(Errno::EPERM);
    }
    *slot = Some(Arc::new(Tracee {
        tracer,
        syscall_stops: AtomicBool::new(false),
        state: Mutex::new(TraceState {
            options,
            stopped: false,
            resume: None,
            detached: false,
            report: None,
            regs: TrapFrame::default(),
            fs_base: 0,
            gs_base: 0,
            siginfo: SigInfo::default(),
            event_msg: 0,
            in_syscall: false,
        }),
        queue: WaitQueue::new(),
    }));
    drop(slot);
    registry.push(target.clone());
    Ok(())
}

/// Ends tracing of `target` (DETACH, tracer exit): a stopped tracee resumes with `sig`.
pub fn detach(target: &Arc<Task>, sig: u32) {
    let Some(tracee) = target.ptrace.lock().take() else { return };
    TRACED.lock().retain(|t| !Arc::ptr_eq(t, target));
    tracee.syscall_stops.store(false, Ordering::SeqCst);
    {
        let mut state = tracee.state.lock();
        state.detached = true;
        if state.stopped && state.resume.is_none() {
            state.resume = Some(sig);
        }
    }
    tracee.queue.wake_all();
    target.notify();
}

/// The traced thread `tid` of tracer `me`, or ESRCH. With `stopped`, it must also be in a
/// ptrace-stop the tracer has not resumed yet.
pub fn traced_by(me: Pid, tid: Pid, stopped: bool) -> KResult<(Arc<Task>, Arc<Tracee>)> {
    let task = super::task(tid).ok_or(Errno::ESRCH)?;
    let tracee = tracee_of(&task).ok_or(Errno::ESRCH)?;
    if tracee.tracer != me {
        return Err(Errno::ESRCH);
    }
    if stopped {
        let state = tracee.state.lock();
        if !state.stopped || state.resume.is_some() || task.killed.load(Ordering::SeqCst) {
            return Err(Errno::ESRCH);
        }
    }
    Ok((task, tracee))
}

impl Tracee {
    /// Runs `f` on the stopped tracee's state (ESRCH if it was resumed or killed meanwhile).
    fn with_stopped<R>(&self, f: impl FnOnce(&mut TraceState) -> KResult<R>) -> KResult<R> {
        let mut state = self.state.lock();
        if !state.stopped || state.resume.is_some() {
            return Err(Errno::ESRCH);
        }
        f(&mut state)
    }

    /// PTRACE_GETREGS.
    pub fn regs(&self) -> KResult<UserRegs> {
        self.with_stopped(|s| Ok(to_user(&s.regs, s.fs_base, s.gs_base)))
    }

    /// PTRACE_SETREGS: validated (canonical user rip and bases, user selectors, user flags).
    pub fn set_regs(&self, regs: &UserRegs) -> KResult<()> {
        let end = crate::uaccess::USER_END;
        if regs.rip >= end || regs.fs_base >= end || regs.gs_base >= end {
            return Err(Errno::EIO);
        }
        // Segment selectors must be user ones (RPL 3), or null for the data segments (Linux's
        // putreg); the frame gets the standard user selectors whatever was given.
        let user = |sel: u64| sel <= 0xffff && sel & 3 == 3;
        if !user(regs.cs) || !user(regs.ss) || [regs.ds, regs.es, regs.fs, regs.gs].iter().any(|&s| s != 0 && !user(s)) {
            return Err(Errno::EIO);
        }
        self.with_stopped(|s| {
            from_user(&mut s.regs, regs);
            crate::arch::sanitize_user_frame(&mut s.regs);
            s.fs_base = regs.fs_base;
            s.gs_base = regs.gs_base;
            Ok(())
        })
    }

    /// PTRACE_PEEKUSER: a word of `struct user` (registers; 0 elsewhere), EIO past it or
    /// unaligned.
    pub fn peek_user(&self, offset: u64) -> KResult<u64> {
        if offset % 8 != 0 || offset >= USER_SIZE as u64 {
            return Err(Errno::EIO);
        }
        let regs = self.regs()?;
        let words: &[u64] = bytemuck::cast_slice(core::slice::from_ref(&regs));
        Ok(words.get((offset / 8) as usize).copied().unwrap_or(0))
    }

    /// PTRACE_POKEUSER of a register word (others: EIO), validated like SETREGS.
    pub fn poke_user(&self, offset: u64, value: u64) -> KResult<()> {
        if offset % 8 != 0 || offset >= USER_REGS_SIZE as u64 {
            return Err(Errno::EIO);
        }
        let mut regs = self.regs()?;
        let words: &mut [u64] = bytemuck::cast_slice_mut(core::slice::from_mut(&mut regs));
        if let Some(word) = words.get_mut((offset / 8) as usize) {
            *word = value;
        }
        self.set_regs(&regs)
    }

    pub fn siginfo(&self) -> KResult<SigInfo> {
        self.with_stopped(|s| Ok(s.siginfo))
    }

    pub fn set_siginfo(&self, info: SigInfo) -> KResult<()> {
        self.with_stopped(|s| {
            s.siginfo = info;
            Ok(())
        })
    }

    pub fn event_msg(&self) -> KResult<u64> {
        self.with_stopped(|s| Ok(s.event_msg))
    }

    /// PTRACE_SETOPTIONS (EINVAL for unknown bits).
    pub fn set_options(&self, options: u64) -> KResult<()> {
        if options & !PTRACE_O_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        self.state.lock().options = options;
        Ok(())
    }

    /// PTRACE_CONT / PTRACE_SYSCALL: resumes the stopped tracee, delivering `sig` (0: none).
    pub fn resume(&self, task: &Task, sig: u32, syscalls: bool) -> KResult<()> {
        // The mode first, under the lock that publishes the resumption: the tracee reads it
        // only after it has seen `resume`.
        self.with_stopped(|s| {
            self.syscall_stops.store(syscalls, Ordering::SeqCst);
            s.resume = Some(sig);
            Ok(())
        })?;
        self.queue.wake_all();
        if syscalls {
            task.attention.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

fn to_user(f: &TrapFrame, fs_base: u64, gs_base: u64) -> UserRegs {
    UserRegs {
        r15: f.r15,
        r14: f.r14,
        r13: f.r13,
        r12: f.r12,
        rbp: f.rbp,
        rbx: f.rbx,
        r11: f.r11,
        r10: f.r10,
        r9: f.r9,
        r8: f.r8,
        rax: f.rax,
        rcx: f.rcx,
        rdx: f.rdx,
        rsi: f.rsi,
        rdi: f.rdi,
        orig_rax: if f.vector == crate::arch::SYSCALL_VECTOR { f.error_code } else { u64::MAX },
        rip: f.rip,
        cs: f.cs,
        eflags: f.rflags,
        rsp: f.rsp,
        ss: f.ss,
        fs_base,
        gs_base,
        ds: 0,
        es: 0,
        fs: 0,
        gs: 0,
    }
}

fn from_user(f: &mut TrapFrame, r: &UserRegs) {
    (f.r15, f.r14, f.r13, f.r12, f.rbp, f.rbx, f.r11, f.r10) = (r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.r11, r.r10);
    (f.r9, f.r8, f.rax, f.rcx, f.rdx, f.rsi, f.rdi) = (r.r9, r.r8, r.rax, r.rcx, r.rdx, r.rsi, r.rdi);
    (f.rip, f.rflags, f.rsp) = (r.rip, r.eflags, r.rsp);
    if f.vector == crate::arch::SYSCALL_VECTOR {
        f.error_code = r.orig_rax;
    }
}

/// Stops the current thread for its tracer with wait status code `code` (WSTOPSIG | event <<
/// 8) and `info`, and waits to be resumed. Returns the signal the tracer asked to deliver, or
/// None when the thread is not traced, or was killed or detached meanwhile.
fn stop(task: &Arc<Task>, frame: &mut TrapFrame, code: u32, info: SigInfo, event_msg: Option<u64>) -> Option<u32> {
    let tracee = tracee_of(task)?;
    {
        let mut state = tracee.state.lock();
        state.regs = *frame;
        state.fs_base = task.fs_base.load(Ordering::Relaxed);
        state.gs_base = task.gs_base.load(Ordering::Relaxed);
        state.stopped = true;
        state.resume = None;
        state.report = Some(code);
        state.siginfo = info;
        if let Some(msg) = event_msg {
            state.event_msg = msg;
        }
    }
    notify_tracer(&tracee, task, code);
    tracee.queue.wait_until(|| tracee.state.lock().resume.is_some() || task.killed.load(Ordering::SeqCst));
    let mut state = tracee.state.lock();
    state.stopped = false;
    state.report = None;
    if task.killed.load(Ordering::SeqCst) {
        return None;
    }
    let sig = state.resume.take();
    // The registers as the tracer left them (validated when written).
    *frame = state.regs;
    task.fs_base.store(state.fs_base, Ordering::Relaxed);
    task.gs_base.store(state.gs_base, Ordering::Relaxed);
    let detached = state.detached;
    drop(state);
    task.switch_in();
    if detached {
        return sig.filter(|&s| s != 0).or(Some(0));
    }
    sig
}

/// Wakes the tracer's wait and sends it SIGCHLD (CLD_TRAPPED).
fn notify_tracer(tracee: &Tracee, task: &Task, code: u32) {
    let Some(tracer) = super::process(tracee.tracer) else { return };
    tracer.child_events.fetch_add(1, Ordering::SeqCst);
    tracer.child_wait.wake_all();
    let uid = task.process.creds.lock().uid;
    let info = SigInfo::child(CLD_TRAPPED, task.tid as i32, uid, (code & 0xff) as i32, 0, 0);
    super::signal::send_to_process(&tracer, SIGCHLD, info);
}

/// Whether the current thread stops at syscall entry and exit (resumed with PTRACE_SYSCALL).
pub fn syscall_traced(task: &Task) -> bool {
    tracee_of(task).is_some_and(|t| t.syscall_stops.load(Ordering::SeqCst))
}

/// A syscall-entry (`entry`) or -exit stop: SIGTRAP, or SIGTRAP | 0x80 with
/// PTRACE_O_TRACESYSGOOD. Returns false when the thread was killed in the stop.
pub fn syscall_stop(task: &Arc<Task>, frame: &mut TrapFrame, entry: bool) -> bool {
    let Some(tracee) = tracee_of(task) else { return true };
    let good = {
        let mut state = tracee.state.lock();
        state.in_syscall = entry;
        state.options & PTRACE_O_TRACESYSGOOD != 0
    };
    let code = if good { SIGTRAP | 0x80 } else { SIGTRAP };
    let mut info = SigInfo::new(SIGTRAP, code as i32);
    info.si_code = code as i32;
    let _ = stop(task, frame, code, info, None);
    !task.killed.load(Ordering::SeqCst)
}

/// A signal-delivery stop for `sig` (never SIGKILL). Returns None when the thread is not
/// traced; else the signal to act on (0: suppressed, also when killed in the stop).
pub fn signal_stop(task: &Arc<Task>, frame: &mut TrapFrame, sig: u32, info: SigInfo) -> Option<u32> {
    if sig == SIGKILL {
        return None;
    }
    tracee_of(task)?;
    Some(stop(task, frame, sig, info, None).unwrap_or(0))
}

/// After a successful execve of a traced thread: the PTRACE_EVENT_EXEC stop with
/// PTRACE_O_TRACEEXEC, else a SIGTRAP (Linux's legacy behaviour).
pub fn exec_done(task: &Arc<Task>, frame: &mut TrapFrame) {
    let Some(tracee) = tracee_of(task) else { return };
    let options = tracee.state.lock().options;
    if options & PTRACE_O_TRACEEXEC != 0 {
        let code = SIGTRAP | (PTRACE_EVENT_EXEC << 8);
        let info = SigInfo::new(SIGTRAP, code as i32);
        let _ = stop(task, frame, code, info, Some(u64::from(task.process.pid)));
    } else {
        super::signal::send_to_task(task, SIGTRAP, SigInfo::new(SIGTRAP, SI_USER));
    }
}

/// What a tracer's wait finds among its tracees.
pub enum TracedWait {
    /// A stop to report.
    Report(Reaped),
    /// Tracees match but none has news.
    Waiting,
    /// No tracee matches.
    None,
}

/// Looks for a stop of a tracee of `me` that `matches` accepts (consumed unless `keep`).
pub fn wait_traced(me: Pid, matches: impl Fn(&Task) -> bool, keep: bool) -> TracedWait {
    let candidates: Vec<Arc<Task>> = TRACED.lock().iter().filter(|t| matches(t)).cloned().collect();
    let mut found = false;
    for task in candidates {
        let Some(tracee) = tracee_of(&task) else { continue };
        if tracee.tracer != me {
            continue;
        }
        found = true;
        let mut state = tracee.state.lock();
        let Some(code) = state.report else { continue };
        if !keep {
            state.report = None;
        }
        drop(state);
        let uid = task.process.creds.lock().uid;
        return TracedWait::Report(Reaped { pid: task.tid, uid, event: ChildEvent::Stopped(code), cpu_split: (0, 0) });
    }
    if found {
        TracedWait::Waiting
    } else {
        TracedWait::None
    }
}

/// Whether the current thread's tracer wants syscall stops (keeps the return-work word set so
/// that every system call takes the complete path).
pub fn keep_attention(task: &Task) {
    if syscall_traced(task) {
        task.attention.store(true, Ordering::SeqCst);
    }
}

/// The tracer process `pid` exits: its tracees are detached, or killed with
/// PTRACE_O_EXITKILL.
pub fn tracer_exited(pid: Pid) {
    let mine: Vec<Arc<Task>> =
        TRACED.lock().iter().filter(|t| tracee_of(t).is_some_and(|tr| tr.tracer == pid)).cloned().collect();
    for task in mine {
        let kill = tracee_of(&task).is_some_and(|t| t.state.lock().options & PTRACE_O_EXITKILL != 0);
        if kill {
            super::signal::kill_process(&task.process, exo_abi::wait::signaled_status(SIGKILL, false));
        }
        detach(&task, 0);
    }
}

/// A traced thread ends: it leaves the registry.
pub fn task_exited(task: &Arc<Task>) {
    if task.ptrace.lock().take().is_some() {
        TRACED.lock().retain(|t| !Arc::ptr_eq(t, task));
    }
}

/// Whether `tracer` may attach to `target` (Linux's ptrace_may_access with
/// PTRACE_MODE_ATTACH_REALCREDS): not init, not its own process, ids matching or root, and
/// a dumpable target.
pub fn may_attach(tracer: &Process, target: &Process) -> bool {
    target.pid != 1
        && tracer.pid != target.pid
        && super::info::may_inspect(tracer, target, super::info::CredMode::Real)
}

/// PTRACE_KILL: the tracee dies of SIGKILL (even when it is not stopped).
pub fn kill(task: &Task) {
    super::signal::kill_process(&task.process, exo_abi::wait::signaled_status(SIGKILL, false));
}
