//! Tests of SMP: the MADT and the CPUs brought up from it, per-CPU data through GS, IPIs,
//! running a function on another CPU, TLB shootdown across CPUs, and the APIC timer's rate.
//! They pass on one CPU too (the cross-CPU parts then have nothing to check); xtask runs them
//! with `-smp 1`, `-smp 2` and `-smp 4`.

use core::sync::atomic::Ordering;

use exo_paging::{PageFlags, PageSize};

use crate::arch::{self, percpu, smp};
use crate::memory::{frames, paging, phys_to_virt};
use crate::{kassert, kassert_eq, ktest};

/// A page of the ktest window (PML4 448) no other test uses.
const SHOOTDOWN_VA: u64 = 0xffff_e000_8000_0000; // its own 1 GiB slot: memory.rs maps a 1 GiB page at 0xffff_e000_4000_0000
/// Local vector for the timer test (not the scheduler's `VECTOR_TIMER`).

/// Busy-waits until `done()` or `ms` milliseconds of TSC time have passed; returns `done()`.
fn wait_until(ms: u64, done: impl Fn() -> bool) -> bool {
    let start = arch::read_timestamp();
    while !done() {
        if crate::time::ticks_to_ns(arch::read_timestamp() - start) > ms * 1_000_000 {
            return done();
        }
        core::hint::spin_loop();
    }
    true
}

ktest!(fn madt_processors_match_the_cpus_online() {
    let listed = smp::madt_cpu_count();
    kassert!(listed >= 1);
    kassert_eq!(arch::cpu_count(), listed.min(arch::MAX_CPUS));
    let online = percpu::online_cpus().count();
    kassert_eq!(online, arch::cpu_count());
    for i in 0..arch::cpu_count() {
        kassert!(percpu::get(i).is_some_and(|b| b.online.load(Ordering::SeqCst)), "CPU {i} is not online");
    }
    Ok(())
});

ktest!(fn per_cpu_block_is_reached_through_gs() {
    let me = percpu::current();
    kassert_eq!(me.index(), arch::cpu_index());
    kassert!(core::ptr::eq(me, percpu::get(arch::cpu_index()).expect("own block")));
    // A thread holding no spin lock runs with preemption enabled; the GS-relative increment
    // and decrement reach this CPU's count.
    kassert_eq!(percpu::preempt_count(), 0);
    percpu::preempt_disable();
    let inside = percpu::preempt_count();
    let same_block = core::ptr::eq(percpu::current(), me);
    percpu::preempt_enable();
    kassert_eq!(inside, 1);
    kassert!(same_block);
    kassert_eq!(percpu::preempt_count(), 0);
    Ok(())
});

ktest!(fn each_cpu_recorded_a_distinct_index_and_apic_id() {
    let n = arch::cpu_count();
    let mut ids = [u32::MAX; arch::MAX_CPUS];
    ids[0] = percpu::get(0).expect("boot block").apic_id.load(Ordering::SeqCst);
    for (i, id) in ids.iter_mut().enumerate().take(n).skip(1) {
        let record = smp::startup_record(i);
        let block_id = percpu::get(i).expect("block").apic_id.load(Ordering::SeqCst);
        kassert_eq!(record, Some((i, block_id)));
        *id = block_id;
    }
    for i in 0..n {
        for j in 0..i {
            kassert!(ids[i] != ids[j], "CPUs {j} and {i} share APIC id {}", ids[i]);
        }
    }
    Ok(())
});

ktest!(fn ipi_round_trip_reaches_every_other_cpu() {
    for cpu in (0..arch::cpu_count()).filter(|&c| c != arch::cpu_index()) {
        let block = percpu::get(cpu).expect("block");
        let before = block.test_ipis.load(Ordering::SeqCst);
        for _ in 0..3 {
            // One at a time: IPIs of the same vector may coalesce while one is pending.
            let seen = block.test_ipis.load(Ordering::SeqCst);
            kassert!(smp::send_ipi_to_cpu(cpu, arch::VECTOR_CALL));
            kassert!(wait_until(1000, || block.test_ipis.load(Ordering::SeqCst) > seen), "CPU {cpu} did not take the IPI");
        }
        kassert!(block.test_ipis.load(Ordering::SeqCst) >= before + 3);
    }
    Ok(())
});

ktest!(fn run_on_cpu_runs_on_that_cpu() {
    for cpu in 0..arch::cpu_count() {
        let result = smp::run_on_cpu(cpu, |x| x + arch::cpu_index() as u64, 1000, 1_000_000_000);
        kassert_eq!(result, Some(1000 + cpu as u64));
    }
    kassert_eq!(smp::run_on_cpu(arch::MAX_CPUS, |x| x, 1, 1_000_000), None);
    Ok(())
});

