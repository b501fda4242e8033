//! The console TTY as an open file: blocking, interruptible reads following the line
//! discipline (canonical lines, VMIN/VTIME, O_NONBLOCK), output-processed writes, the termios
//! and job-control ioctls, and poll readiness.

use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::ioctl::*;
use exo_abi::mode::{makedev, S_IFCHR};
use exo_abi::termios::{Termios, Winsize, TCIFLUSH, TCIOFLUSH, TCOFLUSH, TOSTOP};
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use exo_tty::{ReadDecision, Timeout};

use super::{job, with, POLLERS, READERS};
use crate::fs::file::{FileOps, OpenFile, PollBits};
use crate::sched::wait::WaitOutcome;

/// An open console TTY; `rdev` is the device number it was opened as (for fstat).
pub struct TtyFile {
    rdev: u64,
}

impl TtyFile {
    /// Opens the console as device (`major`, `minor`); /dev/tty (5,0) only for a process whose
    /// session the console controls.
    pub fn open(major: u32, minor: u32, flags: u32) -> KResult<Arc<OpenFile>> {
        if (major, minor) == (5, 0) {
            let task = crate::process::current().ok_or(Errno::ENXIO)?;
            if !job::is_ctty_of(&task.process) {
                return Err(Errno::ENXIO);
            }
        } else if flags & exo_abi::fcntl::O_NOCTTY == 0 {
            // A session leader without a controlling terminal that opens a free one gets it
            // (Linux); anyone else just opens it.
            let _ = job::set_ctty(false);
        }
        let flags = flags & !exo_abi::fcntl::O_NOCTTY;
        Ok(OpenFile::new(Arc::new(TtyFile { rdev: makedev(major, minor) }), flags))
    }
}

/// Bytes written per locked round of output processing.
const WRITE_CHUNK: usize = 256;

impl FileOps for TtyFile {
    fn read(&self, file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        job::check_read()?;
        let wanted = buf.len();
        let start = crate::time::since_boot_ns();
        let mut last_byte = start;
        let mut got = 0;
        loop {
            let (decision, n) = with(|tty| {
                let (n, eof) = tty.ldisc.read(&mut buf[got..]);
                (tty.ldisc.read_decision(got + n, wanted, eof), n)
            });
            got += n;
            if n > 0 {
                last_byte = crate::time::since_boot_ns();
            }
            let timeout = match decision {
                ReadDecision::Return => return Ok(got),
                ReadDecision::Wait(timeout) => timeout,
            };
            if file.nonblocking() {
                return if got > 0 { Ok(got) } else { Err(Errno::EAGAIN) };
            }
            let deadline = timeout.map(|t| match t {
                Timeout::Overall(ns) => start.saturating_add(ns),
                Timeout::InterByte(ns) => last_byte.saturating_add(ns),
            });
            match READERS.wait_interruptible(|| with(|tty| tty.ldisc.has_input()), crate::sched::signal_check(), deadline) {
                WaitOutcome::Interrupted if got == 0 => return Err(Errno::ERESTARTSYS),
                WaitOutcome::Interrupted | WaitOutcome::TimedOut => return Ok(got),
                _ => {}
            }
        }
    }

    fn write(&self, _file: &OpenFile, buf: &[u8]) -> KResult<usize> {
        let tostop = with(|tty| tty.ldisc.termios().c_lflag & TOSTOP != 0);
        job::check_change(tostop)?;
        let mut out = Vec::with_capacity(WRITE_CHUNK * 2);
        for (index, chunk) in buf.chunks(WRITE_CHUNK).enumerate() {
            // The serial line is slow: a killed writer stops between chunks.
            if crate::sched::fatal_signal_pending() {
                return if index > 0 { Ok(index * WRITE_CHUNK) } else { Err(Errno::EINTR) };
            }
            out.clear();
            with(|tty| tty.ldisc.process_output(chunk, &mut out));
            super::output_to_devices(&out);
        }
        Ok(buf.len())
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(Stat { st_mode: S_IFCHR | 0o620, st_rdev: self.rdev, st_blksize: 1024, st_nlink: 1, ..Stat::default() })
    }

    fn ioctl(&self, _file: &OpenFile, request: u32, arg: crate::uaccess::UserArg) -> KResult<u64> {
        match request {
            TCGETS => {
                let termios = with(|tty| *tty.ldisc.termios());
                arg.ptr().write(&termios)?;
            }
            TCSETS | TCSETSW | TCSETSF => {
                let termios: Termios = arg.ptr().read()?;
                job::check_change(true)?;
                with(|tty| {
                    if request == TCSETSF {
                        tty.ldisc.flush_input();
                    }
                    tty.ldisc.set_termios(termios);
                });
                super::input_changed();
            }
            TIOCGWINSZ => {
                let winsize = with(|tty| tty.winsize);
                arg.ptr().write(&winsize)?;
            }
            TIOCSWINSZ => {
                let winsize: Winsize = arg.ptr().read()?;
                let changed = with(|tty| core::mem::replace(&mut tty.winsize, winsize) != winsize);
                if changed {
                    super::queue_signals(1 << exo_abi::signal::SIGWINCH);
                }
            }
            TIOCGPGRP => {
                let task = crate::process::current().ok_or(Errno::ENOTTY)?;
                if !job::is_ctty_of(&task.process) {
                    return Err(Errno::ENOTTY);
                }
                // No foreground group (it was given up): a pgid no group has.
                let pgrp = with(|tty| tty.pgrp).unwrap_or(i32::MAX as u32) as i32;
                arg.ptr().write(&pgrp)?;
            }
            TIOCSPGRP => {
                let pgrp: i32 = arg.ptr().read()?;
                job::set_foreground(pgrp)?;
            }
            TIOCGSID => {
                let task = crate::process::current().ok_or(Errno::ENOTTY)?;
                if !job::is_ctty_of(&task.process) {
                    return Err(Errno::ENOTTY);
                }
                arg.ptr().write(&(task.process.sid() as i32))?;
            }
            TIOCSCTTY => job::set_ctty(arg.ulong() == 1)?,
            TIOCNOTTY => job::drop_ctty()?,
            FIONREAD => {
                let n = with(|tty| tty.ldisc.readable_bytes()) as i32;
                arg.ptr().write(&n)?;
            }
            TIOCOUTQ => arg.ptr().write(&0i32)?,
            TCFLSH => {
                let queue = u32::try_from(arg.ulong()).map_err(|_| Errno::EINVAL)?;
                match queue {
                    TCIFLUSH | TCIOFLUSH => with(|tty| tty.ldisc.flush_input()),
                    TCOFLUSH => {}
                    _ => return Err(Errno::EINVAL),
                }
            }
            TCXONC => {
                if arg.ulong() > 3 {
                    return Err(Errno::EINVAL);
                }
            }
            TCSBRK | TCSBRKP => {}
            _ => return Err(Errno::ENOTTY),
        }
        Ok(0)
    }

    fn poll_register(&self, table: &mut crate::sched::pollwait::PollTable) -> KResult<()> {
        table.add_static(&POLLERS).map(|_| ())
    }

    fn poll(&self) -> PollBits {
        let readable = if with(|tty| tty.ldisc.poll_readable()) { exo_abi::poll::POLLIN as u32 } else { 0 };
        readable | exo_abi::poll::POLLOUT as u32
    }
}
