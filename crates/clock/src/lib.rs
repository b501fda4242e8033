//! `exo-clock`: the calendar arithmetic behind Exo-OS's wall clock. The kernel reads the CMOS
//! real-time clock's registers at boot (`arch`), decodes them here into a [`DateTime`] and
//! converts that to Unix time (seconds since 1970-01-01 00:00:00 UTC); [`DateTime::from_unix`]
//! goes back for printing. Proleptic Gregorian calendar, UTC, no leap seconds (as Unix time).
//! [`scale`] converts TSC ticks to nanoseconds, the same way in the kernel and in the vDSO.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

#[cfg(test)]
mod tests;

pub mod scale;
pub use scale::TscScale;

/// A calendar date and time of day (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    pub year: i64,
    /// 1–12.
    pub month: u8,
    /// 1–31.
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

/// Days from 1970-01-01 to `year-month-day` (negative before 1970).
pub fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The date of day number `days` since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

impl DateTime {
    /// Whether every field is in range (month 1–12, day within the month, 0–23:59:59).
    pub fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }

    /// Seconds since the Unix epoch, or `None` for an invalid date.
    pub fn to_unix(&self) -> Option<i64> {
        self.is_valid().then(|| {
            days_from_civil(self.year, self.month, self.day) * 86_400
                + i64::from(self.hour) * 3600
                + i64::from(self.minute) * 60
                + i64::from(self.second)
        })
    }

    /// The date and time of Unix time `seconds`.
    pub fn from_unix(seconds: i64) -> DateTime {
        let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
        let secs = seconds.rem_euclid(86_400);
        DateTime { year, month, day, hour: (secs / 3600) as u8, minute: (secs / 60 % 60) as u8, second: (secs % 60) as u8 }
    }
}

impl core::fmt::Display for DateTime {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        write!(f, "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", self.year, self.month, self.day, self.hour, self.minute, self.second)
    }
}

/// The CMOS RTC's time registers as read: seconds (0x00), minutes (0x02), hours (0x04), day of
/// month (0x07), month (0x08), year (0x09), and the century register if the ACPI FADT names one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtcRegisters {
    pub second: u8,
    pub minute: u8,
    pub hour: u8,
    pub day: u8,
    pub month: u8,
    pub year: u8,
    pub century: Option<u8>,
    /// Status register B: bit 2 set = binary (else BCD), bit 1 set = 24-hour (else 12-hour).
    pub status_b: u8,
}

fn from_bcd(value: u8) -> Option<u8> {
    let (high, low) = (value >> 4, value & 0x0f);
    (high < 10 && low < 10).then_some(high * 10 + low)
}

impl RtcRegisters {
    /// Decodes BCD or binary, 12- or 24-hour registers; years without a century register are
    /// taken as 2000–2099. `None` when a field is not a valid encoding or the date is invalid.
    pub fn decode(&self) -> Option<DateTime> {
        let binary = self.status_b & 0x04 != 0;
        let h24 = self.status_b & 0x02 != 0;
        let field = |v: u8| if binary { Some(v) } else { from_bcd(v) };
        let pm = !h24 && self.hour & 0x80 != 0;
        let mut hour = field(self.hour & 0x7f)?;
        if !h24 {
            if !(1..=12).contains(&hour) {
                return None;
            }
            hour = (hour % 12) + if pm { 12 } else { 0 };
        }
        let year = i64::from(field(self.year)?);
        let century = match self.century {
            Some(c) => i64::from(field(c)?),
            None => 20,
        };
        let date = DateTime {
            year: century * 100 + year,
            month: field(self.month)?,
            day: field(self.day)?,
            hour,
            minute: field(self.minute)?,
            second: field(self.second)?,
        };
        date.is_valid().then_some(date)
    }
}
