//! Trap dispatch: CPU exceptions and hardware interrupts, handed to the kernel's registered
//! handlers ([`super::handlers`]).
//!
//! A kernel exception is reported (the registered `report`: vector name, error code, CR2 for
//! page faults, every register and a symbolized backtrace). #BP and NMI are reported and
//! survived; inside a fault guard ([`super::guard`]) the exception is reported and turned into an
//! error for the guarded caller; anything else is fatal (`fatal_stop`). Legacy IRQs (vectors
//! 32-47) go through the PIC; vectors 0x50-0xdf are device interrupts (MSI/MSI-X, handled by
//! `msi::dispatch`); vectors 0xe0-0xff are local-APIC interrupts (IPIs, APIC timer,
//! spurious), handled by `smp::local_interrupt`. Exceptions raised by user programs go to the
//! registered `user_exception` (demand paging or a signal), and every return to user mode passes
//! through `return_to_user` (signal delivery).

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use ::x86_64::registers::control::Cr2;

use super::guard::{self, Fault};
use super::idt::TrapFrame;
use super::pic::{self, IRQ_BASE};
use super::handlers::kernel;
use super::{apic, msi, smp};

/// Number of #BP exceptions handled since boot.
pub static BREAKPOINTS: AtomicU64 = AtomicU64::new(0);

/// Registered handlers for the 16 legacy IRQ lines (0 = none).
static IRQ_HANDLERS: [AtomicUsize; 16] = [const { AtomicUsize::new(0) }; 16];

/// The page-fault exception (#PF).
pub const VECTOR_PAGE_FAULT: u8 = 14;
/// The double-fault exception (#DF).
pub const VECTOR_DOUBLE_FAULT: u8 = 8;

/// The name of CPU exception `vector`.
pub fn exception_name(vector: u8) -> &'static str {
    const NAMES: [&str; 32] = [
        "DIVIDE ERROR (#DE)", "DEBUG (#DB)", "NON-MASKABLE INTERRUPT (NMI)", "BREAKPOINT (#BP)",
        "OVERFLOW (#OF)", "BOUND RANGE EXCEEDED (#BR)", "INVALID OPCODE (#UD)",
        "DEVICE NOT AVAILABLE (#NM)", "DOUBLE FAULT (#DF)", "COPROCESSOR SEGMENT OVERRUN",
        "INVALID TSS (#TS)", "SEGMENT NOT PRESENT (#NP)", "STACK-SEGMENT FAULT (#SS)",
        "GENERAL PROTECTION FAULT (#GP)", "PAGE FAULT (#PF)", "RESERVED (15)",
        "x87 FLOATING-POINT ERROR (#MF)", "ALIGNMENT CHECK (#AC)", "MACHINE CHECK (#MC)",
        "SIMD FLOATING-POINT EXCEPTION (#XM)", "VIRTUALIZATION EXCEPTION (#VE)",
        "CONTROL PROTECTION EXCEPTION (#CP)", "RESERVED (22)", "RESERVED (23)", "RESERVED (24)",
        "RESERVED (25)", "RESERVED (26)", "RESERVED (27)", "HYPERVISOR INJECTION (#HV)",
        "VMM COMMUNICATION (#VC)", "SECURITY EXCEPTION (#SX)", "RESERVED (31)",
    ];
    NAMES.get(usize::from(vector)).copied().unwrap_or("INTERRUPT")
}

/// Registers `handler` for legacy IRQ line `irq` and unmasks the line.
pub fn register_irq(irq: u8, handler: fn()) {
    if let Some(slot) = IRQ_HANDLERS.get(usize::from(irq)) {
        slot.store(handler as usize, Ordering::SeqCst);
        pic::unmask(irq);
    }
}

/// Entered from `isr_common` with the saved frame of the interrupted code.
pub extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    super::idt::note_entry_flags();
    let vector = frame.vector as u8;
    if vector >= 32 {
        super::percpu::current().interrupted_user.store(super::syscall::is_user_frame(frame), Ordering::Relaxed);
    }
    match vector {
        0..=31 => exception(frame, vector),
        v if (IRQ_BASE..IRQ_BASE + 16).contains(&v) => irq(v - IRQ_BASE),
        v if msi::is_device_vector(v) => {
            msi::dispatch(v);
            (kernel().preempt)();
        }
        v if v >= apic::FIRST_LOCAL_VECTOR => {
            smp::local_interrupt(v);
            (kernel().preempt)();
        }
        _ => log::warn!("unexpected interrupt vector {vector}"),
    }
    if super::syscall::is_user_frame(frame) {
        // Signals, exits and stops take effect on the way back to user mode.
        (kernel().return_to_user)(frame);
    }
}

fn irq(line: u8) {
    if pic::is_spurious(line) {
        return;
    }
    let handler = IRQ_HANDLERS[usize::from(line)].load(Ordering::SeqCst);
    if handler != 0 {
        // SAFETY: non-zero slots only ever hold a `fn()` stored by `register_irq`.
        let handler: fn() = unsafe { core::mem::transmute::<usize, fn()>(handler) };
        handler();
    }
    pic::end_of_interrupt(line);
    (kernel().preempt)();
}

fn exception(frame: &mut TrapFrame, vector: u8) {
    // Read CR2 first: a nested fault while reporting would overwrite it. A double fault caused by
    // a stack overflow leaves the guard-page address of the failed push in CR2.
    let cr2 = Cr2::read_raw();
    let fault = Fault::Exception { vector, error_code: frame.error_code, rip: frame.rip, cr2 };
    if super::idt::fix_bad_iret(frame) {
        // The return to user mode itself faulted: the frame now holds the user state it was
        // loading, and the fault is the program's.
        (kernel().user_exception)(frame, vector, 0);
        return;
    }
    if super::syscall::is_user_frame(frame) && !matches!(vector, 2 | 8 | 18) {
        // A user program's fault: resolved (demand paging, copy-on-write) or turned into a
        // signal for it; never a kernel report.
        (kernel().user_exception)(frame, vector, cr2);
        return;
    }
    match vector {
        3 => {
            BREAKPOINTS.fetch_add(1, Ordering::SeqCst);
            (kernel().report)(frame, cr2, "reported and survived");
        }
        2 => (kernel().report)(frame, cr2, "reported and survived"),
        VECTOR_PAGE_FAULT if (kernel().kernel_thread_fault)(cr2, frame.error_code) => {}
        VECTOR_PAGE_FAULT if super::usercopy::is_user_copy(frame.rip) => {
            // A user address in a copy routine (not present, copy-on-write, or bad): resolved
            // by the process's memory map exactly like the same fault from user mode (its lock,
            // its areas' protection), else the copy reports EFAULT.
            let interrupts_were_on = frame.rflags & (1 << 9) != 0;
            if !(kernel().user_memory_fault)(cr2, frame.error_code, interrupts_were_on) {
                super::usercopy::redirect_to_fixup(frame);
            }
        }
        _ => {
            if guard::covers(frame.rsp) {
                (kernel().report)(frame, cr2, "caught by the fault guard");
                guard::redirect_trap(frame, fault);
                return;
            }
            (kernel().report)(frame, cr2, "fatal");
            (kernel().fatal_stop)()
        }
    }
}
