//! The tiny runtime of a `no_std` Rust user program of Exo-OS (built for x86_64-unknown-none,
//! run as a static Linux executable): the `_start` entry point (argc and argv from the initial
//! stack), the panic handler (a message on fd 2, then `exit_group(101)`), a few direct Linux
//! system calls and line printing through `core::fmt`.
//!
//! On the host (any other target, with std) the same program builds as an ordinary binary:
//! `main` comes from the program, the arguments from std, and the system calls are the same.

#![allow(dead_code)]

use core::fmt::{self, Write};

/// Linux x86-64 system call numbers used here.
const SYS_WRITE: u64 = 1;
const SYS_CLOSE: u64 = 3;
const SYS_FORK: u64 = 57;
const SYS_WAIT4: u64 = 61;
const SYS_EXIT_GROUP: u64 = 231;

/// `EINTR`.
pub const EINTR: i32 = 4;

/// A Linux system call with up to three arguments; the value or the positive errno.
///
/// # Safety
///
/// The arguments must be valid for `nr`: pointers to memory of the right size and access for
/// as long as the call uses it, and no effect (unmapping, process duplication) that breaks what
/// the caller's code assumes.
unsafe fn syscall3(nr: u64, a0: u64, a1: u64, a2: u64) -> Result<u64, i32> {
    // SAFETY: the caller's contract (see `# Safety`); syscall4 is the raw `syscall` instruction.
    let r = unsafe { exo_fusion::sys::syscall4(nr, a0, a1, a2, 0) };
    if (-4095..0).contains(&r) {
        Err(-r as i32)
    } else {
        Ok(r as u64)
    }
}

/// Writes all of `buf` to `fd` (retrying short writes and `EINTR`).
pub fn write_all(fd: i32, mut buf: &[u8]) -> Result<(), i32> {
    while !buf.is_empty() {
        // SAFETY: `buf` is readable for `buf.len()` bytes during the call.
        match unsafe { syscall3(SYS_WRITE, fd as u64, buf.as_ptr() as u64, buf.len() as u64) } {
            Ok(0) => return Err(5), // EIO: nothing written
            Ok(n) => buf = &buf[(n as usize).min(buf.len())..],
            Err(EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Ends the process (all its threads) with `code`.
pub fn exit(code: i32) -> ! {
    // SAFETY: exit_group takes no pointer and does not return.
    let _ = unsafe { syscall3(SYS_EXIT_GROUP, code as u64, 0, 0) };
    // exit_group never returns; spin rather than fall off the end if it ever did.
    loop {
        core::hint::spin_loop();
    }
}

/// Closes a descriptor.
pub fn close(fd: i32) -> Result<(), i32> {
    // SAFETY: no pointer arguments; the descriptor is not used by Rust objects of this program.
    unsafe { syscall3(SYS_CLOSE, fd as u64, 0, 0) }.map(|_| ())
}

/// Whether this is the parent or the child after [`fork`].
pub enum Forked {
    Parent(i32),
    Child,
}

/// `fork()`: duplicates the process.
pub fn fork() -> Result<Forked, i32> {
    // SAFETY: the program is single-threaded (no other thread holds a lock the child would
    // inherit); the child continues with a copy-on-write copy of all memory, as Linux forks.
    let r = unsafe { syscall3(SYS_FORK, 0, 0, 0) }?;
    Ok(if r == 0 { Forked::Child } else { Forked::Parent(r as i32) })
}

/// `wait4(pid, &status, 0, NULL)` retried on `EINTR`; the wait status.
pub fn wait(pid: i32) -> Result<i32, i32> {
    let mut status = 0i32;
    loop {
        // SAFETY: `status` is a writable `int` for the duration of the call; rusage is NULL.
        match unsafe { syscall3(SYS_WAIT4, pid as u64, &mut status as *mut i32 as u64, 0) } {
            Ok(_) => return Ok(status),
            Err(EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// One line of output being formatted: at most `CAP - 1` bytes of text (the rest is cut)
/// plus the newline.
pub struct Line {
    buf: [u8; Line::CAP],
    len: usize,
}

impl Line {
    pub const CAP: usize = 512;

    pub const fn new() -> Self {
        Line { buf: [0; Line::CAP], len: 0 }
    }

    /// The text with its newline.
    pub fn finish(&mut self) -> &[u8] {
        self.buf[self.len] = b'\n';
        &self.buf[..self.len + 1]
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(Line::CAP - 1 - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Writes one formatted line to `fd` with a single `write` (when it fits).
pub fn print_line(fd: i32, args: fmt::Arguments<'_>) {
    let mut line = Line::new();
    let _ = line.write_fmt(args);
    let _ = write_all(fd, line.finish());
}

/// `outln!(fd, "format", args...)`: one line on `fd`.
macro_rules! outln {
    ($fd:expr, $($arg:tt)*) => {
        $crate::rt::print_line($fd, format_args!($($arg)*))
    };
}
pub(crate) use outln;

#[cfg(target_os = "none")]
mod bare {
    use core::sync::atomic::{AtomicUsize, Ordering};

    static ARGC: AtomicUsize = AtomicUsize::new(0);
    static ARGV: AtomicUsize = AtomicUsize::new(0);

    // The entry point the kernel jumps to: rsp points at argc, then argv[], NULL, envp[], NULL,
    // auxv. Clear the frame pointer (the end of back-traces), pass the stack pointer, and call
    // Rust with the stack aligned to 16 bytes as the System V ABI requires at a call.
    core::arch::global_asm!(
        ".globl _start",
        ".type _start,@function",
        "_start:",
        "xor ebp, ebp",
        "mov rdi, rsp",
        "and rsp, -16",
        "call {entry}",
        "ud2",
        ".size _start, . - _start",
        entry = sym start_rust,
    );

    /// Records argc and argv, runs the program and exits with its result.
    ///
    /// # Safety
    ///
    /// Called once, from `_start`, with the initial stack pointer the kernel set up (argc,
    /// then argc pointers to NUL-terminated strings).
    unsafe extern "C" fn start_rust(sp: *const usize) -> ! {
        // SAFETY: the initial stack starts with argc, followed by the argv array (see above).
        let argc = unsafe { sp.read() };
        ARGC.store(argc, Ordering::Relaxed);
        ARGV.store(sp as usize + 8, Ordering::Relaxed);
        super::exit(crate::run())
    }

    /// Argument `i` (argv[0] is the program's name).
    pub fn arg(i: usize) -> Option<&'static [u8]> {
        if i >= ARGC.load(Ordering::Relaxed) {
            return None;
        }
        let argv = ARGV.load(Ordering::Relaxed) as *const *const core::ffi::c_char;
        // SAFETY: `i < argc`, so argv[i] is one of the kernel's argument pointers, which point
        // at NUL-terminated strings in the initial stack; that memory is never freed or
        // written.
        let s = unsafe { core::ffi::CStr::from_ptr(argv.add(i).read()) };
        Some(s.to_bytes())
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        super::print_line(2, format_args!("{}: panic: {}", crate::NAME, info));
        super::exit(101)
    }
}

#[cfg(target_os = "none")]
pub use bare::arg;

/// Argument `i` (argv[0] is the program's name); host build, through std.
#[cfg(not(target_os = "none"))]
pub fn arg(i: usize) -> Option<&'static [u8]> {
    use std::os::unix::ffi::OsStringExt;
    let a = std::env::args_os().nth(i)?;
    Some(Box::leak(a.into_vec().into_boxed_slice()))
}
