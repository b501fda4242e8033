//! The system call layer: a 512-slot table indexed by Linux x86-64 syscall numbers
//! (`exo_abi::nr`), with Linux's convention — arguments in rdi, rsi, rdx, r10, r8, r9, the result
//! or `-errno` in rax. An empty slot answers ENOSYS and logs the call's name once. Each group of
//! calls lives in its own file; handlers take named, typed arguments (`args.rs`: user addresses
//! as `uaccess` types, descriptors as `Fd`), and for `execve`, `rt_sigreturn`, `clone` and
//! `sigaltstack` the user frame first (the state to rewrite or copy); they return
//! `KResult<u64>`. See docs/syscalls.md for what each call supports.

pub(crate) mod args;
mod fs;
mod fs_attr;
mod fs_mount;
mod fs_names;
mod fs_rw;
mod fs_vec;
mod info;
mod memory;
mod poll;
mod process;
mod signal;
mod time;

use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use exo_abi::nr;
use exo_abi::{Errno, KResult};

use crate::arch::TrapFrame;

/// A syscall implementation: takes the user frame, returns what goes into rax (the result, or
/// `-errno`: see [`encode`]). The `typed!` and `with_frame!` macros of `args.rs` make one from a
/// handler with typed arguments returning `KResult<u64>`.
pub type Handler = fn(&mut TrapFrame) -> u64;

/// The table the entry dispatches through: every slot holds a handler (an empty slot
/// [`enosys`]), so dispatch is one bounds check and one indirect call.
static TABLE: [Handler; nr::COUNT] = fill_table(build_table());

/// The value a result leaves in rax: the value, or the negated error number.
#[inline(always)]
pub fn encode(result: KResult<u64>) -> u64 {
    match result {
        Ok(value) => value,
        Err(error) => error.as_return() as u64,
    }
}

/// The table slot of an unimplemented call: ENOSYS, reported once per number.
fn enosys(frame: &mut TrapFrame) -> u64 {
    report_unimplemented(frame.rax);
    Errno::ENOSYS.as_return() as u64
}

const fn fill_table(t: [Option<Handler>; nr::COUNT]) -> [Handler; nr::COUNT] {
    let mut out: [Handler; nr::COUNT] = [enosys as Handler; nr::COUNT];
    let mut i = 0;
    while i < nr::COUNT {
        if let Some(handler) = t[i] {
            out[i] = handler;
        }
        i += 1;
    }
    out
}

const fn build_table() -> [Option<Handler>; nr::COUNT] {
    let mut t: [Option<Handler>; nr::COUNT] = [None; nr::COUNT];
    process::register(&mut t);
    memory::register(&mut t);
    signal::register(&mut t);
    time::register(&mut t);
    info::register(&mut t);
    fs::register(&mut t);
    fs_rw::register(&mut t);
    fs_attr::register(&mut t);
    fs_names::register(&mut t);
    fs_vec::register(&mut t);
    fs_mount::register(&mut t);
    poll::register(&mut t);
    t
}

/// Numbers already reported as unimplemented (one bit each).
static REPORTED: [AtomicU64; nr::COUNT / 64] = [const { AtomicU64::new(0) }; nr::COUNT / 64];

fn report_unimplemented(number: u64) {
    let name = usize::try_from(number).ok().and_then(nr::name).unwrap_or("?");
    if let Some(word) = REPORTED.get(number as usize / 64) {
        let bit = 1u64 << (number % 64);
        if word.fetch_or(bit, Ordering::Relaxed) & bit != 0 {
            return;
        }
    } else {
        return;
    }
    let pid = crate::process::current().map_or(0, |t| t.tid);
    log::warn!("syscall: {name} ({number}) is not implemented (ENOSYS), first called by pid {pid}");
}

/// Runs the syscall the frame asks for and stores its result in rax; then the return-to-user
/// work (signals). Called by the architecture's entry with interrupts off, returns with them off.
///
/// The common case is straight-line: one bounds check and one indirect call through the table,
/// the tracing switch tested (the logging itself is out of line), and the task's pending-work
/// flags tested with interrupts already off ([`crate::process::return_work_pending`]); only
/// when one is set does the complete return-to-user path run. Checking with interrupts off
/// leaves no window: work flagged after the check is flagged with a wake-up or an IPI, which
/// the CPU takes right after `sysret` and handles on that interrupt's own way out.
pub extern "C" fn handle(frame: &mut TrapFrame) {
    crate::arch::enable_interrupts();
    let number = frame.rax;
    let value = match TABLE.get(number as usize) {
        Some(handler) => handler(frame),
        None => past_table(number),
    };
    if tracing() {
        trace(frame, number, value);
    }
    frame.rax = value;
    crate::arch::disable_interrupts();
    if crate::process::return_work_pending() {
        crate::process::return_to_user_work(frame);
    }
}

/// A number past the table: ENOSYS, reported once (numbers too large to name are not).
#[cold]
#[inline(never)]
fn past_table(number: u64) -> u64 {
    report_unimplemented(number);
    Errno::ENOSYS.as_return() as u64
}

/// Whether calls are logged (`strace` on the command line): the boot parameter, read once and
/// kept in a tri-state word (0 = not read yet, 1 = off, 2 = on) that the fast path tests with
/// one load and one compare.
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
    let name = usize::try_from(number).ok().and_then(nr::name).unwrap_or("?");
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
