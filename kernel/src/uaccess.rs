//! Access to user memory on behalf of system calls: every user pointer goes through here.
//!
//! User addresses are typed: [`UserPtr<T>`] (one `T`, or the first of an array), [`UserSlice<T>`]
//! (a pointer and a count), [`UserCStr`] (a NUL-terminated string), [`UserAddr`] (an address
//! the kernel maps or unmaps but never dereferences) and [`UserArg`] (a register whose meaning
//! depends on another argument, as ioctl's third). None of them can be dereferenced: their
//! contents are reached only through the checked copies below, so a user address cannot be
//! confused with a length or an fd, nor read without the fault-tolerant routine.
//!
//! A user range must lie entirely below [`USER_END`] (else EFAULT without touching it); the copy
//! itself is the architecture's fault-tolerant routine, so an unmapped or forbidden page gives
//! EFAULT too, while a page that is merely not present yet (demand paging, copy-on-write) is
//! made present by the fault handler and the copy continues. Never call these while holding a
//! lock the page-fault path takes (the process's memory lock) or any spin lock.

use alloc::vec::Vec;
use core::marker::PhantomData;

use bytemuck::{AnyBitPattern, NoUninit};
use exo_abi::{Errno, KResult};

use crate::arch;

/// Exclusive end of user addresses (the ABI's: the lower canonical half without its last page).
pub use exo_abi::mman::USER_END;

/// Longest path a user may pass (Linux's PATH_MAX, including the NUL).
pub const PATH_MAX: usize = 4096;

