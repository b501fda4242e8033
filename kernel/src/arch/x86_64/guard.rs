//! Fault containment: run a function so that a CPU exception or panic inside it returns an error
//! to the caller instead of stopping the kernel.
//!
//! [`run_guarded`] saves the callee-saved registers and stack pointer in a [`JumpBuffer`]
//! (`guarded_call`) and calls the function. If an exception or panic occurs while the guard is
//! active, the trap handler (or panic handler) records what happened and resumes at
//! `guard_recover`, which restores the saved registers and returns 1 from `guarded_call` as if it
//! had returned normally. The abandoned frames are not unwound: locks they held stay held and heap
//! memory they owned leaks, which is acceptable for the in-kernel test runner this serves.
//! `run_guarded` exists only in the test build (`ktest` feature); the normal kernel never sets up
//! a guard, so there the trap and panic handlers always find none.

use core::arch::global_asm;
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use super::idt::TrapFrame;

/// Callee-saved registers and stack pointer at the guard's entry: rbx, rbp, r12-r15, rsp.
#[repr(C)]
#[derive(Default)]
pub struct JumpBuffer {
    regs: [u64; 7],
}

/// What stopped a guarded function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A CPU exception: vector, error code, faulting instruction, and CR2 (page faults).
    Exception { vector: u8, error_code: u64, rip: u64, cr2: u64 },
    /// A Rust panic.
    Panic,
}

impl Fault {
    /// The exception's name, e.g. "PAGE FAULT (#PF)".
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Exception { vector, .. } => super::trap::exception_name(*vector),
            Fault::Panic => "KERNEL PANIC",
        }
    }
}

impl core::fmt::Display for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match *self {
            Fault::Exception { vector, error_code, rip, cr2 } => {
                write!(f, "{} at rip {rip:#x}, error code {error_code:#x}", self.name())?;
                if vector == 14 || vector == 8 {
                    write!(f, ", CR2 {cr2:#x}")?;
                }
                Ok(())
            }
            Fault::Panic => f.write_str("KERNEL PANIC"),
        }
    }
}

struct Guard {
    jump: JumpBuffer,
    fault: UnsafeCell<Option<Fault>>,
}

/// The innermost active guard: a `*mut Guard`. One global slot, not per CPU: the guarded thread
/// may be preempted and resumed on another CPU, and a guard covers only faults on the guarded
/// code's own stack (see `guard_for`), whatever CPU they happen on.
static ACTIVE_GUARD: AtomicPtr<()> = AtomicPtr::new(ptr::null_mut());

/// Top of a stack the guarded code switched to with `run_on_stack` (0: none); faults there are
/// covered too.
pub(super) static ALTERNATE_STACK: AtomicU64 = AtomicU64::new(0);

fn active() -> &'static AtomicPtr<()> {
    &ACTIVE_GUARD
}

// The guard's entry (`run_guarded`); only the test build sets up guards.
#[cfg(feature = "ktest")]
global_asm!(
    r#"
    .section .text.guard, "ax"
    .global guarded_call
guarded_call:
    push rbp
    mov rbp, rsp
    mov [rdx], rbx
    mov [rdx + 8], rbp
    mov [rdx + 16], r12
    mov [rdx + 24], r13
    mov [rdx + 32], r14
    mov [rdx + 40], r15
    mov [rdx + 48], rsp
    mov rax, rdi
    mov rdi, rsi
    call rax
    xor eax, eax
    pop rbp
    ret
"#
);

global_asm!(
    r#"
    .section .text.guard, "ax"
    .global guard_recover
guard_recover:
    mov rbx, [rdi]
    mov rbp, [rdi + 8]
    mov r12, [rdi + 16]
    mov r13, [rdi + 24]
    mov r14, [rdi + 32]
    mov r15, [rdi + 40]
    mov rsp, [rdi + 48]
    mov eax, 1
    pop rbp
    ret
"#
);

#[cfg(feature = "ktest")]
extern "C" {
    fn guarded_call(f: extern "C" fn(*mut u8), arg: *mut u8, jump: *mut JumpBuffer) -> u64;
}

extern "C" {
    fn guard_recover(jump: *const JumpBuffer) -> !;
}

#[cfg(feature = "ktest")]
extern "C" fn call_closure(arg: *mut u8) {
    // SAFETY: `arg` is the `&mut &mut dyn FnMut()` that `run_guarded` passed to `guarded_call`,
    // alive for the whole call.
    let f = unsafe { &mut *(arg as *mut &mut dyn FnMut()) };
    f();
}

