//! Fault containment: run a function so that a CPU exception or panic inside it returns an error
//! to the caller instead of stopping the kernel.
//!
//! [`run_guarded`] saves the callee-saved registers and stack pointer in a [`JumpBuffer`]
//! (`guarded_call`) and calls the function. If an exception or panic occurs while the guard is
//! active, the trap handler (or panic handler) records what happened and resumes at
//! `guard_recover`, which restores the saved registers and returns 1 from `guarded_call` as if it
//! had returned normally. The abandoned frames are not unwound: locks they held stay held and heap
//! memory they owned leaks, which is acceptable for the in-kernel test runner this serves.

use core::arch::global_asm;
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

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

/// The innermost active guard of this CPU (single CPU until SMP arrives; then per-CPU data).
static ACTIVE: AtomicPtr<Guard> = AtomicPtr::new(ptr::null_mut());

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

extern "C" {
    fn guarded_call(f: extern "C" fn(*mut u8), arg: *mut u8, jump: *mut JumpBuffer) -> u64;
    fn guard_recover(jump: *const JumpBuffer) -> !;
}

extern "C" fn call_closure(arg: *mut u8) {
    // SAFETY: `arg` is the `&mut &mut dyn FnMut()` that `run_guarded` passed to `guarded_call`,
    // alive for the whole call.
    let f = unsafe { &mut *(arg as *mut &mut dyn FnMut()) };
    f();
}

/// Runs `f`; a CPU exception or panic inside it is reported and returned as `Err`.
pub fn run_guarded(mut f: impl FnMut()) -> Result<(), Fault> {
    let mut guard = Guard { jump: JumpBuffer::default(), fault: UnsafeCell::new(None) };
    let previous = ACTIVE.swap(&mut guard, Ordering::SeqCst);
    let mut closure: &mut dyn FnMut() = &mut f;
    // SAFETY: `guarded_call` follows the C ABI, calls `call_closure` with the closure pointer and
    // returns once (0 normally, 1 through `guard_recover`) with callee-saved registers intact.
    let trapped = unsafe {
        guarded_call(call_closure, (&mut closure as *mut &mut dyn FnMut()).cast(), &mut guard.jump)
    };
    ACTIVE.store(previous, Ordering::SeqCst);
    if trapped == 0 {
        return Ok(());
    }
    Err(guard.fault.into_inner().unwrap_or(Fault::Panic))
}

/// Whether a guard is active on this CPU.
pub fn is_active() -> bool {
    !ACTIVE.load(Ordering::SeqCst).is_null()
}

/// Called by the trap handler: if a guard is active, records `fault` and edits `frame` so that
/// `iretq` resumes in `guard_recover`. Returns false when no guard is active.
pub fn redirect_trap(frame: &mut TrapFrame, fault: Fault) -> bool {
    let guard = ACTIVE.swap(ptr::null_mut(), Ordering::SeqCst);
    if guard.is_null() {
        return false;
    }
    // SAFETY: a non-null ACTIVE points to the `Guard` on the stack of a `run_guarded` call that
    // has not returned yet (it resets ACTIVE before returning). Swapping in null means only this
    // handler uses it; `run_guarded` restores the outer guard itself after recovery.
    unsafe {
        *(*guard).fault.get() = Some(fault);
        frame.rip = guard_recover as *const () as u64;
        frame.rdi = &raw const (*guard).jump as u64;
        frame.rsp = (*guard).jump.regs[6];
    }
    true
}

/// Called by the panic handler: if a guard is active, abandons the panicking code and resumes
/// after the guard. Returns only when no guard is active.
pub fn recover_from_panic() {
    let guard = ACTIVE.swap(ptr::null_mut(), Ordering::SeqCst);
    if guard.is_null() {
        return;
    }
    // SAFETY: as in `redirect_trap`, `guard` is live; `guard_recover` switches to the guard's
    // saved stack, which lies above (outside) every frame being abandoned.
    unsafe {
        *(*guard).fault.get() = Some(Fault::Panic);
        guard_recover(&raw const (*guard).jump)
    }
}
