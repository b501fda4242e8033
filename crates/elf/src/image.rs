//! The result of [`crate::parse`]: what an executable asks the kernel to map ([`ElfImage`],
//! [`Segment`]) plus the facts `execve` needs for the auxiliary vector and the stack.

use alloc::vec::Vec;

use crate::error::ElfError;
use crate::USER_END;

/// How the addresses of an [`ElfImage`] are to be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// `ET_EXEC`: the addresses are absolute (load bias 0).
    Executable,
    /// `ET_DYN` (PIE, static-PIE, or a dynamic loader): every address must be offset by a
    /// page-aligned load bias chosen by the kernel.
    PositionIndependent,
}

/// Access rights of a segment, from `p_flags` (`PF_R`, `PF_W`, `PF_X`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perms {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

/// One non-empty `PT_LOAD` segment, already validated; addresses are relative to the load bias
/// (0 for [`ImageKind::Executable`]).
///
/// Guarantees: `file_size <= mem_size`, `mem_size > 0`, `file_offset + file_size <= file.len()`,
/// `vaddr + mem_size <= USER_END`, and `vaddr % PAGE_SIZE == file_offset % PAGE_SIZE` unless
/// the header had `p_align <= 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub mem_size: u64,
    pub file_offset: u64,
    pub file_size: u64,
    pub perms: Perms,
}

impl Segment {
    /// Exclusive end address `vaddr + mem_size` (cannot overflow for a validated segment).
    pub fn end(&self) -> u64 {
        self.vaddr.saturating_add(self.mem_size)
    }
}

/// The `PT_TLS` template (relative to the load bias). The kernel does not use it; the C
/// library finds it through `AT_PHDR`. Guarantees: `file_size <= mem_size`, the file bytes are
/// inside the file and `vaddr + mem_size` does not overflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub vaddr: u64,
    pub file_size: u64,
    pub mem_size: u64,
    pub align: u64,
}

/// A validated executable: what to map and what to tell the program about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfImage {
    /// `ET_EXEC` (fixed addresses) or `ET_DYN` (needs a load bias).
    pub kind: ImageKind,
    /// `e_entry`, relative to the load bias; below `USER_END`, not checked against the
    /// segments. Bias it with [`ElfImage::entry_at`].
    pub entry: u64,
    /// Non-empty `PT_LOAD` segments in ascending address order, byte ranges disjoint
    /// (consecutive segments may share a page; see the crate documentation).
    pub segments: Vec<Segment>,
    /// The `PT_TLS` template, if any.
    pub tls: Option<Tls>,
    /// Address of the program header table in memory (for `AT_PHDR`): the first `PT_PHDR`'s
    /// `p_vaddr`, else computed from the first `PT_LOAD` whose file bytes contain the whole
    /// table (`e_phoff .. e_phoff + phnum * 56`); `None` if neither exists.
    pub phdr_vaddr: Option<u64>,
    /// `e_phentsize` (always 56) for `AT_PHENT`.
    pub phent: u16,
    /// `e_phnum` for `AT_PHNUM`.
    pub phnum: u16,
    /// Whether the last `PT_GNU_STACK` has `PF_X`; `false` without `PT_GNU_STACK`.
    pub stack_executable: bool,
    /// The first `PT_INTERP` path, without its NUL; never empty.
    pub interpreter: Option<Vec<u8>>,
    /// First segment's `vaddr` rounded down to a page.
    pub lowest_vaddr: u64,
    /// Last segment's end rounded up to a page (`<= USER_END`).
    pub highest_vaddr: u64,
}

impl ElfImage {
    /// Bytes of address space the segments span: `highest_vaddr - lowest_vaddr`.
    pub fn span(&self) -> u64 {
        self.highest_vaddr.saturating_sub(self.lowest_vaddr)
    }

    /// The entry point once the image is loaded with `bias`: `entry + bias`, or
    /// [`ElfError::BadEntry`] if that overflows or leaves the user half (`>= USER_END`).
    pub fn entry_at(&self, bias: u64) -> Result<u64, ElfError> {
        self.entry
            .checked_add(bias)
            .filter(|&entry| entry < USER_END)
            .ok_or(ElfError::BadEntry)
    }

    /// Whether every segment, loaded with `bias`, lies inside `[floor, ceiling)` (page-rounded:
    /// `lowest_vaddr + bias >= floor` and `highest_vaddr + bias <= ceiling`, without overflow).
    /// The kernel asks this with its mmap floor (Linux's `mmap_min_addr`) and the user-half end.
    pub fn fits(&self, bias: u64, floor: u64, ceiling: u64) -> bool {
        match (self.lowest_vaddr.checked_add(bias), self.highest_vaddr.checked_add(bias)) {
            (Some(low), Some(high)) => low >= floor && high <= ceiling,
            _ => false,
        }
    }
}
