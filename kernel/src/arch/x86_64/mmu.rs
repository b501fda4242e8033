//! MMU control: loading page-table roots, TLB invalidation and paging feature bits.

use ::x86_64::registers::control::{Cr3, Cr3Flags, Cr4, Cr4Flags};
use ::x86_64::registers::model_specific::{Efer, EferFlags};
use ::x86_64::structures::paging::PhysFrame;
use ::x86_64::{PhysAddr, VirtAddr};

/// Physical address of the active top-level page table.
pub fn current_root() -> u64 {
    Cr3::read().0.start_address().as_u64()
}

/// Switches to the page-table tree rooted at `root`.
///
/// # Safety
/// `root` must be a valid PML4 that maps the running code, its stack, and every kernel structure
/// the CPU uses (GDT, IDT, TSS) at their current addresses.
pub unsafe fn load_root(root: u64) {
    let frame = PhysFrame::containing_address(PhysAddr::new(root));
    // SAFETY: guaranteed by the caller.
    unsafe { Cr3::write(frame, Cr3Flags::empty()) };
}

/// Invalidates this CPU's TLB entry for the page containing `virt`.
pub fn flush_page(virt: u64) {
    ::x86_64::instructions::tlb::flush(VirtAddr::new_truncate(virt));
}

/// Invalidates every TLB entry of this CPU, global ones included.
pub fn flush_all() {
    let flags = Cr4::read();
    if flags.contains(Cr4Flags::PAGE_GLOBAL) {
        // SAFETY: toggling PGE flushes all TLB entries and changes nothing else.
        unsafe {
            Cr4::write(flags - Cr4Flags::PAGE_GLOBAL);
            Cr4::write(flags);
        }
    } else {
        ::x86_64::instructions::tlb::flush_all();
    }
}

/// Enables global pages (kernel mappings survive CR3 switches) and the no-execute bit.
pub fn enable_paging_features() {
    // SAFETY: PGE only changes TLB retention; NXE makes bit 63 of entries meaningful, and the
    // boot code already set it when the CPU supports it (checked here again).
    unsafe {
        Cr4::update(|f| f.insert(Cr4Flags::PAGE_GLOBAL));
        if has_nx() {
            Efer::update(|f| f.insert(EferFlags::NO_EXECUTE_ENABLE));
        }
    }
    super::usercopy::enable_protection();
}

/// Whether the CPU supports the no-execute bit.
pub fn has_nx() -> bool {
    super::cpu::cpuid(0x8000_0001, 0).3 & (1 << 20) != 0
}

/// Whether the CPU supports 1 GiB pages.
pub fn has_1g_pages() -> bool {
    super::cpu::cpuid(0x8000_0001, 0).3 & (1 << 26) != 0
}
