//! TSC ticks to nanoseconds by multiply-and-shift: `ns = (ticks * mult) >> shift` in 128-bit
//! arithmetic. The kernel's clock and the vDSO's user-space clock both compute time this way,
//! from the same `mult` and `shift` (the kernel publishes them in the vvar page), so the two
//! give exactly the same nanoseconds for the same TSC value. `shift` is chosen as large as
//! `mult` allows (up to 64), so the result is `floor(ticks * 10^9 / hz)` or one less.

/// Nanoseconds per second.
pub const NS_PER_SEC: u64 = 1_000_000_000;

/// The scale factor of a TSC running at `hz`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TscScale {
    pub mult: u64,
    pub shift: u32,
}

impl TscScale {
    /// The scale for a `hz` TSC (`None` for 0 Hz): the largest `shift` ≤ 64 whose
    /// `mult = floor(10^9 * 2^shift / hz)` fits in 64 bits.
    pub fn from_hz(hz: u64) -> Option<TscScale> {
        if hz == 0 {
            return None;
        }
        let mut shift = 64u32;
        loop {
            let mult = (u128::from(NS_PER_SEC) << shift) / u128::from(hz);
            if let Ok(mult) = u64::try_from(mult) {
                return Some(TscScale { mult, shift });
            }
            // shift 0 always fits: 10^9 / hz < 2^64.
            shift = shift.checked_sub(1)?;
        }
    }

    /// Nanoseconds in `ticks` TSC ticks (truncated to 64 bits, as the vDSO does).
    pub fn ticks_to_ns(self, ticks: u64) -> u64 {
        ((u128::from(ticks) * u128::from(self.mult)) >> self.shift.min(127)) as u64
    }
}

/// Splits nanoseconds into whole seconds and the nanoseconds left (a `timespec`).
pub fn split_ns(ns: u64) -> (u64, u32) {
    (ns / NS_PER_SEC, (ns % NS_PER_SEC) as u32)
}
