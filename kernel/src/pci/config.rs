//! Configuration-space access: ECAM (memory-mapped, 4 KiB per function, from the ACPI MCFG)
//! when the machine has it — q35 does — else the legacy mechanism #1 ports 0xCF8/0xCFC (256
//! bytes per function). Chosen once by [`init`]; [`Function`] is one function's space through
//! whichever was chosen, implementing `exo_pci::ConfigSpace`.
//!
//! Locking: the legacy mechanism is an address write followed by a data access, so the pair
//! runs under `LEGACY` (irq spin, a leaf: nothing is taken under it). ECAM accesses are single
//! loads and stores and need no lock. Read-modify-write sequences on one function's registers
//! (the command register, MSI-X control) are made by the one driver owning the function, or
//! at boot before drivers start.

use exo_pci::{Bdf, ConfigSpace, EcamWindow};

use crate::arch::{self, io};
use crate::spinlock::IrqSpinLock;

/// How configuration space is reached.
#[derive(Clone, Copy, Debug)]
pub enum Mechanism {
    /// ECAM window of segment 0, mapped uncached at `virt` (the address of bus `start_bus`).
    Ecam { window: EcamWindow, virt: u64 },
    /// The 0xCF8/0xCFC ports.
    Legacy,
}

static MECHANISM: spin::Once<Mechanism> = spin::Once::new();
/// Serializes the address/data port pair of the legacy mechanism.
static LEGACY: IrqSpinLock<()> = IrqSpinLock::new(());

/// Picks the mechanism: the MCFG's window of segment 0 (mapped into the device window), else
/// the legacy ports. Logs the choice.
pub fn init() -> Mechanism {
    *MECHANISM.call_once(|| {
        let window = arch::mcfg().and_then(|mcfg| mcfg.entries().iter().find(|e| e.segment == 0).copied());
        if let Some(entry) = window {
            let window = EcamWindow { base: entry.base, segment: 0, start_bus: entry.start_bus, end_bus: entry.end_bus };
            match window.mapped_range().map(|(phys, len)| (phys, len, crate::memory::paging::map_device_range(phys, len))) {
                Some((phys, len, Ok(virt))) => {
                    log::info!(
                        "pci: ECAM at {phys:#x} ({} MiB, buses {:02x}-{:02x}) from the MCFG",
                        len >> 20, window.start_bus, window.end_bus
                    );
                    return Mechanism::Ecam { window, virt };
                }
                Some((phys, _, Err(e))) => log::warn!("pci: cannot map the ECAM window at {phys:#x} ({e:?})"),
                None => log::warn!("pci: the MCFG window at {:#x} is impossible", entry.base),
            }
        }
        log::info!("pci: configuration through the legacy ports 0xcf8/0xcfc (no MCFG)");
        Mechanism::Legacy
    })
}

/// The mechanism chosen by [`init`] (legacy before it ran).
pub fn mechanism() -> Mechanism {
    MECHANISM.get().copied().unwrap_or(Mechanism::Legacy)
}

/// The buses the mechanism reaches.
pub fn bus_range() -> core::ops::RangeInclusive<u8> {
    match mechanism() {
        Mechanism::Ecam { window, .. } => window.start_bus..=window.end_bus,
        Mechanism::Legacy => 0..=255,
    }
}

/// Reads the 32-bit register at `offset` of `bdf` (all ones when unreachable).
pub fn read32(bdf: Bdf, offset: u16) -> u32 {
    let offset = offset & !3;
    match mechanism() {
        Mechanism::Ecam { window, virt } => match window.offset(bdf, offset) {
            // SAFETY: `virt` maps the whole window (`mapped_range`) uncached for ever, and
            // `EcamWindow::offset` only returns offsets inside it, 4-byte aligned.
            Some(at) => unsafe { core::ptr::read_volatile((virt + at) as *const u32) },
            None => !0,
        },
        Mechanism::Legacy if offset < 256 => {
            let _port = LEGACY.lock();
            io::outl(exo_pci::LEGACY_ADDRESS_PORT, exo_pci::legacy_address(bdf, offset as u8));
            io::inl(exo_pci::LEGACY_DATA_PORT)
        }
        Mechanism::Legacy => !0,
    }
}

/// Writes the 32-bit register at `offset` of `bdf` (dropped when unreachable).
pub fn write32(bdf: Bdf, offset: u16, value: u32) {
    let offset = offset & !3;
    match mechanism() {
        Mechanism::Ecam { window, virt } => {
            if let Some(at) = window.offset(bdf, offset) {
                // SAFETY: as in `read32`.
                unsafe { core::ptr::write_volatile((virt + at) as *mut u32, value) }
            }
        }
        Mechanism::Legacy if offset < 256 => {
            let _port = LEGACY.lock();
            io::outl(exo_pci::LEGACY_ADDRESS_PORT, exo_pci::legacy_address(bdf, offset as u8));
            io::outl(exo_pci::LEGACY_DATA_PORT, value);
        }
        Mechanism::Legacy => {}
    }
}

/// Reads the 32-bit register at `offset` of `bdf` through the legacy ports, whatever
/// mechanism was chosen (tests compare the two).
#[cfg(feature = "ktest")]
pub fn read32_legacy(bdf: Bdf, offset: u8) -> u32 {
    let _port = LEGACY.lock();
    io::outl(exo_pci::LEGACY_ADDRESS_PORT, exo_pci::legacy_address(bdf, offset));
    io::inl(exo_pci::LEGACY_DATA_PORT)
}

/// One function's configuration space.
#[derive(Clone, Copy, Debug)]
pub struct Function(pub Bdf);

impl ConfigSpace for Function {
    fn read32(&self, offset: u16) -> u32 {
        read32(self.0, offset)
    }

    fn write32(&mut self, offset: u16, value: u32) {
        write32(self.0, offset, value)
    }
}
