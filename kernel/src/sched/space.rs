//! Which address space a thread runs on: entering one (a process's memory map), leaving it,
//! and forgetting one that is being destroyed. The context switch loads the thread's tree.

use core::sync::atomic::Ordering;

use super::*;

/// Makes `space` the current thread's address space and loads it; from now on the scheduler
/// loads it whenever it switches to this thread. The caller keeps `space` alive until it calls
/// [`leave_address_space`] or the thread exits.
pub fn enter_address_space(space: &crate::memory::address_space::AddressSpace) {
    arch::without_interrupts(|| {
        current().address_space_root.store(space.root(), Ordering::Release);
        space.activate();
    });
}

/// The tree rooted at `root` is being destroyed: if the current thread still names it as its
/// address space, it becomes a kernel thread on the master tree.
pub fn forget_address_space(root: u64) {
    arch::without_interrupts(|| {
        let Some(thread) = this_cpu().and_then(|c| c.current()) else { return };
        if thread.address_space_root.load(Ordering::Acquire) == root {
            thread.address_space_root.store(0, Ordering::Release);
            crate::memory::paging::activate_kernel_table();
        }
    });
}

/// Makes the current thread a plain kernel thread again and loads the kernel's master tree.
pub fn leave_address_space() {
    arch::without_interrupts(|| {
        current().address_space_root.store(0, Ordering::Release);
        crate::memory::paging::activate_kernel_table();
    });
}

