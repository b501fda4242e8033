//! The signal frame: what the kernel pushes on the user stack to run a handler (`struct
//! rt_sigframe`: return address, ucontext with the interrupted registers and mask, siginfo, and
//! the FXSAVE image of the FPU registers), and `rt_sigreturn`, which restores from it.
//!
//! Everything `rt_sigreturn` reads is user data and is checked before it reaches the CPU, so
//! no `iretq` or `fxrstor` in ring 0 can fault on it: the instruction pointer must be a
//! canonical user address, only the flags Linux lets a program change (`FIX_EFLAGS`) are taken,
//! the selectors are forced to the user's, and the FXSAVE image must have an MXCSR the CPU
//! accepts. A frame that fails is answered like Linux's `badframe`: SIGSEGV for the thread.
//! A handler address outside the user half is refused when the frame is built (the process
//! dies of SIGSEGV).

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use exo_abi::signal::*;
use exo_abi::{Errno, KResult};

use super::task::Task;
use crate::arch::{self, LegacyFpuState, TrapFrame};
use crate::uaccess::UserPtr;

/// Bytes below the interrupted rsp that belong to the interrupted code (the ABI's red zone).
const RED_ZONE: u64 = 128;
// An instruction pointer at or above `USER_END` is refused: above the canonical user half
// `iretq` would fault in ring 0 on Intel CPUs, and the last page below it is never mapped.
use crate::uaccess::USER_END;
/// The RFLAGS bits `rt_sigreturn` takes from the frame (Linux's FIX_EFLAGS): CF PF AF ZF SF TF
/// DF OF AC RF. The others keep their current values (IF set, IOPL 0, no NT/VM).
const FIX_EFLAGS: u64 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4_0000 | 0x1_0000;

/// Whether `rip` may be loaded by `iretq` into user mode.
fn user_rip(rip: u64) -> bool {
    rip < USER_END
}

fn on_stack(stack: &StackT, sp: u64) -> bool {
    stack.ss_flags & SS_DISABLE == 0 && sp > stack.ss_sp && sp - stack.ss_sp <= stack.ss_size
}

/// The `ss_flags` a thread sees for its alternate stack while at `sp`.
pub fn altstack_flags(stack: &StackT, sp: u64) -> i32 {
    if stack.ss_flags & SS_DISABLE != 0 {
        SS_DISABLE
    } else if on_stack(stack, sp) {
        SS_ONSTACK
    } else {
        0
    }
}

/// Builds a frame for handler `action` of signal `sig` on the user stack and points `frame` at
/// the handler. Err when the user stack cannot take the frame.
pub fn setup(task: &Arc<Task>, frame: &mut TrapFrame, sig: u32, info: &SigInfo, action: &SigAction) -> KResult<()> {
    if !user_rip(action.handler) {
        // Linux lets the `iretq` fault and turns that into SIGSEGV; here the frame is refused
        // before anything is written, and the caller kills the process with SIGSEGV.
        return Err(Errno::EFAULT);
    }
    let (old_mask, altstack) = {
        let mut signals = task.signals.lock();
        let old = signals.saved_mask.take().unwrap_or(signals.mask);
        (old, signals.altstack)
    };
    let mut sp = frame.rsp;
    let use_alt = action.flags & SA_ONSTACK != 0 && altstack.ss_flags & SS_DISABLE == 0 && !on_stack(&altstack, sp);
    if use_alt {
        sp = altstack.ss_sp.wrapping_add(altstack.ss_size);
    } else {
        sp = sp.wrapping_sub(RED_ZONE);
    }
    // FPU image (64-byte aligned), then the frame so that (rsp + 8) is 16-byte aligned.
    let fpstate = sp.wrapping_sub(FXSAVE_SIZE as u64) & !63;
    let frame_size = core::mem::size_of::<RtSigFrame>() as u64;
    let frame_addr = (fpstate.wrapping_sub(frame_size) & !15).wrapping_sub(8);
    let region = usize::try_from(sp.wrapping_sub(frame_addr)).map_err(|_| Errno::EFAULT)?;
    UserPtr::<u8>::new(frame_addr).check(region)?;

    let fpu = LegacyFpuState::capture();
    UserPtr::<u8>::new(fpstate).slice(fpu.0.len())?.write_from(&fpu.0)?;

    let mcontext = SigContext {
        r8: frame.r8, r9: frame.r9, r10: frame.r10, r11: frame.r11,
        r12: frame.r12, r13: frame.r13, r14: frame.r14, r15: frame.r15,
        rdi: frame.rdi, rsi: frame.rsi, rbp: frame.rbp, rbx: frame.rbx,
        rdx: frame.rdx, rax: frame.rax, rcx: frame.rcx, rsp: frame.rsp,
        rip: frame.rip, eflags: frame.rflags,
        cs: frame.cs as u16, gs: 0, fs: 0, ss: frame.ss as u16,
        err: if frame.vector < 32 { frame.error_code } else { 0 },
        trapno: if frame.vector < 32 { frame.vector } else { 0 },
        oldmask: old_mask.0,
        cr2: if sig == SIGSEGV || sig == SIGBUS { info.addr() } else { 0 },
        fpstate,
        reserved1: [0; 8],
    };
    let stack = StackT {
        ss_sp: altstack.ss_sp,
        ss_flags: altstack_flags(&altstack, frame.rsp),
        _pad: 0,
        ss_size: altstack.ss_size,
    };
    let record = RtSigFrame {
        pretcode: action.restorer,
        uc: UContext { uc_flags: UC_SIGCONTEXT_SS, uc_link: 0, uc_stack: stack, uc_mcontext: mcontext, uc_sigmask: old_mask.0 },
        info: *info,
    };
    UserPtr::<RtSigFrame>::new(frame_addr).write(&record)?;

    // The handler runs with the action's mask added (and the signal itself unless SA_NODEFER).
    {
        let mut signals = task.signals.lock();
        let mut mask = old_mask.union(SigSet(action.mask));
        if action.flags & SA_NODEFER == 0 {
            mask.add(sig);
        }
        signals.mask = mask.difference(SigSet::UNBLOCKABLE);
    }
    let siginfo_addr = frame_addr + core::mem::offset_of!(RtSigFrame, info) as u64;
    let ucontext_addr = frame_addr + core::mem::offset_of!(RtSigFrame, uc) as u64;
    frame.rip = action.handler;
    frame.rsp = frame_addr;
    frame.rdi = u64::from(sig);
    frame.rsi = siginfo_addr;
    frame.rdx = ucontext_addr;
    frame.rax = 0;
    // Handlers start with DF and TF clear (ABI), in a fresh FPU control state.
    frame.rflags &= !((1 << 10) | (1 << 8));
    arch::sanitize_user_frame(frame);
    Ok(())
}

