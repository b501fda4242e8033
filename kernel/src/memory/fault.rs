//! The page-fault policy: decides whether a fault is part of normal operation and resolves it,
//! or is an error for the trap handler to report (a kernel bug) or, from user mode, to turn into
//! SIGSEGV (process issue).
//!
//! Resolved today: writes to copy-on-write pages of the current tree. Demand paging plugs in
//! here too: a not-present fault inside a process's memory area (mmap/brk) will allocate and map
//! the page; the lookup of that area belongs to the process layer.

use exo_paging::{PageTable, USER_HALF_END};

use super::address_space::resolve_copy_on_write;
use crate::arch::mmu;

/// Page-fault error code bits (x86-64).
const PRESENT: u64 = 1;
const WRITE: u64 = 2;

/// Handles a page fault at `addr` with CPU error code `error`. Returns true when the faulting
/// access can simply be retried.
///
/// Runs in the trap handler with interrupts disabled; the faulting code does not hold the current
/// tree's lock (tree edits and faults on the same CPU are not interleaved).
pub fn handle(addr: u64, error: u64) -> bool {
    if error & (PRESENT | WRITE) == PRESENT | WRITE && addr < USER_HALF_END {
        if let Some(mut table) = PageTable::from_root(mmu::current_root()) {
            return resolve_copy_on_write(&mut table, addr);
        }
    }
    false
}
