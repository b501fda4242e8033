//! The SYSCALL/SYSRET entry from user mode, and the way back to user mode.
//!
//! `syscall` arrives at `syscall_entry` with interrupts masked (FMASK clears IF, TF, DF, AC and
//! NT), the user's rip in rcx and rflags in r11, still on the user stack. The entry swaps to the
//! kernel GS, parks the user rsp in the per-CPU scratch slot, switches to the thread's kernel
//! stack (per-CPU `kernel_stack_top`, equal to TSS.RSP0) and builds there a [`TrapFrame`] laid
//! out exactly like the one an interrupt from user mode builds: so the frame of a thread in user
//! mode is always the top [`USER_FRAME_SIZE`] bytes of its kernel stack, whatever way it entered.
//! `vector` holds [`SYSCALL_VECTOR`] and `error_code` the original syscall number (for restarts).
//!
//! The entry calls the kernel's registered `syscall` handler directly (one indirect call through
//! `handlers::SYSCALL_HANDLER`), then decides in line whether the fast `sysretq` may be used:
//! only when the frame's rcx/r11 equal its rip/rflags (what SYSRET loads), rip is a canonical
//! user address and the flags ask for nothing SYSRET cannot restore (RF, TF) — a frame
//! rewritten by signal delivery, `rt_sigreturn` or `execve` goes back through `iretq`, which
//! restores every register. (The selectors need no check: a user frame only ever holds the user
//! ones, which SYSRET loads from STAR.) The handler runs the pending-work check of the way back
//! (signals, exit) itself, with interrupts off, so nothing is left to check here. [`enter_user`] starts a new user thread from a
//! prepared frame the same way.

use core::arch::global_asm;
use core::mem::offset_of;

use ::x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
use ::x86_64::registers::rflags::RFlags;
use ::x86_64::registers::segmentation::SegmentSelector;
use ::x86_64::{PrivilegeLevel, VirtAddr};

use super::gdt::{KERNEL_CODE_SELECTOR, KERNEL_DATA_SELECTOR};
use super::idt::TrapFrame;
use super::percpu::{OFFSET_KERNEL_STACK_TOP, OFFSET_USER_RSP};

/// `TrapFrame::vector` of a frame built by the syscall entry.
pub const SYSCALL_VECTOR: u64 = 0x100;
/// User code and stack selectors (RPL 3), as SYSRET loads them from STAR.
pub const USER_CODE_SELECTOR: u16 = 0x20 | 3;
pub const USER_DATA_SELECTOR: u16 = 0x18 | 3;
/// Size of the user frame at the top of every kernel stack.
pub const USER_FRAME_SIZE: u64 = core::mem::size_of::<TrapFrame>() as u64;
const _: () = assert!(USER_FRAME_SIZE % 16 == 0);
/// SYSRET only to a rip below this (a canonical user address).
const SYSRET_RIP_END: u64 = 0x0000_7fff_ffff_f000;
/// RFLAGS.RF and RFLAGS.TF, which SYSRET cannot restore faithfully: such frames take `iretq`.
const RFLAGS_RF_TF: u64 = (1 << 16) | (1 << 8);

global_asm!(
    r#"
    .section .text.syscall, "ax"
    .global syscall_entry
syscall_entry:
    swapgs
    mov gs:[{user_rsp}], rsp
    mov rsp, gs:[{stack_top}]
    push {user_ss}
    push qword ptr gs:[{user_rsp}]
    push r11
    push {user_cs}
    push rcx
    push rax
    push {vector}
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    // No `cld`: SYSCALL already cleared DF (FMASK, see `init_cpu`).
    call qword ptr [rip + {handler}]
    cli
    // SYSRET loads rip from rcx and rflags from r11: usable only if that restores the frame.
    mov rcx, [rsp + {off_rcx}]
    cmp rcx, [rsp + {off_rip}]
    jne user_return_iret
    mov r11, [rsp + {off_r11}]
    cmp r11, [rsp + {off_rflags}]
    jne user_return_iret
    // A non-canonical rip would fault in ring 0 on the user stack.
    mov rax, {user_end}
    cmp rcx, rax
    jae user_return_iret
    test r11, {rf_tf}
    jnz user_return_iret
    // No selector check: SYSRET loads the user selectors from STAR whatever the frame holds,
    // and every writer of a user frame's cs/ss stores exactly those (`new_user_frame`,
    // `sanitize_user_frame`; the CPU for an interrupt from user mode).
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    mov rsp, [rsp + 40]
    swapgs
    sysretq

    .global user_return_iret
user_return_iret:
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    swapgs
    .global syscall_user_iretq
syscall_user_iretq:
    iretq
"#,
    user_rsp = const OFFSET_USER_RSP,
    stack_top = const OFFSET_KERNEL_STACK_TOP,
    user_ss = const USER_DATA_SELECTOR as u64,
    user_cs = const USER_CODE_SELECTOR as u64,
    vector = const SYSCALL_VECTOR,
    handler = sym super::handlers::SYSCALL_HANDLER,
    off_rcx = const offset_of!(TrapFrame, rcx),
    off_r11 = const offset_of!(TrapFrame, r11),
    off_rip = const offset_of!(TrapFrame, rip),
    off_rflags = const offset_of!(TrapFrame, rflags),
    user_end = const SYSRET_RIP_END,
    rf_tf = const RFLAGS_RF_TF,
);

