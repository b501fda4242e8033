//! Fault-tolerant copies between kernel and user memory.
//!
//! The copy is a `rep movsq` for the 8-byte words, then a `rep movsb` for the last 0-7 bytes,
//! each at a known address (`usercopy_movsq`, `usercopy_movsb`). When one faults on a user
//! address whose page can not be made present (see `trap.rs`), the trap handler resumes at that
//! instruction's fix-up, which returns the number of bytes left (for the word copy: the words
//! left times eight plus the tail): the caller turns that into EFAULT. (Word moves: a `rep`
//! iteration is one instruction to QEMU's instruction count, so a byte loop would cost the
//! benchmarks eight times what the hardware does.)
//! A 32-bit `lock cmpxchg` on a user word (`cmpxchg_user_u32`, for futexes) is caught the same
//! way. With SMAP on, the kernel may touch user pages only between `stac` and `clac`; the wrappers
//! bracket the copy with them. Callers check that the user range lies below the user-half end
//! first, so a copy can never be pointed at kernel memory.

use core::arch::global_asm;
use core::sync::atomic::{AtomicBool, Ordering};

use ::x86_64::registers::control::{Cr4, Cr4Flags};

use super::idt::TrapFrame;

global_asm!(
    r#"
    .section .text.usercopy, "ax"
    .global usercopy_raw
usercopy_raw:
    mov rcx, rdx
    shr rcx, 3
    and edx, 7
    .global usercopy_movsq
usercopy_movsq:
    rep movsq
    mov rcx, rdx
    .global usercopy_movsb
usercopy_movsb:
    rep movsb
    xor eax, eax
    ret
    .global usercopy_fixup_movsq
usercopy_fixup_movsq:
    lea rax, [rdx + rcx * 8]
    ret
    .global usercopy_fixup
usercopy_fixup:
    mov rax, rcx
    ret

    .global usercopy_cmpxchg_raw
usercopy_cmpxchg_raw:
    mov eax, esi
    .global usercopy_cmpxchg
usercopy_cmpxchg:
    lock cmpxchg dword ptr [rdi], edx
    ret
    .global usercopy_fixup_cmpxchg
usercopy_fixup_cmpxchg:
    mov rax, 0x100000000
    ret
"#
);

extern "C" {
    /// Copies `len` bytes from `src` to `dst`; returns the number of bytes NOT copied.
    fn usercopy_raw(dst: *mut u8, src: *const u8, len: usize) -> usize;
    static usercopy_movsq: u8;
    static usercopy_movsb: u8;
    static usercopy_fixup_movsq: u8;
    static usercopy_fixup: u8;
    /// `lock cmpxchg` of the 32-bit word at `ptr` from `expected` to `new`: returns the word's
    /// old value (equal to `expected` when it was swapped), or `1 << 32` on a fault.
    fn usercopy_cmpxchg_raw(ptr: *mut u32, expected: u32, new: u32) -> u64;
    static usercopy_cmpxchg: u8;
    static usercopy_fixup_cmpxchg: u8;
}

/// Whether SMAP is enabled (then `stac`/`clac` bracket user accesses, and the interrupt entry
/// in `idt.rs` reads this byte to decide whether to `clac`).
pub(super) static SMAP: AtomicBool = AtomicBool::new(false);

/// Enables SMEP (the kernel never executes user pages) and SMAP (the kernel touches user pages
/// only inside these copy routines) on this CPU when it has them.
pub fn enable_protection() {
    let (_, ebx, _, _) = super::cpu::cpuid(7, 0);
    let max_leaf = super::cpu::cpuid(0, 0).0;
    if max_leaf < 7 {
        return;
    }
    // SAFETY: SMEP/SMAP only restrict supervisor accesses to user pages, which the kernel makes
    // only through this module (SMAP) and never executes (SMEP).
    unsafe {
        if ebx & (1 << 7) != 0 {
            Cr4::update(|f| f.insert(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION));
        }
        if ebx & (1 << 20) != 0 {
            Cr4::update(|f| f.insert(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION));
            SMAP.store(true, Ordering::Relaxed);
        }
    }
}

