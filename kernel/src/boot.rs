//! From the boot loader's hand-off to a [`BootInfo`]: recognises the protocol by the magic value
//! the entry code passes on, and parses the loader's structure through the direct map.

use exo_bootinfo::{multiboot2, pvh, BootError, BootInfo, PhysMemory};

use crate::arch;

/// What the assembly entry passes to Rust: the protocol magic and the info structure's address.
#[derive(Clone, Copy, Debug)]
pub struct Handoff {
    pub magic: u32,
    pub info_paddr: u64,
}

/// Largest Multiboot2 information structure accepted.
const MAX_MULTIBOOT2_INFO: u64 = 64 * 1024;

/// Physical memory as seen through the boot direct map.
struct DirectMap;

impl PhysMemory for DirectMap {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> bool {
        crate::memory::read_phys(paddr, buf)
    }
}

/// Parses the boot information the loader handed over.
pub fn parse(handoff: Handoff) -> Result<BootInfo, BootError> {
    if handoff.magic == arch::PVH_MAGIC {
        return pvh::parse(&DirectMap, handoff.info_paddr);
    }
    if handoff.magic != multiboot2::BOOTLOADER_MAGIC {
        return Err(BootError::BadMagic);
    }
    let mut size = [0u8; 4];
    let unreadable = BootError::Unreadable { paddr: handoff.info_paddr };
    if !DirectMap.read(handoff.info_paddr, &mut size) {
        return Err(unreadable);
    }
    let size = u64::from(u32::from_le_bytes(size)).min(MAX_MULTIBOOT2_INFO);
    let end = handoff.info_paddr.checked_add(size).ok_or(unreadable)?;
    let virt = crate::memory::phys_to_virt(handoff.info_paddr).filter(|_| end <= crate::memory::direct_map_limit());
    let virt = virt.ok_or(unreadable)?;
    // SAFETY: `[info_paddr, end)` lies inside the direct map (checked above), which maps it
    // readable, and nothing writes to the loader's structure while the kernel parses it.
    let info = unsafe { core::slice::from_raw_parts(virt as *const u8, size as usize) };
    multiboot2::parse(info)
}

/// Prints the boot protocol, command line, modules and memory map.
pub fn print_summary() {
    let Some(info) = crate::params::boot_info() else { return };
    let protocol = match info.protocol {
        exo_bootinfo::BootProtocol::Pvh => "pvh",
        exo_bootinfo::BootProtocol::Multiboot2 => "multiboot2",
    };
    crate::kprintln!("boot: protocol={protocol} loader=\"{}\"", info.bootloader_name.as_str());
    crate::kprintln!("boot: cmdline \"{}\"", info.cmdline.as_str());
    for (i, module) in info.modules().iter().enumerate() {
        crate::kprintln!("boot: module {i}: {:#x}..{:#x} ({} bytes) \"{}\"", module.start, module.end,
            module.end.saturating_sub(module.start), module.cmdline.as_str());
    }
    if let Some(fb) = info.framebuffer.as_ref() {
        crate::kprintln!("boot: framebuffer {:#x} {}x{} {} bpp {:?}", fb.addr, fb.width, fb.height, fb.bpp, fb.kind);
    }
    for region in info.memory_map.regions() {
        crate::kprintln!("mem: [{:#018x}-{:#018x}) {:>10} KiB {:?}", region.start, region.end,
            (region.end - region.start) / 1024, region.kind);
    }
    crate::kprintln!("mem: {} MiB usable", info.memory_map.total_usable() >> 20);
}
