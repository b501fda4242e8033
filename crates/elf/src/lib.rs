//! `exo-elf`: the hardware-independent half of Exo-OS's `execve`. It decides *what* to map for
//! an x86-64 Linux executable and builds the initial user stack image; the kernel does the
//! mapping and copying.
//!
//! - [`parse`] validates an ELF64 x86-64 `ET_EXEC` or `ET_DYN` (static, static-PIE, or dynamic
//!   with a `PT_INTERP`) and returns an [`ElfImage`]: the `PT_LOAD` segments, TLS template,
//!   program-header address (for `AT_PHDR`), stack executability and interpreter path.
//! - [`parse_shebang`] parses a `#!` first line exactly like Linux's `binfmt_script`.
//! - [`build_stack`] lays out argc/argv/envp/auxv and the strings the way Linux's
//!   `create_elf_tables` does, ready to be copied below the stack top.
//!
//! Nothing here panics on any input: every read is bounds-checked, all arithmetic on values
//! from the file is checked, and errors are values ([`ElfError`], [`StackError`]). The crate is
//! `no_std` (+ `alloc`) and has no dependencies: the few ELF structures needed are decoded by
//! hand (see `header.rs`).
//!
//! # Policies of [`parse`]
//!
//! - **Addresses**: every `PT_LOAD` must end at or below [`USER_END`] (the end of the lower
//!   canonical half), for `ET_DYN` too. `ET_DYN` addresses are relative to a load bias the
//!   kernel chooses (Linux places PIEs at `2/3` of the address space); any bias `b` with
//!   `b % PAGE_SIZE == 0` and `b + highest_vaddr <= USER_END` is valid
//!   ([`ElfImage::fits`] checks a bias against a floor and a ceiling). `entry` must be below
//!   `USER_END` ([`ElfError::BadEntry`]: a non-canonical entry would make the kernel's `iretq`
//!   fault; Linux kills the process after the point of no return, Exo-OS refuses the file
//!   with ENOEXEC) and is biased with [`ElfImage::entry_at`] (checked). `entry`, `phdr_vaddr`
//!   and the TLS `vaddr` are not checked against the segments (Linux does not either);
//!   `phdr_vaddr` and the TLS `vaddr` must be biased with checked arithmetic.
//! - **Order and overlap**: `PT_LOAD` segments must appear in ascending address order and
//!   their byte ranges `[vaddr, vaddr + mem_size)` must not overlap; consecutive segments *may*
//!   share a page (linkers do this, e.g. a RELRO/RW segment starting in the page where the
//!   read-only data ends). On a shared page the kernel must give the union of the permissions
//!   and fill each byte from the segment that covers it: `[vaddr, vaddr + file_size)` from the
//!   file, `[vaddr + file_size, vaddr + mem_size)` zero, bytes of no segment zero. (Mapping
//!   file pages directly is also correct for linker output, where segments sharing a page
//!   also share the file page.)
//! - **Empty segments**: a `PT_LOAD` with `mem_size == 0` is validated and then dropped; if no
//!   non-empty `PT_LOAD` remains the error is [`ElfError::NoLoadableSegments`].
//! - **Congruence**: `p_vaddr % PAGE_SIZE == p_offset % PAGE_SIZE` is required when
//!   `p_align > 1`, like the ELF spec says. With `p_align` 0 or 1 it is not, so a kernel that
//!   maps file pages must copy such a segment instead.
//! - **Stack**: without `PT_GNU_STACK`, `stack_executable` is `false`, as in Linux since 5.8 for
//!   64-bit programs (older kernels made the stack executable). With several `PT_GNU_STACK`
//!   headers the last one wins, like Linux.
//! - **Interpreter**: the first `PT_INTERP` wins (like Linux); its size must be 2 ..= 4096
//!   bytes (Linux's `PATH_MAX` check), its last byte NUL; the path is the bytes before the
//!   first NUL and must not be empty.
//! - **TLS**: at most one `PT_TLS`, with `file_size <= mem_size` and its bytes inside the file.
//! - **Program headers**: `e_phentsize == 56`, `1 ..= MAX_PHNUM` entries (0 entries gives
//!   [`ElfError::NoLoadableSegments`]), the table inside the file. Section headers are ignored.
//!   `EI_OSABI` is not checked (Linux does not).
//!
//! Every [`ElfError`] is an `ENOEXEC` for `execve`.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod auxv;
mod error;
mod header;
mod image;
mod parse;
mod shebang;
mod stack;
#[cfg(test)]
mod tests;

pub use auxv::*;
pub use error::{ElfError, StackError};
pub use image::{ElfImage, ImageKind, Perms, Segment, Tls};
pub use parse::parse;
pub use shebang::{parse_shebang, Shebang, BINPRM_BUF_SIZE};
pub use stack::{build_stack, AuxEntry, StackImage, StackSpec, MAX_ARG_STRLEN};

/// Page size used for alignment checks and the `lowest_vaddr`/`highest_vaddr` rounding, and
/// the exclusive end of user addresses: the ABI's (`exo_abi::mman`).
pub use exo_abi::mman::{PAGE_SIZE, USER_END};
/// Largest accepted `e_phnum`. Real programs have about a dozen program headers.
pub const MAX_PHNUM: u16 = 128;