/// Whether SMEP and SMAP are on (for the tests).
#[cfg(feature = "ktest")]
pub fn protection() -> (bool, bool) {
    let cr4 = Cr4::read();
    (
        cr4.contains(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION),
        cr4.contains(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION),
    )
}

/// Copies with user-access faults caught. Returns the number of bytes not copied.
///
/// # Safety
/// The kernel side (`dst` for a read, `src` for a write) must be valid for `len` bytes; the user
/// side must lie entirely below the user-half end (it may be unmapped).
unsafe fn copy(dst: *mut u8, src: *const u8, len: usize) -> usize {
    let smap = SMAP.load(Ordering::Relaxed);
    // SAFETY: `stac`/`clac` only toggle RFLAGS.AC; the copy's kernel side is valid (caller) and
    // its user side faults into the fix-up instead of stopping the kernel.
    unsafe {
        if smap {
            core::arch::asm!("stac", options(nomem, nostack));
        }
        let left = usercopy_raw(dst, src, len);
        if smap {
            core::arch::asm!("clac", options(nomem, nostack));
        }
        left
    }
}

/// Copies `dst.len()` bytes from user address `src` into `dst`. Returns the bytes not copied.
///
/// # Safety
/// `[src, src + dst.len())` must lie below the user-half end.
pub unsafe fn copy_from_user(dst: &mut [u8], src: u64) -> usize {
    // SAFETY: `dst` is a valid kernel buffer; the source range is checked by the caller.
    unsafe { copy(dst.as_mut_ptr(), src as *const u8, dst.len()) }
}

/// Copies `src` to user address `dst`. Returns the bytes not copied.
///
/// # Safety
/// `[dst, dst + src.len())` must lie below the user-half end.
pub unsafe fn copy_to_user(dst: u64, src: &[u8]) -> usize {
    // SAFETY: `src` is a valid kernel buffer; the destination range is checked by the caller.
    unsafe { copy(dst as *mut u8, src.as_ptr(), src.len()) }
}

/// Atomically replaces the user word at `addr` by `new` if it holds `expected` (futexes:
/// `FUTEX_WAKE_OP`, robust lists). Returns the word's old value (so the swap happened iff it
/// equals `expected`), or `None` when the address cannot be written.
///
/// # Safety
/// `[addr, addr + 4)` must lie below the user-half end and `addr` be 4-byte aligned.
pub unsafe fn cmpxchg_user_u32(addr: u64, expected: u32, new: u32) -> Option<u32> {
    let smap = SMAP.load(Ordering::Relaxed);
    // SAFETY: as in `copy`: only RFLAGS.AC changes, and the user word faults into the fix-up.
    let result = unsafe {
        if smap {
            core::arch::asm!("stac", options(nomem, nostack));
        }
        let result = usercopy_cmpxchg_raw(addr as *mut u32, expected, new);
        if smap {
            core::arch::asm!("clac", options(nomem, nostack));
        }
        result
    };
    u32::try_from(result).ok()
}

/// Whether `rip` is one of the user-copy instructions (a fault there is a bad user pointer, not
/// a bug).
pub fn is_user_copy(rip: u64) -> bool {
    rip == (&raw const usercopy_movsq) as u64 || rip == (&raw const usercopy_movsb) as u64 || rip == (&raw const usercopy_cmpxchg) as u64
}

/// Makes a faulting user copy return its remaining byte count instead of retrying (`rcx` and,
/// for the word copy, `rdx` in the frame say what is left), and a faulting compare-exchange
/// its fault value.
pub fn redirect_to_fixup(frame: &mut TrapFrame) {
    frame.rip = if frame.rip == (&raw const usercopy_movsq) as u64 {
        (&raw const usercopy_fixup_movsq) as u64
    } else if frame.rip == (&raw const usercopy_cmpxchg) as u64 {
        (&raw const usercopy_fixup_cmpxchg) as u64
    } else {
        (&raw const usercopy_fixup) as u64
    };
}
