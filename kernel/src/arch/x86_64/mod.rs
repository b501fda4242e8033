//! x86-64 support: boot entry, CPU tables, traps, port I/O, timers, per-CPU data, the local APIC,
//! ACPI (MADT) and SMP start-up. Reached only through the facade in `arch/mod.rs`.

pub mod acpi;
pub mod apic;
pub mod backtrace;
pub mod cpu;
pub mod gdt;
pub mod guard;
pub mod handlers;
pub mod idt;
pub mod io;
pub mod mmu;
pub mod msi;
pub mod percpu;
pub mod pic;
pub mod pit;
pub mod qemu;
pub mod rtc;
pub mod smp;
#[cfg(feature = "ktest")]
pub mod stack;
pub mod start;
pub mod switch;
pub mod syscall;
pub mod trampoline;
pub mod tsc;
pub mod trap;
pub mod usercopy;

/// Virtual address at which the boot page tables map physical memory 0..4 GiB.
pub const DIRECT_MAP_BASE: u64 = 0xffff_8000_0000_0000;
/// Physical memory reachable through the boot page tables' direct map (the memory manager then
/// maps all of physical memory there).
pub const BOOT_DIRECT_MAP_SIZE: u64 = 4 << 30;

/// Brings the boot CPU into the state the rest of the kernel expects: FPU/SSE on, the kernel's
/// own GDT/TSS, per-CPU data (GS base) and IDT loaded, legacy PICs remapped and masked. Runs
/// with interrupts disabled.
pub fn init_early() {
    cpu::enable_fpu_sse();
    gdt::init();
    // The APIC id from CPUID until the local APIC is mapped (`smp::init_boot_cpu`).
    percpu::install(0, cpu::cpuid(1, 0).1 >> 24);
    percpu::set_online();
    idt::init();
    syscall::init_cpu();
    cpu::set_tsc_aux(0);
    pic::init();
}
