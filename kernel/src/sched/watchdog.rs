//! The kernel watchdog: notices a CPU that has taken no timer tick for [`LIMIT_NS`] (it runs with
//! interrupts off, or is stuck inside an interrupt handler: a deadlock on a spin lock, an endless
//! loop) and reports it on the console as `WATCHDOG: CPU n ...`, then sends that CPU a
//! non-maskable interrupt, whose handler prints the stuck CPU's registers and backtrace (and
//! lets it go on). The fuzz, soak and boot runs of xtask fail on that line.
//!
//! Cost: every CPU's tick already counts its ticks (`CpuScheduler::ticks`); once per
//! [`PERIOD_NS`] one ticking CPU (whichever wins a compare-exchange) compares every CPU's count
//! with the one it saw last. A CPU that never ticked yet (still starting) is not watched. With a
//! single CPU nobody is left to notice; a CPU looping in the kernel with interrupts on keeps
//! ticking and is not reported (preemption, not the watchdog, deals with it).
//!
//! Lock rules: none are taken; the per-CPU records are atomics written only by the CPU that won
//! the period's check, and the report goes through the console's emergency path (which does not
//! wait for a console lock held by the stuck CPU).

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::arch::MAX_CPUS;

/// A CPU without a tick for this long is reported. Generous: QEMU's TCG on a loaded host can
/// leave a virtual CPU unscheduled for a while.
pub const LIMIT_NS: u64 = 10_000_000_000;
/// How often the CPUs are compared.
pub const PERIOD_NS: u64 = 100_000_000;

static ENABLED: AtomicBool = AtomicBool::new(false);
static NEXT_CHECK_NS: AtomicU64 = AtomicU64::new(0);
static LAST_TICKS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static LAST_CHANGE_NS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static REPORTED: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// CPUs reported since boot.
static REPORTS: AtomicU64 = AtomicU64::new(0);

/// Starts watching (once the CPUs are up and ticking).
pub fn start() {
    ENABLED.store(true, Ordering::SeqCst);
}

/// How many stuck CPUs have been reported since boot.
#[allow(dead_code)]
pub fn reports() -> u64 {
    REPORTS.load(Ordering::Relaxed)
}

/// Called from every CPU's timer tick (interrupts off).
pub fn tick() {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let now = crate::time::since_boot_ns();
    let next = NEXT_CHECK_NS.load(Ordering::Relaxed);
    if now < next
        || NEXT_CHECK_NS
            .compare_exchange(next, now.saturating_add(PERIOD_NS), Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    for cpu in super::online() {
        let i = cpu.index();
        if i >= MAX_CPUS {
            continue;
        }
        let ticks = cpu.ticks();
        if ticks != LAST_TICKS[i].load(Ordering::Relaxed) {
            LAST_TICKS[i].store(ticks, Ordering::Relaxed);
            LAST_CHANGE_NS[i].store(now, Ordering::Relaxed);
            REPORTED[i].store(false, Ordering::Relaxed);
            continue;
        }
        let silent = now.saturating_sub(LAST_CHANGE_NS[i].load(Ordering::Relaxed));
        if ticks > 0 && silent >= LIMIT_NS && !REPORTED[i].swap(true, Ordering::Relaxed) {
            report(i, silent);
        }
    }
}

fn report(cpu: usize, silent_ns: u64) {
    REPORTS.fetch_add(1, Ordering::Relaxed);
    {
        let mut out = crate::console::emergency();
        let _ = writeln!(
            out,
            "\nWATCHDOG: CPU {cpu} has taken no timer tick for {}.{:01} s (interrupts off or stuck in an interrupt handler); its backtrace follows (NMI)",
            silent_ns / 1_000_000_000,
            silent_ns / 100_000_000 % 10
        );
    }
    if !crate::arch::smp::send_nmi_to_cpu(cpu) {
        let mut out = crate::console::emergency();
        let _ = writeln!(out, "WATCHDOG: CPU {cpu} is not online: no NMI sent");
    }
}
