//! The structures of signal delivery on x86-64: the kernel's `struct sigaction` (as
//! `rt_sigaction` reads it), `stack_t` for `sigaltstack`, and the frame the kernel pushes on
//! the user stack before running a handler: `struct sigcontext`, the kernel's
//! `struct ucontext` and `struct rt_sigframe`.
//!
//! Frame layout on the user stack (growing down): [`RtSigFrame`] at a 16-byte-aligned address
//! minus 8 (so the handler sees the stack as if called: `rsp + 8` is 16-aligned), then the FPU
//! state `uc_mcontext.fpstate` points to, 64-byte aligned, above it. `rt_sigreturn` finds the
//! frame at `rsp - 8` (the handler's `ret` popped `pretcode`).

use super::info::SigInfo;
use bytemuck::{Pod, Zeroable};

/// The kernel's `struct sigaction` on x86-64 (32 bytes). Not libc's: libc's puts a 128-byte
/// mask last and translates.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct SigAction {
    /// `sa_handler`/`sa_sigaction`: `SIG_DFL`, `SIG_IGN` or the handler's address.
    pub handler: u64,
    /// `SA_*` bits.
    pub flags: u64,
    /// `sa_restorer`: the address the handler returns to (it calls `rt_sigreturn`). x86-64
    /// requires `SA_RESTORER`: the kernel has no fallback trampoline.
    pub restorer: u64,
    /// Signals blocked while the handler runs (in addition to the signal itself unless
    /// `SA_NODEFER`).
    pub mask: u64,
}

/// `ss_flags`: the thread is currently running on the alternate stack.
pub const SS_ONSTACK: i32 = 1;
/// `ss_flags`: the alternate stack is disabled.
pub const SS_DISABLE: i32 = 2;
/// `ss_flags`: disarm the alternate stack while a handler runs on it (bit 31).
pub const SS_AUTODISARM: i32 = i32::MIN;
/// Smallest alternate stack `sigaltstack` accepts.
pub const MINSIGSTKSZ: usize = 2048;
/// The customary alternate stack size.
pub const SIGSTKSZ: usize = 8192;

/// `stack_t` (24 bytes): an alternate signal stack.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct StackT {
    pub ss_sp: u64,
    pub ss_flags: i32,
    pub _pad: i32,
    pub ss_size: u64,
}

/// x86-64 `struct sigcontext` (256 bytes): the interrupted thread's registers.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct SigContext {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub eflags: u64,
    pub cs: u16,
    pub gs: u16,
    pub fs: u16,
    /// Saved SS; restored only with `UC_SIGCONTEXT_SS` (older ABI: padding).
    pub ss: u16,
    /// Error code of the fault (page-fault error code for SIGSEGV).
    pub err: u64,
    /// Exception vector (14 for a page fault).
    pub trapno: u64,
    /// The first word of the blocked mask (legacy; the full mask is `uc_sigmask`).
    pub oldmask: u64,
    /// Faulting address (page faults).
    pub cr2: u64,
    /// User address of the saved FPU state (fxsave/xsave area), or 0.
    pub fpstate: u64,
    pub reserved1: [u64; 8],
}

/// `uc_flags`: the FPU state is in xsave format (with the magic numbers below).
pub const UC_FP_XSTATE: u64 = 0x1;
/// `uc_flags`: `sigcontext.ss` holds the saved SS.
pub const UC_SIGCONTEXT_SS: u64 = 0x2;
/// `uc_flags`: restore SS exactly on `rt_sigreturn`.
pub const UC_STRICT_RESTORE_SS: u64 = 0x4;

/// The `sw_reserved` magic at byte 464 of an extended (xsave) FPU frame.
pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
/// The magic after the xsave area that marks its end.
pub const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// Size of the legacy fxsave FPU area `fpstate` points to (`struct _fpstate_64`).
pub const FXSAVE_SIZE: usize = 512;

/// The kernel's x86-64 `struct ucontext` (304 bytes), as found in the signal frame. Larger
/// libc `ucontext_t`s share this prefix.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct UContext {
    pub uc_flags: u64,
    pub uc_link: u64,
    pub uc_stack: StackT,
    pub uc_mcontext: SigContext,
    /// The signal mask to restore on `rt_sigreturn` (the kernel's 8-byte sigset).
    pub uc_sigmask: u64,
}

/// `struct rt_sigframe` on x86-64 (440 bytes): what `rsp` points to when a handler starts.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct RtSigFrame {
    /// Return address of the handler: `sa_restorer`.
    pub pretcode: u64,
    pub uc: UContext,
    pub info: SigInfo,
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn sigaction_layout() {
        assert_eq!(size_of::<SigAction>(), 32);
        assert_eq!(offset_of!(SigAction, handler), 0);
        assert_eq!(offset_of!(SigAction, flags), 8);
        assert_eq!(offset_of!(SigAction, restorer), 16);
        assert_eq!(offset_of!(SigAction, mask), 24);
    }

    #[test]
    fn stack_layout() {
        assert_eq!(size_of::<StackT>(), 24);
        assert_eq!(offset_of!(StackT, ss_flags), 8);
        assert_eq!(offset_of!(StackT, ss_size), 16);
        assert_eq!(
            (SS_ONSTACK, SS_DISABLE, SS_AUTODISARM as u32),
            (1, 2, 1 << 31)
        );
        assert_eq!((MINSIGSTKSZ, SIGSTKSZ), (2048, 8192));
    }

    #[test]
    fn sigcontext_layout() {
        assert_eq!(size_of::<SigContext>(), 256);
        assert_eq!(offset_of!(SigContext, r8), 0);
        assert_eq!(offset_of!(SigContext, r15), 56);
        assert_eq!(offset_of!(SigContext, rdi), 64);
        assert_eq!(offset_of!(SigContext, rax), 104);
        assert_eq!(offset_of!(SigContext, rsp), 120);
        assert_eq!(offset_of!(SigContext, rip), 128);
        assert_eq!(offset_of!(SigContext, eflags), 136);
        assert_eq!(offset_of!(SigContext, cs), 144);
        assert_eq!(offset_of!(SigContext, ss), 150);
        assert_eq!(offset_of!(SigContext, err), 152);
        assert_eq!(offset_of!(SigContext, trapno), 160);
        assert_eq!(offset_of!(SigContext, oldmask), 168);
        assert_eq!(offset_of!(SigContext, cr2), 176);
        assert_eq!(offset_of!(SigContext, fpstate), 184);
        assert_eq!(offset_of!(SigContext, reserved1), 192);
    }

    #[test]
    fn ucontext_and_frame_layout() {
        assert_eq!(size_of::<UContext>(), 304);
        assert_eq!(offset_of!(UContext, uc_stack), 16);
        assert_eq!(offset_of!(UContext, uc_mcontext), 40);
        assert_eq!(offset_of!(UContext, uc_sigmask), 296);
        assert_eq!(size_of::<RtSigFrame>(), 440);
        assert_eq!(offset_of!(RtSigFrame, uc), 8);
        assert_eq!(offset_of!(RtSigFrame, info), 312);
        // musl/glibc read REG_RIP from uc_mcontext.gregs[16]: offset 40 + 16*8 from ucontext.
        assert_eq!(
            offset_of!(UContext, uc_mcontext) + offset_of!(SigContext, rip),
            168
        );
    }
}
