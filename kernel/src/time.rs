//! Kernel time: the monotonic clock (ns since the kernel started, from the calibrated TSC) and the
//! wall clock (Unix time read from the CMOS RTC at boot, then advanced by the monotonic clock).
//! The timer tick and sleeping are the scheduler's (`sched`).
//!
//! Both clocks are `base + scale(TSC - BOOT_TSC)`; [`params`] gives those inputs to the vDSO's
//! data page (`process::vdso`), which computes the same in user space. Whenever an input
//! changes (calibration, the RTC read, clock_settime) the observer registered with
//! [`set_observer`] is called to republish them.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch;

/// TSC value when Rust code started.
static BOOT_TSC: AtomicU64 = AtomicU64::new(0);
/// TSC ticks per second; 0 until calibrated.
/// Assumed frequency before calibration (only affects the first log timestamps).
const FALLBACK_TSC_HZ: u64 = arch::tsc::FALLBACK_HZ;

/// Everything a reader needs to compute both clocks: monotonic = `scale(tsc - boot_tsc)`,
/// realtime = `boot_unix_ns + monotonic` (0 while the RTC is unread).
#[derive(Clone, Copy, Debug)]
pub struct ClockParams {
    pub boot_tsc: u64,
    pub scale: exo_clock::TscScale,
    pub boot_unix_ns: u64,
}

/// The clocks' current inputs.
pub fn params() -> ClockParams {
    ClockParams {
        boot_tsc: BOOT_TSC.load(Ordering::Relaxed),
        scale: arch::tsc::scale(),
        boot_unix_ns: BOOT_UNIX_NS.load(Ordering::Relaxed),
    }
}

static OBSERVER: spin::Once<fn()> = spin::Once::new();

/// Registers the function called after the clocks' inputs change (once, by the vDSO).
pub fn set_observer(observer: fn()) {
    OBSERVER.call_once(|| observer);
    observer();
}

fn changed() {
    if let Some(observer) = OBSERVER.get() {
        observer();
    }
}

/// Records the boot timestamp. Called first thing in `kernel_main`.
pub fn init_early() {
    BOOT_TSC.store(arch::read_timestamp(), Ordering::Relaxed);
}

/// Measures the TSC frequency against the PIT (10 ms); returns it in Hz.
pub fn calibrate() -> u64 {
    let hz = arch::measure_tsc_hz(10).filter(|&hz| hz > 1_000_000).unwrap_or_else(|| {
        log::warn!("time: PIT did not respond; assuming a 1 GHz TSC");
        FALLBACK_TSC_HZ
    });
    arch::tsc::set_hz(hz);
    changed();
    hz
}

/// Unix time in ns at the kernel's start (`since_boot_ns` = 0), from the RTC; 0 if unreadable.
static BOOT_UNIX_NS: AtomicU64 = AtomicU64::new(0);

/// Reads the RTC and sets the wall clock; returns the date read, if valid.
pub fn init_wall_clock() -> Option<exo_clock::DateTime> {
    let now = arch::read_rtc().decode()?;
    let unix = u64::try_from(now.to_unix()?).ok()?;
    BOOT_UNIX_NS.store((unix * 1_000_000_000).saturating_sub(since_boot_ns()), Ordering::Relaxed);
    changed();
    Some(now)
}

/// Sets the wall clock (clock_settime): `ns` since the Unix epoch is now.
pub fn set_realtime_ns(ns: u64) {
    BOOT_UNIX_NS.store(ns.saturating_sub(since_boot_ns()).max(1), Ordering::Relaxed);
    changed();
}

/// Wall-clock time: ns since the Unix epoch (0 if the RTC could not be read).
pub fn realtime_ns() -> u64 {
    match BOOT_UNIX_NS.load(Ordering::Relaxed) {
        0 => 0,
        boot => boot + since_boot_ns(),
    }
}

/// TSC ticks per second (calibrated, or the fallback before calibration).
pub fn tsc_hz() -> u64 {
    arch::tsc::hz()
}

/// Converts TSC ticks to nanoseconds.
pub fn ticks_to_ns(ticks: u64) -> u64 {
    arch::tsc::ticks_to_ns(ticks)
}

/// Nanoseconds since the kernel's first Rust instruction.
pub fn since_boot_ns() -> u64 {
    ticks_to_ns(arch::read_timestamp().saturating_sub(BOOT_TSC.load(Ordering::Relaxed)))
}

/// Nanoseconds since the CPU was reset (the TSC starts at 0 at reset).
pub fn since_reset_ns() -> u64 {
    ticks_to_ns(arch::read_timestamp())
}
