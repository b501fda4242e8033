//! Tests of the calendar arithmetic and RTC decoding.

use super::*;
use proptest::prelude::*;

#[test]
fn known_dates() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(days_from_civil(1969, 12, 31), -1);
    let dt = DateTime { year: 2026, month: 11, day: 22, hour: 0, minute: 47, second: 12 };
    assert_eq!(dt.to_unix(), Some(1_795_308_432));
    assert_eq!(DateTime::from_unix(1_795_308_432), dt);
    assert_eq!(std::format!("{dt}"), "2026-11-22 00:47:12 UTC");
}

#[test]
fn invalid_dates_are_rejected() {
    let base = DateTime { year: 2023, month: 2, day: 29, hour: 0, minute: 0, second: 0 };
    assert_eq!(base.to_unix(), None);
    assert!(DateTime { year: 2024, ..base }.is_valid());
    assert!(!DateTime { month: 13, day: 1, ..base }.is_valid());
    assert!(!DateTime { year: 2024, hour: 24, ..base }.is_valid());
}

#[test]
fn decodes_bcd_12_hour_and_binary_24_hour() {
    // 2026-11-22 11:47:12 PM in BCD, 12-hour mode.
    let bcd = RtcRegisters { second: 0x12, minute: 0x47, hour: 0x80 | 0x11, day: 0x22, month: 0x11, year: 0x26, century: None, status_b: 0 };
    assert_eq!(bcd.decode(), Some(DateTime { year: 2026, month: 11, day: 22, hour: 23, minute: 47, second: 12 }));
    // 12 AM is hour 0, 12 PM is hour 12.
    assert_eq!(RtcRegisters { hour: 0x12, ..bcd }.decode().map(|d| d.hour), Some(0));
    assert_eq!(RtcRegisters { hour: 0x92, ..bcd }.decode().map(|d| d.hour), Some(12));
    let bin = RtcRegisters { second: 12, minute: 47, hour: 23, day: 22, month: 11, year: 26, century: Some(20), status_b: 0x06 };
    assert_eq!(bin.decode(), bcd.decode());
}

#[test]
fn garbage_registers_decode_to_none() {
    let bad = RtcRegisters { second: 0x7a, minute: 0, hour: 0, day: 1, month: 1, year: 0, century: None, status_b: 0x02 };
    assert_eq!(bad.decode(), None);
    assert_eq!(RtcRegisters { month: 0x13, second: 0, ..bad }.decode(), None);
    assert_eq!(RtcRegisters { hour: 0x13, second: 0, status_b: 0, ..bad }.decode(), None);
}

proptest! {
    #[test]
    fn unix_round_trip(seconds in -10_000_000_000i64..10_000_000_000) {
        let dt = DateTime::from_unix(seconds);
        prop_assert!(dt.is_valid());
        prop_assert_eq!(dt.to_unix(), Some(seconds));
    }

    #[test]
    fn days_are_consecutive(days in -1_000_000i64..1_000_000) {
        let (y, m, d) = civil_from_days(days);
        prop_assert_eq!(days_from_civil(y, m, d), days);
        let (y2, m2, d2) = civil_from_days(days + 1);
        prop_assert!((y2, m2, d2) > (y, m, d));
    }

    #[test]
    fn decode_never_panics(second: u8, minute: u8, hour: u8, day: u8, month: u8, year: u8, century: Option<u8>, status_b: u8) {
        let _ = RtcRegisters { second, minute, hour, day, month, year, century, status_b }.decode();
    }
}

#[test]
fn scale_known_frequencies() {
    assert_eq!(TscScale::from_hz(0), None);
    let ghz = TscScale::from_hz(1_000_000_000).unwrap();
    assert_eq!(ghz, TscScale { mult: 1 << 63, shift: 63 });
    assert_eq!(ghz.ticks_to_ns(123_456_789), 123_456_789);
    let slow = TscScale::from_hz(1).unwrap();
    assert_eq!(slow.ticks_to_ns(3), 3_000_000_000);
    let odd = TscScale::from_hz(2_893_437_000).unwrap();
    assert_eq!(odd.ticks_to_ns(2_893_437_000), 999_999_999);
    assert_eq!(scale::split_ns(1_500_000_001), (1, 500_000_001));
}

proptest! {
    #[test]
    fn scale_is_within_one_ns_of_exact_division(hz in 500_000_001u64..20_000_000_000, ticks in 0u64..(1 << 62)) {
        // Every real TSC runs above 500 MHz: then shift >= 63 and the error is below one ns
        // for any tick count under 2^63 (a century at 3 GHz).
        let scale = TscScale::from_hz(hz).unwrap();
        prop_assert!(scale.shift >= 63);
        let exact = (u128::from(ticks) * 1_000_000_000 / u128::from(hz)) as u64;
        let got = scale.ticks_to_ns(ticks);
        prop_assert!(got == exact || got + 1 == exact, "hz {} ticks {} exact {} got {}", hz, ticks, exact, got);
    }

    #[test]
    fn scale_error_is_bounded_for_any_frequency(hz in 1u64..u64::MAX, ticks in any::<u64>()) {
        let scale = TscScale::from_hz(hz).unwrap();
        let exact = u128::from(ticks) * 1_000_000_000 / u128::from(hz);
        let got = (u128::from(ticks) * u128::from(scale.mult)) >> scale.shift;
        // mult is short of the exact ratio by less than one unit of 2^-shift.
        prop_assert!(got <= exact && exact - got <= (u128::from(ticks) >> scale.shift) + 1);
    }

    #[test]
    fn scale_is_monotonic(hz in 1_000_000u64..20_000_000_000, a in any::<u64>(), b in any::<u64>()) {
        let scale = TscScale::from_hz(hz).unwrap();
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let exact_hi = u128::from(hi) * 1_000_000_000 / u128::from(hz);
        // Only where the result fits in 64 bits (truncation wraps, as a u128 division cast did).
        prop_assume!(exact_hi < u128::from(u64::MAX));
        prop_assert!(scale.ticks_to_ns(lo) <= scale.ticks_to_ns(hi));
    }
}
