//! The kernel side of ACPI table discovery: finds the RSDP (PVH's pointer, the Multiboot2 copy,
//! or a scan of the BIOS area), reads the MADT and the MCFG (PCI Express configuration windows)
//! through the direct map and keeps them. The parsing itself is `exo_acpi_tables` (host-tested).

use exo_acpi_tables::{find_rsdp, find_table, AcpiError, Madt, Mcfg, PhysMemory, Rsdp};

/// Physical memory through the kernel's direct map.
struct DirectMap;

impl PhysMemory for DirectMap {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> bool {
        HINT.get().is_some_and(|hint| (hint.read_phys)(paddr, buf))
    }
}

static MADT: spin::Once<Option<Madt>> = spin::Once::new();
static MCFG: spin::Once<Option<Mcfg>> = spin::Once::new();

/// Where the boot loader said the RSDP is: its physical address (PVH, or a Multiboot2 tag's
/// pointer) and a copy of it (Multiboot2 carries one), and how to read physical memory (the
/// memory layer's direct-map read, which knows how far the direct map reaches); given by the
/// kernel at boot.
#[derive(Clone, Copy, Debug)]
pub struct RsdpHint {
    pub paddr: Option<u64>,
    pub copy: Option<&'static [u8]>,
    pub read_phys: fn(u64, &mut [u8]) -> bool,
}

static HINT: spin::Once<RsdpHint> = spin::Once::new();

/// Tells the ACPI code where the boot loader found the RSDP (before the first [`madt`]).
pub fn set_rsdp_hint(hint: RsdpHint) {
    HINT.call_once(|| hint);
}

/// The RSDP: the boot loader's (address or copy), else a scan of the BIOS area.
fn rsdp() -> Result<Rsdp, AcpiError> {
    let hint = HINT.get().copied().unwrap_or(RsdpHint { paddr: None, copy: None, read_phys: |_, _| false });
    if let Some(paddr) = hint.paddr {
        match Rsdp::read(&DirectMap, paddr) {
            Ok(rsdp) => return Ok(rsdp),
            Err(e) => log::warn!("acpi: the loader's RSDP at {paddr:#x} is unusable ({e:?}); scanning"),
        }
    }
    if let Some(copy) = hint.copy {
        match Rsdp::parse(copy) {
            Ok(rsdp) => return Ok(rsdp),
            Err(e) => log::warn!("acpi: the loader's RSDP copy is unusable ({e:?}); scanning"),
        }
    }
    find_rsdp(&DirectMap, 0xe_0000, 0x10_0000).map(|(_, rsdp)| rsdp).ok_or(AcpiError::NoRsdp)
}

fn load_madt() -> Result<Madt, AcpiError> {
    let rsdp = rsdp()?;
    let mut buf = alloc::vec![0u8; exo_acpi_tables::MAX_TABLE_LEN];
    Madt::parse(find_table(&DirectMap, &rsdp, *b"APIC", &mut buf)?)
}

/// The MADT, read once (None, with a warning, when the tables are missing or corrupt).
pub fn madt() -> Option<&'static Madt> {
    MADT.call_once(|| match load_madt() {
        Ok(madt) => {
            if madt.malformed {
                log::warn!("acpi: MADT has a malformed entry; using the entries before it");
            }
            Some(madt)
        }
        Err(e) => {
            log::warn!("acpi: no usable MADT ({e:?}); running on one CPU");
            None
        }
    })
    .as_ref()
}

fn load_mcfg() -> Result<Mcfg, AcpiError> {
    let rsdp = rsdp()?;
    let mut buf = alloc::vec![0u8; exo_acpi_tables::MAX_TABLE_LEN];
    Mcfg::parse(find_table(&DirectMap, &rsdp, *b"MCFG", &mut buf)?)
}

/// The MCFG, read once: None when the machine has none (i440fx, or no ACPI), which means PCI
/// configuration space is reached through the legacy ports.
pub fn mcfg() -> Option<&'static Mcfg> {
    MCFG.call_once(|| match load_mcfg() {
        Ok(mcfg) => Some(mcfg),
        Err(AcpiError::NotFound(_)) => None,
        Err(e) => {
            log::warn!("acpi: unusable MCFG ({e:?}); PCI configuration through the legacy ports");
            None
        }
    })
    .as_ref()
}
