//! [`build_stack`]: the initial user stack of a new program (System V x86-64 ABI process entry
//! layout, placed like Linux's `copy_strings` + `create_elf_tables`).
//!
//! From the top (`stack_top`, exclusive) down:
//!
//! ```text
//! stack_top - 8    8 zero bytes (end marker)
//!                  execfn string (AT_EXECFN)
//!                  envp strings, envp[0] lowest
//!                  argv strings, argv[0] lowest           (all NUL-terminated, packed)
//!                  -- aligned down to 16 --
//!                  platform string (AT_PLATFORM), if not empty
//!                  16 random bytes (AT_RANDOM)
//!                  0 ..= 15 bytes of padding
//!                  auxv: caller's entries, AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_NULL (16 B each)
//!                  NULL
//!                  envp pointers
//!                  NULL
//!                  argv pointers
//! rsp (16-aligned) argc
//! ```
//!
//! Linux also randomises the 16-byte alignment step (`arch_align_stack`); callers that want
//! this can lower `stack_top` by a random multiple of 16. Linux (since 5.18) replaces an empty
//! argv by `[""]`; that is the caller's job too.

use alloc::vec::Vec;

use crate::auxv::{AT_EXECFN, AT_NULL, AT_PLATFORM, AT_RANDOM};
use crate::error::StackError;

/// Linux's `MAX_ARG_STRLEN` (32 pages): the longest argv/envp/execfn string, NUL included.
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// One auxiliary vector entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuxEntry {
    pub key: u64,
    pub value: u64,
}

/// Everything the initial stack contains.
#[derive(Debug, Clone, Copy)]
pub struct StackSpec<'a> {
    /// Exclusive top address of the user stack (normally 16-aligned; any value works).
    pub stack_top: u64,
    /// Argument strings, without NULs (a NUL inside a string would end it for the program).
    pub argv: &'a [&'a [u8]],
    /// Environment strings, without NULs.
    pub envp: &'a [&'a [u8]],
    /// Path for `AT_EXECFN` (the path given to `execve`).
    pub execfn: &'a [u8],
    /// Platform string for `AT_PLATFORM` (`b"x86_64"`); empty omits the entry.
    pub platform: &'a [u8],
    /// The 16 bytes `AT_RANDOM` points to.
    pub random: [u8; 16],
    /// The caller's entries, written first and in order (`AT_PHDR`, `AT_PHENT`, `AT_PHNUM`,
    /// `AT_PAGESZ`, `AT_BASE`, `AT_FLAGS`, `AT_ENTRY`, ids, `AT_SECURE`, `AT_HWCAP`, ...).
    /// Entries with the keys this function supplies (`AT_NULL`, `AT_RANDOM`, `AT_EXECFN`,
    /// `AT_PLATFORM`) are skipped.
    pub auxv: &'a [AuxEntry],
    /// Largest accepted image (`bytes.len()`); beyond it: [`StackError::TooBig`] (`E2BIG`).
    pub max_size: usize,
}

/// The built stack: copy `bytes` to `start .. stack_top` and enter user mode with `rsp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackImage {
    /// Stack contents; `bytes[0]` belongs at `start`, `bytes.last()` at `stack_top - 1`.
    pub bytes: Vec<u8>,
    /// Lowest address of the image: `stack_top - bytes.len()` (equal to `rsp`).
    pub start: u64,
    /// Initial `rsp`: address of argc, 16-byte aligned.
    pub rsp: u64,
    /// Address of `argv[0]`'s pointer (`rsp + 8`).
    pub argv_addr: u64,
    /// Address of `envp[0]`'s pointer.
    pub envp_addr: u64,
    /// Address of the first auxv entry.
    pub auxv_addr: u64,
}

/// Whether the caller's aux entry is kept (its key is not one `build_stack` supplies).
fn caller_entry_kept(e: &AuxEntry) -> bool {
    !matches!(e.key, AT_NULL | AT_RANDOM | AT_EXECFN | AT_PLATFORM)
}

/// Size of a NUL-terminated copy of `s`, or `TooBig` beyond `MAX_ARG_STRLEN`.
fn string_size(s: &[u8]) -> Result<u64, StackError> {
    let size = s.len().checked_add(1).ok_or(StackError::TooBig)?;
    if size > MAX_ARG_STRLEN {
        return Err(StackError::TooBig);
    }
    Ok(size as u64)
}

/// Total size of the NUL-terminated copies of `strings`.
fn strings_size(strings: &[&[u8]]) -> Result<u64, StackError> {
    strings.iter().try_fold(0u64, |acc, s| {
        acc.checked_add(string_size(s)?).ok_or(StackError::Overflow)
    })
}

