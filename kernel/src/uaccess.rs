//! Access to user memory on behalf of system calls: every user pointer goes through here.
//!
//! A user range must lie entirely below [`USER_END`] (else EFAULT without touching it); the copy
//! itself is the architecture's fault-tolerant routine, so an unmapped or forbidden page gives
//! EFAULT too, while a page that is merely not present yet (demand paging, copy-on-write) is
//! made present by the fault handler and the copy continues. Never call these while holding a
//! lock the page-fault path takes (the process's memory lock).

use alloc::vec::Vec;

use bytemuck::{AnyBitPattern, NoUninit};
use exo_abi::{Errno, KResult};

use crate::arch;

/// Exclusive end of user addresses (the ABI's: the lower canonical half without its last page).
pub use exo_abi::mman::USER_END;

/// Longest path a user may pass (Linux's PATH_MAX, including the NUL).
pub const PATH_MAX: usize = 4096;

/// EFAULT unless `[addr, addr + len)` lies inside the user half.
pub fn check_range(addr: u64, len: u64) -> KResult<()> {
    match addr.checked_add(len) {
        Some(end) if end <= USER_END => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Copies user memory at `addr` into `buf`.
pub fn read_bytes(addr: u64, buf: &mut [u8]) -> KResult<()> {
    check_range(addr, buf.len() as u64)?;
    // SAFETY: the range lies in the user half (checked above).
    match unsafe { arch::copy_from_user(buf, addr) } {
        0 => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Copies `data` to user memory at `addr`.
pub fn write_bytes(addr: u64, data: &[u8]) -> KResult<()> {
    check_range(addr, data.len() as u64)?;
    // SAFETY: the range lies in the user half (checked above).
    match unsafe { arch::copy_to_user(addr, data) } {
        0 => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Reads a `T` from user memory (any bit pattern is a valid `T`).
pub fn read<T: AnyBitPattern + NoUninit>(addr: u64) -> KResult<T> {
    let mut value = T::zeroed();
    read_bytes(addr, bytemuck::bytes_of_mut(&mut value))?;
    Ok(value)
}

/// Writes `value` to user memory.
pub fn write<T: NoUninit>(addr: u64, value: &T) -> KResult<()> {
    write_bytes(addr, bytemuck::bytes_of(value))
}

/// Writes `value` when `addr` is not NULL (optional out-parameters).
pub fn write_opt<T: NoUninit>(addr: u64, value: &T) -> KResult<()> {
    if addr == 0 {
        return Ok(());
    }
    write(addr, value)
}


/// Reads a NUL-terminated string of at most `max` bytes (NUL included) from user memory.
/// ENAMETOOLONG when no NUL comes within `max` bytes.
pub fn read_cstr(addr: u64, max: usize) -> KResult<Vec<u8>> {
    if addr == 0 {
        return Err(Errno::EFAULT);
    }
    let mut out = Vec::new();
    let mut at = addr;
    loop {
        // Read up to the end of the page, so a string ending just before an unmapped page works.
        let in_page = (4096 - (at & 4095)) as usize;
        let want = in_page.min(max.saturating_sub(out.len())).max(1);
        let mut chunk = [0u8; 4096];
        read_bytes(at, &mut chunk[..want])?;
        if let Some(nul) = chunk[..want].iter().position(|&b| b == 0) {
            out.try_reserve(nul).map_err(|_| Errno::ENOMEM)?;
            out.extend_from_slice(&chunk[..nul]);
            return Ok(out);
        }
        out.try_reserve(want).map_err(|_| Errno::ENOMEM)?;
        out.extend_from_slice(&chunk[..want]);
        if out.len() >= max {
            return Err(Errno::ENAMETOOLONG);
        }
        at += want as u64;
    }
}

/// Reads a path argument: EFAULT for a bad pointer, ENOENT for "", ENAMETOOLONG past PATH_MAX.
pub fn read_path(addr: u64) -> KResult<Vec<u8>> {
    let path = read_cstr(addr, PATH_MAX)?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(path)
}

/// Reads a NULL-terminated array of string pointers (argv, envp). E2BIG when the strings and
/// their pointers add up to more than `max_total` bytes (each string counts its bytes, its NUL
/// and its 8-byte pointer, so a flood of empty strings is bounded too, as on Linux) or there are
/// more than `max_count` of them.
pub fn read_cstr_array(addr: u64, max_count: usize, max_total: usize) -> KResult<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    let mut total = 0usize;
    for index in 0..=max_count {
        let pointer: u64 = read(addr + index as u64 * 8)?;
        if pointer == 0 {
            return Ok(out);
        }
        if index == max_count {
            break;
        }
        let string = read_cstr(pointer, max_total.saturating_sub(total).max(1)).map_err(|e| {
            if e == Errno::ENAMETOOLONG { Errno::E2BIG } else { e }
        })?;
        total = total.saturating_add(string.len() + 1 + 8);
        if total > max_total {
            return Err(Errno::E2BIG);
        }
        out.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        out.push(string);
    }
    Err(Errno::E2BIG)
}
