//! The line format of Linux's `/proc/bus/pci/devices` (drivers/pci/proc.c, `show_device`),
//! which lspci-style tools parse: tab-separated
//! `BBDD` (bus and devfn in hex), `VVVVDDDD` (vendor and device), the IRQ in hex, seven
//! region starts with their flag bits ORed in (BARs 0-5 and the ROM), seven region sizes,
//! and the driver's name (empty when none), each 64-bit value as `%16lx` (right-aligned,
//! space-padded to 16 columns).

use core::fmt::{self, Write};

use crate::bar::Bar;
use crate::Bdf;

/// What one line shows about a function.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    pub bdf: Bdf,
    pub vendor_id: u16,
    pub device_id: u16,
    /// The interrupt line (Linux shows the IRQ number it assigned; 0 for none).
    pub irq: u32,
    /// BARs 0-5 then the ROM (index 6), as [`crate::bar::probe`] returns them.
    pub bars: &'a [Option<Bar>; 7],
    /// The driver bound to the function, "" when none.
    pub driver: &'a str,
}

/// Writes `entry`'s line, newline included.
pub fn devices_line(out: &mut impl Write, entry: &Entry) -> fmt::Result {
    write!(
        out,
        "{:02x}{:02x}\t{:04x}{:04x}\t{:x}",
        entry.bdf.bus,
        entry.bdf.devfn(),
        entry.vendor_id,
        entry.device_id,
        entry.irq
    )?;
    for bar in entry.bars {
        let start = bar.map_or(0, |b| b.address | u64::from(b.flags & 0xf));
        write!(out, "\t{start:16x}")?;
    }
    for bar in entry.bars {
        // Linux shows a region's size even when the firmware left it unassigned.
        let size = bar.map_or(0, |b| b.size);
        write!(out, "\t{size:16x}")?;
    }
    writeln!(out, "\t{}", entry.driver)
}
