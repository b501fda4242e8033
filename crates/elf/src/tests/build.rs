//! Test helper: assembles small ELF64 images by hand (header + program headers + data) and
//! offers byte-level pokes so each validation rule can be broken on purpose.

use std::vec;
use std::vec::Vec;

pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_INTERP: u32 = 3;
pub const PT_NOTE: u32 = 4;
pub const PT_PHDR: u32 = 6;
pub const PT_TLS: u32 = 7;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const PT_GNU_RELRO: u32 = 0x6474_e552;

pub const R: u32 = 4;
pub const W: u32 = 2;
pub const X: u32 = 1;

pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;

/// Offset of the program header table in built images.
pub const PHOFF: usize = 64;
/// Size of one program header.
pub const PHENT: usize = 56;

/// Field offsets inside the ELF header.
pub mod ehdr {
    pub const CLASS: usize = 4;
    pub const DATA: usize = 5;
    pub const VERSION: usize = 6;
    pub const TYPE: usize = 16;
    pub const MACHINE: usize = 18;
    pub const E_VERSION: usize = 20;
    pub const ENTRY: usize = 24;
    pub const PHOFF: usize = 32;
    pub const PHENTSIZE: usize = 54;
    pub const PHNUM: usize = 56;
}

/// Field offsets inside a program header.
pub mod phdr {
    pub const TYPE: usize = 0;
    pub const FLAGS: usize = 4;
    pub const OFFSET: usize = 8;
    pub const VADDR: usize = 16;
    pub const PADDR: usize = 24;
    pub const FILESZ: usize = 32;
    pub const MEMSZ: usize = 40;
    pub const ALIGN: usize = 48;
}

/// One program header to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ph {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

impl Ph {
    pub fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Ph {
        Ph {
            p_type: PT_LOAD,
            flags,
            offset,
            vaddr,
            filesz,
            memsz,
            align: 0x1000,
        }
    }

    pub fn other(p_type: u32, flags: u32, offset: u64, vaddr: u64, size: u64) -> Ph {
        Ph {
            p_type,
            flags,
            offset,
            vaddr,
            filesz: size,
            memsz: size,
            align: 8,
        }
    }
}

pub fn put_u16(v: &mut [u8], off: usize, x: u16) {
    v[off..off + 2].copy_from_slice(&x.to_le_bytes());
}

pub fn put_u32(v: &mut [u8], off: usize, x: u32) {
    v[off..off + 4].copy_from_slice(&x.to_le_bytes());
}

pub fn put_u64(v: &mut [u8], off: usize, x: u64) {
    v[off..off + 8].copy_from_slice(&x.to_le_bytes());
}

/// Offset of field `field` of program header `index` in a built image.
pub fn ph_field(index: usize, field: usize) -> usize {
    PHOFF + index * PHENT + field
}

/// An image of `len` bytes (at least the headers): ELF header, `phdrs` at offset 64, then
/// `data` chunks written at their offsets (which must not overlap the headers' bytes).
pub fn image(
    e_type: u16,
    entry: u64,
    phdrs: &[Ph],
    data: &[(usize, &[u8])],
    len: usize,
) -> Vec<u8> {
    let headers_end = PHOFF + phdrs.len() * PHENT;
    let mut v = vec![0u8; len.max(headers_end)];
    v[..4].copy_from_slice(b"\x7fELF");
    v[ehdr::CLASS] = 2;
    v[ehdr::DATA] = 1;
    v[ehdr::VERSION] = 1;
    put_u16(&mut v, ehdr::TYPE, e_type);
    put_u16(&mut v, ehdr::MACHINE, 62);
    put_u32(&mut v, ehdr::E_VERSION, 1);
    put_u64(&mut v, ehdr::ENTRY, entry);
    put_u64(&mut v, ehdr::PHOFF, PHOFF as u64);
    put_u16(&mut v, 52, 64); // e_ehsize
    put_u16(&mut v, ehdr::PHENTSIZE, PHENT as u16);
    put_u16(&mut v, ehdr::PHNUM, phdrs.len() as u16);
    for (i, ph) in phdrs.iter().enumerate() {
        put_u32(&mut v, ph_field(i, phdr::TYPE), ph.p_type);
        put_u32(&mut v, ph_field(i, phdr::FLAGS), ph.flags);
        put_u64(&mut v, ph_field(i, phdr::OFFSET), ph.offset);
        put_u64(&mut v, ph_field(i, phdr::VADDR), ph.vaddr);
        put_u64(&mut v, ph_field(i, phdr::PADDR), ph.vaddr);
        put_u64(&mut v, ph_field(i, phdr::FILESZ), ph.filesz);
        put_u64(&mut v, ph_field(i, phdr::MEMSZ), ph.memsz);
        put_u64(&mut v, ph_field(i, phdr::ALIGN), ph.align);
    }
    for (off, bytes) in data {
        assert!(*off >= headers_end, "data would overwrite the headers");
        v[*off..*off + bytes.len()].copy_from_slice(bytes);
    }
    v
}

/// The program headers of [`exec_image`].
pub fn exec_phdrs() -> Vec<Ph> {
    vec![
        Ph::other(PT_PHDR, R, 64, 0x40_0040, 7 * 56),
        Ph::load(R, 0, 0x40_0000, 0x200, 0x200),
        Ph::load(R | X, 0x1000, 0x40_1000, 0x123, 0x123),
        // RW data starting mid-page, with .bss: shares no page with the text.
        Ph::load(R | W, 0x2010, 0x40_3010, 0x30, 0x1234),
        Ph {
            p_type: PT_TLS,
            flags: R,
            offset: 0x2010,
            vaddr: 0x40_3010,
            filesz: 8,
            memsz: 0x18,
            align: 16,
        },
        Ph::other(PT_GNU_STACK, R | W, 0, 0, 0),
        Ph::other(PT_GNU_RELRO, R, 0x2010, 0x40_3010, 0x10),
    ]
}

/// A static non-PIE executable (`ET_EXEC`) like `musl-gcc -static` makes, 0x2040 bytes.
pub fn exec_image() -> Vec<u8> {
    image(
        ET_EXEC,
        0x40_1000,
        &exec_phdrs(),
        &[(0x1000, b"\xf4\xeb\xfd")],
        0x2040,
    )
}

/// The interpreter path of [`dyn_image`].
pub const INTERP: &[u8] = b"/lib/ld-musl-x86_64.so.1";

/// The program headers of [`dyn_image`]: no `PT_PHDR`, a `PT_INTERP` at 0x200, an executable
/// stack, and a RW segment sharing a page with the read-only one before it.
pub fn dyn_phdrs() -> Vec<Ph> {
    vec![
        Ph::other(PT_INTERP, R, 0x200, 0x200, INTERP.len() as u64 + 1),
        Ph::load(R, 0, 0, 0x300, 0x300),
        Ph::load(R | X, 0x1000, 0x1000, 0x80, 0x80),
        Ph::load(R, 0x2000, 0x2000, 0x100, 0x100),
        Ph::load(R | W, 0x2100, 0x2100, 0x50, 0x2000),
        Ph::other(PT_DYNAMIC, R | W, 0x2100, 0x2100, 0x40),
        Ph::other(PT_NOTE, R, 0x210, 0x210, 0),
        Ph::other(PT_GNU_STACK, R | W | X, 0, 0, 0),
    ]
}

/// A PIE (`ET_DYN`), 0x2150 bytes.
pub fn dyn_image() -> Vec<u8> {
    let mut interp = INTERP.to_vec();
    interp.push(0);
    image(ET_DYN, 0x1010, &dyn_phdrs(), &[(0x200, &interp)], 0x2150)
}
