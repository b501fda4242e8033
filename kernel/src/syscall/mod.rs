//! The system call layer: a 512-slot table indexed by Linux x86-64 syscall numbers
//! (`exo_abi::nr`), with Linux's convention — arguments in rdi, rsi, rdx, r10, r8, r9, the result
//! or `-errno` in rax. An empty slot answers ENOSYS and logs the call's name once. Each group of
//! calls lives in its own file; handlers take named, typed arguments (`args.rs`: user addresses
//! as `uaccess` types, descriptors as `Fd`), and for `execve`, `rt_sigreturn`, `clone` and
//! `sigaltstack` the user frame first (the state to rewrite or copy); they return
//! `KResult<u64>`. See docs/syscalls.md for what each call supports.

pub(crate) mod args;
mod compat;
mod enosys;
mod fs;
mod fs_attr;
mod fs_mount;
mod fs_names;
mod fs_rw;
mod fs_vec;
mod fusion;
mod futex2;
mod info;
mod ipc;
mod memory;
mod mqueue;
mod poll;
mod process;
mod signal;
mod socket;
mod socket_msg;
mod time;

use core::sync::atomic::{AtomicU8, Ordering};

pub use enosys::report as enosys_report;

use exo_abi::nr;
use exo_abi::{Errno, KResult};

use crate::arch::TrapFrame;

/// A table slot: how the entry runs the call.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Straight from the entry's fast path, with the argument registers and without the user
    /// frame (the `typed!` macro of `args.rs` makes one from a handler with typed arguments
    /// returning `KResult<u64>`).
    Fast(crate::arch::FastSyscall),
    /// With the complete user frame, to copy or rewrite it (`with_frame!`): the result goes
    /// into the frame's rax, unless the handler rewrote the whole frame and returns its rax.
    Frame(fn(&mut TrapFrame) -> u64),
}

/// Slots of the table: Linux's numbers, then Exo-OS's own range (number `SYSCALL_BASE + n` is
/// slot `nr::COUNT + n`: the architecture's entry turns one into the other).
pub const SLOTS: usize = nr::COUNT + exo_abi::fusion::SYSCALL_COUNT;

/// Every call, by slot (`None`: ENOSYS).
static TABLE: [Option<Handler>; SLOTS] = build_table();

/// The part of [`TABLE`] the architecture's fast path runs (registered at boot by `main`);
/// every other number goes through [`handle`].
pub static FAST_TABLE: [Option<crate::arch::FastSyscall>; SLOTS] = fast_table(&TABLE);

/// The value a result leaves in rax: the value, or the negated error number.
#[inline(always)]
pub fn encode(result: KResult<u64>) -> u64 {
    match result {
        Ok(value) => value,
        Err(error) => error.as_return() as u64,
    }
}

const fn fast_table(t: &[Option<Handler>; SLOTS]) -> [Option<crate::arch::FastSyscall>; SLOTS] {
    let mut out: [Option<crate::arch::FastSyscall>; SLOTS] = [None; SLOTS];
    let mut i = 0;
    while i < SLOTS {
        if let Some(Handler::Fast(handler)) = t[i] {
            out[i] = Some(handler);
        }
        i += 1;
    }
    out
}

const fn build_table() -> [Option<Handler>; SLOTS] {
    let mut linux: [Option<Handler>; nr::COUNT] = [None; nr::COUNT];
    let t = &mut linux;
    process::register(t);
    memory::register(t);
    signal::register(t);
    time::register(t);
    info::register(t);
    fs::register(t);
    fs_rw::register(t);
    fs_attr::register(t);
    fs_names::register(t);
    fs_vec::register(t);
    fs_mount::register(t);
    poll::register(t);
    socket::register(t);
    socket_msg::register(t);
    compat::register(t);
    futex2::register(t);
    ipc::register(t);
    mqueue::register(t);
    let mut all: [Option<Handler>; SLOTS] = [None; SLOTS];
    let mut i = 0;
    while i < nr::COUNT {
        all[i] = linux[i];
        i += 1;
    }
    let exo = fusion::table();
    let mut n = 0;
    while n < exo.len() {
        all[nr::COUNT + n] = exo[n];
        n += 1;
    }
    all
}

