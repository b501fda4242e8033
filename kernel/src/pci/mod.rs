//! The PCI bus: enumeration at boot, the device list, and what drivers need from it — mapped
//! memory BARs ([`mmio`]), the command register, MSI-X vectors ([`Device::enable_msix`]), DMA
//! memory ([`dma`]) and the virtio transport glue ([`virtio`]).
//!
//! [`init`] picks the configuration mechanism (ECAM from the ACPI MCFG, else the 0xCF8/0xCFC
//! ports, see [`config`]), scans every bus it reaches — each device's function 0, and
//! functions 1-7 of multifunction devices — reads each function's header, sizes its BARs
//! (`exo_pci::bar::probe`, decoding off meanwhile) and walks its capability list (bounded: a
//! circular list is cut and logged), and logs one line per function. The list is then fixed:
//! [`devices`] hands out a snapshot of it. Configuration parsing is `exo_pci` (host-tested).
//!
//! A memory BAR the firmware left unassigned (address 0) is logged and not mapped; drivers of
//! such a device fail to start (no address is assigned by the kernel).

pub mod config;
pub mod dma;
pub mod mmio;
pub mod virtio;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_pci::bar::Bar;
use exo_pci::caps::{self, Capabilities, MsiCap, MsixCap};
use exo_pci::{command, reg, Bdf, ConfigSpace, Header};

pub use config::Function;
pub use mmio::{MapError, Mmio};

/// One PCI function found at boot.
#[derive(Debug)]
pub struct Device {
    pub bdf: Bdf,
    pub header: Header,
    /// BARs 0-5 (a 64-bit BAR's upper register is None) and the ROM (index 6).
    pub bars: [Option<Bar>; 7],
    /// The MSI and MSI-X capabilities, when present.
    pub msi: Option<MsiCap>,
    pub msix: Option<MsixCap>,
    /// Capabilities seen by the walk, (offset, id), and whether the list was circular.
    caps: Vec<(u8, u8)>,
    pub caps_looped: bool,
    /// The driver that claimed the function (shown in /proc/bus/pci/devices).
    driver: spin::Once<&'static str>,
}

/// Why MSI-X could not be set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsixError {
    /// The function has no MSI-X capability.
    Absent,
    /// A table entry index is beyond the table.
    NoSuchEntry,
    /// The table's BAR is missing, unassigned, too small or could not be mapped.
    Table,
}

impl Device {
    /// The function's configuration space.
    pub fn config(&self) -> Function {
        Function(self.bdf)
    }

    /// The capabilities the boot walk found, as (offset, id) in list order.
    pub fn capabilities(&self) -> &[(u8, u8)] {
        &self.caps
    }

    /// Records the driver that owns the function; false when another one already does.
    pub fn claim(&self, driver: &'static str) -> bool {
        let mut won = false;
        self.driver.call_once(|| {
            won = true;
            driver
        });
        won
    }

    /// The claiming driver's name, "" when unclaimed.
    pub fn driver(&self) -> &'static str {
        self.driver.get().copied().unwrap_or("")
    }

    /// Sets the command register's memory-space, I/O-space and bus-master bits as asked
    /// (others unchanged); returns the new value.
    pub fn enable(&self, memory: bool, io: bool, bus_master: bool) -> u16 {
        let mut cfg = self.config();
        let mut value = cfg.read16(reg::COMMAND);
        for (on, bit) in [(memory, command::MEMORY_SPACE), (io, command::IO_SPACE), (bus_master, command::BUS_MASTER)] {
            if on {
                value |= bit;
            }
        }
        cfg.write16(reg::COMMAND, value);
        value
    }

    /// Maps memory BAR `index` (whole) uncached; the same mapping on later calls.
    pub fn map_bar(&self, index: usize) -> Result<Mmio, MapError> {
        let bar = self.bars.get(index).copied().flatten().filter(|b| b.is_memory() && b.address != 0);
        let bar = bar.ok_or(MapError::NoSuchBar)?;
        Mmio::map(bar.address, bar.size)
    }

    /// Programs MSI-X: each `(entry, vector)` pair gets the message raising `vector` on the
    /// CPU `arch::msi::target()` names, unmasked; other entries stay masked. MSI-X is enabled
    /// and legacy INTx disabled. The function is masked while the table is written.
    pub fn enable_msix(&self, entries: &[(u16, u8)]) -> Result<(), MsixError> {
        let cap = self.msix.ok_or(MsixError::Absent)?;
        let bar = self.bars.get(usize::from(cap.table_bar)).copied().flatten().ok_or(MsixError::Table)?;
        if !bar.is_memory() || !cap.table_fits(bar.size) {
            return Err(MsixError::Table);
        }
        let table = self.map_bar(usize::from(cap.table_bar)).map_err(|_| MsixError::Table)?;
        let apic_id = u8::try_from(crate::arch::msi::target()).map_err(|_| MsixError::Table)?;
        let mut cfg = self.config();
        cap.set_control(&mut cfg, true, true);
        for index in 0..cap.table_size {
            if let Some(at) = cap.entry_offset(index) {
                table.write32(u64::from(at) + 12, 1);
            }
        }
        for &(entry, vector) in entries {
            let at = u64::from(cap.entry_offset(entry).ok_or(MsixError::NoSuchEntry)?);
            let words = caps::msix_entry_words(caps::x86_message(apic_id, vector), false);
            // Address and data first, the unmasking vector-control word last.
            for (i, word) in words.iter().enumerate() {
                table.write32(at + 4 * i as u64, *word);
            }
        }
        let command = cfg.read16(reg::COMMAND) | command::INTX_DISABLE;
        cfg.write16(reg::COMMAND, command);
        cap.set_control(&mut cfg, true, false);
        Ok(())
    }

    /// The `/proc/bus/pci/devices` line of the function.
    pub fn proc_line(&self, out: &mut String) {
        let irq = match self.header.interrupt_line {
            0xff => 0,
            line => u32::from(line),
        };
        let entry = exo_pci::proc::Entry {
            bdf: self.bdf,
            vendor_id: self.header.vendor_id,
            device_id: self.header.device_id,
            irq,
            bars: &self.bars,
            driver: self.driver(),
        };
        let _ = exo_pci::proc::devices_line(out, &entry);
    }
}

