//! The Multiple APIC Description Table (signature `APIC`): local APIC address, processors,
//! I/O APICs and interrupt source overrides.

use crate::{AcpiError, SDT_HEADER_LEN};

/// Most processors recorded (further entries are counted in `skipped_processors`).
pub const MAX_PROCESSORS: usize = 64;
/// Most I/O APICs recorded.
pub const MAX_IOAPICS: usize = 8;
/// Most interrupt source overrides recorded.
pub const MAX_OVERRIDES: usize = 16;

/// One processor's local APIC (entry types 0 and 9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Processor {
    /// The ACPI processor UID.
    pub uid: u32,
    /// The local APIC id (what INIT/SIPI and IPIs are addressed to).
    pub apic_id: u32,
    /// Usable now (flags bit 0).
    pub enabled: bool,
    /// Can be enabled later (flags bit 1, ACPI 6.3+); not started.
    pub online_capable: bool,
}

/// An I/O APIC (entry type 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoApic {
    pub id: u8,
    /// Physical address of its registers.
    pub address: u32,
    /// First global system interrupt it handles.
    pub gsi_base: u32,
}

/// An interrupt source override (entry type 2): ISA `source` IRQ arrives as `gsi`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceOverride {
    pub bus: u8,
    pub source: u8,
    pub gsi: u32,
    pub flags: u16,
}

/// The parsed MADT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Madt {
    /// Physical address of the local APIC (the 64-bit override of entry type 5 when present).
    pub local_apic_address: u64,
    /// The system also has dual 8259 PICs (flags bit 0, PCAT_COMPAT).
    pub pcat_compat: bool,
    processors: [Processor; MAX_PROCESSORS],
    processor_count: usize,
    /// Processor entries beyond [`MAX_PROCESSORS`].
    pub skipped_processors: usize,
    ioapics: [IoApic; MAX_IOAPICS],
    ioapic_count: usize,
    overrides: [SourceOverride; MAX_OVERRIDES],
    override_count: usize,
    /// Entries whose length was impossible (parsing stopped at the first).
    pub malformed: bool,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Madt {
    /// Parses a whole MADT (header included; the caller has checked its checksum, see
    /// [`crate::find_table`]).
    pub fn parse(table: &[u8]) -> Result<Madt, AcpiError> {
        const SIG: [u8; 4] = *b"APIC";
        if table.len() < SDT_HEADER_LEN + 8 || table[..4] != SIG {
            return Err(AcpiError::Malformed(SIG));
        }
        let declared = u32_at(table, 4) as usize;
        let table = table.get(..declared).ok_or(AcpiError::Malformed(SIG))?;
        if declared < SDT_HEADER_LEN + 8 {
            return Err(AcpiError::Malformed(SIG));
        }
        let mut madt = Madt {
            local_apic_address: u64::from(u32_at(table, SDT_HEADER_LEN)),
            pcat_compat: u32_at(table, SDT_HEADER_LEN + 4) & 1 != 0,
            processors: [Processor::default(); MAX_PROCESSORS],
            processor_count: 0,
            skipped_processors: 0,
            ioapics: [IoApic::default(); MAX_IOAPICS],
            ioapic_count: 0,
            overrides: [SourceOverride::default(); MAX_OVERRIDES],
            override_count: 0,
            malformed: false,
        };
        let mut at = SDT_HEADER_LEN + 8;
        while at + 2 <= table.len() {
            let (kind, len) = (table[at], usize::from(table[at + 1]));
            let Some(entry) = table.get(at..at + len).filter(|_| len >= 2) else {
                madt.malformed = true;
                break;
            };
            madt.entry(kind, entry);
            at += len;
        }
        Ok(madt)
    }

    fn entry(&mut self, kind: u8, e: &[u8]) {
        match kind {
            0 if e.len() >= 8 => {
                let flags = u32_at(e, 4);
                self.add_processor(Processor {
                    uid: u32::from(e[2]),
                    apic_id: u32::from(e[3]),
                    enabled: flags & 1 != 0,
                    online_capable: flags & 2 != 0,
                });
            }
            1 if e.len() >= 12 && self.ioapic_count < MAX_IOAPICS => {
                self.ioapics[self.ioapic_count] = IoApic { id: e[2], address: u32_at(e, 4), gsi_base: u32_at(e, 8) };
                self.ioapic_count += 1;
            }
            2 if e.len() >= 10 && self.override_count < MAX_OVERRIDES => {
                self.overrides[self.override_count] =
                    SourceOverride { bus: e[2], source: e[3], gsi: u32_at(e, 4), flags: u16_at(e, 8) };
                self.override_count += 1;
            }
            5 if e.len() >= 12 => {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(&e[4..12]);
                self.local_apic_address = u64::from_le_bytes(raw);
            }
            9 if e.len() >= 16 => {
                let flags = u32_at(e, 8);
                let apic_id = u32_at(e, 4);
                // The same CPU may be listed by both an xAPIC and an x2APIC entry.
                if !self.processors().iter().any(|p| p.apic_id == apic_id) {
                    self.add_processor(Processor {
                        uid: u32_at(e, 12),
                        apic_id,
                        enabled: flags & 1 != 0,
                        online_capable: flags & 2 != 0,
                    });
                }
            }
            _ => {}
        }
    }

    fn add_processor(&mut self, p: Processor) {
        if self.processor_count < MAX_PROCESSORS {
            self.processors[self.processor_count] = p;
            self.processor_count += 1;
        } else {
            self.skipped_processors += 1;
        }
    }

    /// Every processor entry, in table order (the boot CPU is usually first).
    pub fn processors(&self) -> &[Processor] {
        &self.processors[..self.processor_count]
    }

    /// The processors that are usable now.
    pub fn enabled_processors(&self) -> impl Iterator<Item = &Processor> {
        self.processors().iter().filter(|p| p.enabled)
    }

    /// The I/O APICs.
    pub fn ioapics(&self) -> &[IoApic] {
        &self.ioapics[..self.ioapic_count]
    }

    /// The interrupt source overrides.
    pub fn overrides(&self) -> &[SourceOverride] {
        &self.overrides[..self.override_count]
    }
}