extern "C" {
    fn syscall_entry();
    fn user_return_iret() -> !;
}


/// Enables SYSCALL on this CPU: EFER.SCE, the selectors in STAR, the entry in LSTAR and the
/// flags cleared on entry in FMASK.
pub fn init_cpu() {
    // SAFETY: the selectors name this CPU's GDT layout (user data 0x18 and user code 0x20 follow
    // each other as SYSRET requires); the entry point is the assembly above; FMASK masks
    // interrupts until the entry is on the kernel stack.
    unsafe {
        Efer::update(|f| f.insert(EferFlags::SYSTEM_CALL_EXTENSIONS));
        let result = Star::write(
            SegmentSelector::new(USER_CODE_SELECTOR >> 3, PrivilegeLevel::Ring3),
            SegmentSelector::new(USER_DATA_SELECTOR >> 3, PrivilegeLevel::Ring3),
            SegmentSelector::new(KERNEL_CODE_SELECTOR >> 3, PrivilegeLevel::Ring0),
            SegmentSelector::new(KERNEL_DATA_SELECTOR >> 3, PrivilegeLevel::Ring0),
        );
        if let Err(error) = result {
            log::error!("syscall: cannot program STAR: {error}");
        }
        LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
        SFMask::write(
            RFlags::INTERRUPT_FLAG
                | RFlags::TRAP_FLAG
                | RFlags::DIRECTION_FLAG
                | RFlags::ALIGNMENT_CHECK
                | RFlags::NESTED_TASK,
        );
    }
}

/// A frame that starts user code at `rip` with stack `rsp`, interrupts enabled, every other
/// register zero.
pub fn new_user_frame(rip: u64, rsp: u64) -> TrapFrame {
    TrapFrame {
        rip,
        rsp,
        cs: u64::from(USER_CODE_SELECTOR),
        ss: u64::from(USER_DATA_SELECTOR),
        rflags: 0x202,
        ..TrapFrame::default()
    }
}

/// Makes `frame` safe to return to user mode with: user selectors, interrupts on, IOPL 0, no
/// nested-task or VM flags. Used on frames built from user-provided values (`rt_sigreturn`,
/// signal delivery). The instruction pointer is the caller's to check (canonical user address).
pub fn sanitize_user_frame(frame: &mut TrapFrame) {
    // User-changeable flags: CF PF AF ZF SF TF DF OF AC RF ID; IF always set.
    const USER_FLAGS: u64 =
        0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x1_0000 | 0x4_0000 | 0x20_0000;
    frame.rflags = (frame.rflags & USER_FLAGS) | 0x202;
    frame.cs = u64::from(USER_CODE_SELECTOR);
    frame.ss = u64::from(USER_DATA_SELECTOR);
}

/// Whether `frame` was saved from user mode.
pub fn is_user_frame(frame: &TrapFrame) -> bool {
    frame.cs & 3 == 3
}

/// Returns to user mode with the register state of `frame`, which must be the user frame at
/// the top of the current thread's kernel stack.
///
/// # Safety
/// `frame` must point at this thread's user frame (its kernel stack top minus
/// [`USER_FRAME_SIZE`]), holding a state that [`sanitize_user_frame`] would not change, and
/// nothing on the stack below it may be needed any more (this function never returns).
pub unsafe fn enter_user(frame: *const TrapFrame) -> ! {
    // SAFETY: guaranteed by the caller: the frame is the stack's top frame, so the return path
    // pops it and `iretq`s to user mode with the kernel stack empty again.
    unsafe {
        core::arch::asm!(
            "cli",
            "mov rsp, {frame}",
            "jmp {ret}",
            frame = in(reg) frame,
            ret = sym user_return_iret,
            options(noreturn)
        )
    }
}
