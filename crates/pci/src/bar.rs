//! Base address registers: decoding and sizing by the all-ones probe.
//!
//! Sizing writes all ones to a BAR and reads back which address bits stick: the lowest one
//! that does is the size (a BAR's region is naturally aligned). The original value is written
//! back; [`probe`] turns memory and I/O decoding off in the command register meanwhile so the
//! device never answers at the probe address, and restores the command afterwards. A 64-bit
//! BAR takes two registers (the second one is not a BAR of its own, as in Linux's resources).

use crate::{command, reg, ConfigSpace, Header, HeaderKind};

/// The kind of a BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarKind {
    /// I/O ports.
    Io,
    /// Memory below 4 GiB.
    Mem32,
    /// Memory anywhere (takes this register and the next).
    Mem64,
    /// The expansion ROM (memory, read-only, 32-bit).
    Rom,
}

/// A decoded, sized BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    /// Register index 0-5, or 6 for the expansion ROM.
    pub index: u8,
    pub kind: BarKind,
    pub prefetchable: bool,
    /// The bus address assigned (0: not assigned by the firmware).
    pub address: u64,
    /// Size in bytes (a power of two, never 0).
    pub size: u64,
    /// The low flag bits of the register as read (bits 0-3 for memory, 0-1 for I/O, the enable
    /// bit for the ROM): what Linux ORs into the start column of /proc/bus/pci/devices.
    pub flags: u8,
}

impl Bar {
    /// Whether this is a memory BAR (not I/O ports, not the ROM).
    pub fn is_memory(&self) -> bool {
        matches!(self.kind, BarKind::Mem32 | BarKind::Mem64)
    }

    /// The last bus address of the region, None when unassigned or when it would wrap.
    pub fn end(&self) -> Option<u64> {
        if self.address == 0 {
            return None;
        }
        self.address.checked_add(self.size - 1)
    }
}

/// The lowest set bit of `mask`, the size a probe's read-back means (0 when no bit sticks).
pub fn size_from_mask(mask: u64) -> u64 {
    mask & mask.wrapping_neg()
}

/// Decodes one BAR register from its original value `raw` and the value read back after
/// writing all ones (`probe`); for a 64-bit memory BAR also the next register's original
/// value and read-back (`high`). None when the BAR is not implemented (no address bit sticks)
/// or is malformed (reserved memory type 3).
pub fn decode(index: u8, raw: u32, probe: u32, high: Option<(u32, u32)>) -> Option<Bar> {
    if raw & 1 != 0 {
        // I/O: bits 2-31 hold the address; devices decode at most 16 bits of ports, and a
        // register may leave its upper half reading 0.
        let mask = u64::from(probe & !0x3);
        let size = size_from_mask(mask);
        if size == 0 {
            return None;
        }
        return Some(Bar {
            index,
            kind: BarKind::Io,
            prefetchable: false,
            address: u64::from(raw & !0x3),
            size,
            flags: (raw & 0x3) as u8,
        });
    }
    let kind = match (raw >> 1) & 3 {
        0 | 1 => BarKind::Mem32, // type 1 (below 1 MiB) is legacy and decoded as 32-bit
        2 => BarKind::Mem64,
        _ => return None,
    };
    let (raw_high, probe_high) = match kind {
        BarKind::Mem64 => high?,
        _ => (0, 0),
    };
    let mask = u64::from(probe_high) << 32 | u64::from(probe & !0xf);
    let size = size_from_mask(mask);
    if size == 0 {
        return None;
    }
    Some(Bar {
        index,
        kind,
        prefetchable: raw & 0x8 != 0,
        address: u64::from(raw_high) << 32 | u64::from(raw & !0xf),
        size,
        flags: (raw & 0xf) as u8,
    })
}

/// Decodes the expansion ROM register from its original value and its read-back after writing
/// the address mask (0xffff_f800, enable bit clear).
pub fn decode_rom(raw: u32, probe: u32) -> Option<Bar> {
    let size = size_from_mask(u64::from(probe & 0xffff_f800));
    (size != 0).then(|| Bar {
        index: 6,
        kind: BarKind::Rom,
        prefetchable: false,
        address: u64::from(raw & 0xffff_f800),
        size,
        flags: (raw & 1) as u8,
    })
}

/// Writes `value` to `offset`, reads the register back, restores the original; returns the
/// original and the read-back.
fn probe_register(cfg: &mut impl ConfigSpace, offset: u16, value: u32) -> (u32, u32) {
    let original = cfg.read32(offset);
    cfg.write32(offset, value);
    let read_back = cfg.read32(offset);
    cfg.write32(offset, original);
    (original, read_back)
}

/// Every BAR of the function, sized, indexed by register (a 64-bit BAR's second register is
/// None), and the expansion ROM as the seventh entry. Decoding is off during the probes and
/// the command register is restored afterwards.
pub fn probe(cfg: &mut impl ConfigSpace, header: &Header) -> [Option<Bar>; 7] {
    let mut bars = [None; 7];
    let rom_reg = match header.kind {
        HeaderKind::Device => Some(reg::ROM_TYPE0),
        HeaderKind::Bridge => Some(reg::ROM_TYPE1),
        _ => None,
    };
    if header.bar_count() == 0 && rom_reg.is_none() {
        return bars;
    }
    let command = cfg.read16(reg::COMMAND);
    let quiet = command & !(command::IO_SPACE | command::MEMORY_SPACE);
    if quiet != command {
        cfg.write16(reg::COMMAND, quiet);
    }
    let mut index = 0usize;
    while index < header.bar_count() {
        let offset = reg::BAR0 + 4 * index as u16;
        let (raw, read_back) = probe_register(cfg, offset, 0xffff_ffff);
        let is_64 = raw & 1 == 0 && (raw >> 1) & 3 == 2;
        let high = if is_64 && index + 1 < header.bar_count() {
            Some(probe_register(cfg, offset + 4, 0xffff_ffff))
        } else {
            None
        };
        bars[index] = decode(index as u8, raw, read_back, high);
        index += if is_64 { 2 } else { 1 };
    }
    if let Some(rom) = rom_reg {
        let (raw, read_back) = probe_register(cfg, rom, 0xffff_f800);
        bars[6] = decode_rom(raw, read_back);
    }
    if quiet != command {
        cfg.write16(reg::COMMAND, command);
    }
    bars
}
