//! The kernel's page tables: built at start-up to replace the boot tables with
//! - a direct map of physical memory at `DIRECT_MAP_BASE` (1 GiB pages when the CPU has them,
//!   else 2 MiB), read/write, no-execute, global;
//! - the kernel image with W^X: text read+execute, rodata read-only, data/bss read/write
//!   no-execute; the guard pages under the boot and interrupt stacks left unmapped;
//! - every kernel-half PML4 slot pre-filled, so address spaces created later share all present
//!   and future kernel mappings.
//!
//! The table logic is `exo_paging`; this module supplies its memory ([`DirectMapTables`]) and
//! frames ([`BuddyTables`]) and does the TLB maintenance. It also makes the mappings SMP
//! bring-up (`arch::smp`) asks for: device registers in the device window (the local APIC;
//! the PCI layer's configuration window and BARs through [`map_device_range`]),
//! the start-up trampoline's identity mapping, the master tree's root for the APs.

use core::sync::atomic::{AtomicU64, Ordering};

use exo_paging::{FrameSource, MapError, PageFlags, PageSize, PageTable, TableMemory};
use crate::spinlock::SpinLock as Mutex;

use super::frames;
use crate::arch::{self, mmu};

/// Page-table frames read and written through the direct map.
pub struct DirectMapTables;

impl TableMemory for DirectMapTables {
    fn read_entry(&self, table_paddr: u64, index: usize) -> u64 {
        match super::phys_to_virt(table_paddr + (index as u64 % 512) * 8) {
            // SAFETY: table frames are RAM inside the direct map, and `index % 512` keeps the
            // access inside the 4 KiB table; entries are naturally aligned u64s.
            Some(virt) => unsafe { core::ptr::read_volatile(virt as *const u64) },
            None => 0,
        }
    }

    fn write_entry(&mut self, table_paddr: u64, index: usize, value: u64) {
        if let Some(virt) = super::phys_to_virt(table_paddr + (index as u64 % 512) * 8) {
            // SAFETY: as for `read_entry`; the caller serializes edits of a tree.
            unsafe { core::ptr::write_volatile(virt as *mut u64, value) }
        }
    }

    #[inline]
    fn next_present(&self, table_paddr: u64, from: usize) -> usize {
        self.next_present_below(table_paddr, from, 512)
    }

    #[inline]
    fn next_present_below(&self, table_paddr: u64, from: usize, to: usize) -> usize {
        let to = to.min(512);
        let Some(base) = super::phys_to_virt(table_paddr & !0xfff) else { return to };
        let mut index = from;
        while index < to {
            // SAFETY: as for `read_entry`: `index < 512` keeps the read inside the table frame.
            if unsafe { core::ptr::read_volatile((base as *const u64).add(index)) } & 1 != 0 {
                break;
            }
            index += 1;
        }
        index
    }
}

/// Page-table frames from the buddy allocator, zeroed.
pub struct BuddyTables;

impl FrameSource for BuddyTables {
    fn alloc_table_frame(&mut self) -> Option<u64> {
        frames::alloc_zeroed_frame().ok()
    }

    fn free_table_frame(&mut self, paddr: u64) {
        if frames::free_frame(paddr).is_err() {
            log::error!("paging: table frame {paddr:#x} was not allocated");
        }
    }
}

/// The kernel's master tree; its kernel half is shared by every address space.
static KERNEL_TABLE: Mutex<Option<PageTable>> = Mutex::new(None);

extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __bss_end: u8;
    static __boot_stack_guard: u8;
    static __ist_stacks: u8;
}

/// Offset between the kernel image's virtual and physical addresses (the linker script's
/// `KERNEL_VMA_OFFSET`).
pub const KERNEL_VMA_OFFSET: u64 = 0xffff_ffff_8000_0000;
const IST_SLOT: u64 = 4096 + 16 * 1024;

/// Virtual addresses of the guard pages inside the kernel image (never mapped).
pub fn image_guard_pages() -> [u64; 4] {
    let ist = (&raw const __ist_stacks) as u64;
    [(&raw const __boot_stack_guard) as u64, ist, ist + IST_SLOT, ist + 2 * IST_SLOT]
}

fn section(start: *const u8, end: *const u8) -> (u64, u64) {
    (start as u64, end as u64)
}

