//! The interrupt descriptor table: 256 gates that all enter through one assembly path.
//!
//! Each vector has a 16-byte stub that pushes a zero error code (for vectors where the CPU pushes
//! none) and the vector number, then jumps to `isr_common`, which saves every general-purpose
//! register into a [`TrapFrame`] on the stack and calls [`super::trap::trap_dispatch`]. The
//! return path restores the frame (which the handler may have edited) and `iretq`s. Entries from
//! and returns to user mode (CS RPL 3) also `swapgs`, so GS always holds the per-CPU block in
//! the kernel. A fault *on* one of the two `iretq`s to user mode (this one and the syscall
//! path's: #GP/#SS/#NP from a state the CPU refuses) arrives from kernel mode but after the
//! `swapgs`, so the entry also swaps when the interrupted RIP is one of them, and
//! [`fix_bad_iret`] turns the fault into the user's own (SIGSEGV), as Linux's `fixup_bad_iret`
//! does. Every entry also clears RFLAGS.AC (`clac`, when SMAP is on — the instruction
//! does not exist without it): the CPU does not clear AC when it delivers an interrupt, so
//! without this a user program that set AC (`popf` may) would run the kernel's handler with
//! SMAP off. (An NMI or machine check arriving between a `swapgs` and the `iretq`/`sysretq`
//! would see the user GS; their handlers only report and stop, so this is accepted.)

use core::arch::global_asm;
use core::mem::size_of;
use core::sync::atomic::{AtomicU64, Ordering};

use ::x86_64::instructions::tables::lidt;
use ::x86_64::structures::DescriptorTablePointer;
use ::x86_64::VirtAddr;

use super::gdt::{IST_DOUBLE_FAULT, IST_MACHINE_CHECK, IST_NMI, KERNEL_CODE_SELECTOR};

/// The register state saved on every interrupt and exception, lowest address first.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Vector number, pushed by the stub.
    pub vector: u64,
    /// The CPU's error code, or 0 for vectors without one.
    pub error_code: u64,
    // Pushed by the CPU.
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// Interrupt and exception handlers that started with RFLAGS.AC set, i.e. with SMAP suspended in
/// the kernel. The entry's `clac` keeps this at 0; the ktests check it.
pub static ENTRY_WITH_AC: AtomicU64 = AtomicU64::new(0);

/// Counts a handler entered with RFLAGS.AC set (called first thing by `trap_dispatch`).
#[inline]
pub fn note_entry_flags() {
    const AC: u64 = 1 << 18;
    if ::x86_64::registers::rflags::read_raw() & AC != 0 {
        ENTRY_WITH_AC.fetch_add(1, Ordering::Relaxed);
    }
}

/// Faults taken on an `iretq` to user mode and turned into the user's fault ([`fix_bad_iret`]).
pub static BAD_IRETS: AtomicU64 = AtomicU64::new(0);

extern "C" {
    static isr_user_iretq: u8;
    static syscall_user_iretq: u8;
}

/// If `frame` is a #NP, #SS or #GP raised by one of the `iretq` instructions that return to
/// user mode, rewrites it into the user-mode state that `iretq` was loading — the general
/// registers are already the user's, the five words it was popping are at the faulting RSP —
/// with user selectors and sanitized flags, and returns true: the caller then treats it as a
/// fault of the user program (which gets SIGSEGV) and returns to user mode through the normal
/// path. The entry code has already restored the kernel GS for it.
pub fn fix_bad_iret(frame: &mut TrapFrame) -> bool {
    let iretqs = [(&raw const isr_user_iretq) as u64, (&raw const syscall_user_iretq) as u64];
    if !matches!(frame.vector, 11..=13) || frame.cs & 3 != 0 || !iretqs.contains(&frame.rip) {
        return false;
    }
    // SAFETY: the faulting `iretq` ran on this kernel stack with RSP at the five words it was
    // loading (rip, cs, rflags, rsp, ss); a same-privilege exception pushed its frame below
    // them without a stack switch, so they are intact, mapped and 8-byte aligned.
    let words = unsafe { core::ptr::read(frame.rsp as *const [u64; 5]) };
    frame.rip = words[0];
    frame.cs = words[1];
    frame.rflags = words[2];
    frame.rsp = words[3];
    frame.ss = words[4];
    super::syscall::sanitize_user_frame(frame);
    BAD_IRETS.fetch_add(1, Ordering::Relaxed);
    true
}

