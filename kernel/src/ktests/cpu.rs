//! Tests of the CPU set-up: descriptor tables, FPU/SSE, the interrupt entry path (AC cleared,
//! so SMAP stays on), AC across context switches, the TSC.

use ::x86_64::instructions::tables::{sgdt, sidt};
use ::x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use ::x86_64::registers::segmentation::{Segment, CS, SS};

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::sched::{self, SpawnOptions};
use crate::{kassert, kassert_eq, ktest};

ktest!(fn gdt_and_segments_are_the_kernels() {
    kassert_eq!(CS::get_reg().0, 0x08);
    kassert_eq!(SS::get_reg().0, 0x10);
    // null, kcode, kdata, udata, ucode, TSS (2 slots), CPU number = 8 entries.
    kassert_eq!(sgdt().limit, 8 * 8 - 1);
    // The CPU-number segment (the vDSO's getcpu) gives this CPU's index, on whatever CPU the
    // check runs: interrupts off so the thread stays where it reads.
    let (limit, cpu) = crate::arch::without_interrupts(|| {
        let limit: u32;
        // SAFETY: LSL only reads the descriptor named by the selector (no memory operand, no
        // fault: a bad selector just clears ZF).
        unsafe {
            core::arch::asm!("lsl {0:e}, {1:e}", out(reg) limit,
                in(reg) u32::from(crate::arch::CPUNODE_SELECTOR), options(nomem, nostack))
        };
        (limit, crate::arch::cpu_index())
    });
    kassert_eq!(limit as usize & 0xfff, cpu);
    kassert_eq!(limit >> 12, 0);
    Ok(())
});

ktest!(fn idt_has_256_gates() {
    kassert_eq!(sidt().limit, 256 * 16 - 1);
    Ok(())
});

ktest!(fn fpu_and_sse_are_enabled() {
    let cr0 = Cr0::read();
    kassert!(!cr0.contains(Cr0Flags::EMULATE_COPROCESSOR));
    kassert!(cr0.contains(Cr0Flags::MONITOR_COPROCESSOR));
    kassert!(Cr4::read().contains(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE));
    // An SSE2 integer add really executes.
    let mut lanes = [1u64, 2];
    // SAFETY: movdqu/paddq on a local 16-byte array; xmm0 is declared clobbered.
    unsafe {
        core::arch::asm!(
            "movdqu xmm0, [{p}]", "paddq xmm0, xmm0", "movdqu [{p}], xmm0",
            p = in(reg) lanes.as_mut_ptr(), out("xmm0") _,
        );
    }
    kassert_eq!(lanes, [2, 4]);
    Ok(())
});

ktest!(fn software_interrupt_preserves_registers() {
    let (mut a, mut b, mut c, mut d) = (0x1111u64, 0x2222u64, 0x3333u64, 0x4444u64);
    // SAFETY: vector 0x41 is an unused gate; the common entry path saves and restores every
    // register, which is exactly what this checks.
    unsafe {
        core::arch::asm!(
            "int 0x41",
            inout("r8") a, inout("r9") b, inout("r10") c, inout("r11") d,
        );
    }
    kassert_eq!((a, b, c, d), (0x1111, 0x2222, 0x3333, 0x4444));
    a += b + c + d;
    kassert_eq!(a, 0xaaaa);
    Ok(())
});

ktest!(fn tsc_is_monotonic_and_calibrated() {
    let t0 = crate::arch::read_timestamp();
    let t1 = crate::arch::read_timestamp();
    kassert!(t1 > t0, "TSC did not advance: {t0} then {t1}");
    let hz = crate::time::tsc_hz();
    kassert!((10_000_000..100_000_000_000).contains(&hz), "implausible TSC frequency {hz} Hz");
    Ok(())
});

/// RFLAGS.AC of the executing code.
fn ac_set() -> bool {
    ::x86_64::registers::rflags::read_raw() & (1 << 18) != 0
}

ktest!(fn interrupt_entry_clears_ac() {
    if !crate::arch::user_memory_protection().1 {
        return Ok(()); // no SMAP, no AC to worry about (and no stac/clac instructions)
    }
    let before = crate::arch::ENTRY_WITH_AC.load(Ordering::SeqCst);
    // An interrupt taken with AC set (as a user program may leave it) must not run its handler
    // with SMAP suspended.
    // SAFETY: stac/clac only toggle AC; vector 0x41 is an unused gate whose handler only logs.
    unsafe { core::arch::asm!("stac", "int 0x41", "clac") };
    kassert_eq!(crate::arch::ENTRY_WITH_AC.load(Ordering::SeqCst), before);
    Ok(())
});

ktest!(fn context_switch_keeps_ac_with_its_thread() {
    if !crate::arch::user_memory_protection().1 {
        return Ok(());
    }
    // Two threads on one CPU take turns; this one yields with AC set, the other must never
    // resume with it (SMAP off), and this one must get it back.
    let here = crate::arch::cpu_index();
    let done = Arc::new(AtomicBool::new(false));
    let other_done = done.clone();
    let other = sched::spawn_with("ac-watch", SpawnOptions { cpu: Some(here), ..Default::default() }, move || {
        let mut leaks = 0;
        while !other_done.load(Ordering::SeqCst) {
            sched::yield_now();
            if ac_set() {
                leaks += 1;
            }
        }
        leaks
    }).map_err(|e| crate::ktest::TestFailure::new(format_args!("spawn: {e:?}")))?;
    let mut lost = 0;
    for _ in 0..200 {
        // SAFETY: stac/clac only toggle AC; nothing touches user memory in between.
        unsafe { core::arch::asm!("stac") };
        sched::yield_now();
        if !ac_set() {
            lost += 1;
        }
        // SAFETY: as above.
        unsafe { core::arch::asm!("clac") };
    }
    done.store(true, Ordering::SeqCst);
    let leaks = other.join();
    kassert!(leaks == 0, "the other thread resumed {leaks} times with AC set");
    kassert!(lost == 0, "AC lost across {lost} switches");
    Ok(())
});
