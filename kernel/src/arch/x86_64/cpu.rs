//! CPU identification, FPU/SSE enabling, the time-stamp counter (and its TSC_AUX register, which
//! holds the CPU's index for RDTSCP in the vDSO's getcpu) and halting.

use core::arch::x86_64::{__cpuid, __cpuid_count, _rdtsc};

use ::x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use ::x86_64::registers::xcontrol::{XCr0, XCr0Flags};

/// `cpuid(leaf, subleaf)` as `(eax, ebx, ecx, edx)`.
pub fn cpuid(leaf: u32, subleaf: u32) -> (u32, u32, u32, u32) {
    let r = __cpuid_count(leaf, subleaf);
    (r.eax, r.ebx, r.ecx, r.edx)
}

/// The CPU vendor and brand strings, for the boot log.
pub fn brand(buf: &mut [u8; 48]) -> &str {
    // Leaf 0x80000000 reports the highest extended leaf.
    let max_ext = __cpuid(0x8000_0000).eax;
    if max_ext < 0x8000_0004 {
        return "unknown x86-64 CPU";
    }
    for (i, leaf) in (0x8000_0002u32..=0x8000_0004).enumerate() {
        let (a, b, c, d) = cpuid(leaf, 0);
        for (j, reg) in [a, b, c, d].iter().enumerate() {
            buf[i * 16 + j * 4..i * 16 + j * 4 + 4].copy_from_slice(&reg.to_le_bytes());
        }
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    core::str::from_utf8(&buf[..end]).unwrap_or("unknown x86-64 CPU").trim()
}

/// Enables the x87 FPU and SSE (and XSAVE with every state component the CPU offers among
/// x87/SSE/AVX), so that user programs and later kernel code may use them.
pub fn enable_fpu_sse() {
    let (_, _, ecx, _) = cpuid(1, 0);
    let has_xsave = ecx & (1 << 26) != 0;
    // SAFETY: setting MP/NE and clearing EM/TS, and enabling OSFXSR/OSXMMEXCPT(/OSXSAVE) is the
    // architected way to turn on the FPU and SSE; no memory is affected.
    unsafe {
        Cr0::update(|f| {
            f.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
            f.insert(Cr0Flags::MONITOR_COPROCESSOR | Cr0Flags::NUMERIC_ERROR);
        });
        Cr4::update(|f| f.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE));
        if has_xsave {
            Cr4::update(|f| f.insert(Cr4Flags::OSXSAVE));
            let (supported_low, _, _, _) = cpuid(0xd, 0);
            let mut xcr0 = XCr0Flags::X87 | XCr0Flags::SSE;
            if supported_low & (1 << 2) != 0 {
                xcr0 |= XCr0Flags::AVX;
            }
            XCr0::write(xcr0);
        }
        core::arch::asm!("fninit", options(nomem, nostack));
    }
}

/// Whether XSAVE was enabled by [`enable_fpu_sse`].
pub fn xsave_enabled() -> bool {
    Cr4::read().contains(Cr4Flags::OSXSAVE)
}

/// The time-stamp counter.
#[inline]
pub fn read_timestamp() -> u64 {
    // SAFETY: RDTSC is always available in long mode and only reads a counter.
    unsafe { _rdtsc() }
}

/// Halts the CPU forever with interrupts disabled.
pub fn halt_forever() -> ! {
    loop {
        ::x86_64::instructions::interrupts::disable();
        ::x86_64::instructions::hlt();
    }
}

/// Atomically enables interrupts and halts until the next one arrives.
pub fn enable_interrupts_and_wait() {
    ::x86_64::instructions::interrupts::enable_and_hlt();
}

/// Runs `f` with interrupts disabled on this CPU, restoring the previous state afterwards.
/// Always inlined: a few instructions around `f`, on hot paths (the heap, the scheduler), whose
/// cost otherwise depended on how the compiler happened to partition the crate.
#[inline(always)]
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    ::x86_64::instructions::interrupts::without_interrupts(f)
}

/// Raises a breakpoint exception (#BP).
pub fn breakpoint() {
    ::x86_64::instructions::interrupts::int3();
}

/// Index of the executing CPU (0 = boot CPU), read from the per-CPU block through GS.
#[inline]
pub fn cpu_index() -> usize {
    super::percpu::cpu_index()
}

/// Enables interrupts on this CPU.
pub fn enable_interrupts() {
    ::x86_64::instructions::interrupts::enable();
}

/// Disables interrupts on this CPU.
pub fn disable_interrupts() {
    ::x86_64::instructions::interrupts::disable();
}

/// Disables interrupts and returns whether they were enabled (for [`restore_interrupts`]).
pub fn save_and_disable_interrupts() -> bool {
    let enabled = ::x86_64::instructions::interrupts::are_enabled();
    ::x86_64::instructions::interrupts::disable();
    enabled
}

/// Re-enables interrupts if `enabled` (the value [`save_and_disable_interrupts`] returned).
pub fn restore_interrupts(enabled: bool) {
    if enabled {
        ::x86_64::instructions::interrupts::enable();
    }
}

/// Sets the FS segment base (the user thread pointer; the kernel does not use FS).
pub fn set_fs_base(base: u64) {
    ::x86_64::registers::model_specific::FsBase::write(::x86_64::VirtAddr::new_truncate(base));
}

/// The user GS base while in the kernel (it sits in KERNEL_GS_BASE until `swapgs`).
pub fn set_user_gs_base(base: u64) {
    ::x86_64::registers::model_specific::KernelGsBase::write(::x86_64::VirtAddr::new_truncate(base));
}

/// IA32_TSC_AUX: the value RDTSCP (and RDPID) return in ECX.
const MSR_TSC_AUX: u32 = 0xc000_0103;

/// Whether the CPU has RDTSCP (CPUID 0x8000_0001 EDX bit 27), hence the TSC_AUX register.
pub fn has_rdtscp() -> bool {
    cpuid(0x8000_0000, 0).0 >= 0x8000_0001 && cpuid(0x8000_0001, 0).3 & (1 << 27) != 0
}

/// Stores this CPU's index in TSC_AUX (node 0 in bits 12 and up, as Linux encodes it), so that
/// user code learns its CPU with RDTSCP; does nothing without RDTSCP.
pub fn set_tsc_aux(cpu: usize) {
    if !has_rdtscp() {
        return;
    }
    let value = (cpu & 0xfff) as u64;
    // SAFETY: TSC_AUX exists (RDTSCP is reported); it only feeds RDTSCP/RDPID's result.
    unsafe { ::x86_64::registers::model_specific::Msr::new(MSR_TSC_AUX).write(value) };
}

/// CPUID leaf 1 EDX: the feature bits Linux reports as AT_HWCAP.
pub fn features_edx() -> u32 {
    cpuid(1, 0).3
}

/// A hardware random number (RDRAND), if the CPU has it and it delivered.
pub fn hardware_random() -> Option<u64> {
    if cpuid(1, 0).2 & (1 << 30) == 0 {
        return None;
    }
    for _ in 0..10 {
        let mut value = 0u64;
        // SAFETY: RDRAND is available (CPUID.1:ECX bit 30); it writes one register and CF.
        let ok = unsafe { core::arch::x86_64::_rdrand64_step(&mut value) };
        if ok == 1 {
            return Some(value);
        }
    }
    None
}
