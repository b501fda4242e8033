//! The global descriptor table and task state segment, one pair per CPU.
//!
//! Layout (fixed, because SYSCALL/SYSRET derive selectors from it): null, kernel code (0x08),
//! kernel data (0x10), user data (0x18), user code (0x20), TSS (0x28, two slots), and the
//! CPU-number segment (0x38): a user-visible data descriptor whose limit is the CPU's index, so
//! the vDSO's `getcpu` reads it with one `lsl` (as Linux's does; it is never loaded). The TSS holds the
//! interrupt stacks (IST) on which the double-fault, NMI and machine-check handlers run, so those
//! are reported even when the kernel stack is unusable. The boot CPU's IST stacks are in the
//! kernel image (linker script); each application processor brings its own (`smp.rs`).

use ::x86_64::instructions::segmentation::{Segment, CS, DS, ES, FS, GS, SS};
use ::x86_64::instructions::tables::load_tss;
use ::x86_64::registers::segmentation::SegmentSelector;
use ::x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use ::x86_64::structures::tss::TaskStateSegment;
use ::x86_64::{PrivilegeLevel, VirtAddr};
use core::cell::UnsafeCell;

use super::percpu::MAX_CPUS;

pub const KERNEL_CODE_SELECTOR: u16 = 0x08;
pub const KERNEL_DATA_SELECTOR: u16 = 0x10;
/// The CPU-number segment's selector with RPL 3, as user code (the vDSO) names it.
pub const CPUNODE_SELECTOR: u16 = 0x38 | 3;

/// A present, ring-3, read/write data descriptor (base 0) whose 20-bit limit is `cpu` (bits
/// 0-11) and NUMA node 0 (bits 12-19): `lsl` of it gives the pair.
fn cpunode_descriptor(cpu: usize) -> Descriptor {
    let limit = (cpu as u64) & 0xfff;
    let access = 0xf3u64; // present, DPL 3, code/data, data read/write accessed
    Descriptor::UserSegment((limit & 0xffff) | (access << 40) | ((limit >> 16) & 0xf) << 48)
}

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

/// One CPU's TSS and GDT. The TSS is written (RSP0) through raw pointers only, hence the cell.
struct CpuTables {
    tss: UnsafeCell<TaskStateSegment>,
    gdt: spin::Once<GlobalDescriptorTable>,
}

// SAFETY: each CPU's entry is initialised once by that CPU (under the `Once`) and its TSS is
// afterwards written only by that CPU (`percpu::set_kernel_stack_top`).
unsafe impl Sync for CpuTables {}

static TABLES: [CpuTables; MAX_CPUS] = [const {
    CpuTables { tss: UnsafeCell::new(TaskStateSegment::new()), gdt: spin::Once::new() }
}; MAX_CPUS];

/// The address range `[start, end)` of IST stack `slot` (its guard page is just below `start`).
pub fn ist_stack_bounds(slot: usize) -> (u64, u64) {
    let base = (&raw const __ist_stacks) as u64 + slot as u64 * (GUARD_SIZE + IST_STACK_SIZE);
    (base + GUARD_SIZE, base + GUARD_SIZE + IST_STACK_SIZE)
}

/// CPU `cpu`'s TSS (null for an index beyond `MAX_CPUS`).
pub fn tss_of(cpu: usize) -> *mut TaskStateSegment {
    TABLES.get(cpu).map_or(core::ptr::null_mut(), |t| t.tss.get())
}

/// Builds the boot CPU's GDT and TSS (IST stacks from the kernel image) and loads them.
pub fn init() {
    let ist = [IST_DOUBLE_FAULT, IST_NMI, IST_MACHINE_CHECK].map(|slot| ist_stack_bounds(slot).1);
    init_cpu(0, ist);
}

/// Builds CPU `cpu`'s GDT and TSS with the given IST stack tops (indexed by the `IST_*` slots)
/// and loads them on the executing CPU, reloading every segment register.
pub fn init_cpu(cpu: usize, ist_tops: [u64; 3]) {
    let Some(tables) = TABLES.get(cpu) else { return };
    let tss_ptr = tables.tss.get();
    let gdt = tables.gdt.call_once(|| {
        // SAFETY: the TSS is not loaded yet (its descriptor is built right here), so nothing
        // else reads or writes it during this initialisation.
        let tss = unsafe { &mut *tss_ptr };
        for (slot, top) in ist_tops.iter().enumerate() {
            tss.interrupt_stack_table[slot] = VirtAddr::new_truncate(*top);
        }
        let mut gdt = GlobalDescriptorTable::new();
        let code = gdt.append(Descriptor::kernel_code_segment());
        let data = gdt.append(Descriptor::kernel_data_segment());
        gdt.append(Descriptor::user_data_segment());
        gdt.append(Descriptor::user_code_segment());
        // SAFETY: the TSS is a static that lives forever and is not moved.
        gdt.append(unsafe { Descriptor::tss_segment_unchecked(tss_ptr) });
        let cpunode = gdt.append(cpunode_descriptor(cpu));
        debug_assert_eq!((code.0, data.0), (KERNEL_CODE_SELECTOR, KERNEL_DATA_SELECTOR));
        debug_assert_eq!(cpunode.0 & !3, CPUNODE_SELECTOR & !3);
        gdt
    });
    gdt.load();
    let code = SegmentSelector::new(KERNEL_CODE_SELECTOR / 8, PrivilegeLevel::Ring0);
    let data = SegmentSelector::new(KERNEL_DATA_SELECTOR / 8, PrivilegeLevel::Ring0);
    let null = SegmentSelector(0);
    // SAFETY: the selectors name the descriptors appended above in the GDT that was just loaded,
    // and the TSS descriptor (index 5) refers to a 'static TSS. GS is reloaded with the null
    // selector before the GS base is written (percpu::install), never after.
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
