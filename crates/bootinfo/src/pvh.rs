//! Parser for the Xen/QEMU PVH boot protocol's `hvm_start_info`, read through [`PhysMemory`].
//!
//! Layout (little-endian), from Xen's `public/arch-x86/hvm/start_info.h`:
//!
//! | offset | field                     |
//! |--------|---------------------------|
//! | 0      | magic u32 = `0x336ec578`  |
//! | 4      | version u32               |
//! | 8      | flags u32                 |
//! | 12     | nr_modules u32            |
//! | 16     | modlist_paddr u64         |
//! | 24     | cmdline_paddr u64         |
//! | 32     | rsdp_paddr u64            |
//! | 40     | memmap_paddr u64 (v1+)    |
//! | 48     | memmap_entries u32 (v1+)  |
//! | 52     | reserved u32 (v1+)        |
//!
//! Module entries are 32 bytes `{paddr u64, size u64, cmdline_paddr u64, reserved u64}`;
//! memory map entries 24 bytes `{addr u64, size u64, type u32 (E820), reserved u32}`.

use crate::{
    le_u32, le_u64, until_nul, BootError, BootInfo, BootProtocol, FixedStr, MemoryKind, MemoryMap,
    Module, ModuleList, PhysMemory,
};

/// `hvm_start_info.magic`: "xEn3" with the 0x80 bit of the "E" set.
pub const START_INFO_MAGIC: u32 = 0x336e_c578;

const V0_SIZE: usize = 40;
const V1_SIZE: usize = 56;
const MODLIST_ENTRY_SIZE: u64 = 32;
const MEMMAP_ENTRY_SIZE: u64 = 24;
/// Strings are read in chunks aligned to this size, so a chunk never crosses a page boundary
/// (a string that ends just before an unmapped page is still read completely).
const STRING_CHUNK: u64 = 64;

/// Parses the `hvm_start_info` at `start_info_paddr` (the value of `%ebx` at PVH entry).
///
/// Errors: [`BootError::Unreadable`] if the structure, module list or memory map cannot be
/// read; [`BootError::BadMagic`] for a wrong magic number. Counts are clipped to the fixed
/// capacities (flagged via `overflowed()`); strings are clipped to their capacity and at the
/// first unreadable chunk. Version 0 (or a zero memory map address) gives an empty memory map.
/// The memory map is returned normalized. An RSDP address of 0 means "none".
pub fn parse(mem: &impl PhysMemory, start_info_paddr: u64) -> Result<BootInfo, BootError> {
    let mut hdr = [0u8; V1_SIZE];
    read(mem, start_info_paddr, &mut hdr[..V0_SIZE])?;
    if le_u32(&hdr, 0) != Some(START_INFO_MAGIC) {
        return Err(BootError::BadMagic);
    }
    let version = le_u32(&hdr, 4).unwrap_or(0);
    if version >= 1 {
        // Cannot saturate: the first read proved `start_info_paddr + V0_SIZE` is in range.
        let v1_paddr = start_info_paddr.saturating_add(V0_SIZE as u64);
        read(mem, v1_paddr, &mut hdr[V0_SIZE..])?;
    }
    let field = |off| le_u64(&hdr, off).unwrap_or(0);
    let nr_modules = le_u32(&hdr, 12).unwrap_or(0);
    let modlist_paddr = field(16);
    let cmdline_paddr = field(24);
    let rsdp_paddr = field(32);

    let mut info = BootInfo::new(BootProtocol::Pvh);
    read_cstr(mem, cmdline_paddr, &mut info.cmdline);
    info.rsdp = (rsdp_paddr != 0).then_some(rsdp_paddr);
    read_modules(mem, modlist_paddr, nr_modules, &mut info.modules)?;
    if version >= 1 {
        let memmap_paddr = field(40);
        let memmap_entries = le_u32(&hdr, 48).unwrap_or(0);
        read_memmap(mem, memmap_paddr, memmap_entries, &mut info.memory_map)?;
    }
    info.memory_map.normalize();
    Ok(info)
}