static DEVICES: spin::Once<Vec<Arc<Device>>> = spin::Once::new();

/// Reads one present function.
fn probe_function(bdf: Bdf, header: Header) -> Device {
    let mut cfg = Function(bdf);
    let bars = exo_pci::bar::probe(&mut cfg, &header);
    let mut walk = Capabilities::new(&cfg, &header);
    let caps: Vec<(u8, u8)> = walk.by_ref().map(|c| (c.offset, c.id)).collect();
    let caps_looped = walk.looped();
    let find = |id| caps.iter().find(|&&(_, c)| c == id).map(|&(offset, id)| caps::Capability { offset, id });
    let msi = find(caps::CAP_MSI).and_then(|c| MsiCap::read(&cfg, c));
    let msix = find(caps::CAP_MSIX).and_then(|c| MsixCap::read(&cfg, c));
    Device { bdf, header, bars, msi, msix, caps, caps_looped, driver: spin::Once::new() }
}

fn log_function(dev: &Device) {
    let h = &dev.header;
    log::info!(
        "pci {} {:04x}:{:04x} {}{}",
        dev.bdf, h.vendor_id, h.device_id,
        exo_pci::class_name(h.class, h.subclass),
        if dev.msix.is_some() { " (MSI-X)" } else if dev.msi.is_some() { " (MSI)" } else { "" }
    );
    if dev.caps_looped {
        log::warn!("pci {}: circular capability list, cut after {} entries", dev.bdf, dev.caps.len());
    }
    for bar in dev.bars.iter().flatten().filter(|b| b.is_memory() && b.address == 0) {
        log::warn!("pci {}: BAR {} ({} bytes) unassigned by the firmware; not usable", dev.bdf, bar.index, bar.size);
    }
}

/// Enumerates every bus the configuration mechanism reaches (once; later calls return the
/// same count). Needs the memory manager (ECAM and BAR mappings, the list).
pub fn init() -> usize {
    DEVICES
        .call_once(|| {
            config::init();
            let mut found = Vec::new();
            for bus in config::bus_range() {
                for device in 0..32 {
                    let Some(first) = Bdf::new(bus, device, 0) else { continue };
                    let Some(header) = Header::read(&Function(first)) else { continue };
                    let functions = if header.multifunction { 8 } else { 1 };
                    for function in 0..functions {
                        let Some(bdf) = Bdf::new(bus, device, function) else { continue };
                        let header = if function == 0 { Some(header) } else { Header::read(&Function(bdf)) };
                        if let Some(header) = header {
                            let dev = probe_function(bdf, header);
                            log_function(&dev);
                            found.push(Arc::new(dev));
                        }
                    }
                }
            }
            found
        })
        .len()
}

/// Every function found at boot, in bus order (empty before [`init`]).
pub fn devices() -> Vec<Arc<Device>> {
    DEVICES.get().cloned().unwrap_or_default()
}

/// The functions with `vendor` and a device id in `ids`.
pub fn find(vendor: u16, ids: &[u16]) -> Vec<Arc<Device>> {
    devices().into_iter().filter(|d| d.header.vendor_id == vendor && ids.contains(&d.header.device_id)).collect()
}

/// The text of /proc/bus/pci/devices.
pub fn proc_devices() -> String {
    let mut out = String::new();
    for dev in devices() {
        dev.proc_line(&mut out);
    }
    out
}
