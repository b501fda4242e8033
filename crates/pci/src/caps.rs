//! The capability list, and the MSI and MSI-X capabilities.
//!
//! The list is a chain of next pointers in the 192 bytes after the header; a buggy or hostile
//! device may point back into the chain, outside it, or at the header. The walk
//! ([`Capabilities`]) accepts only aligned pointers at or above 0x40, never visits an offset
//! twice (a 48-bit visited set, one bit per dword) and takes at most 48 steps, so it always
//! ends; [`Capabilities::looped`] tells whether it was cut short.
//!
//! MSI and MSI-X messages on x86 go to the local APIC: the address is
//! `0xFEE0_0000 | destination APIC id << 12` (physical destination, no redirection hint) and
//! the data is the vector with fixed delivery and edge trigger ([`x86_message`]).

use crate::{reg, ConfigSpace, Header};

/// Capability ids.
pub const CAP_MSI: u8 = 0x05;
pub const CAP_VENDOR: u8 = 0x09;
pub const CAP_PCIE: u8 = 0x10;
pub const CAP_MSIX: u8 = 0x11;

/// Most capabilities a list can hold: one per dword of 0x40..0x100.
pub const MAX_CAPABILITIES: usize = 48;

/// One entry of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability {
    /// Offset of the capability in configuration space (0x40..0xfc, dword aligned).
    pub offset: u8,
    pub id: u8,
}

/// Iterator over a function's capability list, safe against loops and wild pointers.
pub struct Capabilities<'a, C: ConfigSpace> {
    cfg: &'a C,
    next: u8,
    visited: u64,
    steps: usize,
    looped: bool,
}

impl<'a, C: ConfigSpace> Capabilities<'a, C> {
    /// The walk of `cfg`'s list (empty when `header` announces none).
    pub fn new(cfg: &'a C, header: &Header) -> Self {
        let first = if header.has_capabilities() { cfg.read8(reg::CAPABILITIES) } else { 0 };
        Capabilities { cfg, next: first, visited: 0, steps: 0, looped: false }
    }

    /// Whether the walk stopped at a pointer it had already followed (or ran out of steps),
    /// i.e. the device's list is circular.
    pub fn looped(&self) -> bool {
        self.looped
    }
}

impl<C: ConfigSpace> Iterator for Capabilities<'_, C> {
    type Item = Capability;

    fn next(&mut self) -> Option<Capability> {
        // The two low bits of a pointer are reserved (the specification says to mask them).
        let offset = self.next & 0xfc;
        if offset < 0x40 {
            return None;
        }
        let bit = 1u64 << ((offset - 0x40) / 4);
        if self.visited & bit != 0 || self.steps >= MAX_CAPABILITIES {
            self.looped = true;
            self.next = 0;
            return None;
        }
        self.visited |= bit;
        self.steps += 1;
        let word = self.cfg.read32(u16::from(offset));
        self.next = (word >> 8) as u8;
        Some(Capability { offset, id: word as u8 })
    }
}

/// The first capability with `id`, if any.
pub fn find(cfg: &impl ConfigSpace, header: &Header, id: u8) -> Option<Capability> {
    Capabilities::new(cfg, header).find(|c| c.id == id)
}

/// An MSI or MSI-X message: where the device writes and what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsiMessage {
    pub address: u64,
    pub data: u32,
}

/// The message that raises `vector` on the CPU whose local APIC id is `apic_id` (physical
/// destination mode, fixed delivery, edge-triggered).
pub fn x86_message(apic_id: u8, vector: u8) -> MsiMessage {
    MsiMessage { address: 0xfee0_0000 | u64::from(apic_id) << 12, data: u32::from(vector) }
}

/// The MSI capability (id 0x05).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsiCap {
    pub offset: u8,
    /// The message control register as read.
    pub control: u16,
    /// The address register has a high half (64-bit capable).
    pub is_64bit: bool,
    /// Per-vector mask and pending registers exist.
    pub per_vector_mask: bool,
    /// log2 of the vectors the function can ask for (0-5).
    pub multiple_capable: u8,
}

impl MsiCap {
    /// Reads the capability at `cap` (which must be an MSI one).
    pub fn read(cfg: &impl ConfigSpace, cap: Capability) -> Option<MsiCap> {
        if cap.id != CAP_MSI {
            return None;
        }
        let control = (cfg.read32(u16::from(cap.offset)) >> 16) as u16;
        Some(MsiCap {
            offset: cap.offset,
            control,
            is_64bit: control & (1 << 7) != 0,
            per_vector_mask: control & (1 << 8) != 0,
            multiple_capable: ((control >> 1) & 7).min(5) as u8,
        })
    }

