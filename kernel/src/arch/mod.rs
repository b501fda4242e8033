//! The architecture facade: everything CPU-specific the rest of the kernel uses, re-exported from
//! the one implemented architecture (`x86_64/`). Generic code names `arch::...`, never the
//! submodules, so a port has a single list of items to provide.

mod x86_64;

pub use self::x86_64::apic::{timer_periodic as apic_timer_periodic, VECTOR_RESCHEDULE, VECTOR_TIMER};
#[cfg(feature = "ktest")]
pub use self::x86_64::apic::{timer_hz as apic_timer_hz, VECTOR_CALL};
pub use self::x86_64::acpi::{mcfg, set_rsdp_hint, RsdpHint};
pub use self::x86_64::backtrace::{current_frame_pointer, switched_out_frame, walk as walk_stack};
pub use self::x86_64::cpu::{
    brand as cpu_brand, breakpoint, cpu_index, disable_interrupts, enable_interrupts, enable_interrupts_and_wait,
    restore_interrupts, save_and_disable_interrupts, halt_forever, read_timestamp,
    without_interrupts, xsave_enabled,
};
pub use self::x86_64::cpu::{cpuid, features_edx as cpu_features_edx, hardware_random, has_rdtscp, set_fs_base, set_user_gs_base};
#[cfg(feature = "ktest")]
pub use self::x86_64::gdt::CPUNODE_SELECTOR;
pub use self::x86_64::guard::recover_from_panic;
#[cfg(feature = "ktest")]
pub use self::x86_64::guard::{run_guarded, Fault};
pub use self::x86_64::idt::TrapFrame;
#[cfg(feature = "ktest")]
pub use self::x86_64::idt::{BAD_IRETS, ENTRY_WITH_AC};
#[cfg(feature = "ktest")]
pub use self::x86_64::idt::iret_with_bad_selector;
pub use self::x86_64::io;
pub use self::x86_64::mmu;
pub use self::x86_64::msi;
pub use self::x86_64::percpu::{self, cpu_count, MAX_CPUS};
pub use self::x86_64::pit::{measure_tsc_hz, start_periodic as start_pit_periodic};
pub use self::x86_64::qemu::{exit as exit_emulator, request_exit as request_emulator_exit};
pub use self::x86_64::rtc::read as read_rtc;
pub use self::x86_64::smp;
pub use self::x86_64::tsc;
#[cfg(feature = "ktest")]
pub use self::x86_64::stack::run_on_stack;
pub use self::x86_64::start::PVH_MAGIC;
pub use self::x86_64::switch::{prepare_stack, switch as switch_context, FpuState, LegacyFpuState};
pub use self::x86_64::syscall::{
    enter_user, new_user_frame, sanitize_user_frame, FastSyscall, SYSCALL_VECTOR, USER_FRAME_SIZE,
};
pub use self::x86_64::usercopy::{cmpxchg_user_u32, copy_from_user, copy_to_user};
#[cfg(feature = "ktest")]
pub use self::x86_64::usercopy::protection as user_memory_protection;
pub use self::x86_64::handlers::{preemption_point, set_kernel_handlers, KernelHandlers};
pub use self::x86_64::trap::{exception_name, register_irq, VECTOR_DOUBLE_FAULT, VECTOR_PAGE_FAULT};
#[cfg(feature = "ktest")]
pub use self::x86_64::trap::BREAKPOINTS;
pub use self::x86_64::{init_early, BOOT_DIRECT_MAP_SIZE, DIRECT_MAP_BASE};

/// Exit codes for [`exit_emulator`] (QEMU reports `(code << 1) | 1`).
pub mod exit_code {
    /// Everything passed / orderly power-off: QEMU status 33.
    pub const SUCCESS: u32 = 0x10;
    /// Some in-kernel test failed: QEMU status 35.
    #[cfg(feature = "ktest")]
    pub const FAILURE: u32 = 0x11;
    /// A panic or fatal exception with `panic=exit`: QEMU status 37.
    pub const PANIC: u32 = 0x12;
}
