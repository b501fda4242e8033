//! ACPI table discovery, the MADT (for bringing up the other CPUs) and the MCFG (PCI Express
//! configuration windows).
//!
//! - [`find_rsdp`] scans a physical range (the BIOS area 0xE0000–0xFFFFF) for the RSDP;
//!   [`Rsdp::parse`] checks a candidate (signature, checksums, revision).
//! - [`find_table`] walks the XSDT (or the RSDT) and returns the first table with a given
//!   signature whose checksum is right.
//! - [`Madt::parse`] reads the Multiple APIC Description Table: the local APIC address, every
//!   processor's local APIC id (xAPIC and x2APIC entries), the I/O APICs and the interrupt source
//!   overrides.
//! - [`Mcfg::parse`] reads the PCI Express memory-mapped configuration table: the ECAM windows
//!   (base address, segment, bus range) the PCI layer uses instead of the 0xCF8 ports.
//!
//! Firmware tables are treated as hostile: lengths are bounded, every read is checked, counts
//! are clipped to fixed capacities, and errors are values, never panics. Physical memory is read
//! through the [`PhysMemory`] trait the kernel implements with its direct map.

#![no_std]
#![forbid(unsafe_code)]

mod madt;
mod mcfg;

pub use madt::{IoApic, Madt, Processor, SourceOverride, MAX_IOAPICS, MAX_OVERRIDES, MAX_PROCESSORS};
pub use mcfg::{EcamEntry, Mcfg, MAX_ECAM_WINDOWS};

/// Read-only access to physical memory.
pub trait PhysMemory {
    /// Copies `buf.len()` bytes from physical address `paddr`; false if unreadable.
    fn read(&self, paddr: u64, buf: &mut [u8]) -> bool;
}

/// What went wrong while reading the ACPI tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcpiError {
    /// No RSDP was found (or the one given is not one).
    NoRsdp,
    /// A checksum did not add up to zero; the signature of the table.
    BadChecksum([u8; 4]),
    /// Physical memory could not be read at this address.
    Unreadable(u64),
    /// A table header or length is impossible; the signature of the table.
    Malformed([u8; 4]),
    /// The root table holds no table with this signature.
    NotFound([u8; 4]),
}

/// Largest table accepted (the MADT of a 256-CPU machine is ~2.5 KiB).
pub const MAX_TABLE_LEN: usize = 64 * 1024;
/// Size of the common system description table header.
pub const SDT_HEADER_LEN: usize = 36;
/// Most root-table entries looked at.
const MAX_ROOT_ENTRIES: usize = 256;

/// Whether the bytes add up to zero modulo 256 (the ACPI checksum rule).
pub fn checksum_ok(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)) == 0
}

/// The Root System Description Pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rsdp {
    /// 0 for ACPI 1.0 (RSDT only), 2 or more for ACPI 2.0+ (XSDT).
    pub revision: u8,
    /// Physical address of the RSDT.
    pub rsdt: u32,
    /// Physical address of the XSDT (revision ≥ 2 and non-zero), preferred over the RSDT.
    pub xsdt: Option<u64>,
}

impl Rsdp {
    /// Parses an RSDP from its bytes (20 for revision 0, 36 for revision 2+), checking the
    /// signature and both checksums.
    pub fn parse(bytes: &[u8]) -> Result<Rsdp, AcpiError> {
        if bytes.len() < 20 || &bytes[..8] != b"RSD PTR " {
            return Err(AcpiError::NoRsdp);
        }
        if !checksum_ok(&bytes[..20]) {
            return Err(AcpiError::BadChecksum(*b"RSD "));
        }
        let revision = bytes[15];
        let rsdt = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        let mut xsdt = None;
        if revision >= 2 && bytes.len() >= 36 {
            // The extended checksum covers the 36-byte ACPI 2.0 structure.
            if !checksum_ok(&bytes[..36]) {
                return Err(AcpiError::BadChecksum(*b"XSD "));
            }
            let addr = u64::from_le_bytes(read8(bytes, 24));
            xsdt = (addr != 0).then_some(addr);
        }
        Ok(Rsdp { revision, rsdt, xsdt })
    }

    /// Reads and parses the RSDP at physical address `paddr`.
    pub fn read(mem: &impl PhysMemory, paddr: u64) -> Result<Rsdp, AcpiError> {
        let mut buf = [0u8; 36];
        if !mem.read(paddr, &mut buf[..20]) {
            return Err(AcpiError::Unreadable(paddr));
        }
        // The extended part exists only from revision 2 on.
        let len = if buf[15] >= 2 && mem.read(paddr + 20, &mut buf[20..]) { 36 } else { 20 };
        Rsdp::parse(&buf[..len])
    }
}

