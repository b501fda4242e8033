//! The time-stamp counter's frequency, once `time::calibrate` has measured it (a 1 GHz guess
//! before), and the conversion of TSC ticks to nanoseconds that the SMP and APIC code and the
//! kernel's clock share: multiply-and-shift (`exo_clock::TscScale`), the very arithmetic the
//! vDSO does in user space with the same factors.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use exo_clock::TscScale;

/// Assumed frequency before calibration.
pub const FALLBACK_HZ: u64 = 1_000_000_000;

static HZ: AtomicU64 = AtomicU64::new(0);
/// The scale of [`HZ`] (that of [`FALLBACK_HZ`], 2^63 >> 63, until measured).
static MULT: AtomicU64 = AtomicU64::new(1 << 63);
static SHIFT: AtomicU32 = AtomicU32::new(63);

/// Records the measured frequency (once at boot, before other CPUs and user programs run).
pub fn set_hz(hz: u64) {
    let Some(scale) = TscScale::from_hz(hz) else { return };
    MULT.store(scale.mult, Ordering::Relaxed);
    SHIFT.store(scale.shift, Ordering::Relaxed);
    HZ.store(hz, Ordering::Relaxed);
}

/// The TSC frequency in Hz ([`FALLBACK_HZ`] until measured).
pub fn hz() -> u64 {
    match HZ.load(Ordering::Relaxed) {
        0 => FALLBACK_HZ,
        hz => hz,
    }
}

/// The current ticks-to-nanoseconds factors.
pub fn scale() -> TscScale {
    TscScale { mult: MULT.load(Ordering::Relaxed), shift: SHIFT.load(Ordering::Relaxed) }
}

/// Converts TSC ticks to nanoseconds.
pub fn ticks_to_ns(ticks: u64) -> u64 {
    scale().ticks_to_ns(ticks)
}