/// The name of call `number` (Linux's or Exo-OS's), for logs.
fn call_name(number: u64) -> &'static str {
    let exo = number.wrapping_sub(exo_abi::fusion::SYSCALL_BASE);
    match usize::try_from(exo).ok().and_then(|n| exo_abi::fusion::NAMES.get(n)) {
        Some(name) => name,
        None => usize::try_from(number).ok().and_then(nr::name).unwrap_or("?"),
    }
}

/// The complete path of a system call (see `arch/x86_64/syscall.rs`): runs the call the
/// complete frame asks for — one that takes the frame, an unimplemented one, or any call when
/// the fast path is bypassed — and stores its result in rax; then the return-to-user work.
/// Called by the architecture's entry with interrupts on, returns with them off.
pub extern "C" fn handle(frame: &mut TrapFrame) {
    crate::arch::enable_interrupts();
    let number = frame.rax;
    let value = match TABLE.get(number as usize) {
        Some(Some(Handler::Frame(handler))) => handler(frame),
        Some(Some(Handler::Fast(handler))) => {
            let [a, b, c, d, e, f] = args::registers(frame);
            handler(a, b, c, d, e, f)
        }
        Some(None) | None => enosys::enosys(number),
    };
    if tracing() {
        trace(frame, frame.error_code, value);
    }
    frame.rax = value;
    crate::arch::disable_interrupts();
    crate::process::return_to_user(frame);
}

/// The return work of a call the fast path ran (the running thread's return-work word was
/// set: a signal may be pending, the task must stop or exit, or calls are traced): the
/// completed frame holds the result in rax and the number in `error_code`. Called with
/// interrupts off, returns with them off.
pub extern "C" fn exit_work(frame: &mut TrapFrame) {
    if tracing() {
        crate::arch::enable_interrupts();
        trace(frame, frame.error_code, frame.rax);
        crate::arch::disable_interrupts();
    }
    crate::process::return_to_user(frame);
}

/// Whether calls are logged (`strace` on the command line): the boot parameter, read once and
/// kept in a tri-state word (0 = not read yet, 1 = off, 2 = on). The fast path never tests
/// it: with `strace`, every task's return-work word is set (`process::task`), so every call
/// ends in [`exit_work`].
#[inline(always)]
fn tracing() -> bool {
    match TRACING.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => read_tracing(),
    }
}

static TRACING: AtomicU8 = AtomicU8::new(0);

#[cold]
#[inline(never)]
fn read_tracing() -> bool {
    let on = crate::params::strace();
    TRACING.store(if on { 2 } else { 1 }, Ordering::Relaxed);
    on
}

/// Logs one finished call (strace), out of the fast path. A value in [-4095, -1] is an error,
/// as the C library reads it.
#[cold]
#[inline(never)]
fn trace(frame: &TrapFrame, number: u64, value: u64) {
    let name = call_name(number);
    let tid = crate::process::with_current_task(|t| t.tid).unwrap_or(0);
    let [a, b, c, d, ..] = args::registers(frame);
    match value as i64 {
        -4095..=-1 => {
            let error = Errno(-(value as i64) as i32);
            log::info!("[{tid}] {name}({a:#x}, {b:#x}, {c:#x}, {d:#x}) = -{}", error.name())
        }
        _ => log::info!("[{tid}] {name}({a:#x}, {b:#x}, {c:#x}, {d:#x}) = {value:#x}"),
    }
}

/// The current task, for handlers (only user threads make syscalls).
pub fn task() -> KResult<alloc::sync::Arc<crate::process::Task>> {
    crate::process::current().ok_or(Errno::ENOSYS)
}
