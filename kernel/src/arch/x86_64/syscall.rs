//! The SYSCALL/SYSRET entry from user mode, and the way back to user mode.
//!
//! `syscall` arrives at `syscall_entry` with interrupts masked (FMASK clears IF, TF, DF, AC and
//! NT), the user's rip in rcx and rflags in r11, still on the user stack. The entry swaps to the
//! kernel GS, parks the user rsp in the per-CPU scratch slot and puts rsp on the thread's user
//! frame (per-CPU `user_frame`: the top [`USER_FRAME_SIZE`] bytes of its kernel stack, where
//! an interrupt from user mode builds its [`TrapFrame`] too).
//!
//! **Fast path.** The entry stores in that frame only what the fast path itself needs back:
//! rip, rflags, rsp, the number (`error_code`, kept for restarts) and the six argument
//! registers (which the kernel's C-convention code may clobber). rbx, rbp and r12–r15 are not
//! stored: the C convention makes every called function preserve them, so they still hold the
//! user's values when the handler returns. With interrupts on, it calls the call's handler
//! straight from the [`install_table`] table, the arguments in rdi, rsi, rdx, rcx (r10 moved
//! there), r8, r9 — no shim re-reads them from memory. Back with the result in rax, interrupts
//! off, it tests the running thread's return-work word (per-CPU `user_work`, see
//! `percpu::set_user_context`: non-zero when a signal may be pending, the task must exit or
//! stop, or calls are traced) and the saved flags' RF and TF (which `sysretq` cannot restore
//! faithfully); when all are clear it reloads the argument registers, rcx = rip, r11 = rflags
//! and the user rsp, and `sysretq`s. The rip is the one the CPU saved, the address after a
//! `syscall` instruction of a user page, so it is canonical ([`USER_END`] keeps the last
//! canonical page out of user reach; checked below).
//!
//! **Complete path.** Whatever needs the whole register state first completes the frame —
//! rbx, rbp, r12–r15 from the registers, which still hold the user's values; rcx = rip and
//! r11 = rflags as `syscall` left them; rax; the vector ([`SYSCALL_VECTOR`]) and the user
//! selectors — so that from then on the frame is exactly the one an interrupt would have
//! built. Two ways lead there: (1) the return work after a fast call (`syscall_exit_work`:
//! tracing, signals, stop, exit), (2) calls whose table slot is the complete stub: those
//! that take the frame to copy or rewrite (`fork`, `clone`, `execve`, `rt_sigreturn`,
//! `sigaltstack`), unimplemented numbers, and numbers past the table; they run through the
//! kernel's `syscall` handler with the frame, as every call did before the fast path. Both
//! then leave through the checked return, which restores every register from the frame and
//! uses `sysretq` only when the frame's rcx/r11 equal its rip/rflags (what SYSRET loads), rip
//! is a canonical user address and the flags have neither RF nor TF; else `iretq` (a frame
//! rewritten by signal delivery, `rt_sigreturn` or `execve`). [`enter_user`] starts a new
//! user thread from a prepared frame through `iretq` as well.
//!
//! Nothing but the complete path and the thread itself reads a thread's user frame while it
//! is in a system call (a `clone` copies its caller's frame, through the complete stub), so
//! the slots the fast path leaves stale are never seen.

use core::arch::global_asm;
use core::mem::offset_of;
use core::sync::atomic::{AtomicPtr, Ordering};

use ::x86_64::registers::model_specific::{Efer, EferFlags, LStar, SFMask, Star};
use ::x86_64::registers::rflags::RFlags;
use ::x86_64::registers::segmentation::SegmentSelector;
use ::x86_64::{PrivilegeLevel, VirtAddr};

use super::gdt::{KERNEL_CODE_SELECTOR, KERNEL_DATA_SELECTOR};
use super::idt::TrapFrame;
use super::percpu::{OFFSET_USER_FRAME, OFFSET_USER_RSP, OFFSET_USER_WORK};

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
/// User memory ends below the last canonical page, so the address after a `syscall`
/// instruction the user can execute is always canonical: the fast path's `sysretq` needs no
/// check of the rip the CPU saved.
const USER_END: u64 = exo_abi::mman::USER_END;
const _: () = assert!(USER_END <= SYSRET_RIP_END);

