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
mod fs_vec;
mod info;
mod memory;
mod poll;
mod process;
mod signal;
mod time;

use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::nr;
use exo_abi::{Errno, KResult};

use crate::arch::TrapFrame;

/// A syscall implementation.
pub type Handler = fn(&mut TrapFrame) -> KResult<u64>;

static TABLE: [Option<Handler>; nr::COUNT] = build_table();

const fn build_table() -> [Option<Handler>; nr::COUNT] {
    let mut t: [Option<Handler>; nr::COUNT] = [None; nr::COUNT];
    process::register(&mut t);
    memory::register(&mut t);
    signal::register(&mut t);
    time::register(&mut t);
    info::register(&mut t);
    fs::register(&mut t);
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
/// work (signals). Called by the architecture's entry with interrupts off.
pub extern "C" fn handle(frame: &mut TrapFrame) {
    crate::arch::enable_interrupts();
    let number = frame.rax;
    let handler = usize::try_from(number).ok().and_then(|n| TABLE.get(n).copied().flatten());
    let result = match handler {
        Some(handler) => handler(frame),
        None => {
            report_unimplemented(number);
            Err(Errno::ENOSYS)
        }
    };
    if crate::params::strace() {
        let name = usize::try_from(number).ok().and_then(nr::name).unwrap_or("?");
        let tid = crate::process::current().map_or(0, |t| t.tid);
        let [a, b, c, d, ..] = args::registers(frame);
        match &result {
            Ok(value) => log::info!("[{tid}] {name}({a:#x}, {b:#x}, {c:#x}, {d:#x}) = {value:#x}"),
            Err(error) => log::info!("[{tid}] {name}({a:#x}, {b:#x}, {c:#x}, {d:#x}) = -{}", error.name()),
        }
    }
    frame.rax = match result {
        Ok(value) => value,
        Err(error) => error.as_return() as u64,
    };
    crate::process::return_to_user(frame);
    crate::arch::disable_interrupts();
}

/// The current task, for handlers (only user threads make syscalls).
pub fn task() -> KResult<alloc::sync::Arc<crate::process::Task>> {
    crate::process::current().ok_or(Errno::ENOSYS)
}