/// rt_sigreturn: restores the registers, mask, alternate-stack setting and FPU state saved by
/// [`setup`]. The frame is at the user rsp minus 8 (the handler's `ret` popped `pretcode`).
pub fn sigreturn(task: &Arc<Task>, frame: &mut TrapFrame) -> KResult<u64> {
    let frame_addr = frame.rsp.wrapping_sub(8);
    let record = match UserPtr::<RtSigFrame>::new(frame_addr).read() {
        Ok(record) => record,
        Err(_) => {
            super::signal::force_fault_signal(task, SIGSEGV, SI_KERNEL, 0);
            return Ok(frame.rax);
        }
    };
    let m = record.uc.uc_mcontext;
    let flags_before = frame.rflags;
    frame.r8 = m.r8; frame.r9 = m.r9; frame.r10 = m.r10; frame.r11 = m.r11;
    frame.r12 = m.r12; frame.r13 = m.r13; frame.r14 = m.r14; frame.r15 = m.r15;
    frame.rdi = m.rdi; frame.rsi = m.rsi; frame.rbp = m.rbp; frame.rbx = m.rbx;
    frame.rdx = m.rdx; frame.rax = m.rax; frame.rcx = m.rcx; frame.rsp = m.rsp;
    frame.rip = m.rip;
    frame.rflags = (flags_before & !FIX_EFLAGS) | (m.eflags & FIX_EFLAGS);
    // Not a syscall frame any more: no restart logic applies to the restored state.
    frame.vector = 0;
    frame.error_code = 0;
    arch::sanitize_user_frame(frame);
    {
        let mut signals = task.signals.lock();
        signals.mask = SigSet(record.uc.uc_sigmask).difference(SigSet::UNBLOCKABLE);
        let requested = record.uc.uc_stack;
        // Restore the alternate stack setting unless the thread is running on it.
        if !on_stack(&signals.altstack, frame.rsp) && requested.ss_flags & !SS_AUTODISARM & !SS_ONSTACK & !SS_DISABLE == 0 {
            if requested.ss_flags & SS_DISABLE != 0 {
                signals.altstack.ss_flags = SS_DISABLE;
            } else if requested.ss_size as usize >= MINSIGSTKSZ {
                signals.altstack = StackT { ss_flags: 0, ..requested };
            }
        }
    }
    let mut bad_frame = !user_rip(frame.rip);
    if m.fpstate != 0 && !bad_frame {
        let mut fpu = LegacyFpuState([0; 512]);
        let image = UserPtr::<u8>::new(m.fpstate).slice(fpu.0.len());
        if image.and_then(|image| image.read_into(&mut fpu.0)).is_ok() && fpu.is_loadable() {
            fpu.load();
        } else {
            bad_frame = true;
        }
    }
    if bad_frame {
        // Linux's badframe: the thread gets SIGSEGV (its handler, if any, sees the restored
        // registers; with the default action the process dies).
        super::signal::force_fault_signal(task, SIGSEGV, SI_KERNEL, 0);
    }
    if super::signal::has_deliverable(task) {
        task.attention.store(true, Ordering::SeqCst);
    }
    Ok(frame.rax)
}
