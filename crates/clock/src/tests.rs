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
