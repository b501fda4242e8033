//! The idle console: once boot is done the kernel waits here with interrupts on, halting the CPU
//! between serial interrupts, echoing what is typed and running a few built-in commands. (It is
//! replaced by PID 1 and the TTY once user space exists.)

use crate::spinlock::SpinLock as Mutex;

use crate::drivers::serial::{Uart16550, COM1_BASE, COM1_IRQ};
use crate::{arch, kprint, kprintln};

/// Bytes received by the serial interrupt, not yet consumed.
struct InputRing {
    bytes: [u8; 256],
    head: usize,
    len: usize,
}

impl InputRing {
    fn push(&mut self, byte: u8) {
        if self.len < self.bytes.len() {
            self.bytes[(self.head + self.len) % self.bytes.len()] = byte;
            self.len += 1;
        }
    }

    fn pop(&mut self) -> Option<u8> {
        if self.len == 0 {
            return None;
        }
        let byte = self.bytes[self.head];
        self.head = (self.head + 1) % self.bytes.len();
        self.len -= 1;
        Some(byte)
    }
}

static INPUT: Mutex<InputRing> = Mutex::new(InputRing { bytes: [0; 256], head: 0, len: 0 });

/// COM1 interrupt: move every waiting byte into the ring.
fn serial_interrupt() {
    let uart = Uart16550::new(COM1_BASE);
    let mut input = INPUT.lock();
    while let Some(byte) = uart.read_byte() {
        input.push(byte);
    }
}

/// Waits for the next input byte, halting the CPU while there is none.
fn next_byte() -> u8 {
    loop {
        // Interrupts stay off from the check to the halt, so `sti; hlt` cannot miss a wake-up.
        let byte = arch::without_interrupts(|| {
            let byte = INPUT.lock().pop();
            if byte.is_none() {
                arch::enable_interrupts_and_wait();
            }
            byte
        });
        if let Some(byte) = byte {
            return byte;
        }
    }
}

fn run_command(line: &str) {
    match line.trim() {
        "" => {}
        "help" => {
            kprintln!("commands: help, info, threads, uptime, breakpoint, poweroff");
        }
        "info" => crate::boot::print_summary(),
        "threads" => {
            kprintln!("{:>5} {:<16} {:<9} {:<9} {:<7} {:>4} {:>12}", "id", "name", "state", "priority", "queue", "cpu", "runtime ms");
            crate::sched::for_each_thread(|t| {
                kprintln!(
                    "{:>5} {:<16} {:<9} {:<9} {:<7} {:>4} {:>12}",
                    t.id, t.name(), alloc::format!("{:?}", t.state()), alloc::format!("{:?}", t.priority),
                    alloc::format!("{:?}", t.queue()), t.last_cpu(), t.runtime_ns() / 1_000_000
                );
            });
        }
        "uptime" => {
            let ms = crate::time::since_boot_ns() / 1_000_000;
            kprintln!("up {}.{:03} s", ms / 1000, ms % 1000);
        }
        "breakpoint" => arch::breakpoint(),
        "poweroff" => {
            kprintln!("Powering off.");
            arch::exit_emulator(arch::exit_code::SUCCESS);
        }
        other => kprintln!("unknown command: {other} (try `help`)"),
    }
}

/// The idle loop: prompt, line editing (backspace), and commands. Never returns.
pub fn run() -> ! {
    arch::register_irq(COM1_IRQ, serial_interrupt);
    Uart16550::new(COM1_BASE).enable_receive_interrupt();
    let mut line = [0u8; 128];
    let mut len = 0;
    kprint!("exo> ");
    loop {
        match next_byte() {
            b'\r' | b'\n' => {
                kprintln!();
                run_command(core::str::from_utf8(&line[..len]).unwrap_or(""));
                len = 0;
                kprint!("exo> ");
            }
            0x08 | 0x7f => {
                if len > 0 {
                    len -= 1;
                    kprint!("\x08 \x08");
                }
            }
            byte @ 0x20..=0x7e if len < line.len() => {
                line[len] = byte;
                len += 1;
                kprint!("{}", byte as char);
            }
            _ => {}
        }
    }
}
