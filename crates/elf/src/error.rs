//! Error types of the crate: why an executable or `#!` line was refused ([`ElfError`], all
//! `ENOEXEC` for `execve`) and why the initial stack could not be built ([`StackError`]).

use core::fmt;

/// Why [`crate::parse`] or [`crate::parse_shebang`] refused a file. For `execve` every variant
/// means `ENOEXEC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfError {
    /// The file is shorter than the 64-byte ELF header (or than the 4-byte magic).
    TooShort,
    /// The file does not start with `\x7fELF`.
    BadMagic,
    /// `EI_CLASS` is not `ELFCLASS64`.
    NotElf64,
    /// `EI_DATA` is not `ELFDATA2LSB`.
    NotLittleEndian,
    /// `EI_VERSION` or `e_version` is not `EV_CURRENT` (1).
    BadVersion,
    /// `e_type` is neither `ET_EXEC` nor `ET_DYN`.
    NotExecutable,
    /// `e_machine` is not `EM_X86_64`.
    WrongMachine,
    /// `e_phentsize != 56`, or the program header table is not inside the file.
    BadProgramHeaders,
    /// More than [`crate::MAX_PHNUM`] program headers (including `PN_XNUM` extended counts).
    TooManyProgramHeaders,
    /// A `PT_LOAD` is invalid: `p_filesz > p_memsz`, file bytes outside the file, vaddr and
    /// offset not congruent modulo the page size, beyond [`crate::USER_END`], or out of order
    /// / overlapping the previous segment.
    BadSegment,
    /// No `PT_LOAD` with a non-zero memory size.
    NoLoadableSegments,
    /// An address or size computation overflowed 64 bits.
    Overflow,
    /// `PT_INTERP` is outside the file, not NUL-terminated, empty, or of a size outside
    /// 2 ..= 4096 bytes.
    BadInterpreter,
    /// `PT_TLS` is invalid (`p_filesz > p_memsz`, outside the file) or appears twice.
    BadTls,
    /// `e_entry` is not an address of the user half (`>= USER_END`), or the load bias would
    /// move it out of it.
    BadEntry,
    /// A `#!` line without an interpreter name, or whose interpreter name does not end within
    /// the first [`crate::BINPRM_BUF_SIZE`] bytes.
    BadShebang,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ElfError::TooShort => "file too short for an ELF header",
            ElfError::BadMagic => "not an ELF file",
            ElfError::NotElf64 => "not a 64-bit ELF file",
            ElfError::NotLittleEndian => "not a little-endian ELF file",
            ElfError::BadVersion => "unknown ELF version",
            ElfError::NotExecutable => "ELF file is neither ET_EXEC nor ET_DYN",
            ElfError::WrongMachine => "ELF file is not for x86-64",
            ElfError::BadProgramHeaders => "bad program header table",
            ElfError::TooManyProgramHeaders => "too many program headers",
            ElfError::BadSegment => "bad PT_LOAD segment",
            ElfError::NoLoadableSegments => "no loadable segment",
            ElfError::Overflow => "address arithmetic overflow",
            ElfError::BadInterpreter => "bad PT_INTERP",
            ElfError::BadTls => "bad PT_TLS",
            ElfError::BadEntry => "entry point outside the user address space",
            ElfError::BadShebang => "bad #! line",
        };
        f.write_str(s)
    }
}

/// Why [`crate::build_stack`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackError {
    /// The image would exceed `StackSpec::max_size`, or one string is longer than
    /// [`crate::MAX_ARG_STRLEN`]: `E2BIG`. Also returned if the image's memory cannot be
    /// allocated.
    TooBig,
    /// The image would extend below address 0 (`stack_top` too small) or a size overflowed.
    Overflow,
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StackError::TooBig => "argument list too long",
            StackError::Overflow => "initial stack does not fit below the stack top",
        })
    }
}
