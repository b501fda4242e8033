//! Creating threads: `spawn` / `spawn_with` (kernel or user threads, priorities, stacks), the
//! first code a new thread runs, and `JoinHandle` to wait for a thread's end.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use super::*;
use crate::memory::stacks::{KernelStack, StackError};

/// What the entry of a thread spawned with `SpawnOptions::user` returns once it has filled its
/// user frame: the thread then enters user mode instead of exiting.
pub const ENTER_USER: i64 = i64::MIN;

extern "C" fn thread_entry(id: u64) -> ! {
    cpu::finish_switch();
    // A new thread starts right after the switch; nothing is held, so interrupts (and
    // preemption) may come.
    arch::enable_interrupts();
    let entry = lookup(id as ThreadId).and_then(|t| t.entry.lock().take());
    // The entry (and everything it captured) is freed when the call returns, so a user thread's
    // entry returns before the thread leaves for user mode.
    let value = entry.map_or(0, |f| f());
    if value == ENTER_USER {
        let frame = current().user_frame();
        if let Some(frame) = frame {
            // SAFETY: the entry filled this thread's user frame (top of its own kernel stack)
            // and did the return-to-user work; nothing on this stack is needed any more.
            unsafe { arch::enter_user(frame) }
        }
    }
    exit(value)
}

pub(super) fn new_thread(name: &str, priority: Priority, entry: thread::Entry, uses_fpu: bool, is_idle: bool) -> Result<Arc<Thread>, StackError> {
    new_thread_reserving(name, priority, entry, uses_fpu, is_idle, 0)
}

/// Creates a thread whose code starts `reserve` bytes below its stack top (a user thread keeps
/// its user-mode register frame there).
fn new_thread_reserving(name: &str, priority: Priority, entry: thread::Entry, uses_fpu: bool, is_idle: bool, reserve: u64) -> Result<Arc<Thread>, StackError> {
    let stack = KernelStack::new()?;
    let top = stack.top() - reserve;
    let thread = Arc::new(Thread::new(name, priority, Some(stack), Some(entry), uses_fpu, is_idle));
    // SAFETY: the stack was just mapped for this thread and nothing else uses it.
    let rsp = unsafe { arch::prepare_stack(top, thread_entry, u64::from(thread.id)) };
    // The thread has never run; no CPU resumes it before it is enqueued.
    thread.saved_rsp.store(rsp, core::sync::atomic::Ordering::Release);
    thread::register(thread.clone());
    Ok(thread)
}

/// Options for [`spawn_with`].
#[derive(Clone, Copy, Debug)]
pub struct SpawnOptions {
    pub priority: Priority,
    /// Save and restore the x87/SSE/AVX state when switching this thread.
    pub uses_fpu: bool,
    /// Start on this CPU instead of the least loaded one.
    pub cpu: Option<usize>,
    /// The thread will run user code: the top of its kernel stack is kept for its user-mode
    /// register frame (`arch::USER_FRAME_SIZE` bytes), where entries from user mode save it.
    pub user: bool,
    /// The CPUs the thread may run on (`exo_sched::affinity`).
    pub affinity: u64,
}

impl Default for SpawnOptions {
    fn default() -> Self {
        SpawnOptions { priority: Priority::Normal, uses_fpu: false, cpu: None, user: false, affinity: exo_sched::affinity::ALL }
    }
}

/// A handle to wait for a thread's end.
pub struct JoinHandle {
    thread: Option<Arc<Thread>>,
}

impl JoinHandle {
    /// The thread.
    pub fn thread(&self) -> &Arc<Thread> {
        match &self.thread {
            Some(thread) => thread,
            None => unreachable!("a JoinHandle holds its thread until join or drop"),
        }
    }

    /// Waits for the thread to exit and returns its exit value.
    #[cfg(feature = "ktest")]
    pub fn join(mut self) -> i64 {
        let Some(thread) = self.thread.take() else { return 0 };
        thread.joiners.wait_until(|| thread.state() == ThreadState::Exited);
        // Its last switch away must be complete before its stack may be freed.
        while thread.on_cpu.load(Ordering::Acquire) {
            core::hint::spin_loop();
        }
        thread::unregister(thread.id);
        thread.exit_value()
    }
}

impl Drop for JoinHandle {
    /// Dropping the handle without joining detaches the thread: it leaves the table when it
    /// exits.
    fn drop(&mut self) {
        let Some(thread) = self.thread.take() else { return };
        // SeqCst: pairs with `finish_switch` (see there).
        thread.detached.store(true, Ordering::SeqCst);
        if thread.state() == ThreadState::Exited && !thread.on_cpu.load(Ordering::SeqCst) {
            thread::unregister(thread.id);
        }
    }
}

/// Starts a thread running `f` with default options.
pub fn spawn(name: &str, f: impl FnOnce() -> i64 + Send + 'static) -> Result<JoinHandle, StackError> {
    spawn_with(name, SpawnOptions::default(), f)
}

/// Starts a thread running `f`.
pub fn spawn_with(name: &str, options: SpawnOptions, f: impl FnOnce() -> i64 + Send + 'static) -> Result<JoinHandle, StackError> {
    let reserve = if options.user { arch::USER_FRAME_SIZE } else { 0 };
    let thread = new_thread_reserving(name, options.priority, Box::new(f), options.uses_fpu || options.user, false, reserve)?;
    thread.affinity.store(options.affinity, Ordering::Release);
    let target = options
        .cpu
        .filter(|&c| thread.allowed_on(c))
        .and_then(cpu::cpu)
        .or_else(|| online().filter(|c| thread.allowed_on(c.index)).min_by_key(|c| c.load()))
        .or_else(this_cpu);
    if let Some(target) = target {
        target.enqueue(&thread);
        kick(target, &thread);
    }
    Ok(JoinHandle { thread: Some(thread) })
}

/// Number of threads alive (including exited ones not yet joined).
#[cfg(feature = "ktest")]
pub fn thread_count() -> usize {
    thread::count()
}

