//! What happens when the kernel cannot go on: the panic handler, the report of a kernel CPU
//! exception, and the common stop path, which halts or (with `panic=exit` on the command line)
//! exits QEMU.

use core::fmt::Write;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

use exo_bootinfo::cmdline::PanicAction;

use crate::arch::{self, TrapFrame};

static PANICKING: AtomicBool = AtomicBool::new(false);

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    let mut out = crate::console::emergency();
    if PANICKING.swap(true, Ordering::SeqCst) {
        let _ = writeln!(out, "\n!!! KERNEL PANIC while panicking: {}", info.message());
        drop(out);
        stop_now();
    }
    let _ = writeln!(out, "\n!!! KERNEL PANIC: {}", info.message());
    if let Some(location) = info.location() {
        let _ = writeln!(out, "    at {}:{}:{}", location.file(), location.line(), location.column());
    }
    crate::debug::write_backtrace(&mut *out, None, arch::current_frame_pointer());
    drop(out);
    // Inside a fault guard (the in-kernel test runner) the panic becomes the guarded call's error.
    PANICKING.store(false, Ordering::SeqCst);
    arch::recover_from_panic();
    fatal_stop()
}

/// Stops the kernel after a fatal error has been reported.
pub fn fatal_stop() -> ! {
    PANICKING.store(true, Ordering::SeqCst);
    stop_now()
}

fn stop_now() -> ! {
    match crate::params::options().panic {
        PanicAction::Exit => arch::exit_emulator(arch::exit_code::PANIC),
        PanicAction::Halt => {
            let mut out = crate::console::emergency();
            let _ = writeln!(out, "System halted.");
            drop(out);
            arch::halt_forever()
        }
    }
}

fn describe_page_fault(out: &mut impl Write, error: u64) {
    let cause = if error & 1 != 0 { "protection violation" } else { "page not present" };
    let access = if error & 16 != 0 {
        "instruction fetch"
    } else if error & 2 != 0 {
        "write"
    } else {
        "read"
    };
    let mode = if error & 4 != 0 { "user" } else { "kernel" };
    let _ = write!(out, "{access} in {mode} mode, {cause}");
    if error & 8 != 0 {
        let _ = write!(out, ", reserved bit set");
    }
}

/// The report of a kernel CPU exception (the architecture code's registered `report`): vector
/// name, error code, CR2 and the page-fault cause, a kernel-stack overflow named as such, every
/// register and a symbolized backtrace.
pub fn report_exception(frame: &TrapFrame, cr2: u64, outcome: &str) {
    let vector = frame.vector as u8;
    let mut out = crate::console::emergency();
    let _ = writeln!(out, "\n!!! CPU EXCEPTION: {} (vector {vector}) — {outcome}", arch::exception_name(vector));
    let stack_overflow = match vector {
        arch::VECTOR_PAGE_FAULT | arch::VECTOR_DOUBLE_FAULT => crate::memory::is_stack_guard(cr2),
        _ => false,
    };
    if stack_overflow {
        let _ = writeln!(out, "    kernel stack overflow: the guard page at {cr2:#x} was hit");
    }
    let _ = write!(out, "    error code {:#x}", frame.error_code);
    if vector == arch::VECTOR_PAGE_FAULT {
        let _ = write!(out, " (");
        describe_page_fault(&mut *out, frame.error_code);
        let _ = write!(out, ")\n    CR2 (faulting address) = {cr2:#018x}");
    }
    let _ = writeln!(out);
    let _ = write!(out, "    RIP={:#018x} ", frame.rip);
    crate::debug::write_symbol(&mut *out, frame.rip);
    let _ = writeln!(out);
    let regs = [
        ("RAX", frame.rax), ("RBX", frame.rbx), ("RCX", frame.rcx), ("RDX", frame.rdx),
        ("RSI", frame.rsi), ("RDI", frame.rdi), ("RBP", frame.rbp), ("RSP", frame.rsp),
        ("R8 ", frame.r8), ("R9 ", frame.r9), ("R10", frame.r10), ("R11", frame.r11),
        ("R12", frame.r12), ("R13", frame.r13), ("R14", frame.r14), ("R15", frame.r15),
    ];
    for row in regs.chunks(3) {
        let _ = write!(out, "   ");
        for (name, value) in row {
            let _ = write!(out, " {name}={value:#018x}");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "    CS={:#x} SS={:#x} RFLAGS={:#x}",
        frame.cs, frame.ss, frame.rflags
    );
    crate::debug::write_backtrace(&mut *out, Some(frame.rip), frame.rbp);
}