/// Runs `f`; a CPU exception or panic inside it is reported and returned as `Err`.
#[cfg(feature = "ktest")]
pub fn run_guarded(mut f: impl FnMut()) -> Result<(), Fault> {
    let mut guard = Guard { jump: JumpBuffer::default(), fault: UnsafeCell::new(None) };
    let previous = active().swap((&raw mut guard).cast(), Ordering::SeqCst);
    let mut closure: &mut dyn FnMut() = &mut f;
    // SAFETY: `guarded_call` follows the C ABI, calls `call_closure` with the closure pointer and
    // returns once (0 normally, 1 through `guard_recover`) with callee-saved registers intact.
    let trapped = unsafe {
        guarded_call(call_closure, (&mut closure as *mut &mut dyn FnMut()).cast(), &mut guard.jump)
    };
    active().store(previous, Ordering::SeqCst);
    if trapped == 0 {
        return Ok(());
    }
    Err(guard.fault.into_inner().unwrap_or(Fault::Panic))
}

/// Whether stack addresses `a` and `b` lie on the same kernel stack (guard page included).
fn same_stack(a: u64, b: u64) -> bool {
    extern "C" {
        static __boot_stack_guard: u8;
        static __boot_stack_top: u8;
    }
    let boot = (&raw const __boot_stack_guard) as u64..(&raw const __boot_stack_top) as u64;
    if boot.contains(&a) || boot.contains(&b) {
        return boot.contains(&a) && boot.contains(&b);
    }
    let Some(kernel) = super::handlers::registered() else { return false };
    matches!(((kernel.kernel_stack_slot)(a), (kernel.kernel_stack_slot)(b)), (Some(x), Some(y)) if x == y)
}

/// The active guard, if it covers code running on the stack at `rsp` (a guard protects only
/// the thread that set it up, whatever else runs meanwhile).
fn guard_for(rsp: u64) -> *mut Guard {
    let guard = active().load(Ordering::SeqCst).cast::<Guard>();
    if guard.is_null() {
        return guard;
    }
    // SAFETY: a non-null active guard points to the live `Guard` of a running `run_guarded` call.
    let guarded_rsp = unsafe { (*guard).jump.regs[6] };
    let alternate = ALTERNATE_STACK.load(Ordering::SeqCst);
    if same_stack(rsp, guarded_rsp) || (alternate != 0 && same_stack(rsp, alternate - 8)) {
        guard
    } else {
        ptr::null_mut()
    }
}

/// Whether a fault with stack pointer `rsp` would be caught by a guard.
pub fn covers(rsp: u64) -> bool {
    !guard_for(rsp).is_null()
}

/// Called by the trap handler: if a guard covers the faulting code, records `fault` and edits
/// `frame` so that `iretq` resumes in `guard_recover`. Returns false otherwise.
pub fn redirect_trap(frame: &mut TrapFrame, fault: Fault) -> bool {
    let guard = guard_for(frame.rsp);
    if guard.is_null() || active().compare_exchange(guard.cast(), ptr::null_mut(), Ordering::SeqCst, Ordering::SeqCst).is_err() {
        return false;
    }
    // SAFETY: `guard` points to the `Guard` on the stack of a `run_guarded` call that has not
    // returned yet (it resets the slot before returning). Taking it out of the slot means only this
    // handler uses it; `run_guarded` restores the outer guard itself after recovery.
    unsafe {
        *(*guard).fault.get() = Some(fault);
        frame.rip = guard_recover as *const () as u64;
        frame.rdi = &raw const (*guard).jump as u64;
        frame.rsp = (*guard).jump.regs[6];
    }
    true
}

/// Called by the panic handler: if a guard covers the panicking code, abandons it and resumes
/// after the guard. Returns only when no guard covers it.
pub fn recover_from_panic() {
    let rsp = super::backtrace::current_stack_pointer();
    let guard = guard_for(rsp);
    if guard.is_null() || active().compare_exchange(guard.cast(), ptr::null_mut(), Ordering::SeqCst, Ordering::SeqCst).is_err() {
        return;
    }
    // SAFETY: as in `redirect_trap`, `guard` is live; `guard_recover` switches to the guard's
    // saved stack, which lies above (outside) every frame being abandoned.
    unsafe {
        *(*guard).fault.get() = Some(Fault::Panic);
        guard_recover(&raw const (*guard).jump)
    }
}
