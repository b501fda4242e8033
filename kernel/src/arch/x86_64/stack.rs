//! Running a function on another kernel stack (tests of stack guards; thread start-up builds on
//! the same idea in the scheduler's context switch).

use core::arch::global_asm;
use core::sync::atomic::Ordering;

global_asm!(
    r#"
    .section .text.stack, "ax"
    .global call_on_stack
call_on_stack:
    push rbp
    mov rbp, rsp
    mov rsp, rdx
    call rsi
    mov rsp, rbp
    pop rbp
    ret
"#
);

extern "C" {
    fn call_on_stack(arg: *mut u8, f: extern "C" fn(*mut u8), top: u64);
}

extern "C" fn call_closure(arg: *mut u8) {
    // SAFETY: `arg` is the `&mut &mut dyn FnMut()` passed by `run_on_stack`, alive for the call.
    let f = unsafe { &mut *(arg as *mut &mut dyn FnMut()) };
    f();
}

/// Runs `f` with the stack pointer at `top`, then returns to the current stack.
///
/// # Safety
/// `[.., top)` must be a mapped, otherwise unused kernel stack of sufficient size, 16-byte
/// aligned at `top`, that stays mapped until `f` returns.
pub unsafe fn run_on_stack(top: u64, mut f: impl FnMut()) {
    let mut closure: &mut dyn FnMut() = &mut f;
    // Faults on the new stack are covered by a fault guard active around this call.
    let previous = super::guard::ALTERNATE_STACK.swap(top, Ordering::SeqCst);
    // SAFETY: `call_on_stack` switches to `top` (valid per the caller), calls `call_closure`
    // with the closure pointer and restores the original stack pointer from rbp.
    unsafe { call_on_stack((&mut closure as *mut &mut dyn FnMut()).cast(), call_closure, top) };
    super::guard::ALTERNATE_STACK.store(previous, Ordering::SeqCst);
}
