//! The system calls of Fusion Rings for user programs (feature `user`; x86-64 `syscall`
//! instruction, Exo-OS numbers from `exo_abi::fusion`), and the view of a ring's mapping as
//! words for [`crate::view::RingView`]. On Linux every call answers `ENOSYS` (38), which is how
//! a program finds out it does not run on Exo-OS.
//!
//! Errors are the kernel's `errno` values (`Err(errno)`, positive). The only module of the
//! crate with `unsafe` code: the `syscall` instruction, and turning an address into a slice.

#![allow(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

use core::sync::atomic::AtomicU64;
use exo_abi::fusion::{
    FusionAccepted, FusionGrant, FusionInfo, FusionParams, Layout, CTL_DUP, CTL_INFO, CTL_SHUTDOWN, NR_ACCEPT,
    NR_CREATE, NR_CTL, NR_GRANT, NR_MAP, NR_WAIT, NR_WAKE,
};

/// A system call's result: the value, or the positive errno.
pub type SysResult<T> = Result<T, i32>;

/// `ENOSYS`: not running on Exo-OS.
pub const ENOSYS: i32 = 38;

/// The raw `syscall` instruction with four arguments.
///
/// # Safety
///
/// The call may read or write memory through its pointer arguments and may map or unmap
/// memory: the caller must pass arguments for which `nr`'s documented effects are sound (valid,
/// writable pointers of the right type and size; no mapping still referenced is removed).
#[cfg(target_arch = "x86_64")]
pub unsafe fn syscall4(nr: u64, a0: u64, a1: u64, a2: u64, a3: u64) -> i64 {
    let ret: i64;
    // SAFETY: the System V syscall convention: number in rax, arguments in rdi, rsi, rdx, r10;
    // the kernel clobbers rcx and r11 and returns in rax. Memory effects are the caller's
    // contract (see `# Safety`).
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as i64 => ret,
            in("rdi") a0,
            in("rsi") a1,
            in("rdx") a2,
            in("r10") a3,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

fn result(ret: i64) -> SysResult<u64> {
    if (-4095..0).contains(&ret) {
        Err(-ret as i32)
    } else {
        Ok(ret as u64)
    }
}

/// `fusion_create`: a new ring; its two ends' descriptors (A, B).
pub fn create(params: &FusionParams) -> SysResult<[i32; 2]> {
    let mut fds = [-1i32; 2];
    // SAFETY: `params` is a valid `struct fusion_params` the kernel only reads; `fds` is a
    // writable `int[2]`.
    let r = unsafe { syscall4(NR_CREATE, params as *const _ as u64, fds.as_mut_ptr() as u64, 0, 0) };
    result(r).map(|_| fds)
}

/// `fusion_map`: maps the ring's memory anywhere; its address.
pub fn map(fd: i32) -> SysResult<usize> {
    // SAFETY: a null hint and flags 0 place a new mapping where nothing is mapped; no memory of
    // the program is read or written.
    let r = unsafe { syscall4(NR_MAP, fd as u64, 0, 0, 0) };
    result(r).map(|a| a as usize)
}

/// `fusion_wait`: the wake-ups of `ops`, then at most one wait while the watched word equals
/// `expected`, for at most `timeout_ns` (`FOREVER`, or 0: do not sleep).
pub fn wait(fd: i32, ops: u32, expected: u64, timeout_ns: u64) -> SysResult<()> {
    // SAFETY: no pointer arguments; the call touches no memory of the program.
    let r = unsafe { syscall4(NR_WAIT, fd as u64, u64::from(ops), expected, timeout_ns) };
    result(r).map(|_| ())
}

/// `fusion_wake`: only the wake-ups of `ops`; how many threads were woken.
pub fn wake(fd: i32, ops: u32) -> SysResult<u64> {
    // SAFETY: no pointer arguments.
    let r = unsafe { syscall4(NR_WAKE, fd as u64, u64::from(ops), 0, 0) };
    result(r)
}

/// `fusion_grant`: hands pages or a descriptor to the peer; the grant's id.
///
/// # Safety
///
/// A `GRANT_MOVE` of pages unmaps them from this process: nothing may still reference them.
pub unsafe fn grant(fd: i32, grant: &FusionGrant) -> SysResult<u32> {
    // SAFETY: `grant` is a valid `struct fusion_grant` the kernel only reads; the unmapping of
    // moved pages is the caller's contract.
    let r = unsafe { syscall4(NR_GRANT, fd as u64, grant as *const _ as u64, 0, 0) };
    result(r).map(|id| id as u32)
}

/// `fusion_accept`: takes grant `id`; the pages' address or the new descriptor, and what was
/// taken.
pub fn accept(fd: i32, id: u32, flags: u32) -> SysResult<(u64, FusionAccepted)> {
    let mut out = FusionAccepted::default();
    // SAFETY: `out` is a writable `struct fusion_accepted`; accepted pages are mapped where
    // nothing was mapped.
    let r = unsafe { syscall4(NR_ACCEPT, fd as u64, u64::from(id), &mut out as *mut _ as u64, u64::from(flags)) };
    result(r).map(|v| (v, out))
}

/// `fusion_ctl(CTL_INFO)`.
pub fn info(fd: i32) -> SysResult<FusionInfo> {
    let mut info = FusionInfo::default();
    // SAFETY: `info` is a writable `struct fusion_info`.
    let r = unsafe { syscall4(NR_CTL, fd as u64, u64::from(CTL_INFO), &mut info as *mut _ as u64, 0) };
    result(r).map(|_| info)
}

/// `fusion_ctl(CTL_DUP)`: a new descriptor with rights `rights & mine`.
pub fn dup(fd: i32, rights: u32, flags: u32) -> SysResult<i32> {
    // SAFETY: no pointer arguments.
    let r = unsafe { syscall4(NR_CTL, fd as u64, u64::from(CTL_DUP), u64::from(rights), u64::from(flags)) };
    result(r).map(|v| v as i32)
}

/// `fusion_ctl(CTL_SHUTDOWN)` with a reason code.
pub fn shutdown(fd: i32, reason: u64) -> SysResult<()> {
    // SAFETY: no pointer arguments.
    let r = unsafe { syscall4(NR_CTL, fd as u64, u64::from(CTL_SHUTDOWN), reason, 0) };
    result(r).map(|_| ())
}

/// The layout of a ring as `CTL_INFO` describes it.
pub fn layout_of(info: &FusionInfo) -> Option<Layout> {
    let l = Layout::new(info.slots, u8::try_from(info.lanes_ab).ok()?, u8::try_from(info.lanes_ba).ok()?)?;
    (l.size == info.size).then_some(l)
}

/// A ring's mapping at `addr` as `layout.size / 8` words.
///
/// # Safety
///
/// `addr` must be the address `fusion_map` returned for a ring of this `layout`, and the
/// mapping must never be unmapped while the slice is used. The caller uses only the parts of
/// it its end's rights map (the producer of its outgoing direction needs `SEND`, the consumer
/// of its incoming direction `RECV`): other pages are absent or read-only.
pub unsafe fn mapping_words(addr: usize, layout: &Layout) -> &'static [AtomicU64] {
    // SAFETY: the mapping is page-aligned, `layout.size` bytes long and lives as long as the
    // caller promises; `AtomicU64` has the size and alignment of `u64`, and every access to
    // shared memory goes through atomics, so the peer's concurrent writes are not data races.
    unsafe { core::slice::from_raw_parts(addr as *const AtomicU64, (layout.size / 8) as usize) }
}

