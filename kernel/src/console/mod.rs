//! The kernel console: every kernel message goes to both the COM1 serial port and the VGA text
//! screen. `kprint!`/`kprintln!` and the `log` crate (see [`logger`]) write here.
//!
//! The console works from the first line of Rust code: the UART and the VGA buffer are set up on
//! first use. The fault and panic paths use [`emergency`], which takes the console even when the
//! interrupted code held its lock.

pub mod klog;
pub mod logger;
pub mod splash;

use core::fmt::{self, Write};

// The console lock is a leaf lock below the lock checker (lockdep reports through the console):
// a plain `spin::Mutex`, always taken with interrupts off.
use spin::{Mutex, MutexGuard};

use crate::drivers::serial::{Uart16550, COM1_BASE};
use crate::drivers::vga_text::VgaText;

/// The serial port and screen, set up on first use.
pub struct Console {
    pub serial: Uart16550,
    pub vga: Option<VgaText>,
    ready: bool,
}

impl Console {
    fn ensure_ready(&mut self) {
        if !self.ready {
            self.ready = true;
            self.serial.init();
            self.vga = VgaText::new();
            if let Some(vga) = self.vga.as_mut() {
                vga.clear();
            }
        }
    }
}

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.ensure_ready();
        for byte in s.bytes() {
            if byte == b'\n' {
                self.serial.write_byte(b'\r');
            }
            self.serial.write_byte(byte);
            if let Some(vga) = self.vga.as_mut() {
                vga.write_byte(byte);
            }
        }
        if let Some(vga) = self.vga.as_ref() {
            vga.update_cursor();
        }
        Ok(())
    }
}

static CONSOLE: Mutex<Console> =
    Mutex::new(Console { serial: Uart16550::new(COM1_BASE), vga: None, ready: false });

/// Runs `f` with the console locked and interrupts disabled (so an interrupt handler that prints
/// cannot deadlock against the code it interrupted).
pub fn with<R>(f: impl FnOnce(&mut Console) -> R) -> R {
    crate::arch::without_interrupts(|| {
        let mut console = CONSOLE.lock();
        console.ensure_ready();
        f(&mut console)
    })
}

#[doc(hidden)]
pub fn print_args(args: fmt::Arguments) {
    with(|console| {
        let _ = console.write_fmt(args);
    });
}

/// The console for fault and panic reports: taken even if its lock stays held, because the
/// holder may be the very code that faulted on this CPU. Another CPU printing normally is given
/// up to 100 ms to finish first, so its line is not cut.
pub fn emergency() -> MutexGuard<'static, Console> {
    let start = crate::arch::read_timestamp();
    let patience = crate::time::tsc_hz() / 10;
    loop {
        if let Some(mut guard) = CONSOLE.try_lock() {
            guard.ensure_ready();
            return guard;
        }
        if crate::arch::read_timestamp().wrapping_sub(start) > patience {
            // SAFETY: the holder has not released the console for 100 ms: it is the interrupted
            // code on this CPU (which will not run again before the report is written) or a CPU
            // that is stuck; at worst the interrupted line of output is garbled.
            unsafe { CONSOLE.force_unlock() };
        }
        core::hint::spin_loop();
    }
}

/// Prints to the console.
#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => { $crate::console::print_args(format_args!($($arg)*)) };
}

/// Prints a line to the console.
#[macro_export]
macro_rules! kprintln {
    () => { $crate::kprint!("\n") };
    ($($arg:tt)*) => { $crate::console::print_args(format_args!("{}\n", format_args!($($arg)*))) };
}
