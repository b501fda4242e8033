//! `exo-pci`: the hardware-independent part of PCI, host-tested. The kernel (`kernel/src/pci`)
//! supplies the configuration-space accesses (ECAM memory or the legacy 0xCF8/0xCFC ports)
//! through the [`ConfigSpace`] trait and keeps the device list; everything decided from the
//! bits read lives here:
//!
//! - addressing: [`Bdf`] (bus/device/function), the legacy port mechanism's address word
//!   ([`legacy_address`]) and the ECAM offset of a register ([`EcamWindow::address`]);
//! - the common header ([`Header::read`]): ids, class, header type, multifunction bit,
//!   interrupt line and pin;
//! - BARs ([`bar::probe`]): I/O or memory, 32 or 64 bits, prefetchable, and the size found by
//!   the all-ones probe, plus the expansion ROM;
//! - the capability list ([`caps::Capabilities`]), walked with loop and bounds protection, and
//!   the MSI and MSI-X capabilities ([`caps::MsiCap`], [`caps::MsixCap`]) with the x86
//!   message for a local APIC ([`caps::x86_message`]);
//! - the line format of Linux's `/proc/bus/pci/devices` ([`proc::devices_line`]) and class
//!   names for the boot log ([`class_name`]).
//!
//! A device is hostile input: every value read is checked before it is used as an offset, a
//! loop bound or a size, and nothing here panics on any bit pattern.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod bar;
pub mod caps;
mod header;
pub mod proc;

pub use header::{class_name, Header, HeaderKind};

use core::fmt;

/// Access to one function's configuration space (256 bytes legacy, 4096 with ECAM).
///
/// Offsets are byte offsets; 32-bit accesses are naturally aligned (the implementation may
/// mask the low two bits). Reads of absent functions return all ones, as the hardware does.
pub trait ConfigSpace {
    /// Reads the 32-bit register at `offset` (a multiple of 4).
    fn read32(&self, offset: u16) -> u32;
    /// Writes the 32-bit register at `offset` (a multiple of 4).
    fn write32(&mut self, offset: u16, value: u32);

    /// Reads the 16-bit register at `offset` (a multiple of 2) from its 32-bit word.
    fn read16(&self, offset: u16) -> u16 {
        (self.read32(offset & !3) >> ((offset & 2) * 8)) as u16
    }

    /// Reads the byte at `offset` from its 32-bit word.
    fn read8(&self, offset: u16) -> u8 {
        (self.read32(offset & !3) >> ((offset & 3) * 8)) as u8
    }

    /// Writes the 16-bit register at `offset` (a multiple of 2), keeping the other half of its
    /// word (read, merged, written back: only for registers whose other half has no
    /// write-one-to-clear bits, e.g. the command register, not the status register).
    fn write16(&mut self, offset: u16, value: u16) {
        let shift = (offset & 2) * 8;
        let word = self.read32(offset & !3);
        let merged = (word & !(0xffff << shift)) | (u32::from(value) << shift);
        self.write32(offset & !3, merged);
    }
}

/// Standard register offsets of the common header.
pub mod reg {
    pub const VENDOR_DEVICE: u16 = 0x00;
    pub const COMMAND: u16 = 0x04;
    pub const STATUS: u16 = 0x06;
    pub const CLASS_REVISION: u16 = 0x08;
    pub const HEADER_TYPE: u16 = 0x0e;
    pub const BAR0: u16 = 0x10;
    pub const SUBSYSTEM: u16 = 0x2c;
    pub const ROM_TYPE0: u16 = 0x30;
    pub const CAPABILITIES: u16 = 0x34;
    pub const ROM_TYPE1: u16 = 0x38;
    pub const INTERRUPT: u16 = 0x3c;
    /// Bridges: primary, secondary and subordinate bus numbers.
    pub const BRIDGE_BUSES: u16 = 0x18;
}

/// Command register bits.
pub mod command {
    pub const IO_SPACE: u16 = 1 << 0;
    pub const MEMORY_SPACE: u16 = 1 << 1;
    pub const BUS_MASTER: u16 = 1 << 2;
    pub const INTX_DISABLE: u16 = 1 << 10;
}

/// Status register bit: the capability list exists.
pub const STATUS_CAPABILITIES: u16 = 1 << 4;

/// A PCI function's address on its segment: bus 0-255, device 0-31, function 0-7.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bdf {
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

impl Bdf {
    /// The address, or None when `device` > 31 or `function` > 7.
    pub fn new(bus: u8, device: u8, function: u8) -> Option<Bdf> {
        (device < 32 && function < 8).then_some(Bdf { bus, device, function })
    }

    /// Device and function in one byte, as Linux's `devfn`: `device << 3 | function`.
    pub fn devfn(self) -> u8 {
        (self.device & 0x1f) << 3 | (self.function & 7)
    }
}

impl fmt::Display for Bdf {
    /// `bb:dd.f`, as lspci prints it.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.device, self.function)
    }
}

/// The port 0xCF8 address word of the legacy configuration mechanism #1 for register `offset`
/// (only the first 256 bytes are reachable; the low two bits are dropped).
pub fn legacy_address(bdf: Bdf, offset: u8) -> u32 {
    0x8000_0000
        | u32::from(bdf.bus) << 16
        | u32::from(bdf.device & 0x1f) << 11
        | u32::from(bdf.function & 7) << 8
        | u32::from(offset & 0xfc)
}

/// The legacy mechanism's address port and data port.
pub const LEGACY_ADDRESS_PORT: u16 = 0xcf8;
pub const LEGACY_DATA_PORT: u16 = 0xcfc;

/// One ECAM window (an ACPI MCFG entry): the configuration spaces of buses
/// `start_bus..=end_bus` of `segment`, 4 KiB per function, from physical `base` (which is the
/// address of bus 0, even when `start_bus` is not 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EcamWindow {
    pub base: u64,
    pub segment: u16,
    pub start_bus: u8,
    pub end_bus: u8,
}

impl EcamWindow {
    /// Offset of (`bdf`, `offset`) from the window's first mapped byte (bus `start_bus`), or
    /// None when the bus is outside the window or `offset` ≥ 4096.
    pub fn offset(&self, bdf: Bdf, offset: u16) -> Option<u64> {
        if bdf.bus < self.start_bus || bdf.bus > self.end_bus || offset >= 4096 || bdf.device > 31 || bdf.function > 7 {
            return None;
        }
        let bus = u64::from(bdf.bus - self.start_bus);
        Some(bus << 20 | u64::from(bdf.device) << 15 | u64::from(bdf.function) << 12 | u64::from(offset))
    }

    /// Physical address of (`bdf`, `offset`), or None outside the window.
    pub fn address(&self, bdf: Bdf, offset: u16) -> Option<u64> {
        self.base.checked_add(u64::from(self.start_bus) << 20)?.checked_add(self.offset(bdf, offset)?)
    }

    /// Physical address of the first byte of bus `start_bus` and the size of the window in
    /// bytes (1 MiB per bus); None if it would overflow.
    pub fn mapped_range(&self) -> Option<(u64, u64)> {
        let buses = u64::from(self.end_bus.checked_sub(self.start_bus)?) + 1;
        let start = self.base.checked_add(u64::from(self.start_bus) << 20)?;
        start.checked_add(buses << 20)?;
        Some((start, buses << 20))
    }
}

#[cfg(test)]
mod tests;
