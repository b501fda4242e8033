//! The console as a file (/dev/console, and fds 0-2 of init): output to the serial port and the
//! VGA screen, input from the serial port's receive interrupt. A plain byte stream for now —
//! the line discipline (echo, editing, ^C) comes with the TTY layer — but it answers the termios
//! ioctls so programs see a terminal.

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use exo_abi::ioctl::*;
use exo_abi::termios::{Termios, Winsize};
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use spin::Mutex;

use super::file::{FileOps, OpenFile};
use crate::drivers::serial::{Uart16550, COM1_BASE, COM1_IRQ};
use crate::sched::wait::{WaitOutcome, WaitQueue};

static INPUT: Mutex<VecDeque<u8>> = Mutex::new(VecDeque::new());
static READERS: WaitQueue = WaitQueue::new();
static TERMIOS: Mutex<Option<Termios>> = Mutex::new(None);

/// Most buffered input bytes (older input is dropped beyond this).
const INPUT_MAX: usize = 4096;

fn serial_interrupt() {
    let uart = Uart16550::new(COM1_BASE);
    let mut got = false;
    {
        let mut input = INPUT.lock();
        while let Some(byte) = uart.read_byte() {
            if input.len() < INPUT_MAX {
                input.push_back(if byte == b'\r' { b'\n' } else { byte });
            }
            got = true;
        }
    }
    if got {
        READERS.wake_all();
        super::file::notify_readiness();
    }
}

/// Takes over serial input for user space (instead of the kernel monitor).
pub fn init() {
    crate::arch::register_irq(COM1_IRQ, serial_interrupt);
    Uart16550::new(COM1_BASE).enable_receive_interrupt();
}

/// The console device.
pub struct Console;

impl Console {
    pub fn open(flags: u32) -> Arc<OpenFile> {
        OpenFile::new(Arc::new(Console), flags)
    }
}

impl FileOps for Console {
    fn read(&self, file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            {
                let mut input = INPUT.lock();
                if !input.is_empty() {
                    let n = buf.len().min(input.len());
                    for slot in buf[..n].iter_mut() {
                        *slot = input.pop_front().unwrap_or(0);
                    }
                    return Ok(n);
                }
            }
            if file.nonblocking() {
                return Err(Errno::EAGAIN);
            }
            let task = crate::process::current();
            let outcome = READERS.wait_interruptible(
                || !INPUT.lock().is_empty(),
                || task.as_ref().is_some_and(|t| t.interrupted()),
                None,
            );
            if outcome == WaitOutcome::Interrupted {
                return Err(Errno::ERESTARTSYS);
            }
        }
    }

    fn write(&self, _file: &OpenFile, buf: &[u8]) -> KResult<usize> {
        crate::console::write_bytes(buf);
        Ok(buf.len())
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(Stat {
            st_mode: exo_abi::mode::S_IFCHR | 0o620,
            st_rdev: exo_abi::mode::makedev(5, 1),
            st_blksize: 1024,
            ..Stat::default()
        })
    }

    fn ioctl(&self, _file: &OpenFile, request: u32, arg: u64) -> KResult<u64> {
        match request {
            TCGETS => {
                let termios = TERMIOS.lock().unwrap_or_else(Termios::default_console);
                crate::uaccess::write(arg, &termios)?;
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF => {
                let termios: Termios = crate::uaccess::read(arg)?;
                *TERMIOS.lock() = Some(termios);
                Ok(0)
            }
            TIOCGWINSZ => {
                crate::uaccess::write(arg, &Winsize { ws_row: 25, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 })?;
                Ok(0)
            }
            TIOCSWINSZ => Ok(0),
            TIOCGPGRP => {
                let pgid = crate::process::current().map_or(0, |t| t.process.pgid());
                crate::uaccess::write(arg, &pgid)?;
                Ok(0)
            }
            TIOCSPGRP | TIOCSCTTY | TIOCNOTTY => Ok(0),
            FIONREAD => {
                let n = INPUT.lock().len() as i32;
                crate::uaccess::write(arg, &n)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn poll(&self) -> super::file::PollBits {
        let readable = if INPUT.lock().is_empty() { 0 } else { exo_abi::poll::POLLIN as u32 };
        readable | exo_abi::poll::POLLOUT as u32
    }
}
