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
