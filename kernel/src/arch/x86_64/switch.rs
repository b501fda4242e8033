//! The context switch: Exo-OS's "windowed" switch saves only what a function call must preserve.
//!
//! A thread gives up the CPU by *calling* `switch_context`. By the System V ABI the caller has
//! already saved every caller-saved register it still needs (rax, rcx, rdx, rsi, rdi, r8–r11,
//! the arithmetic flags, and all SSE registers), so the switch pushes just the six callee-saved
//! registers (rbx, rbp, r12–r15) and RFLAGS on the old stack, stores the stack pointer, loads the
//! new thread's stack pointer and pops the same seven: the return address on the new stack takes
//! it back to where *that* thread called `switch_context`. Eight words in, eight out.
//! RFLAGS is part of the window for its system bits, AC above all: a thread that switched with
//! AC set (inside a `stac` bracket) must not hand AC — that is, SMAP turned off — to the next
//! thread, and must get it back itself (Linux saves the flags in `__switch_to_asm` for the same
//! reason). DF is clear by the ABI and IF is clear (the switch runs with interrupts off).
//! Interrupted threads are no different: the interrupt entry saved their full register set in
//! the trap frame on their own stack before the handler called into the scheduler.
//!
//! FPU/SSE state is not part of the window: the kernel is built soft-float and never touches it,
//! so only threads that use it (user threads, or kernel threads that opt in) carry an [`FpuState`]
//! that the scheduler saves and restores with XSAVEOPT/XRSTOR (FXSAVE/FXRSTOR without XSAVE).

use core::arch::global_asm;
use core::sync::atomic::{AtomicU32, Ordering};

global_asm!(
    r#"
    .section .text.switch, "ax"
    .global switch_context
switch_context:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    pushfq
    mov [rdi], rsp
    mov rsp, rsi
    popfq
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

    .global thread_start
thread_start:
    mov rdi, r12
    xor ebp, ebp
    and rsp, -16
    call r13
    ud2
"#
);

extern "C" {
    fn switch_context(save_rsp: *mut u64, next_rsp: u64);
    fn thread_start();
}

/// Saves the current callee-saved registers and stack pointer into `*save_rsp` and resumes the
/// thread whose saved stack pointer is `next_rsp`. Returns when something switches back.
///
/// # Safety
/// Interrupts must be disabled. `next_rsp` must be a stack pointer saved by this function or
/// prepared by [`prepare_stack`], on a stack that stays mapped while that thread runs, and no
/// other CPU may be running or resuming that thread. `save_rsp` must be valid for a write.
pub unsafe fn switch(save_rsp: *mut u64, next_rsp: u64) {
    // SAFETY: guaranteed by the caller; `switch_context` follows the C ABI.
    unsafe { switch_context(save_rsp, next_rsp) }
}

/// Lays out a new thread's stack so that switching to the returned stack pointer calls
/// `entry(arg)` on it (with interrupts still disabled and AC clear: its saved RFLAGS is 0x2).
///
/// # Safety
/// `[top - 64, top)` must be mapped, writable and owned by the new thread.
pub unsafe fn prepare_stack(top: u64, entry: extern "C" fn(u64) -> !, arg: u64) -> u64 {
    let words: [u64; 8] = [
        0x2,                          // rflags: only the always-one bit (IF, AC, DF clear)
        0,                            // r15
        0,                            // r14
        entry as *const () as u64,    // r13: the function `thread_start` calls
        arg,                          // r12: its argument
        0,                            // rbx
        0,                            // rbp
        thread_start as *const () as u64, // return address of `switch_context`
    ];
    let rsp = (top & !0xf) - (words.len() as u64) * 8;
    // SAFETY: the caller guarantees the 64 bytes below `top` are the new thread's.
    unsafe { core::ptr::copy_nonoverlapping(words.as_ptr(), rsp as *mut u64, words.len()) };
    rsp
}

/// One thread's saved x87/SSE/AVX state (64-byte aligned, as XSAVE requires).
#[repr(C, align(64))]
pub struct FpuState {
    area: [u8; 4096],
}