fn read(mem: &impl PhysMemory, paddr: u64, buf: &mut [u8]) -> Result<(), BootError> {
    // A range wrapping around the top of the address space is never valid.
    let fits = paddr.checked_add(buf.len() as u64).is_some();
    if fits && mem.read(paddr, buf) {
        Ok(())
    } else {
        Err(BootError::Unreadable { paddr })
    }
}

/// `base + index * stride`, or `None` on overflow.
fn entry_addr(base: u64, index: u64, stride: u64) -> Option<u64> {
    base.checked_add(index.checked_mul(stride)?)
}

fn read_modules(
    mem: &impl PhysMemory,
    base: u64,
    count: u32,
    out: &mut ModuleList,
) -> Result<(), BootError> {
    if count == 0 {
        return Ok(());
    }
    if base == 0 {
        return Err(BootError::Unreadable { paddr: 0 });
    }
    let kept = (count as usize).min(ModuleList::CAPACITY);
    if kept < count as usize {
        out.set_overflowed();
    }
    for i in 0..kept as u64 {
        let addr =
            entry_addr(base, i, MODLIST_ENTRY_SIZE).ok_or(BootError::Unreadable { paddr: base })?;
        let mut e = [0u8; MODLIST_ENTRY_SIZE as usize];
        read(mem, addr, &mut e)?;
        let start = le_u64(&e, 0).unwrap_or(0);
        let size = le_u64(&e, 8).unwrap_or(0);
        let mut module = Module {
            start,
            end: start.saturating_add(size),
            cmdline: FixedStr::new(),
        };
        read_cstr(mem, le_u64(&e, 16).unwrap_or(0), &mut module.cmdline);
        out.push(module);
    }
    Ok(())
}

fn read_memmap(
    mem: &impl PhysMemory,
    base: u64,
    count: u32,
    out: &mut MemoryMap,
) -> Result<(), BootError> {
    if base == 0 || count == 0 {
        return Ok(());
    }
    let kept = (count as usize).min(MemoryMap::CAPACITY);
    if kept < count as usize {
        out.set_overflowed();
    }
    for i in 0..kept as u64 {
        let addr =
            entry_addr(base, i, MEMMAP_ENTRY_SIZE).ok_or(BootError::Unreadable { paddr: base })?;
        let mut e = [0u8; MEMMAP_ENTRY_SIZE as usize];
        read(mem, addr, &mut e)?;
        out.push_raw(
            le_u64(&e, 0).unwrap_or(0),
            le_u64(&e, 8).unwrap_or(0),
            MemoryKind::from_e820(le_u32(&e, 16).unwrap_or(0)),
        );
    }
    Ok(())
}

/// Reads the NUL-terminated string at `paddr` into `out` (address 0 = no string). Reads at most
/// the capacity plus one chunk; stops at NUL, at capacity, or at the first unreadable chunk
/// (the string is then marked truncated).
fn read_cstr<const N: usize>(mem: &impl PhysMemory, paddr: u64, out: &mut FixedStr<N>) {
    if paddr == 0 {
        return;
    }
    let mut addr = paddr;
    let mut chunk = [0u8; STRING_CHUNK as usize];
    // Each iteration appends a full chunk or finishes, so this bound is never the one that stops
    // a well-formed string; it only makes termination obvious.
    for _ in 0..=N / STRING_CHUNK as usize + 1 {
        let len = (STRING_CHUNK - addr % STRING_CHUNK) as usize;
        let buf = &mut chunk[..len];
        if read(mem, addr, buf).is_err() {
            out.set_truncated();
            return;
        }
        let text = until_nul(buf);
        if !out.push_bytes(text) || text.len() < len {
            return;
        }
        addr = match addr.checked_add(len as u64) {
            Some(a) => a,
            None => {
                out.set_truncated();
                return;
            }
        };
    }
    out.set_truncated();
}

#[cfg(test)]
mod tests;
