//! Parser for the Multiboot2 boot information structure (MBI), given as a byte slice.
//!
//! The MBI is `{total_size u32, reserved u32}` followed by tags, each
//! `{type u32, size u32, body...}` (size counts the 8-byte tag header but not the padding that
//! aligns the next tag to 8 bytes), ending with a tag of type 0. Tags understood here:
//!
//! | type | meaning            | body                                                          |
//! |------|--------------------|---------------------------------------------------------------|
//! | 1    | command line       | NUL-terminated string                                         |
//! | 2    | boot loader name   | NUL-terminated string                                         |
//! | 3    | module             | mod_start u32, mod_end u32, NUL-terminated string             |
//! | 6    | memory map         | entry_size u32, entry_version u32, entries {base u64, length u64, type u32, reserved u32} |
//! | 8    | framebuffer        | addr u64, pitch u32, width u32, height u32, bpp u8, type u8, ... |
//! | 14   | ACPI 1.0 RSDP copy | the 20-byte RSDP                                              |
//! | 15   | ACPI 2.0 RSDP copy | the 36-byte XSDP                                              |
//!
//! Other tags are skipped. The container is validated strictly (a bad tag size or a missing end
//! tag is an error: the whole structure is suspect); tag contents are validated leniently (a
//! malformed tag is skipped, strings and lists are clipped to their capacities).

use crate::{
    le_u32, le_u64, until_nul, BootError, BootInfo, BootProtocol, FixedBytes, FixedStr,
    Framebuffer, FramebufferKind, MemoryKind, Module,
};

/// Value of `%eax` when a Multiboot2 boot loader enters the kernel.
pub const BOOTLOADER_MAGIC: u32 = 0x36d7_6289;

/// Tag types understood by [`parse`].
pub mod tag {
    /// End of the tag list.
    pub const END: u32 = 0;
    /// Kernel command line.
    pub const CMDLINE: u32 = 1;
    /// Boot loader name.
    pub const BOOTLOADER_NAME: u32 = 2;
    /// Boot module.
    pub const MODULE: u32 = 3;
    /// Memory map.
    pub const MMAP: u32 = 6;
    /// Framebuffer information.
    pub const FRAMEBUFFER: u32 = 8;
    /// Copy of the ACPI 1.0 RSDP.
    pub const ACPI_OLD: u32 = 14;
    /// Copy of the ACPI 2.0+ RSDP (XSDP).
    pub const ACPI_NEW: u32 = 15;
}

const HEADER_LEN: usize = 8;
const TAG_HEADER_LEN: usize = 8;
const MMAP_MIN_ENTRY: usize = 24;
const FRAMEBUFFER_MIN_BODY: usize = 22;

/// Parses a Multiboot2 boot information structure. `info` must hold at least `total_size`
/// bytes (trailing bytes are ignored). The memory map is returned normalized.
///
/// Errors: [`BootError::Truncated`] if `info` is shorter than `total_size`, a tag runs past
/// `total_size`, or there is no end tag; [`BootError::Corrupt`] if `total_size` or a tag size is
/// smaller than a header.
pub fn parse(info: &[u8]) -> Result<BootInfo, BootError> {
    let total = le_u32(info, 0).ok_or(BootError::Truncated)? as usize;
    if total < HEADER_LEN {
        return Err(BootError::Corrupt { offset: 0 });
    }
    let data = info.get(..total).ok_or(BootError::Truncated)?;

    let mut out = BootInfo::new(BootProtocol::Multiboot2);
    let mut have_new_rsdp = false;
    let mut off = HEADER_LEN;
    // Every iteration advances `off` by at least 8, so the loop ends within total/8 steps.
    loop {
        let ty = le_u32(data, off).ok_or(BootError::Truncated)?;
        let size = le_u32(data, off + 4).ok_or(BootError::Truncated)? as usize;
        if size < TAG_HEADER_LEN {
            return Err(BootError::Corrupt { offset: off + 4 });
        }
        let end = off.checked_add(size).ok_or(BootError::Truncated)?;
        let body = data
            .get(off + TAG_HEADER_LEN..end)
            .ok_or(BootError::Truncated)?;
        match ty {
            tag::END => break,
            tag::CMDLINE => out.cmdline = FixedStr::from_bytes(until_nul(body)),
            tag::BOOTLOADER_NAME => out.bootloader_name = FixedStr::from_bytes(until_nul(body)),
            tag::MODULE => {
                if let (Some(start), Some(mod_end)) = (le_u32(body, 0), le_u32(body, 4)) {
                    let start = u64::from(start);
                    out.modules.push(Module {
                        start,
                        end: u64::from(mod_end).max(start),
                        cmdline: FixedStr::from_bytes(until_nul(body.get(8..).unwrap_or(&[]))),
                    });
                }
            }
            tag::MMAP => parse_mmap(body, &mut out),
            tag::FRAMEBUFFER => {
                if let Some(fb) = parse_framebuffer(body) {
                    out.framebuffer = Some(fb);
                }
            }
            tag::ACPI_OLD if !have_new_rsdp => {
                out.rsdp_copy = Some(FixedBytes::from_bytes(body.get(..20).unwrap_or(body)))
            }
            tag::ACPI_NEW => {
                out.rsdp_copy = Some(FixedBytes::from_bytes(body));
                have_new_rsdp = true;
            }
            _ => {}
        }
        // Tags start on 8-byte boundaries; `end <= total <= u32::MAX` so this cannot overflow.
        off = (end + 7) & !7;
        if off >= total {
            return Err(BootError::Truncated);
        }
    }
    out.memory_map.normalize();
    Ok(out)
}

fn parse_mmap(body: &[u8], out: &mut BootInfo) {
    let (Some(entry_size), Some(entries)) = (le_u32(body, 0), body.get(8..)) else {
        return;
    };
    let entry_size = entry_size as usize;
    if entry_size < MMAP_MIN_ENTRY {
        return;
    }
    for e in entries.chunks_exact(entry_size) {
        let (Some(base), Some(len), Some(ty)) = (le_u64(e, 0), le_u64(e, 8), le_u32(e, 16)) else {
            continue;
        };
        out.memory_map
            .push_raw(base, len, MemoryKind::from_e820(ty));
    }
}

fn parse_framebuffer(body: &[u8]) -> Option<Framebuffer> {
    if body.len() < FRAMEBUFFER_MIN_BODY {
        return None;
    }
    let kind = match body.get(21)? {
        0 => FramebufferKind::Indexed,
        1 => FramebufferKind::Rgb,
        2 => FramebufferKind::EgaText,
        _ => return None,
    };
    Some(Framebuffer {
        addr: le_u64(body, 0)?,
        pitch: le_u32(body, 8)?,
        width: le_u32(body, 12)?,
        height: le_u32(body, 16)?,
        bpp: *body.get(20)?,
        kind,
    })
}

#[cfg(test)]
mod tests;