    /// Offset of the message data register.
    pub fn data_offset(&self) -> u16 {
        u16::from(self.offset) + if self.is_64bit { 0x0c } else { 0x08 }
    }

    /// Offset of the mask register (when `per_vector_mask`).
    pub fn mask_offset(&self) -> u16 {
        u16::from(self.offset) + if self.is_64bit { 0x10 } else { 0x0c }
    }

    /// Writes `message` (one vector: multiple message enable 0) and sets or clears the enable
    /// bit.
    pub fn program(&self, cfg: &mut impl ConfigSpace, message: MsiMessage, enable: bool) {
        let base = u16::from(self.offset);
        let disabled = self.control & !(1 | 0x70);
        cfg.write16(base + 2, disabled);
        cfg.write32(base + 4, message.address as u32);
        if self.is_64bit {
            cfg.write32(base + 8, (message.address >> 32) as u32);
        }
        cfg.write16(self.data_offset(), message.data as u16);
        if self.per_vector_mask {
            cfg.write32(self.mask_offset(), 0);
        }
        if enable {
            cfg.write16(base + 2, disabled | 1);
        }
    }
}

/// The MSI-X capability (id 0x11): where the vector table and pending-bit array live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsixCap {
    pub offset: u8,
    /// Number of table entries (1-2048).
    pub table_size: u16,
    /// BAR holding the table, and the table's offset in it (8-byte aligned).
    pub table_bar: u8,
    pub table_offset: u32,
    /// BAR holding the pending-bit array, and its offset.
    pub pba_bar: u8,
    pub pba_offset: u32,
    pub enabled: bool,
    pub function_masked: bool,
}

/// Bits of the MSI-X message control register.
const MSIX_ENABLE: u16 = 1 << 15;
const MSIX_FUNCTION_MASK: u16 = 1 << 14;

/// Size of one MSI-X table entry in bytes.
pub const MSIX_ENTRY_SIZE: u32 = 16;

impl MsixCap {
    /// Reads the capability at `cap`; None if it is not MSI-X or names a BAR index above 5.
    pub fn read(cfg: &impl ConfigSpace, cap: Capability) -> Option<MsixCap> {
        if cap.id != CAP_MSIX {
            return None;
        }
        let base = u16::from(cap.offset);
        let control = (cfg.read32(base) >> 16) as u16;
        let table = cfg.read32(base + 4);
        let pba = cfg.read32(base + 8);
        let (table_bar, pba_bar) = ((table & 7) as u8, (pba & 7) as u8);
        if table_bar > 5 || pba_bar > 5 {
            return None;
        }
        Some(MsixCap {
            offset: cap.offset,
            table_size: (control & 0x7ff) + 1,
            table_bar,
            table_offset: table & !7,
            pba_bar,
            pba_offset: pba & !7,
            enabled: control & MSIX_ENABLE != 0,
            function_masked: control & MSIX_FUNCTION_MASK != 0,
        })
    }

    /// Byte length of the vector table.
    pub fn table_len(&self) -> u32 {
        u32::from(self.table_size) * MSIX_ENTRY_SIZE
    }

    /// Offset in the table BAR of entry `index`, None past the table (or if it would overflow).
    pub fn entry_offset(&self, index: u16) -> Option<u32> {
        if index >= self.table_size {
            return None;
        }
        self.table_offset.checked_add(u32::from(index) * MSIX_ENTRY_SIZE)
    }

    /// Whether the table lies inside a BAR of `bar_size` bytes.
    pub fn table_fits(&self, bar_size: u64) -> bool {
        u64::from(self.table_offset) + u64::from(self.table_len()) <= bar_size
    }

    /// The message control register value with MSI-X `enable`d or not and the whole function
    /// masked or not (the table size bits are read-only and kept).
    pub fn control_value(&self, cfg: &impl ConfigSpace, enable: bool, function_mask: bool) -> u16 {
        let mut control = cfg.read16(u16::from(self.offset) + 2) & !(MSIX_ENABLE | MSIX_FUNCTION_MASK);
        if enable {
            control |= MSIX_ENABLE;
        }
        if function_mask {
            control |= MSIX_FUNCTION_MASK;
        }
        control
    }

    /// Writes the message control register (enable, function mask).
    pub fn set_control(&self, cfg: &mut impl ConfigSpace, enable: bool, function_mask: bool) {
        let value = self.control_value(cfg, enable, function_mask);
        cfg.write16(u16::from(self.offset) + 2, value);
    }
}

/// The four 32-bit words of an MSI-X table entry for `message`: address low, address high,
/// data, vector control (bit 0: masked).
pub fn msix_entry_words(message: MsiMessage, masked: bool) -> [u32; 4] {
    [message.address as u32, (message.address >> 32) as u32, message.data, u32::from(masked)]
}
