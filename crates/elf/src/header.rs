//! Bounds-checked decoding of the two ELF64 structures an `execve` needs: the file header
//! (`Elf64_Ehdr`, 64 bytes) and program headers (`Elf64_Phdr`, 56 bytes), little-endian.
//! Only the identification and header fields are validated here; segment semantics are in
//! `parse.rs`.

use crate::error::ElfError;
use crate::image::ImageKind;
use crate::MAX_PHNUM;

/// Size of `Elf64_Ehdr`.
pub(crate) const EHDR_SIZE: usize = 64;
/// Size of `Elf64_Phdr`, the only accepted `e_phentsize`.
pub(crate) const PHDR_SIZE: u16 = 56;

const ELFMAG: [u8; 4] = [0x7f, b'E', b'L', b'F'];
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const EV_CURRENT: u8 = 1;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;

pub(crate) const PT_LOAD: u32 = 1;
pub(crate) const PT_INTERP: u32 = 3;
pub(crate) const PT_PHDR: u32 = 6;
pub(crate) const PT_TLS: u32 = 7;
pub(crate) const PT_GNU_STACK: u32 = 0x6474_e551;

pub(crate) const PF_X: u32 = 1;
pub(crate) const PF_W: u32 = 2;
pub(crate) const PF_R: u32 = 4;

/// `N` bytes at `off`, or `None` if they are not all inside `bytes`.
fn array<const N: usize>(bytes: &[u8], off: usize) -> Option<[u8; N]> {
    let end = off.checked_add(N)?;
    bytes.get(off..end)?.try_into().ok()
}

pub(crate) fn read_u16(bytes: &[u8], off: usize) -> Option<u16> {
    array(bytes, off).map(u16::from_le_bytes)
}

pub(crate) fn read_u32(bytes: &[u8], off: usize) -> Option<u32> {
    array(bytes, off).map(u32::from_le_bytes)
}

pub(crate) fn read_u64(bytes: &[u8], off: usize) -> Option<u64> {
    array(bytes, off).map(u64::from_le_bytes)
}

/// The validated fields of the ELF header that matter for loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileHeader {
    pub kind: ImageKind,
    pub entry: u64,
    /// File offset of the program header table.
    pub phoff: u64,
    pub phnum: u16,
}

impl FileHeader {
    /// Size in bytes of the program header table (`phnum * 56`, cannot overflow).
    pub fn table_size(&self) -> u64 {
        u64::from(self.phnum) * u64::from(PHDR_SIZE)
    }
}

/// Decodes and checks the ELF header, in this order: length and magic, class, data encoding,
/// version, type, machine, `e_version`, `e_phentsize`, `e_phnum`.
pub(crate) fn file_header(file: &[u8]) -> Result<FileHeader, ElfError> {
    let magic: [u8; 4] = array(file, 0).ok_or(ElfError::TooShort)?;
    if magic != ELFMAG {
        return Err(ElfError::BadMagic);
    }
    let ident: [u8; 16] = array(file, 0).ok_or(ElfError::TooShort)?;
    if file.len() < EHDR_SIZE {
        return Err(ElfError::TooShort);
    }
    let [_, _, _, _, class, data, version, ..] = ident;
    if class != ELFCLASS64 {
        return Err(ElfError::NotElf64);
    }
    if data != ELFDATA2LSB {
        return Err(ElfError::NotLittleEndian);
    }
    if version != EV_CURRENT {
        return Err(ElfError::BadVersion);
    }
    // The header is known to be 64 bytes long from here on; `?` on `None` cannot happen.
    let e_type = read_u16(file, 16).ok_or(ElfError::TooShort)?;
    let kind = match e_type {
        ET_EXEC => ImageKind::Executable,
        ET_DYN => ImageKind::PositionIndependent,
        _ => return Err(ElfError::NotExecutable),
    };
    if read_u16(file, 18).ok_or(ElfError::TooShort)? != EM_X86_64 {
        return Err(ElfError::WrongMachine);
    }
    if read_u32(file, 20).ok_or(ElfError::TooShort)? != u32::from(EV_CURRENT) {
        return Err(ElfError::BadVersion);
    }
    let entry = read_u64(file, 24).ok_or(ElfError::TooShort)?;
    let phoff = read_u64(file, 32).ok_or(ElfError::TooShort)?;
    let phentsize = read_u16(file, 54).ok_or(ElfError::TooShort)?;
    let phnum = read_u16(file, 56).ok_or(ElfError::TooShort)?;
    if phentsize != PHDR_SIZE {
        return Err(ElfError::BadProgramHeaders);
    }
    if phnum == 0 {
        return Err(ElfError::NoLoadableSegments);
    }
    if phnum > MAX_PHNUM {
        return Err(ElfError::TooManyProgramHeaders);
    }
    Ok(FileHeader {
        kind,
        entry,
        phoff,
        phnum,
    })
}

/// One decoded program header (`p_paddr` is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProgramHeader {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub file_size: u64,
    pub mem_size: u64,
    pub align: u64,
}

/// Decodes the program header table after checking that it lies inside the file.
pub(crate) fn program_headers(
    file: &[u8],
    hdr: &FileHeader,
) -> Result<alloc::vec::Vec<ProgramHeader>, ElfError> {
    let table_end = hdr
        .phoff
        .checked_add(hdr.table_size())
        .ok_or(ElfError::Overflow)?;
    if table_end > file.len() as u64 {
        return Err(ElfError::BadProgramHeaders);
    }
    // In range, hence representable as usize.
    let start = usize::try_from(hdr.phoff).map_err(|_| ElfError::BadProgramHeaders)?;
    let end = usize::try_from(table_end).map_err(|_| ElfError::BadProgramHeaders)?;
    let table = file.get(start..end).ok_or(ElfError::BadProgramHeaders)?;
    table
        .chunks_exact(usize::from(PHDR_SIZE))
        .map(|ph| {
            let field = |off| read_u64(ph, off).ok_or(ElfError::BadProgramHeaders);
            Ok(ProgramHeader {
                p_type: read_u32(ph, 0).ok_or(ElfError::BadProgramHeaders)?,
                flags: read_u32(ph, 4).ok_or(ElfError::BadProgramHeaders)?,
                offset: field(8)?,
                vaddr: field(16)?,
                file_size: field(32)?,
                mem_size: field(40)?,
                align: field(48)?,
            })
        })
        .collect()
}
