//! The 8254 programmable interval timer, used here to measure the TSC frequency.

use super::cpu::read_timestamp;
use super::io::{inb, outb};

/// The PIT's input clock in Hz.
pub const PIT_HZ: u64 = 1_193_182;

/// Measures the TSC frequency in Hz by timing `ms` milliseconds of PIT channel 2, which counts
/// down with its gate on and raises its output (port 0x61 bit 5) at zero. Returns `None` when the
/// PIT does not respond.
pub fn measure_tsc_hz(ms: u64) -> Option<u64> {
    let ticks = PIT_HZ * ms / 1000;
    if ticks == 0 || ticks > 0xffff {
        return None;
    }
    // Gate on, speaker off.
    let port61 = inb(0x61);
    outb(0x61, (port61 & !0x02) | 0x01);
    // Channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count), binary.
    outb(0x43, 0b1011_0000);
    outb(0x42, ticks as u8);
    outb(0x42, (ticks >> 8) as u8);
    let start = read_timestamp();
    // Bound the wait: ~2^32 TSC cycles is seconds on any CPU.
    let mut spins: u64 = 0;
    while inb(0x61) & 0x20 == 0 {
        spins += 1;
        if spins > 100_000_000 {
            outb(0x61, port61);
            return None;
        }
    }
    let elapsed = read_timestamp().wrapping_sub(start);
    outb(0x61, port61);
    Some(elapsed * PIT_HZ / ticks)
}

/// Programs channel 0 to interrupt (IRQ0) `hz` times a second; returns the exact rate.
pub fn start_periodic(hz: u32) -> u64 {
    let divisor = (PIT_HZ / u64::from(hz.max(19))).clamp(1, 0xffff);
    // Channel 0, lobyte/hibyte, mode 2 (rate generator), binary.
    outb(0x43, 0b0011_0100);
    outb(0x40, divisor as u8);
    outb(0x40, (divisor >> 8) as u8);
    PIT_HZ / divisor
}