/// The kernel image's parts with their protections: text RX, rodata R, data+bss RW.
pub fn image_sections() -> [((u64, u64), PageFlags); 3] {
    let global = PageFlags::GLOBAL;
    [
        (section(&raw const __text_start, &raw const __text_end), PageFlags::KERNEL_RX | global),
        (section(&raw const __rodata_start, &raw const __rodata_end), PageFlags::KERNEL_RO_NX | global),
        (section(&raw const __data_start, &raw const __bss_end), PageFlags::KERNEL_RW_NX | global),
    ]
}

fn build(direct_map_end: u64) -> Result<PageTable, MapError> {
    let (mut mem, mut tables) = (DirectMapTables, BuddyTables);
    let mut table = PageTable::new(&mut tables)?;
    let nx = if mmu::has_nx() { PageFlags::empty() } else { PageFlags::NO_EXECUTE };
    let size = if mmu::has_1g_pages() { PageSize::Size1G } else { PageSize::Size2M };
    let direct_flags = (PageFlags::KERNEL_RW_NX | PageFlags::GLOBAL) - nx;
    let mut paddr = 0;
    while paddr < direct_map_end {
        table.map(&mut mem, &mut tables, arch::DIRECT_MAP_BASE + paddr, paddr, size, direct_flags)?;
        paddr += size.bytes();
    }
    let guards = image_guard_pages();
    for ((start, end), flags) in image_sections() {
        let mut virt = start & !0xfff;
        while virt < end {
            if !guards.contains(&virt) {
                table.map(&mut mem, &mut tables, virt, virt - KERNEL_VMA_OFFSET, PageSize::Size4K, flags - nx)?;
            }
            virt += 4096;
        }
    }
    table.prefill_upper_half(&mut mem, &mut tables)?;
    Ok(table)
}

/// Builds the kernel's tables covering physical memory up to `phys_end` and switches to them.
pub fn init(phys_end: u64) -> Result<(), MapError> {
    mmu::enable_paging_features();
    let direct_map_end = phys_end.max(arch::BOOT_DIRECT_MAP_SIZE).next_multiple_of(1 << 30);
    let table = build(direct_map_end)?;
    // SAFETY: the new tree maps the kernel image (code, stacks, GDT/IDT/TSS statics) at the same
    // virtual addresses as the boot tables, and the direct map at the same base.
    unsafe { mmu::load_root(table.root()) };
    mmu::flush_all();
    super::set_direct_map_limit(direct_map_end);
    *KERNEL_TABLE.lock() = Some(table);
    Ok(())
}

/// Runs `f` on the kernel's master tree with interrupts disabled.
pub fn with_kernel_table<R>(f: impl FnOnce(&mut PageTable, &mut DirectMapTables, &mut BuddyTables) -> R) -> Option<R> {
    arch::without_interrupts(|| {
        let mut guard = KERNEL_TABLE.lock();
        guard.as_mut().map(|table| f(table, &mut DirectMapTables, &mut BuddyTables))
    })
}

/// Switches this CPU back to the kernel's master tree.
pub fn activate_kernel_table() {
    if let Some(root) = with_kernel_table(|table, _, _| table.root()) {
        // SAFETY: the master tree maps the whole kernel.
        unsafe { mmu::load_root(root) };
    }
}

/// Maps one kernel page (4 KiB, 2 MiB or 1 GiB) in the kernel half (tests and in-kernel
/// benchmarks; kernel stacks map their pages under one hold of the lock).
#[cfg(feature = "ktest")]
pub fn map_kernel(virt: u64, phys: u64, size: PageSize, flags: PageFlags) -> Result<(), MapError> {
    with_kernel_table(|t, m, f| t.map(m, f, virt, phys, size, flags)).unwrap_or(Err(MapError::OutOfMemory))
}

/// Start of the device window (PML4 slot 508, shared by every address space): 4 KiB pages of
/// device registers, mapped uncached by [`map_device_page`] one after the other (the local
/// APIC's is the first).
pub const DEVICE_WINDOW: u64 = 0xffff_fe00_0000_0000;
/// End of the device window (its PML4 slot).
const DEVICE_WINDOW_END: u64 = DEVICE_WINDOW + (1 << 39);
/// The next free page of the device window (changed only under the master tree's lock).
static NEXT_DEVICE_PAGE: AtomicU64 = AtomicU64::new(DEVICE_WINDOW);

