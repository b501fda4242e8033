//! Tests of the PCI layer on QEMU's q35 machine: ECAM from the MCFG, the bridges every q35 has
//! (host bridge 8086:29c0 at 00:00.0, ICH9 LPC/ISA bridge 8086:2918 at 00:1f.0), ECAM and the
//! legacy ports agreeing, BAR sizes, bounded capability walks, the /proc line format and DMA
//! memory.

use exo_pci::ConfigSpace;

use crate::pci::{self, config, dma::DmaRegion};
use crate::{kassert, kassert_eq, ktest};

fn bdf(bus: u8, device: u8, function: u8) -> exo_pci::Bdf {
    exo_pci::Bdf { bus, device, function }
}

ktest!(fn enumeration_finds_the_q35_host_and_isa_bridges() {
    let devices = pci::devices();
    kassert!(!devices.is_empty());
    let host = devices.iter().find(|d| d.bdf == bdf(0, 0, 0));
    kassert!(host.is_some(), "no function at 00:00.0");
    let host = host.map(|d| d.header).unwrap_or_else(|| devices[0].header);
    kassert_eq!((host.vendor_id, host.device_id, host.class, host.subclass), (0x8086, 0x29c0, 0x06, 0x00));
    let isa = devices.iter().find(|d| d.bdf == bdf(0, 0x1f, 0)).map(|d| d.header);
    kassert!(isa.is_some(), "no function at 00:1f.0");
    let isa = isa.unwrap_or(host);
    kassert_eq!((isa.vendor_id, isa.device_id, isa.class, isa.subclass), (0x8086, 0x2918, 0x06, 0x01));
    // The ICH9 is multifunction: SATA at 00:1f.2 and SMBus at 00:1f.3 are found too.
    kassert!(isa.multifunction);
    kassert!(devices.iter().any(|d| d.bdf == bdf(0, 0x1f, 2)));
    kassert!(devices.iter().any(|d| d.bdf == bdf(0, 0x1f, 3)));
    // Sorted by bus, device, function and never twice.
    kassert!(devices.windows(2).all(|w| w[0].bdf < w[1].bdf));
    Ok(())
});

ktest!(fn q35_uses_ecam_and_it_agrees_with_the_legacy_ports() {
    let ecam = matches!(config::mechanism(), config::Mechanism::Ecam { .. });
    kassert!(ecam, "q35 has an MCFG: ECAM expected");
    for dev in pci::devices() {
        for offset in (0u8..0x40).step_by(4).filter(|&o| o != 0x04) {
            // (The command/status word may change under us; every other header word is fixed.)
            let via_ecam = config::read32(dev.bdf, u16::from(offset));
            let via_ports = config::read32_legacy(dev.bdf, offset);
            kassert_eq!(via_ecam, via_ports);
        }
    }
    // Past 256 bytes only ECAM reaches; an absent function reads all ones.
    kassert_eq!(config::read32(bdf(0, 31, 7), 0), 0xffff_ffff);
    kassert_eq!(pci::Function(bdf(0, 0, 0)).read16(0), 0x8086);
    Ok(())
});

ktest!(fn bars_are_sized_and_capability_walks_end() {
    for dev in pci::devices() {
        kassert!(!dev.caps_looped, "{}: circular capability list", dev.bdf);
        for &(offset, _) in dev.capabilities() {
            kassert!(offset >= 0x40 && offset % 4 == 0);
        }
        for bar in dev.bars.iter().flatten() {
            kassert!(bar.size.is_power_of_two(), "{} BAR {}: size {:#x}", dev.bdf, bar.index, bar.size);
            if bar.address != 0 {
                kassert_eq!(bar.address % bar.size.min(4096), 0);
            }
        }
        let header = exo_pci::Header::read(&dev.config());
        kassert_eq!(header.map(|h| h.vendor_id), Some(dev.header.vendor_id));
    }
    // The ICH9 SATA controller (AHCI) has its ABAR (BAR 5, 4 KiB, memory).
    let sata = pci::devices().into_iter().find(|d| d.bdf == bdf(0, 0x1f, 2));
    let abar = sata.and_then(|d| d.bars[5]);
    kassert!(abar.is_some_and(|b| b.is_memory() && b.size == 0x1000), "AHCI BAR 5: {abar:?}");
    Ok(())
});

ktest!(fn proc_bus_pci_devices_has_one_linux_line_per_function() {
    let text = pci::proc_devices();
    let devices = pci::devices();
    kassert_eq!(text.lines().count(), devices.len());
    for (line, dev) in text.lines().zip(&devices) {
        let fields: alloc::vec::Vec<&str> = line.split('\t').collect();
        kassert_eq!(fields.len(), 18);
        kassert_eq!(u16::from_str_radix(fields[0], 16).ok(), Some(u16::from(dev.bdf.bus) << 8 | u16::from(dev.bdf.devfn())));
        let ids = u32::from(dev.header.vendor_id) << 16 | u32::from(dev.header.device_id);
        kassert_eq!(u32::from_str_radix(fields[1], 16).ok(), Some(ids));
        kassert!(fields[3..17].iter().all(|f| f.len() == 16));
    }
    Ok(())
});

ktest!(fn dma_regions_are_contiguous_zeroed_and_freed() {
    let before = crate::memory::frames::free_frames();
    {
        let region = DmaRegion::alloc(3);
        kassert!(region.is_some());
        let Some(region) = region else { return Ok(()) };
        kassert_eq!(region.len(), 4 * 4096);
        kassert_eq!(region.phys() % (4 * 4096), 0);
        kassert_eq!(crate::memory::phys_to_virt(region.phys()), Some(region.virt()));
        // SAFETY: the region is this test's alone and no device knows it.
        let bytes = unsafe { region.slice(0, region.len()) };
        kassert!(bytes.is_some_and(|b| b.iter().all(|&x| x == 0)));
        // SAFETY: as above.
        kassert!(unsafe { region.slice(region.len() - 1, 2) }.is_none());
        kassert!(DmaRegion::alloc(0).is_none());
        kassert!(DmaRegion::alloc(pci::dma::MAX_PAGES + 1).is_none());
    }
    kassert_eq!(crate::memory::frames::free_frames(), before);
    Ok(())
});
