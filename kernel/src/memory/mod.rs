//! Memory management: physical frames (buddy allocator), the kernel's page tables and address
//! spaces, kernel stacks with guard pages, the three-tier kernel heap, and page-fault handling.
//! The layout of physical and virtual memory is described in docs/memory.md.

pub mod address_space;
#[cfg(feature = "ktest")]
pub mod fault;
pub mod frames;
pub mod heap;
pub mod paging;
pub mod reclaim;
pub mod stacks;

use core::sync::atomic::{AtomicU64, Ordering};

use exo_bootinfo::{BootInfo, MemoryKind};

use crate::arch;

extern "C" {
    static __kernel_phys_start: u8;
    static __kernel_phys_end: u8;
}

/// Why memory management could not start.
#[derive(Debug)]
pub enum InitError {
    Frames(frames::InitError),
    Paging(exo_paging::MapError),
}

impl core::fmt::Display for InitError {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            InitError::Frames(e) => write!(f, "frame allocator: {e:?}"),
            InitError::Paging(e) => write!(f, "kernel page tables: {e:?}"),
        }
    }
}

/// Physical range of the kernel image (`[start, end)`).
pub fn kernel_image_phys() -> (u64, u64) {
    ((&raw const __kernel_phys_start) as u64, (&raw const __kernel_phys_end) as u64)
}

/// Starts memory management: the frame allocator over the boot memory map (keeping the kernel
/// image and boot modules), then the kernel's own page tables.
pub fn init(info: &BootInfo) -> Result<(), InitError> {
    let mut reserved = [(0u64, 0u64); 1 + exo_bootinfo::ModuleList::CAPACITY];
    reserved[0] = kernel_image_phys();
    for (slot, module) in reserved[1..].iter_mut().zip(info.modules()) {
        *slot = (module.start, module.end);
    }
    let count = 1 + info.modules().len();
    let (meta_start, meta_end) = frames::init(info, &reserved[..count]).map_err(InitError::Frames)?;
    let phys_end = info
        .memory_map
        .regions()
        .iter()
        .filter(|r| matches!(r.kind, MemoryKind::Usable | MemoryKind::AcpiReclaimable | MemoryKind::AcpiNvs))
        .map(|r| r.end)
        .max()
        .unwrap_or(0);
    paging::init(phys_end).map_err(InitError::Paging)?;
    let stats = frames::stats();
    log::info!(
        "{} MiB free of {} MiB usable; frame metadata {} KiB at {meta_start:#x}; direct map of {} GiB ({} pages)",
        stats.free_frames >> 8,
        stats.usable_frames() >> 8,
        (meta_end - meta_start) >> 10,
        direct_map_limit() >> 30,
        if arch::mmu::has_1g_pages() { "1 GiB" } else { "2 MiB" },
    );
    Ok(())
}

/// End of the physical range the direct map covers: the boot page tables' 4 GiB until the
/// memory manager maps all of physical memory.
static DIRECT_MAP_LIMIT: AtomicU64 = AtomicU64::new(arch::BOOT_DIRECT_MAP_SIZE);

/// The kernel-virtual address of physical address `paddr` in the direct map, if it is mapped.
pub fn phys_to_virt(paddr: u64) -> Option<u64> {
    (paddr < direct_map_limit()).then(|| arch::DIRECT_MAP_BASE + paddr)
}

/// The physical address of direct-map address `vaddr`, if it is one.
pub fn virt_to_phys_direct(vaddr: u64) -> Option<u64> {
    let paddr = vaddr.checked_sub(arch::DIRECT_MAP_BASE)?;
    (paddr < direct_map_limit()).then_some(paddr)
}

/// Copies `buf.len()` bytes of physical memory at `paddr` through the direct map; false when the
/// range is not (entirely) in the direct map. For firmware and boot-loader structures, which
/// nothing writes while the kernel reads them.
pub fn read_phys(paddr: u64, buf: &mut [u8]) -> bool {
    let Some(end) = paddr.checked_add(buf.len() as u64) else { return false };
    if end > direct_map_limit() {
        return false;
    }
    let Some(virt) = phys_to_virt(paddr) else { return false };
    // SAFETY: `[paddr, end)` lies inside the direct map, which maps all of it readable; the
    // destination is a distinct Rust buffer of the same length.
    unsafe { core::ptr::copy_nonoverlapping(virt as *const u8, buf.as_mut_ptr(), buf.len()) };
    true
}

/// The bytes of a boot module (e.g. the initramfs) through the direct map. Module frames are
/// reserved at boot and never handed to the allocator, so the slice stays valid and unchanged.
pub fn boot_module(module: &exo_bootinfo::Module) -> Option<&'static [u8]> {
    let len = usize::try_from(module.end.checked_sub(module.start)?).ok()?;
    if module.end > direct_map_limit() {
        return None;
    }
    let virt = phys_to_virt(module.start)?;
    // SAFETY: the range is inside the direct map (checked) and its frames are reserved for the
    // module for the kernel's lifetime; nothing writes them.
    Some(unsafe { core::slice::from_raw_parts(virt as *const u8, len) })
}

/// End of the physical range the direct map covers.
pub fn direct_map_limit() -> u64 {
    DIRECT_MAP_LIMIT.load(Ordering::Relaxed)
}

fn set_direct_map_limit(end: u64) {
    DIRECT_MAP_LIMIT.store(end, Ordering::Relaxed);
}

/// Whether `addr` lies in the guard page of a kernel stack (boot, interrupt or thread stack).
pub fn is_stack_guard(addr: u64) -> bool {
    let page = addr & !0xfff;
    paging::image_guard_pages().contains(&page) || stacks::is_guard(addr)
}

/// Whether `[addr, addr + len)` lies inside a kernel stack (used to walk frame pointers safely).
pub fn is_on_kernel_stack(addr: u64, len: u64) -> bool {
    stacks::contains(addr, len)
}