/// Number of slots of the fast-path table for Linux's numbers (they stay below it).
pub const SYSCALL_SLOTS: usize = 512;
/// Exo-OS's own range (`exo_abi::fusion::SYSCALL_BASE`, its `SYSCALL_COUNT` numbers) takes the
/// slots after Linux's: the entry turns number `SYSCALL_BASE + n` into slot `SYSCALL_SLOTS + n`
/// (rax, and so the frame's rax, hold the slot; the frame's `error_code` keeps the number).
pub const EXO_SYSCALL_BASE: u64 = exo_abi::fusion::SYSCALL_BASE;
pub const EXO_SYSCALL_SLOTS: usize = exo_abi::fusion::SYSCALL_COUNT;
/// Slots of the whole table.
pub const TABLE_SLOTS: usize = SYSCALL_SLOTS + EXO_SYSCALL_SLOTS;

/// A system call the fast path runs: the six argument registers in the C convention's order,
/// the value for rax (the result or `-errno`) returned. It must not need the user frame.
pub type FastSyscall = extern "C" fn(u64, u64, u64, u64, u64, u64) -> u64;

/// The fast path's table: a [`FastSyscall`] or, for every other number, `syscall_complete`.
static FAST_TABLE: [AtomicPtr<()>; TABLE_SLOTS] =
    [const { AtomicPtr::new(syscall_complete as *mut ()) }; TABLE_SLOTS];

/// Fills the fast path's table (once, at boot, before any user code runs): slot `n` gets
/// `table[n]`, or the complete path where it is `None` or past `table`'s end.
pub(super) fn install_table(table: &[Option<FastSyscall>]) {
    for (number, slot) in FAST_TABLE.iter().enumerate() {
        let handler = match table.get(number) {
            Some(Some(handler)) => *handler as *mut (),
            _ => syscall_complete as *mut (),
        };
        slot.store(handler, Ordering::Release);
    }
}