fn read8(bytes: &[u8], at: usize) -> [u8; 8] {
    let mut out = [0u8; 8];
    if let Some(src) = bytes.get(at..at + 8) {
        out.copy_from_slice(src);
    }
    out
}

/// Scans `[start, end)` on 16-byte boundaries for a valid RSDP; returns its address and contents.
pub fn find_rsdp(mem: &impl PhysMemory, start: u64, end: u64) -> Option<(u64, Rsdp)> {
    let mut paddr = start.next_multiple_of(16);
    let mut sig = [0u8; 8];
    while paddr.checked_add(20).is_some_and(|e| e <= end) {
        if mem.read(paddr, &mut sig) && &sig == b"RSD PTR " {
            if let Ok(rsdp) = Rsdp::read(mem, paddr) {
                return Some((paddr, rsdp));
            }
        }
        paddr += 16;
    }
    None
}

/// A table's signature and length from its header at `paddr`.
fn read_header(mem: &impl PhysMemory, paddr: u64) -> Result<([u8; 4], usize), AcpiError> {
    let mut header = [0u8; SDT_HEADER_LEN];
    if !mem.read(paddr, &mut header) {
        return Err(AcpiError::Unreadable(paddr));
    }
    let signature = [header[0], header[1], header[2], header[3]];
    let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if !(SDT_HEADER_LEN..=MAX_TABLE_LEN).contains(&len) {
        return Err(AcpiError::Malformed(signature));
    }
    Ok((signature, len))
}

/// Reads the whole table at `paddr` into `buf` (checking its length and checksum); returns the
/// filled part.
pub fn read_table<'a>(mem: &impl PhysMemory, paddr: u64, buf: &'a mut [u8]) -> Result<&'a [u8], AcpiError> {
    let (signature, len) = read_header(mem, paddr)?;
    let table = buf.get_mut(..len).ok_or(AcpiError::Malformed(signature))?;
    if !mem.read(paddr, table) {
        return Err(AcpiError::Unreadable(paddr));
    }
    if !checksum_ok(table) {
        return Err(AcpiError::BadChecksum(signature));
    }
    Ok(table)
}

/// Finds the table with `signature` through the XSDT (or RSDT) of `rsdp` and copies it into
/// `buf`; tables with a bad checksum are skipped.
pub fn find_table<'a>(
    mem: &impl PhysMemory,
    rsdp: &Rsdp,
    signature: [u8; 4],
    buf: &'a mut [u8],
) -> Result<&'a [u8], AcpiError> {
    let (root, entry_size, root_sig) = match rsdp.xsdt {
        Some(xsdt) => (xsdt, 8, *b"XSDT"),
        None => (u64::from(rsdp.rsdt), 4, *b"RSDT"),
    };
    let (found_sig, len) = read_header(mem, root)?;
    if found_sig != root_sig {
        return Err(AcpiError::Malformed(root_sig));
    }
    // The root table is checked in pieces so no root-sized buffer is needed.
    let mut sum = 0u8;
    let mut chunk = [0u8; 256];
    let mut offset = 0;
    while offset < len {
        let n = (len - offset).min(chunk.len());
        if !mem.read(root + offset as u64, &mut chunk[..n]) {
            return Err(AcpiError::Unreadable(root + offset as u64));
        }
        sum = chunk[..n].iter().fold(sum, |s, b| s.wrapping_add(*b));
        offset += n;
    }
    if sum != 0 {
        return Err(AcpiError::BadChecksum(root_sig));
    }
    let entries = ((len - SDT_HEADER_LEN) / entry_size).min(MAX_ROOT_ENTRIES);
    for i in 0..entries {
        let at = root + (SDT_HEADER_LEN + i * entry_size) as u64;
        let mut raw = [0u8; 8];
        if !mem.read(at, &mut raw[..entry_size]) {
            return Err(AcpiError::Unreadable(at));
        }
        let paddr = u64::from_le_bytes(raw);
        if paddr == 0 || !matches!(read_header(mem, paddr), Ok((sig, _)) if sig == signature) {
            continue;
        }
        // A corrupt copy is skipped in case a good one follows; the borrow checker wants the
        // successful read done once more after the check.
        if read_table(mem, paddr, buf).is_ok() {
            return read_table(mem, paddr, buf);
        }
    }
    Err(AcpiError::NotFound(signature))
}

#[cfg(test)]
mod tests;