/// EFAULT unless `[addr, addr + len)` lies inside the user half.
fn check_range(addr: u64, len: u64) -> KResult<()> {
    match addr.checked_add(len) {
        Some(end) if end <= USER_END => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Copies user memory at `addr` into `buf`.
fn copy_in(addr: u64, buf: &mut [u8]) -> KResult<()> {
    check_range(addr, buf.len() as u64)?;
    // SAFETY: the range lies in the user half (checked above).
    match unsafe { arch::copy_from_user(buf, addr) } {
        0 => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Copies `data` to user memory at `addr`.
fn copy_out(addr: u64, data: &[u8]) -> KResult<()> {
    check_range(addr, data.len() as u64)?;
    // SAFETY: the range lies in the user half (checked above).
    match unsafe { arch::copy_to_user(addr, data) } {
        0 => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Reads a `T` from user memory (any bit pattern is a valid `T`).
fn read<T: AnyBitPattern + NoUninit>(addr: u64) -> KResult<T> {
    let mut value = T::zeroed();
    copy_in(addr, bytemuck::bytes_of_mut(&mut value))?;
    Ok(value)
}

/// Writes `value` to user memory.
fn write<T: NoUninit>(addr: u64, value: &T) -> KResult<()> {
    copy_out(addr, bytemuck::bytes_of(value))
}

/// Writes `value` when `addr` is not NULL (optional out-parameters).
fn write_opt<T: NoUninit>(addr: u64, value: &T) -> KResult<()> {
    if addr == 0 {
        return Ok(());
    }
    write(addr, value)
}

/// First chunk [`read_cstr`] copies; each further chunk doubles, up to a page.
const CSTR_FIRST_CHUNK: usize = 64;

/// Reads a NUL-terminated string of at most `max` bytes (NUL included) from user memory.
/// ENAMETOOLONG when no NUL comes within `max` bytes.
///
/// The string is copied straight into the result in chunks that start small (most paths are
/// short, and the copy costs per byte) and never cross a page boundary, so a string ending just
/// before an unmapped page works and no byte past the page holding the NUL is touched.
fn read_cstr(addr: u64, max: usize) -> KResult<Vec<u8>> {
    if addr == 0 {
        return Err(Errno::EFAULT);
    }
    let mut out: Vec<u8> = Vec::new();
    let mut at = addr;
    let mut step = CSTR_FIRST_CHUNK;
    loop {
        let in_page = (4096 - (at & 4095)) as usize;
        let want = in_page.min(step).min(max.saturating_sub(out.len())).max(1);
        let start = out.len();
        out.try_reserve(want).map_err(|_| Errno::ENOMEM)?;
        out.resize(start + want, 0);
        copy_in(at, &mut out[start..])?;
        if let Some(nul) = out[start..].iter().position(|&b| b == 0) {
            out.truncate(start + nul);
            return Ok(out);
        }
        if out.len() >= max {
            return Err(Errno::ENAMETOOLONG);
        }
        at += want as u64;
        step = step.saturating_mul(2).min(4096);
    }
}

/// Reads a path argument: EFAULT for a bad pointer, ENOENT for "", ENAMETOOLONG past PATH_MAX.
fn read_path(addr: u64) -> KResult<Vec<u8>> {
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
fn read_cstr_array(addr: u64, max_count: usize, max_total: usize) -> KResult<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    let mut total = 0usize;
    for index in 0..=max_count {
        let pointer = UserPtr::<u64>::new(addr).add(index)?.read()?;
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

/// The address of a `T` (or of the first of several) in user memory. It is only an address:
/// [`read`](Self::read) and [`write`](Self::write) go through the checked copies.
#[repr(transparent)]
pub struct UserPtr<T> {
    addr: u64,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for UserPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for UserPtr<T> {}

impl<T> core::fmt::Debug for UserPtr<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "UserPtr({:#x})", self.addr)
    }
}

impl<T> PartialEq for UserPtr<T> {
    fn eq(&self, other: &Self) -> bool {
        self.addr == other.addr
    }
}

impl<T> UserPtr<T> {
    /// A user pointer with this address, as a user program gave it (not checked yet: every
    /// access checks).
    pub const fn new(addr: u64) -> Self {
        Self { addr, _type: PhantomData }
    }

    /// The null pointer.
    pub const fn null() -> Self {
        Self::new(0)
    }

    /// The address, for reports and for handing back to the user (never to dereference).
    pub const fn addr(self) -> u64 {
        self.addr
    }

    pub const fn is_null(self) -> bool {
        self.addr == 0
    }

    /// The pointer `count` elements further; EFAULT when that leaves the address space.
    pub fn add(self, count: usize) -> KResult<Self> {
        let bytes = (count as u64).checked_mul(core::mem::size_of::<T>() as u64).ok_or(Errno::EFAULT)?;
        self.addr.checked_add(bytes).map(Self::new).ok_or(Errno::EFAULT)
    }

    /// `count` elements starting here. EFAULT unless they all lie in the user half.
    pub fn slice(self, count: usize) -> KResult<UserSlice<T>> {
        UserSlice::new(self, count)
    }

    /// EFAULT unless `count` elements starting here all lie in the user half (Linux's
    /// `access_ok`, for calls that must fail before doing anything).
    pub fn check(self, count: usize) -> KResult<()> {
        self.slice(count).map(|_| ())
    }
}

impl UserPtr<u32> {
    /// Atomically replaces the word by `new` if it holds `expected`; returns the old value (the
    /// swap happened iff it equals `expected`). EFAULT for a misaligned, non-user or unwritable
    /// address (EINVAL would be Linux's answer for misalignment at the futex calls, which check
    /// it first).
    pub fn compare_exchange(self, expected: u32, new: u32) -> KResult<u32> {
        if self.addr % 4 != 0 {
            return Err(Errno::EFAULT);
        }
        check_range(self.addr, 4)?;
        // SAFETY: the word lies below the user-half end (checked) and is aligned.
        unsafe { arch::cmpxchg_user_u32(self.addr, expected, new) }.ok_or(Errno::EFAULT)
    }
}

impl<T: AnyBitPattern + NoUninit> UserPtr<T> {
    /// Reads the `T` (any bit pattern is a valid `T`).
    pub fn read(self) -> KResult<T> {
        read(self.addr)
    }

    /// Writes `value`.
    pub fn write(self, value: &T) -> KResult<()> {
        write(self.addr, value)
    }

    /// Writes `value` unless the pointer is NULL (optional out-parameters).
    pub fn write_opt(self, value: &T) -> KResult<()> {
        write_opt(self.addr, value)
    }

    /// Reads the `T` unless the pointer is NULL (optional in-parameters).
    pub fn read_opt(self) -> KResult<Option<T>> {
        if self.is_null() { Ok(None) } else { self.read().map(Some) }
    }
}

/// `len` elements of type `T` in user memory, known to lie in the user half (a slice is only
/// made by [`UserPtr::slice`] or [`UserSlice::new`], which check). The pages may still be
/// unmapped: each copy can fail with EFAULT.
#[derive(Clone, Copy, Debug)]
pub struct UserSlice<T> {
    start: UserPtr<T>,
    len: usize,
}

impl<T> UserSlice<T> {
    /// `len` elements at `start`; EFAULT unless they all lie in the user half.
    pub fn new(start: UserPtr<T>, len: usize) -> KResult<Self> {
        let bytes = (len as u64).checked_mul(core::mem::size_of::<T>() as u64).ok_or(Errno::EFAULT)?;
        check_range(start.addr, bytes)?;
        Ok(Self { start, len })
    }

    /// Number of elements.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// The part `[from, from + len)` of this slice, clamped to its end.
    pub fn sub(&self, from: usize, len: usize) -> Self {
        let from = from.min(self.len);
        let len = len.min(self.len - from);
        // In range: inside a checked slice, so the address arithmetic cannot overflow.
        let start = UserPtr::new(self.start.addr + (from * core::mem::size_of::<T>()) as u64);
        Self { start, len }
    }

    /// Element `index`'s address (EFAULT past the end).
    #[cfg(feature = "ktest")]
    pub fn at(&self, index: usize) -> KResult<UserPtr<T>> {
        if index >= self.len {
            return Err(Errno::EFAULT);
        }
        Ok(self.sub(index, 1).start)
    }
}

impl<T: AnyBitPattern + NoUninit> UserSlice<T> {
    /// Reads element `index`.
    #[cfg(feature = "ktest")]
    pub fn read(&self, index: usize) -> KResult<T> {
        self.at(index)?.read()
    }

    /// Writes element `index`.
    #[cfg(feature = "ktest")]
    pub fn write(&self, index: usize, value: &T) -> KResult<()> {
        self.at(index)?.write(value)
    }

    /// Copies the first `out.len()` elements (at most the slice's length) into `out`.
    pub fn read_into(&self, out: &mut [T]) -> KResult<()> {
        let n = out.len().min(self.len);
        copy_in(self.start.addr, bytemuck::cast_slice_mut(&mut out[..n]))
    }

    /// Copies `data` (at most the slice's length) to the start of the slice.
    pub fn write_from(&self, data: &[T]) -> KResult<()> {
        let n = data.len().min(self.len);
        copy_out(self.start.addr, bytemuck::cast_slice(&data[..n]))
    }

    /// Reads the whole slice into a new vector (ENOMEM when it cannot be allocated).
    #[cfg(feature = "ktest")]
    pub fn read_vec(&self) -> KResult<Vec<T>> {
        let mut out = Vec::new();
        out.try_reserve_exact(self.len).map_err(|_| Errno::ENOMEM)?;
        out.resize(self.len, T::zeroed());
        self.read_into(&mut out)?;
        Ok(out)
    }
}

/// A NUL-terminated string in user memory (a path, a name, an argument).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UserCStr(UserPtr<u8>);

impl UserCStr {
    pub const fn new(start: UserPtr<u8>) -> Self {
        Self(start)
    }

    pub const fn is_null(self) -> bool {
        self.0.is_null()
    }

    /// Reads the string (without its NUL): at most `max` bytes NUL included, else ENAMETOOLONG;
    /// EFAULT for a bad pointer.
    pub fn read(self, max: usize) -> KResult<Vec<u8>> {
        read_cstr(self.0.addr, max)
    }

    /// Reads a path: EFAULT for a bad pointer, ENOENT for "", ENAMETOOLONG past PATH_MAX.
    pub fn read_path(self) -> KResult<Vec<u8>> {
        read_path(self.0.addr)
    }
}

/// A NULL-terminated array of string pointers in user memory (execve's argv and envp).
#[derive(Clone, Copy, Debug)]
pub struct UserCStrArray(UserPtr<u64>);

impl UserCStrArray {
    pub const fn new(start: UserPtr<u64>) -> Self {
        Self(start)
    }

    /// Reads the strings; E2BIG past `max_count` strings or `max_total` bytes (each string
    /// counting its bytes, NUL and pointer); a NULL array is empty.
    pub fn read(self, max_count: usize, max_total: usize) -> KResult<Vec<Vec<u8>>> {
        read_cstr_array(self.0.addr, max_count, max_total)
    }
}

/// A user address that the kernel maps, unmaps or compares but never dereferences (mmap's
/// hint, munmap's start, brk). Not a pointer: it has no contents to copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UserAddr(u64);

impl UserAddr {
    pub const fn new(addr: u64) -> Self {
        Self(addr)
    }

    pub const fn get(self) -> u64 {
        self.0
    }
}

/// A register argument whose meaning depends on another argument (ioctl's and fcntl's third,
/// prctl's, futex's fourth): the handler converts it explicitly to what the command says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserArg(u64);

impl UserArg {
    pub const fn new(raw: u64) -> Self {
        Self(raw)
    }

    /// As a pointer to a `T`.
    pub const fn ptr<T>(self) -> UserPtr<T> {
        UserPtr::new(self.0)
    }

    /// As a C `int` (the upper 32 bits are ignored, as Linux does).
    pub const fn int(self) -> i32 {
        self.0 as u32 as i32
    }

    /// As a C `unsigned int`.
    pub const fn uint(self) -> u32 {
        self.0 as u32
    }

    /// As a C `unsigned long`.
    pub const fn ulong(self) -> u64 {
        self.0
    }
}
