//! What happens when the kernel cannot go on: the panic handler and the common stop path for
//! fatal CPU exceptions, which halts or (with `panic=exit` on the command line) exits QEMU.

use core::fmt::Write;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

use exo_bootinfo::cmdline::PanicAction;

use crate::arch;

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
