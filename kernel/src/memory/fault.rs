//! The page-fault policy for kernel threads that own a tree of their own (the in-kernel tests):
//! a write to a copy-on-write page of the current tree is resolved here, without a memory map.
//!
//! Faults on the memory of a process — from user mode, or from the kernel copying to or from
//! user memory — never come here: they all go through the process's memory map
//! (`process::mm::Mm::handle_fault`), under its lock and with its areas' protection. A tree that
//! a process owns is only ever edited there. So this path exists only in test builds, and the
//! trap handler takes it only for a thread without a process.

use exo_paging::{PageFlags, PageTable, USER_HALF_END};
use exo_vma::fault::{decide_page, Access, Action, PageState};

use super::address_space::resolve_copy_on_write;
use super::paging::DirectMapTables;
use crate::arch::mmu;

/// Handles a page fault at `addr` with CPU error code `error` taken by a kernel thread (no
/// process) on the tree it loaded itself. Returns true when the faulting access can simply be
/// retried.
///
/// Runs in the trap handler with interrupts disabled; the faulting code does not hold the current
/// tree's lock (tree edits and faults on the same CPU are not interleaved), and no other thread
/// uses the tree (it belongs to the test that built it).
pub fn handle(addr: u64, error: u64) -> bool {
    if addr >= USER_HALF_END {
        return false;
    }
    let Some(mut table) = PageTable::from_root(mmu::current_root()) else { return false };
    let state = match table.translate(&DirectMapTables, addr & !0xfff) {
        None => PageState::Absent,
        Some((_, _, flags)) => PageState::Present {
            writable: flags.contains(PageFlags::WRITABLE),
            cow: flags.contains(PageFlags::COW),
        },
    };
    // The same policy as a process's faults (these trees have no areas: only copy-on-write is
    // resolved here; a missing page is the test's own bug).
    match decide_page(state, Access::from_error_code(error)) {
        Action::BreakCow => resolve_copy_on_write(&mut table, addr),
        _ => false,
    }
}
