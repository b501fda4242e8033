//! The kernel's handlers for what the architecture code catches (system calls, user
//! exceptions, faults on user memory, preemption points, fatal reports), registered once at
//! boot by `main` with [`set_kernel_handlers`], so that `arch` names no layer above it (as IRQ
//! handlers are registered with `register_irq`). Until then an exception just halts the CPU.

use core::sync::atomic::{AtomicPtr, Ordering};

use super::idt::TrapFrame;

/// What the kernel does for each event the architecture code hands up.
pub struct KernelHandlers {
    /// A system call: runs the call the frame asks for, then the return-to-user work. The
    /// syscall entry calls it straight from assembly (hence the C calling convention), with
    /// interrupts off, and expects it to return with interrupts off.
    pub syscall: extern "C" fn(&mut TrapFrame),
    /// The system calls the entry's fast path runs without a complete frame (indexed by
    /// number; `None` for those that go through `syscall`): see `syscall.rs`.
    pub syscall_table: &'static [Option<super::syscall::FastSyscall>],
    /// The exit work of a fast-path system call whose thread has return work (signals, exit,
    /// tracing): called with the completed frame, its rax holding the call's result, with
    /// interrupts off; returns with them off.
    pub syscall_exit_work: extern "C" fn(&mut TrapFrame),
    /// The return-to-user work after an interrupt or exception from user mode (signals, exits,
    /// stops).
    pub return_to_user: fn(&mut TrapFrame),
    /// A preemption point after an interrupt.
    pub preempt: fn(),
    /// A CPU exception raised by user code: (frame, vector, CR2 for a page fault, else 0).
    pub user_exception: fn(&mut TrapFrame, u8, u64),
    /// A page fault on a user address inside a user-copy routine: (address, error code,
    /// whether interrupts were on); true when resolved, false for EFAULT.
    pub user_memory_fault: fn(u64, u64, bool) -> bool,
    /// A page fault of a kernel thread on a tree of its own (in-kernel tests): true when
    /// resolved.
    pub kernel_thread_fault: fn(u64, u64) -> bool,
    /// Prints the report of a kernel exception: (frame, CR2, outcome such as "fatal").
    pub report: fn(&TrapFrame, u64, &str),
    /// Stops the kernel after a fatal error (halt, or exit QEMU with `panic=exit`).
    pub fatal_stop: fn() -> !,
    /// Whether `[addr, addr + len)` lies inside one live kernel stack (backtraces follow frame
    /// pointers only there).
    pub on_kernel_stack: fn(u64, u64) -> bool,
    /// The kernel-stack slot holding `addr` (its stack or guard page), if any (a fault guard
    /// covers only code on the stack that set it up).
    pub kernel_stack_slot: fn(u64) -> Option<usize>,
}

static HANDLERS: spin::Once<KernelHandlers> = spin::Once::new();

/// The registered `syscall` handler, which the syscall entry calls with one indirect `call`
/// (no registration check on the hottest path): until registration it halts the CPU.
pub(super) static SYSCALL_HANDLER: AtomicPtr<()> = AtomicPtr::new(unregistered_syscall as *mut ());
/// The registered `syscall_exit_work`, called the same way.
pub(super) static SYSCALL_EXIT_WORK: AtomicPtr<()> = AtomicPtr::new(unregistered_syscall as *mut ());

extern "C" fn unregistered_syscall(_frame: &mut TrapFrame) {
    super::cpu::halt_forever()
}

/// Registers the kernel's handlers (the first call wins).
pub fn set_kernel_handlers(handlers: KernelHandlers) {
    HANDLERS.call_once(|| {
        SYSCALL_HANDLER.store(handlers.syscall as *mut (), Ordering::Release);
        SYSCALL_EXIT_WORK.store(handlers.syscall_exit_work as *mut (), Ordering::Release);
        super::syscall::install_table(handlers.syscall_table);
        handlers
    });
}

/// The registered handlers, if registered yet (for code that has a fallback).
pub(super) fn registered() -> Option<&'static KernelHandlers> {
    HANDLERS.get()
}

/// The registered handlers; before registration the CPU halts (nothing could report).
pub(super) fn kernel() -> &'static KernelHandlers {
    match HANDLERS.get() {
        Some(handlers) => handlers,
        None => super::cpu::halt_forever(),
    }
}

/// A preemption point outside an interrupt: what the end of an interrupt does, for code that
/// just re-enabled preemption with a switch pending (`crate::spinlock`'s unlock). Does nothing
/// with interrupts off (the next interrupt's preemption point takes over) or before the
/// handlers are registered.
#[cold]
pub fn preemption_point() {
    let interrupts_were_enabled = super::cpu::save_and_disable_interrupts();
    if interrupts_were_enabled {
        if let Some(handlers) = registered() {
            (handlers.preempt)();
        }
    }
    super::cpu::restore_interrupts(interrupts_were_enabled);
}
