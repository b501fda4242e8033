//! The global descriptor table and task state segment.
//!
//! Layout (fixed, because SYSCALL/SYSRET derive selectors from it): null, kernel code (0x08),
//! kernel data (0x10), user data (0x18), user code (0x20), TSS (0x28, two slots). The TSS holds the
//! interrupt stacks (IST) on which the double-fault, NMI and machine-check handlers run, so those
//! are reported even when the kernel stack is unusable.

use ::x86_64::instructions::segmentation::{Segment, CS, DS, ES, FS, GS, SS};
use ::x86_64::instructions::tables::load_tss;
use ::x86_64::registers::segmentation::SegmentSelector;
use ::x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use ::x86_64::structures::tss::TaskStateSegment;
use ::x86_64::{PrivilegeLevel, VirtAddr};

pub const KERNEL_CODE_SELECTOR: u16 = 0x08;
pub const KERNEL_DATA_SELECTOR: u16 = 0x10;

/// IST slots (0-based; the IDT stores slot + 1).
pub const IST_DOUBLE_FAULT: usize = 0;
pub const IST_NMI: usize = 1;
pub const IST_MACHINE_CHECK: usize = 2;

/// Size of each IST stack (must match `IST_STACK_SIZE` in the linker script).
const IST_STACK_SIZE: u64 = 16 * 1024;
const GUARD_SIZE: u64 = 4096;

extern "C" {
    /// Start of the linker-reserved IST area: for each slot a guard page, then the stack.
    static __ist_stacks: u8;
}

static TSS: spin::Once<TaskStateSegment> = spin::Once::new();
static GDT: spin::Once<GlobalDescriptorTable> = spin::Once::new();

/// The address range `[start, end)` of IST stack `slot` (its guard page is just below `start`).
pub fn ist_stack_bounds(slot: usize) -> (u64, u64) {
    let base = (&raw const __ist_stacks) as u64 + slot as u64 * (GUARD_SIZE + IST_STACK_SIZE);
    (base + GUARD_SIZE, base + GUARD_SIZE + IST_STACK_SIZE)
}

/// Builds the GDT and TSS and loads them, reloading every segment register.
pub fn init() {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        for slot in [IST_DOUBLE_FAULT, IST_NMI, IST_MACHINE_CHECK] {
            tss.interrupt_stack_table[slot] = VirtAddr::new(ist_stack_bounds(slot).1);
        }
        tss
    });
    let gdt = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let code = gdt.append(Descriptor::kernel_code_segment());
        let data = gdt.append(Descriptor::kernel_data_segment());
        gdt.append(Descriptor::user_data_segment());
        gdt.append(Descriptor::user_code_segment());
        gdt.append(Descriptor::tss_segment(tss));
        debug_assert_eq!((code.0, data.0), (KERNEL_CODE_SELECTOR, KERNEL_DATA_SELECTOR));
        gdt
    });
    gdt.load();
    let code = SegmentSelector::new(KERNEL_CODE_SELECTOR / 8, PrivilegeLevel::Ring0);
    let data = SegmentSelector::new(KERNEL_DATA_SELECTOR / 8, PrivilegeLevel::Ring0);
    let null = SegmentSelector(0);
    // SAFETY: the selectors name the descriptors appended above in the GDT that was just loaded,
    // and the TSS descriptor (index 5) refers to a 'static TSS.
    unsafe {
        CS::set_reg(code);
        SS::set_reg(data);
        DS::set_reg(data);
        ES::set_reg(data);
        FS::set_reg(null);
        GS::set_reg(null);
        load_tss(SegmentSelector::new(5, PrivilegeLevel::Ring0));
    }
}
