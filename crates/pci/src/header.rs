//! The common part of a function's configuration header (the first 64 bytes) and class names.

use crate::{reg, ConfigSpace, STATUS_CAPABILITIES};

/// The header layout (header type bits 0-6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderKind {
    /// Type 0: an ordinary device (6 BARs).
    Device,
    /// Type 1: a PCI-to-PCI bridge (2 BARs, bus numbers).
    Bridge,
    /// Type 2: a CardBus bridge.
    CardBus,
    /// Anything else (reserved): nothing beyond the common fields is trusted.
    Unknown(u8),
}

/// The fields every header type shares, read once at enumeration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub vendor_id: u16,
    pub device_id: u16,
    pub command: u16,
    pub status: u16,
    pub revision: u8,
    pub prog_if: u8,
    pub subclass: u8,
    pub class: u8,
    pub kind: HeaderKind,
    /// Header type bit 7 (meaningful on function 0): the device has functions 1-7.
    pub multifunction: bool,
    /// Subsystem vendor and id (type 0 only; 0 otherwise).
    pub subsystem_vendor: u16,
    pub subsystem_id: u16,
    /// The interrupt line the firmware wrote (0xff: none) and the pin (0 none, 1-4 INTA-INTD).
    pub interrupt_line: u8,
    pub interrupt_pin: u8,
    /// Bridges: the secondary and subordinate bus numbers (0 for devices).
    pub secondary_bus: u8,
    pub subordinate_bus: u8,
}

impl Header {
    /// Reads the header; None when no function answers (vendor 0xffff, or 0 which no
    /// vendor has).
    pub fn read(cfg: &impl ConfigSpace) -> Option<Header> {
        let ids = cfg.read32(reg::VENDOR_DEVICE);
        let vendor_id = ids as u16;
        if vendor_id == 0xffff || vendor_id == 0 {
            return None;
        }
        let class_rev = cfg.read32(reg::CLASS_REVISION);
        let header_type = cfg.read8(reg::HEADER_TYPE);
        let kind = match header_type & 0x7f {
            0 => HeaderKind::Device,
            1 => HeaderKind::Bridge,
            2 => HeaderKind::CardBus,
            other => HeaderKind::Unknown(other),
        };
        let (subsystem_vendor, subsystem_id) = match kind {
            HeaderKind::Device => {
                let sub = cfg.read32(reg::SUBSYSTEM);
                (sub as u16, (sub >> 16) as u16)
            }
            _ => (0, 0),
        };
        let (secondary_bus, subordinate_bus) = match kind {
            HeaderKind::Bridge => {
                let buses = cfg.read32(reg::BRIDGE_BUSES);
                ((buses >> 8) as u8, (buses >> 16) as u8)
            }
            _ => (0, 0),
        };
        let interrupt = cfg.read32(reg::INTERRUPT);
        let command_status = cfg.read32(reg::COMMAND);
        Some(Header {
            vendor_id,
            device_id: (ids >> 16) as u16,
            command: command_status as u16,
            status: (command_status >> 16) as u16,
            revision: class_rev as u8,
            prog_if: (class_rev >> 8) as u8,
            subclass: (class_rev >> 16) as u8,
            class: (class_rev >> 24) as u8,
            kind,
            multifunction: header_type & 0x80 != 0,
            subsystem_vendor,
            subsystem_id,
            interrupt_line: interrupt as u8,
            interrupt_pin: (interrupt >> 8) as u8,
            secondary_bus,
            subordinate_bus,
        })
    }

    /// The 24-bit class code (class, subclass, programming interface), as sysfs shows it.
    pub fn class_code(&self) -> u32 {
        u32::from(self.class) << 16 | u32::from(self.subclass) << 8 | u32::from(self.prog_if)
    }

    /// Whether the status register announces a capability list (and the header type has a
    /// capability pointer at 0x34).
    pub fn has_capabilities(&self) -> bool {
        self.status & STATUS_CAPABILITIES != 0 && matches!(self.kind, HeaderKind::Device | HeaderKind::Bridge)
    }

    /// How many BAR registers the layout has.
    pub fn bar_count(&self) -> usize {
        match self.kind {
            HeaderKind::Device => 6,
            HeaderKind::Bridge => 2,
            _ => 0,
        }
    }
}

/// A short English name of a (class, subclass) pair for the boot log.
pub fn class_name(class: u8, subclass: u8) -> &'static str {
    match (class, subclass) {
        (0x00, _) => "unclassified device",
        (0x01, 0x00) => "SCSI controller",
        (0x01, 0x01) => "IDE controller",
        (0x01, 0x06) => "SATA controller",
        (0x01, 0x08) => "NVMe controller",
        (0x01, _) => "storage controller",
        (0x02, 0x00) => "Ethernet controller",
        (0x02, _) => "network controller",
        (0x03, 0x00) => "VGA controller",
        (0x03, _) => "display controller",
        (0x04, _) => "multimedia controller",
        (0x05, _) => "memory controller",
        (0x06, 0x00) => "host bridge",
        (0x06, 0x01) => "ISA bridge",
        (0x06, 0x04) => "PCI bridge",
        (0x06, _) => "bridge",
        (0x07, _) => "communication controller",
        (0x08, _) => "system peripheral",
        (0x09, _) => "input controller",
        (0x0c, 0x03) => "USB controller",
        (0x0c, 0x05) => "SMBus controller",
        (0x0c, _) => "serial bus controller",
        (0xff, _) => "vendor-specific device",
        _ => "device",
    }
}