/// Test hook: takes the `iretq` to user mode with a code selector beyond the GDT (#GP at the
/// `iretq`), exactly as the return path would after its `swapgs`. The fault comes back as a
/// user fault of the calling thread; a kernel thread without a process is then ended.
///
/// # Safety
/// Only for a kernel thread that may be ended (it never returns).
#[cfg(feature = "ktest")]
pub unsafe fn iret_with_bad_selector() -> ! {
    // SAFETY: builds a complete iret frame on this stack; the CPU refuses its CS at the
    // `iretq`, which the entry path fixes up (see `fix_bad_iret`), so user mode is never
    // entered with it.
    unsafe {
        core::arch::asm!(
            "push 0x1b",   // ss: user data
            "push 0",      // rsp
            "push 0x2",    // rflags
            "push 0x3b",   // cs: GDT index 7, beyond the 7-entry GDT
            "push 0x1000", // rip
            "cli",
            "swapgs",
            "jmp {iretq}",
            iretq = sym isr_user_iretq,
            options(noreturn)
        )
    }
}

/// Size in bytes of one entry stub in `isr_stubs`.
const STUB_SIZE: u64 = 16;

global_asm!(
    r#"
    .section .text.isr, "ax"
    .balign 16
    .global isr_stubs
isr_stubs:
    .set isr_vector, 0
    .rept 256
    .balign 16
    .if (isr_vector == 8) || ((isr_vector >= 10) && (isr_vector <= 14)) || (isr_vector == 17) || (isr_vector == 21) || (isr_vector == 29) || (isr_vector == 30)
    .else
    push 0
    .endif
    push isr_vector
    jmp isr_common
    .set isr_vector, isr_vector + 1
    .endr

isr_common:
    test qword ptr [rsp + 24], 3
    jnz 1f
    push rax
    lea rax, [rip + isr_user_iretq]
    cmp [rsp + 24], rax
    je 4f
    lea rax, [rip + syscall_user_iretq]
    cmp [rsp + 24], rax
4:
    pop rax
    jne 2f
1:
    swapgs
2:
    cmp byte ptr [rip + {smap}], 0
    je 3f
    clac
3:
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
    cld
    call {dispatch}
    cli
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
    test qword ptr [rsp + 8], 3
    jz 5f
    swapgs
    .global isr_user_iretq
isr_user_iretq:
    iretq
5:
    iretq
"#,
    dispatch = sym super::trap::trap_dispatch,
    smap = sym super::usercopy::SMAP,
);

extern "C" {
    static isr_stubs: [u8; 256 * STUB_SIZE as usize];
}

/// One 16-byte interrupt gate.
#[repr(C)]
#[derive(Clone, Copy)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

impl Gate {
    const EMPTY: Gate =
        Gate { offset_low: 0, selector: 0, ist: 0, type_attr: 0, offset_mid: 0, offset_high: 0, reserved: 0 };

    /// A present interrupt gate (interrupts disabled on entry) with the given privilege and IST.
    fn interrupt(handler: u64, dpl: u8, ist: u8) -> Gate {
        Gate {
            offset_low: handler as u16,
            selector: KERNEL_CODE_SELECTOR,
            ist,
            type_attr: 0x80 | (dpl << 5) | 0x0e,
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

static IDT: spin::Once<Idt> = spin::Once::new();

/// Fills the IDT with the 256 stubs and loads it on this CPU.
pub fn init() {
    let idt = IDT.call_once(|| {
        // SAFETY: `isr_stubs` is defined in the assembly above; only its address is taken.
        let base = unsafe { isr_stubs.as_ptr() } as u64;
        let mut gates = [Gate::EMPTY; 256];
        for (vector, gate) in gates.iter_mut().enumerate() {
            let ist = match vector {
                2 => IST_NMI + 1,
                8 => IST_DOUBLE_FAULT + 1,
                18 => IST_MACHINE_CHECK + 1,
                _ => 0,
            };
            // #BP and #OF may be raised from user mode with int3/into.
            let dpl = if vector == 3 || vector == 4 { 3 } else { 0 };
            *gate = Gate::interrupt(base + vector as u64 * STUB_SIZE, dpl, ist as u8);
        }
        Idt(gates)
    });
    let pointer = DescriptorTablePointer {
        limit: (size_of::<Idt>() - 1) as u16,
        base: VirtAddr::new(idt as *const Idt as u64),
    };
    // SAFETY: the IDT is a 'static, fully initialised table of valid gates pointing at the stubs.
    unsafe { lidt(&pointer) };
}
