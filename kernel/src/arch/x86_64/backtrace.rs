//! Stack walking through frame pointers (the kernel is built with `-C force-frame-pointers=yes`).
//!
//! Each frame starts with the caller's saved `rbp`, followed by the return address. The walk only
//! follows frame pointers that lie inside a known kernel stack, so a corrupt chain ends the walk
//! instead of faulting inside the fault reporter.

use super::gdt::ist_stack_bounds;

extern "C" {
    static __boot_stack_bottom: u8;
    static __boot_stack_top: u8;
}

/// Deepest backtrace printed.
pub const MAX_FRAMES: usize = 32;

/// Whether `[addr, addr + len)` lies inside one kernel stack.
fn on_kernel_stack(addr: u64, len: u64) -> bool {
    let end = match addr.checked_add(len) {
        Some(end) => end,
        None => return false,
    };
    let boot = ((&raw const __boot_stack_bottom) as u64, (&raw const __boot_stack_top) as u64);
    let ist = [ist_stack_bounds(0), ist_stack_bounds(1), ist_stack_bounds(2)];
    core::iter::once(boot).chain(ist).any(|(lo, hi)| addr >= lo && end <= hi)
        || super::handlers::registered().is_some_and(|kernel| (kernel.on_kernel_stack)(addr, len))
}

/// Calls `visit` with each return address found by following the frame-pointer chain from `rbp`.
pub fn walk(mut rbp: u64, mut visit: impl FnMut(u64)) {
    for _ in 0..MAX_FRAMES {
        if rbp == 0 || rbp % 8 != 0 || !on_kernel_stack(rbp, 16) {
            return;
        }
        // SAFETY: `rbp..rbp+16` was checked to lie inside a mapped kernel stack.
        let (saved_rbp, return_address) =
            unsafe { (*(rbp as *const u64), *((rbp + 8) as *const u64)) };
        if return_address == 0 {
            return;
        }
        visit(return_address);
        if saved_rbp <= rbp {
            return;
        }
        rbp = saved_rbp;
    }
}

/// The frame pointer and return address a switched-out thread's context switch left at
/// `saved_rsp` (see `switch.rs`: RFLAGS, r15, r14, r13, r12, rbx, rbp, then the return
/// address), if those words lie on a kernel stack. The words are read with volatile loads: the
/// thread may be resumed meanwhile, in which case the values may be stale (a diagnostic, never
/// trusted for anything but printing).
pub fn switched_out_frame(saved_rsp: u64) -> Option<(u64, u64)> {
    if saved_rsp % 8 != 0 || !on_kernel_stack(saved_rsp, 64) {
        return None;
    }
    // SAFETY: the 64 bytes at `saved_rsp` lie inside a mapped kernel stack (checked above).
    let (rbp, ret) = unsafe { (((saved_rsp + 48) as *const u64).read_volatile(), ((saved_rsp + 56) as *const u64).read_volatile()) };
    Some((rbp, ret))
}

/// The current frame pointer.
#[inline(always)]
pub fn current_frame_pointer() -> u64 {
    let rbp: u64;
    // SAFETY: reading rbp has no side effects.
    unsafe { core::arch::asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack, preserves_flags)) };
    rbp
}

/// The current stack pointer.
#[inline(always)]
pub fn current_stack_pointer() -> u64 {
    let rsp: u64;
    // SAFETY: reading rsp has no side effects.
    unsafe { core::arch::asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack, preserves_flags)) };
    rsp
}
