//! The entry point and load-bias checks: `e_entry` outside the user half is refused, and
//! `entry_at` / `fits` never overflow whatever the bias.

use super::build::*;
use crate::*;

#[test]
fn entry_outside_user_half_is_refused() {
    for entry in [USER_END, USER_END + 1, 0x8000_0000_0000_0000, u64::MAX] {
        let mut exec = exec_image();
        put_u64(&mut exec, ehdr::ENTRY, entry);
        assert_eq!(parse(&exec), Err(ElfError::BadEntry), "ET_EXEC entry {entry:#x}");
        let mut dynamic = dyn_image();
        put_u64(&mut dynamic, ehdr::ENTRY, entry);
        assert_eq!(parse(&dynamic), Err(ElfError::BadEntry), "ET_DYN entry {entry:#x}");
    }
    // The last user address is still an entry (Linux accepts it too).
    let mut exec = exec_image();
    put_u64(&mut exec, ehdr::ENTRY, USER_END - 1);
    assert_eq!(parse(&exec).map(|img| img.entry), Ok(USER_END - 1));
}

#[test]
fn entry_at_is_checked() {
    let mut img = parse(&dyn_image()).unwrap();
    assert_eq!(img.entry_at(0x5555_5555_4000), Ok(0x5555_5555_5010));
    assert_eq!(img.entry_at(USER_END - 0x1010), Err(ElfError::BadEntry));
    assert_eq!(img.entry_at(u64::MAX), Err(ElfError::BadEntry));
    // Even a value `parse` would refuse cannot overflow here.
    img.entry = u64::MAX;
    assert_eq!(img.entry_at(0x5555_5555_4000), Err(ElfError::BadEntry));
}

#[test]
fn fits_checks_floor_and_ceiling() {
    let img = parse(&dyn_image()).unwrap(); // segments span [0, 0x5000)
    assert!(!img.fits(0, 0x1_0000, USER_END), "page zero is below the floor");
    assert!(img.fits(0x1_0000, 0x1_0000, USER_END));
    assert!(img.fits(USER_END - 0x5000, 0x1_0000, USER_END));
    assert!(!img.fits(USER_END - 0x4000, 0x1_0000, USER_END));
    assert!(!img.fits(u64::MAX - 0x1000, 0, u64::MAX), "overflow is not a fit");
    let exec = parse(&exec_image()).unwrap(); // [0x40_0000, 0x40_5000)
    assert!(exec.fits(0, 0x1_0000, USER_END));
    assert!(!exec.fits(0, 0x40_1000, USER_END));
}