fn read_shootdown_page(_: u64) -> u64 {
    // SAFETY: the test keeps SHOOTDOWN_VA mapped (to one frame or the other) while it asks other
    // CPUs to read it.
    unsafe { core::ptr::read_volatile(SHOOTDOWN_VA as *const u64) }
}

fn frame_with(value: u64) -> u64 {
    let frame = frames::alloc_zeroed_frame().expect("frame");
    // SAFETY: a fresh frame of RAM, reached through the direct map.
    unsafe { core::ptr::write_volatile(phys_to_virt(frame).expect("direct map") as *mut u64, value) };
    frame
}

ktest!(fn tlb_shootdown_invalidates_other_cpus() {
    let (a, b) = (frame_with(0xaaaa_aaaa), frame_with(0xbbbb_bbbb));
    kassert_eq!(paging::map_kernel(SHOOTDOWN_VA, a, PageSize::Size4K, PageFlags::KERNEL_RW_NX), Ok(()));
    // Every CPU caches the translation to `a`.
    for cpu in 0..arch::cpu_count() {
        kassert_eq!(smp::run_on_cpu(cpu, read_shootdown_page, 0, 1_000_000_000), Some(0xaaaa_aaaa));
    }
    // Re-point the page at `b` without any TLB maintenance...
    let swapped = paging::with_kernel_table(|t, m, f| {
        t.unmap(m, SHOOTDOWN_VA, PageSize::Size4K).is_ok()
            && t.map(m, f, SHOOTDOWN_VA, b, PageSize::Size4K, PageFlags::KERNEL_RW_NX).is_ok()
    });
    kassert_eq!(swapped, Some(true));
    let stale = (0..arch::cpu_count())
        .filter(|&c| smp::run_on_cpu(c, read_shootdown_page, 0, 1_000_000_000) == Some(0xaaaa_aaaa))
        .count();
    log::info!("ktest: {stale} of {} CPU(s) still saw the old frame before the shootdown", arch::cpu_count());
    // ... then shoot it down: every CPU must now see `b`.
    paging::shootdown(SHOOTDOWN_VA, 4096);
    for cpu in 0..arch::cpu_count() {
        kassert_eq!(smp::run_on_cpu(cpu, read_shootdown_page, 0, 1_000_000_000), Some(0xbbbb_bbbb));
    }
    kassert_eq!(smp::SHOOTDOWN_TIMEOUTS.load(Ordering::SeqCst), 0);
    kassert_eq!(paging::unmap_kernel(SHOOTDOWN_VA, PageSize::Size4K), Ok(b));
    kassert_eq!(frames::free_frame(a), Ok(()));
    kassert_eq!(frames::free_frame(b), Ok(()));
    Ok(())
});

ktest!(fn apic_timer_ticks_at_the_calibrated_rate() {
    // Every CPU's scheduler tick is its APIC timer at 1000 Hz: over 50 ms of TSC time each CPU
    // counts about 50 ticks. (Measured on the live tick, so the scheduler keeps its timer.)
    kassert!(arch::apic_timer_hz() > 0, "APIC timer not calibrated");
    // Under emulation a virtual CPU descheduled by the host misses ticks (never gains any): a
    // rate calibrated wrongly is out of range on every CPU in every window, a busy host leaves
    // some CPUs short in some windows. So no CPU may ever count too many, and in one of five
    // windows the CPU that ran most must count about 50.
    let counts = || {
        let mut out = [0u64; 64];
        for cpu in crate::sched::online() {
            if let Some(slot) = out.get_mut(cpu.index()) {
                *slot = cpu.ticks();
            }
        }
        out
    };
    let mut best = [0u64; 5];
    for window in best.iter_mut() {
        let before = counts();
        let start = arch::read_timestamp();
        while crate::time::ticks_to_ns(arch::read_timestamp() - start) < 50_000_000 {
            core::hint::spin_loop();
        }
        let after = counts();
        let most = after.iter().zip(before.iter()).map(|(a, b)| a - b).max().unwrap_or(0);
        kassert!(most <= 75, "a CPU counted {most} ticks of a 1000 Hz timer in 50 ms");
        *window = most;
        if most >= 25 {
            return Ok(());
        }
    }
    kassert!(false, "the busiest CPU counted only {best:?} ticks of a 1000 Hz timer in five 50 ms windows");
    Ok(())
});