/// Maps the 4 KiB page of device registers at physical `phys` (rounded down to its page)
/// uncached, global and kernel-only at the next page of the device window; its virtual address.
/// Mappings are never removed.
pub fn map_device_page(phys: u64) -> Result<u64, MapError> {
    with_kernel_table(|t, m, f| {
        let virt = NEXT_DEVICE_PAGE.load(Ordering::Relaxed);
        if virt >= DEVICE_WINDOW_END {
            return Err(MapError::OutOfMemory);
        }
        t.map(m, f, virt, phys & !0xfff, PageSize::Size4K, PageFlags::KERNEL_MMIO | PageFlags::GLOBAL)?;
        NEXT_DEVICE_PAGE.store(virt + 4096, Ordering::Relaxed);
        Ok(virt)
    })
    .unwrap_or(Err(MapError::OutOfMemory))
}

/// Maps `len` bytes of device memory starting at physical `phys` (both rounded out to whole
/// pages) uncached, global and kernel-only at fresh, contiguous addresses of the device window;
/// the virtual address of `phys` itself. 2 MiB pages are used when the range is 2 MiB-aligned
/// and a multiple of 2 MiB (a PCI Express configuration window), 4 KiB pages otherwise (BARs).
/// Mappings are never removed; a failure part-way leaves the pages mapped so far unused.
pub fn map_device_range(phys: u64, len: u64) -> Result<u64, MapError> {
    const HUGE: u64 = 2 << 20;
    let start = phys & !0xfff;
    let end = phys.checked_add(len.max(1)).ok_or(MapError::OutOfMemory)?.next_multiple_of(4096);
    let size = if start % HUGE == 0 && (end - start) % HUGE == 0 { PageSize::Size2M } else { PageSize::Size4K };
    with_kernel_table(|t, m, f| {
        let virt = NEXT_DEVICE_PAGE.load(Ordering::Relaxed).next_multiple_of(size.bytes());
        let virt_end = virt.checked_add(end - start).filter(|&e| e <= DEVICE_WINDOW_END).ok_or(MapError::OutOfMemory)?;
        NEXT_DEVICE_PAGE.store(virt_end, Ordering::Relaxed);
        let mut offset = 0;
        while start + offset < end {
            t.map(m, f, virt + offset, start + offset, size, PageFlags::KERNEL_MMIO | PageFlags::GLOBAL)?;
            offset += size.bytes();
        }
        Ok(virt + (phys - start))
    })
    .unwrap_or(Err(MapError::OutOfMemory))
}

/// The physical address of the master tree's root (None before [`init`]).
pub fn kernel_root() -> Option<u64> {
    with_kernel_table(|table, _, _| table.root())
}

/// Maps (`map`) or unmaps and prunes the 4 KiB page at physical `addr` at virtual `addr` in the
/// master tree, writable and executable: the SMP start-up trampoline's page, which an AP runs
/// from while it turns paging on. True when done. No TLB work: after unmapping, the caller
/// shoots the page down.
pub fn identity_map_page(addr: u64, map: bool) -> bool {
    let done = with_kernel_table(|t, m, f| {
        if map {
            t.map(m, f, addr, addr, PageSize::Size4K, PageFlags::PRESENT | PageFlags::WRITABLE).is_ok()
        } else {
            t.unmap_and_prune(m, f, addr, PageSize::Size4K).is_ok()
        }
    });
    done == Some(true)
}

/// Unmaps one kernel page, invalidating TLBs; returns the physical address it mapped.
#[cfg(feature = "ktest")]
pub fn unmap_kernel(virt: u64, size: PageSize) -> Result<u64, exo_paging::UnmapError> {
    let result = with_kernel_table(|t, m, _| t.unmap(m, virt, size)).unwrap_or(Err(exo_paging::UnmapError::NotMapped))?;
    shootdown(virt, size.bytes());
    Ok(result)
}

/// Translates a kernel-half address through the master tree.
#[cfg(feature = "ktest")]
pub fn translate_kernel(virt: u64) -> Option<(u64, PageSize, PageFlags)> {
    with_kernel_table(|t, m, _| t.translate(m, virt)).flatten()
}

/// Invalidates `[virt, virt + len)` in the TLB of this CPU and of every other online CPU (the
/// shootdown IPI, `arch::smp::tlb_shootdown`).
pub fn shootdown(virt: u64, len: u64) {
    arch::smp::tlb_shootdown(virt, len);
}
