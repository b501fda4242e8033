//! The PCI Express memory-mapped configuration table (signature `MCFG`): one entry per ECAM
//! window — base address, PCI segment, first and last bus.

use crate::{AcpiError, SDT_HEADER_LEN};

/// Most windows recorded (further entries are counted in `skipped`).
pub const MAX_ECAM_WINDOWS: usize = 8;

/// One configuration-space window: buses `start_bus..=end_bus` of `segment`, 1 MiB per bus,
/// where `base` is the address bus 0 would have (even when `start_bus` is not 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EcamEntry {
    pub base: u64,
    pub segment: u16,
    pub start_bus: u8,
    pub end_bus: u8,
}

/// The parsed MCFG.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mcfg {
    entries: [EcamEntry; MAX_ECAM_WINDOWS],
    count: usize,
    /// Entries beyond [`MAX_ECAM_WINDOWS`], or refused (base 0, end bus before start bus).
    pub skipped: usize,
}

/// Bytes before the first entry: the header and 8 reserved bytes.
const ENTRIES_AT: usize = SDT_HEADER_LEN + 8;
const ENTRY_LEN: usize = 16;

impl Mcfg {
    /// Parses a whole MCFG (header included; the caller has checked its checksum, see
    /// [`crate::find_table`]). A trailing partial entry is ignored.
    pub fn parse(table: &[u8]) -> Result<Mcfg, AcpiError> {
        const SIG: [u8; 4] = *b"MCFG";
        if table.len() < ENTRIES_AT || table[..4] != SIG {
            return Err(AcpiError::Malformed(SIG));
        }
        let declared = u32::from_le_bytes([table[4], table[5], table[6], table[7]]) as usize;
        let table = table.get(..declared).filter(|_| declared >= ENTRIES_AT).ok_or(AcpiError::Malformed(SIG))?;
        let mut mcfg = Mcfg { entries: [EcamEntry::default(); MAX_ECAM_WINDOWS], count: 0, skipped: 0 };
        for raw in table[ENTRIES_AT..].chunks_exact(ENTRY_LEN) {
            let mut base = [0u8; 8];
            base.copy_from_slice(&raw[..8]);
            let entry = EcamEntry {
                base: u64::from_le_bytes(base),
                segment: u16::from_le_bytes([raw[8], raw[9]]),
                start_bus: raw[10],
                end_bus: raw[11],
            };
            if entry.base == 0 || entry.end_bus < entry.start_bus || mcfg.count == MAX_ECAM_WINDOWS {
                mcfg.skipped += 1;
                continue;
            }
            mcfg.entries[mcfg.count] = entry;
            mcfg.count += 1;
        }
        Ok(mcfg)
    }

    /// The usable windows, in table order.
    pub fn entries(&self) -> &[EcamEntry] {
        &self.entries[..self.count]
    }

    /// The window of `segment` that covers `bus`, if any.
    pub fn window_for(&self, segment: u16, bus: u8) -> Option<&EcamEntry> {
        self.entries().iter().find(|e| e.segment == segment && (e.start_bus..=e.end_bus).contains(&bus))
    }
}
