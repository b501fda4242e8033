//! The time-stamp counter's frequency, once `time::calibrate` has measured it (a 1 GHz guess
//! before), and the conversion of TSC ticks to nanoseconds that the SMP and APIC code and the
//! kernel's clock share.

use core::sync::atomic::{AtomicU64, Ordering};

/// Assumed frequency before calibration.
pub const FALLBACK_HZ: u64 = 1_000_000_000;

static HZ: AtomicU64 = AtomicU64::new(0);

/// Records the measured frequency.
pub fn set_hz(hz: u64) {
    HZ.store(hz, Ordering::Relaxed);
}

/// The TSC frequency in Hz ([`FALLBACK_HZ`] until measured).
pub fn hz() -> u64 {
    match HZ.load(Ordering::Relaxed) {
        0 => FALLBACK_HZ,
        hz => hz,
    }
}

/// Converts TSC ticks to nanoseconds.
pub fn ticks_to_ns(ticks: u64) -> u64 {
    (u128::from(ticks) * 1_000_000_000 / u128::from(hz())) as u64
}