/// Builds the initial stack image for `spec`. Never panics; the image is at most
/// `spec.max_size` bytes and lies entirely in `0 .. stack_top`.
pub fn build_stack(spec: &StackSpec) -> Result<StackImage, StackError> {
    let max = spec.max_size as u64;
    let execfn_size = string_size(spec.execfn)?;
    let env_size = strings_size(spec.envp)?;
    let arg_size = strings_size(spec.argv)?;
    let platform_size = if spec.platform.is_empty() {
        0
    } else {
        string_size(spec.platform)?
    };
    // Fail early (before any address arithmetic) when the strings alone are too big.
    let strings_total = [execfn_size, env_size, arg_size, platform_size, 8 + 16]
        .iter()
        .try_fold(0u64, |acc, &s| acc.checked_add(s))
        .ok_or(StackError::Overflow)?;
    if strings_total > max {
        return Err(StackError::TooBig);
    }

    let below = |addr: u64, size: u64| addr.checked_sub(size).ok_or(StackError::Overflow);
    let end_marker = below(spec.stack_top, 8)?;
    let execfn_addr = below(end_marker, execfn_size)?;
    let env_strings = below(execfn_addr, env_size)?;
    let arg_strings = below(env_strings, arg_size)?;
    let aligned = arg_strings & !15;
    let platform_addr = below(aligned, platform_size)?;
    let random_addr = below(platform_addr, 16)?;

    let caller_aux = spec.auxv.iter().filter(|e| caller_entry_kept(e)).count();
    // AT_RANDOM, AT_EXECFN, [AT_PLATFORM,] AT_NULL.
    let own_aux = if spec.platform.is_empty() { 3 } else { 4 };
    let aux_entries = caller_aux
        .checked_add(own_aux)
        .ok_or(StackError::Overflow)?;
    let argc = spec.argv.len();
    let envc = spec.envp.len();
    // argc, argv pointers + NULL, envp pointers + NULL, two words per aux entry.
    let words = [1, argc, 1, envc, 1, aux_entries, aux_entries]
        .iter()
        .try_fold(0usize, |acc, &w| acc.checked_add(w))
        .ok_or(StackError::Overflow)?;
    let table_size = (words as u64).checked_mul(8).ok_or(StackError::Overflow)?;
    let rsp = below(random_addr, table_size)? & !15;

    let size = spec
        .stack_top
        .checked_sub(rsp)
        .ok_or(StackError::Overflow)?;
    if size > max {
        return Err(StackError::TooBig);
    }
    let len = usize::try_from(size).map_err(|_| StackError::Overflow)?;
    // All of these lie in `rsp .. stack_top`, so the sums cannot overflow; checked anyway.
    let add = |addr: u64, bytes: u64| addr.checked_add(bytes).ok_or(StackError::Overflow);
    let words_size = |n: usize| (n as u64).checked_add(1).and_then(|n| n.checked_mul(8));
    let argv_addr = add(rsp, 8)?;
    let envp_addr = add(argv_addr, words_size(argc).ok_or(StackError::Overflow)?)?;
    let auxv_addr = add(envp_addr, words_size(envc).ok_or(StackError::Overflow)?)?;

    // Fallible allocation: a kernel heap failure must not abort.
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(len)
        .map_err(|_| StackError::TooBig)?;
    bytes.resize(len, 0);
    let mut w = Writer { bytes, start: rsp };
    // Strings (the end marker is already zero).
    w.put(execfn_addr, spec.execfn)?;
    let env_ptrs = w.put_strings(env_strings, spec.envp)?;
    let arg_ptrs = w.put_strings(arg_strings, spec.argv)?;
    if !spec.platform.is_empty() {
        w.put(platform_addr, spec.platform)?;
    }
    w.put(random_addr, &spec.random)?;

    // Tables, from rsp upwards.
    w.put_u64(rsp, argc as u64)?;
    // The NULL after argv and after envp are already zero.
    w.put_words(argv_addr, &arg_ptrs)?;
    w.put_words(envp_addr, &env_ptrs)?;
    let platform_entry = (!spec.platform.is_empty()).then_some(AuxEntry {
        key: AT_PLATFORM,
        value: platform_addr,
    });
    let own = [
        Some(AuxEntry {
            key: AT_RANDOM,
            value: random_addr,
        }),
        Some(AuxEntry {
            key: AT_EXECFN,
            value: execfn_addr,
        }),
        platform_entry,
    ];
    let all = spec
        .auxv
        .iter()
        .filter(|e| caller_entry_kept(e))
        .chain(own.iter().flatten());
    let mut at = auxv_addr;
    for e in all {
        w.put_u64(at, e.key)?;
        w.put_u64(add(at, 8)?, e.value)?;
        at = add(at, 16)?;
    }
    // The AT_NULL entry is already zero.

    Ok(StackImage {
        bytes: w.bytes,
        start: rsp,
        rsp,
        argv_addr,
        envp_addr,
        auxv_addr,
    })
}

/// The image being filled, addressed with user addresses.
struct Writer {
    bytes: Vec<u8>,
    start: u64,
}

impl Writer {
    /// Copies `data` to user address `addr` (errors only if the layout were inconsistent).
    fn put(&mut self, addr: u64, data: &[u8]) -> Result<(), StackError> {
        let off = addr
            .checked_sub(self.start)
            .and_then(|o| usize::try_from(o).ok())
            .ok_or(StackError::Overflow)?;
        let end = off.checked_add(data.len()).ok_or(StackError::Overflow)?;
        self.bytes
            .get_mut(off..end)
            .ok_or(StackError::Overflow)?
            .copy_from_slice(data);
        Ok(())
    }

    fn put_u64(&mut self, addr: u64, value: u64) -> Result<(), StackError> {
        self.put(addr, &value.to_le_bytes())
    }

    /// Writes consecutive 64-bit words from `addr` up.
    fn put_words(&mut self, mut addr: u64, words: &[u64]) -> Result<(), StackError> {
        for &word in words {
            self.put_u64(addr, word)?;
            addr = addr.checked_add(8).ok_or(StackError::Overflow)?;
        }
        Ok(())
    }

    /// Writes `strings` NUL-terminated and packed from `addr` up; returns their addresses.
    fn put_strings(&mut self, mut addr: u64, strings: &[&[u8]]) -> Result<Vec<u64>, StackError> {
        let mut ptrs = Vec::with_capacity(strings.len());
        for s in strings {
            ptrs.push(addr);
            self.put(addr, s)?; // the NUL is already there
            addr = addr
                .checked_add(s.len() as u64)
                .and_then(|a| a.checked_add(1))
                .ok_or(StackError::Overflow)?;
        }
        Ok(ptrs)
    }
}