impl FpuState {
    /// A state equal to the CPU's after `fninit` with default MXCSR (what a new thread gets).
    pub fn new() -> FpuState {
        let mut state = FpuState { area: [0; 4096] };
        // FXSAVE layout: FCW at 0 (0x37f), MXCSR at 24 (0x1f80); XSAVE header zero = init state.
        state.area[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        state.area[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        state
    }

    /// Saves this CPU's FPU/SSE state here.
    pub fn save(&mut self) {
        let ptr = self.area.as_mut_ptr();
        // SAFETY: the area is 64-byte aligned and 4096 bytes, larger than any XSAVE layout for
        // x87|SSE|AVX (`fpu_state_size`); all components are requested (edx:eax = -1), the CPU
        // writes only those enabled in XCR0.
        unsafe {
            if super::cpu::xsave_enabled() {
                core::arch::asm!("xsaveopt64 [{}]", in(reg) ptr, in("eax") u32::MAX, in("edx") u32::MAX, options(nostack));
            } else {
                core::arch::asm!("fxsave64 [{}]", in(reg) ptr, options(nostack));
            }
        }
    }

    /// Loads the FPU/SSE state saved here into this CPU.
    pub fn restore(&self) {
        let ptr = self.area.as_ptr();
        // SAFETY: as for `save`; the area holds a state written by `save` or `new` (whose XSAVE
        // header of zeros means "initial state" for every component).
        unsafe {
            if super::cpu::xsave_enabled() {
                core::arch::asm!("xrstor64 [{}]", in(reg) ptr, in("eax") u32::MAX, in("edx") u32::MAX, options(nostack));
            } else {
                core::arch::asm!("fxrstor64 [{}]", in(reg) ptr, options(nostack));
            }
        }
    }
}

/// The CPU's MXCSR_MASK (which MXCSR bits FXRSTOR/LDMXCSR accept), read once with FXSAVE; 0
/// until then.
static MXCSR_MASK: AtomicU32 = AtomicU32::new(0);

/// The MXCSR bits this CPU supports: the MXCSR_MASK field of an FXSAVE image, or 0xffbf when
/// the CPU stores 0 there (Intel SDM 11.6.6). Every CPU of the machine is the same model, so the
/// boot CPU's value (cached on first use) holds for all.
pub fn mxcsr_mask() -> u32 {
    let cached = MXCSR_MASK.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    let mut image = LegacyFpuState([0; 512]);
    // SAFETY: the buffer is 512 bytes and 16-byte aligned, as FXSAVE requires; it only stores.
    unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) image.0.as_mut_ptr(), options(nostack)) };
    let mask = match u32::from_le_bytes([image.0[28], image.0[29], image.0[30], image.0[31]]) {
        0 => 0xffbf,
        mask => mask,
    };
    MXCSR_MASK.store(mask, Ordering::Relaxed);
    mask
}

/// The legacy (FXSAVE) x87/SSE state image that Linux puts in a signal frame (512 bytes).
#[repr(C, align(16))]
pub struct LegacyFpuState(pub [u8; 512]);

impl LegacyFpuState {
    /// Saves this CPU's x87/SSE registers (the current user thread's, as the kernel itself
    /// never uses them).
    pub fn capture() -> LegacyFpuState {
        let mut state = LegacyFpuState([0; 512]);
        // SAFETY: the buffer is 512 bytes and 16-byte aligned, as FXSAVE requires.
        unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) state.0.as_mut_ptr(), options(nostack)) };
        state
    }

    fn mxcsr(&self) -> u32 {
        u32::from_le_bytes([self.0[24], self.0[25], self.0[26], self.0[27]])
    }

    /// Whether FXRSTOR accepts this image as it is: MXCSR has no bit outside the CPU's
    /// MXCSR_MASK (the image's own MXCSR_MASK field is user data and is ignored). Linux answers a
    /// `rt_sigreturn` whose FPU image fails this with SIGSEGV.
    pub fn is_loadable(&self) -> bool {
        self.mxcsr() & !mxcsr_mask() == 0
    }

    /// Loads these x87/SSE registers, after clearing the MXCSR bits the CPU would reject (#GP in
    /// ring 0): the mask is the CPU's own, never the image's.
    pub fn load(&mut self) {
        let mxcsr = self.mxcsr() & mxcsr_mask();
        self.0[24..28].copy_from_slice(&mxcsr.to_le_bytes());
        // SAFETY: 512-byte, 16-byte aligned FXSAVE image whose MXCSR has only bits the CPU
        // supports; FXRSTOR has no other #GP condition (the rest of the image is plain data).
        unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) self.0.as_ptr(), options(nostack)) };
    }
}
