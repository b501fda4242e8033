//! The console TTY: the one terminal behind /dev/console, /dev/tty0, /dev/ttyS0 and (for its
//! session) /dev/tty. Input comes from COM1's receive interrupt and the PS/2 keyboard and goes
//! through the n_tty line discipline of `exo_tty`; output (user writes and echo) goes to the
//! serial port and to the VGA screen through the ANSI screen model. Signals for the foreground
//! process group (^C, ^\, ^Z, SIGWINCH) are sent by a small kernel thread, not from the
//! interrupt handler. See docs/tty.md.

mod file;
mod job;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use exo_abi::termios::{Termios, Winsize};
use exo_tty::LineDiscipline;
use crate::spinlock::SpinLock as Mutex;

use crate::drivers::serial::{Uart16550, COM1_BASE, COM1_IRQ};
use crate::process::Pid;
use crate::sched::pollwait::PollQueue;
use crate::sched::wait::WaitQueue;

pub use file::TtyFile;

/// The state of the console terminal.
pub struct Tty {
    pub ldisc: LineDiscipline,
    pub winsize: Winsize,
    /// The session this is the controlling terminal of.
    pub session: Option<Pid>,
    /// The foreground process group.
    pub pgrp: Option<Pid>,
}

static TTY: Mutex<Option<Tty>> = Mutex::new(None);
/// Readers (and VMIN/VTIME waits) sleep here until input arrives.
static READERS: WaitQueue = WaitQueue::new();
/// poll/select/epoll_wait callers polling the console (notified with `READERS`).
static POLLERS: PollQueue = PollQueue::new();
/// Signals (bit n = signal n) waiting to be sent to the foreground process group.
static PENDING_SIGNALS: AtomicU32 = AtomicU32::new(0);
static SIGNALLER: WaitQueue = WaitQueue::new();

/// Runs `f` on the terminal state, with interrupts off (the input interrupts take it too).
pub fn with<R>(f: impl FnOnce(&mut Tty) -> R) -> R {
    crate::arch::without_interrupts(|| {
        let mut guard = TTY.lock();
        let tty = guard.get_or_insert_with(|| Tty {
            ldisc: LineDiscipline::new(Termios::default_console()),
            winsize: Winsize { ws_row: 25, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 },
            session: None,
            pgrp: None,
        });
        f(tty)
    })
}

/// Sends bytes (already output-processed) to the serial port and the screen.
pub fn output_to_devices(bytes: &[u8]) {
    crate::console::with(|console| {
        for &byte in bytes {
            console.serial.write_byte(byte);
            if let Some(vga) = console.vga.as_mut() {
                vga.write_terminal_byte(byte);
            }
        }
        if let Some(vga) = console.vga.as_ref() {
            vga.update_cursor();
        }
    });
}

/// Input from a device (interrupt context): through the line discipline, echo to the devices,
/// readers and pollers woken, signals handed to the signal thread.
pub fn receive_input(bytes: &[u8]) {
    let mut echo = Vec::new();
    let mut signals = 0u32;
    with(|tty| {
        for &byte in bytes {
            if let Some(sig) = tty.ldisc.receive(byte, &mut echo) {
                signals |= 1 << sig;
            }
        }
    });
    if !echo.is_empty() {
        output_to_devices(&echo);
    }
    if signals != 0 {
        queue_signals(signals);
    }
    READERS.wake_all();
    POLLERS.notify();
}

/// Queues signals (bit mask) for the foreground process group.
fn queue_signals(mask: u32) {
    PENDING_SIGNALS.fetch_or(mask, Ordering::SeqCst);
    SIGNALLER.wake_all();
}

/// Wakes readers after a settings change (what is readable may have changed).
fn input_changed() {
    READERS.wake_all();
    POLLERS.notify();
}

fn serial_interrupt() {
    let uart = Uart16550::new(COM1_BASE);
    let mut bytes = [0u8; 32];
    loop {
        let mut n = 0;
        while n < bytes.len() {
            match uart.read_byte() {
                Some(byte) => {
                    bytes[n] = byte;
                    n += 1;
                }
                None => break,
            }
        }
        if n == 0 {
            break;
        }
        receive_input(&bytes[..n]);
        if n < bytes.len() {
            break;
        }
    }
}

/// The signal thread: sends queued terminal signals to the foreground process group.
fn signal_thread() -> i64 {
    loop {
        SIGNALLER.wait_until(|| PENDING_SIGNALS.load(Ordering::SeqCst) != 0);
        let mask = PENDING_SIGNALS.swap(0, Ordering::SeqCst);
        let pgrp = with(|tty| tty.pgrp);
        if let Some(pgrp) = pgrp {
            for sig in 1..32 {
                if mask & (1 << sig) != 0 {
                    job::signal_group(pgrp, sig);
                }
            }
        }
    }
}

/// Takes over the console's input for user space (instead of the kernel monitor): COM1 and
/// PS/2 interrupts, and the signal thread. As on Linux, no session controls the console until
/// a session leader makes it its controlling terminal (TIOCSCTTY).
pub fn init() {
    for (major, minor) in [(5, 1), (4, 0), (4, 64), (5, 0)] {
        if crate::fs::devices::register(major, minor, TtyFile::open).is_err() {
            log::warn!("tty: cannot register device ({major}, {minor})");
        }
    }
    // /proc/<pid>/stat's tty_nr: the console's serial line (ttyS0) for its session.
    crate::fs::procfs::set_ctty_hook(|p| if job::is_ctty_of(p) { exo_abi::mode::makedev(4, 64) } else { 0 });
    if crate::sched::spawn("tty-signals", signal_thread).is_err() {
        log::warn!("tty: no signal thread: ^C and friends will not signal");
    }
    crate::arch::register_irq(COM1_IRQ, serial_interrupt);
    Uart16550::new(COM1_BASE).enable_receive_interrupt();
    crate::drivers::ps2_keyboard::init(receive_input);
}