global_asm!(
    r#"
    .section .text.syscall, "ax"
    .global syscall_entry
syscall_entry:
    swapgs
    mov gs:[{user_rsp}], rsp
    mov rsp, gs:[{user_frame}]
    mov [rsp + {f_rip}], rcx
    mov [rsp + {f_rflags}], r11
    mov rcx, gs:[{user_rsp}]
    mov [rsp + {f_rsp}], rcx
    mov [rsp + {f_error}], rax
    mov [rsp + {f_rdi}], rdi
    mov [rsp + {f_rsi}], rsi
    mov [rsp + {f_rdx}], rdx
    mov [rsp + {f_r10}], r10
    mov [rsp + {f_r8}], r8
    mov [rsp + {f_r9}], r9
    // No `cld`: SYSCALL already cleared DF (FMASK, see `init_cpu`).
    sti
    cmp rax, {slots}
    jae syscall_high_number
syscall_dispatch:
    // Return work already due (a signal, a kill, a tracer's syscall stops): the complete
    // path, so that the call runs with the whole frame saved.
    mov r11, gs:[{user_work}]
    cmp word ptr [r11], 0
    jne syscall_past_table
    mov rcx, r10
    call qword ptr [{table} + rax * 8]
    // The fast way back: no return work, flags SYSRET restores.
    cli
    mov r11, gs:[{user_work}]
    cmp word ptr [r11], 0
    jne syscall_exit_work
    test qword ptr [rsp + {f_rflags}], {rf_tf}
    jnz syscall_exit_work
    mov rdi, [rsp + {f_rdi}]
    mov rsi, [rsp + {f_rsi}]
    mov rdx, [rsp + {f_rdx}]
    mov r10, [rsp + {f_r10}]
    mov r8, [rsp + {f_r8}]
    mov r9, [rsp + {f_r9}]
    mov rcx, [rsp + {f_rip}]
    mov r11, [rsp + {f_rflags}]
    mov rsp, [rsp + {f_rsp}]
    swapgs
    sysretq

    // A number past Linux's slots: Exo-OS's range maps to the slots after them, anything
    // else takes the complete path (ENOSYS).
syscall_high_number:
    lea rcx, [rax - {exo_base}]
    cmp rcx, {exo_slots}
    jae syscall_past_table
    lea rax, [rcx + {slots}]
    jmp syscall_dispatch

    // Completes the frame at rsp (see the module's documentation); rax is stored by the
    // caller. Clobbers rcx and r11.
.macro complete_syscall_frame
    mov [rsp + {f_rbx}], rbx
    mov [rsp + {f_rbp}], rbp
    mov [rsp + {f_r12}], r12
    mov [rsp + {f_r13}], r13
    mov [rsp + {f_r14}], r14
    mov [rsp + {f_r15}], r15
    mov rcx, [rsp + {f_rip}]
    mov [rsp + {f_rcx}], rcx
    mov r11, [rsp + {f_rflags}]
    mov [rsp + {f_r11}], r11
    mov qword ptr [rsp + {f_vector}], {vector}
    mov qword ptr [rsp + {f_cs}], {user_cs}
    mov qword ptr [rsp + {f_ss}], {user_ss}
.endm

    // A fast call's return work: interrupts off, the result in rax.
syscall_exit_work:
    mov [rsp + {f_rax}], rax
    complete_syscall_frame
    mov rdi, rsp
    call qword ptr [rip + {exit_work}]
    jmp syscall_return_checked

    // The table slot of the calls that need the complete frame: called by the entry (the
    // return address is dropped), interrupts on, rax the number, the arguments still in
    // their registers and stored in the frame.
    .global syscall_complete
syscall_complete:
    add rsp, 8
syscall_past_table:
    mov [rsp + {f_rax}], rax
    complete_syscall_frame
    mov rdi, rsp
    call qword ptr [rip + {handler}]
    cli

    // Back to user mode from the complete frame at rsp, with interrupts off.
syscall_return_checked:
    // SYSRET loads rip from rcx and rflags from r11: usable only if that restores the frame.
    mov rcx, [rsp + {f_rcx}]
    cmp rcx, [rsp + {f_rip}]
    jne user_return_iret
    mov r11, [rsp + {f_r11}]
    cmp r11, [rsp + {f_rflags}]
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
    user_frame = const OFFSET_USER_FRAME,
    user_work = const OFFSET_USER_WORK,
    user_ss = const USER_DATA_SELECTOR as u64,
    user_cs = const USER_CODE_SELECTOR as u64,
    vector = const SYSCALL_VECTOR,
    slots = const SYSCALL_SLOTS,
    exo_base = const EXO_SYSCALL_BASE,
    exo_slots = const EXO_SYSCALL_SLOTS,
    table = sym FAST_TABLE,
    handler = sym super::handlers::SYSCALL_HANDLER,
    exit_work = sym super::handlers::SYSCALL_EXIT_WORK,
    f_rax = const offset_of!(TrapFrame, rax),
    f_rbx = const offset_of!(TrapFrame, rbx),
    f_rcx = const offset_of!(TrapFrame, rcx),
    f_rdx = const offset_of!(TrapFrame, rdx),
    f_rsi = const offset_of!(TrapFrame, rsi),
    f_rdi = const offset_of!(TrapFrame, rdi),
    f_rbp = const offset_of!(TrapFrame, rbp),
    f_r8 = const offset_of!(TrapFrame, r8),
    f_r9 = const offset_of!(TrapFrame, r9),
    f_r10 = const offset_of!(TrapFrame, r10),
    f_r11 = const offset_of!(TrapFrame, r11),
    f_r12 = const offset_of!(TrapFrame, r12),
    f_r13 = const offset_of!(TrapFrame, r13),
    f_r14 = const offset_of!(TrapFrame, r14),
    f_r15 = const offset_of!(TrapFrame, r15),
    f_vector = const offset_of!(TrapFrame, vector),
    f_error = const offset_of!(TrapFrame, error_code),
    f_rip = const offset_of!(TrapFrame, rip),
    f_cs = const offset_of!(TrapFrame, cs),
    f_rflags = const offset_of!(TrapFrame, rflags),
    f_rsp = const offset_of!(TrapFrame, rsp),
    f_ss = const offset_of!(TrapFrame, ss),
    user_end = const SYSRET_RIP_END,
    rf_tf = const RFLAGS_RF_TF,
);

extern "C" {
    fn syscall_entry();
    fn syscall_complete();
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