/// Maps the ring of `fd` and returns its words and layout.
///
/// # Safety
///
/// As for [`mapping_words`]: the mapping is never unmapped, and only the parts the end's
/// rights cover are used.
pub unsafe fn map_ring(fd: i32) -> SysResult<(&'static [AtomicU64], Layout)> {
    let i = info(fd)?;
    let layout = layout_of(&i).ok_or(71)?; // EPROTO
    let addr = map(fd)?;
    // SAFETY: `addr` was just returned by `fusion_map` for this ring; the rest is the caller's
    // contract.
    Ok((unsafe { mapping_words(addr, &layout) }, layout))
}

/// The low 32 bits of the TSC (the slot stamp; `Consumer::set_clock`).
#[cfg(target_arch = "x86_64")]
pub fn rdtsc32() -> u32 {
    // SAFETY: `rdtsc` only reads the time-stamp counter; every x86-64 CPU has it.
    #[allow(unused_unsafe)]
    let t = unsafe { core::arch::x86_64::_rdtsc() };
    t as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_values_are_recognised() {
        assert_eq!(result(-38), Err(ENOSYS));
        assert_eq!(result(5), Ok(5));
        assert_eq!(result(-4096), Ok((-4096i64) as u64));
    }

    /// On the build host (Linux) the fusion calls do not exist: ENOSYS, as docs/ipc.md says.
    #[test]
    #[cfg(target_os = "linux")]
    fn linux_answers_enosys() {
        assert_eq!(wake(-1, 0), Err(ENOSYS));
        assert_eq!(info(-1).err(), Some(ENOSYS));
        let _ = rdtsc32();
    }
}
