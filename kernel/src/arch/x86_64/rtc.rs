//! The CMOS real-time clock: reads its date and time registers consistently (outside an update
//! cycle, twice until two reads agree). Decoding is `exo_clock`'s.

use exo_clock::RtcRegisters;

use super::io::{inb, outb};

const CMOS_INDEX: u16 = 0x70;
const CMOS_DATA: u16 = 0x71;
/// Keeps NMIs disabled while a register is selected, as the CMOS index port also gates NMI.
const NMI_DISABLE: u8 = 0x80;

fn read_register(index: u8) -> u8 {
    outb(CMOS_INDEX, NMI_DISABLE | index);
    inb(CMOS_DATA)
}

fn update_in_progress() -> bool {
    read_register(0x0a) & 0x80 != 0
}

fn read_once() -> RtcRegisters {
    // An update cycle lasts under 2 ms; bound the wait anyway.
    for _ in 0..1_000_000 {
        if !update_in_progress() {
            break;
        }
        core::hint::spin_loop();
    }
    RtcRegisters {
        second: read_register(0x00),
        minute: read_register(0x02),
        hour: read_register(0x04),
        day: read_register(0x07),
        month: read_register(0x08),
        year: read_register(0x09),
        century: None,
        status_b: read_register(0x0b),
    }
}

/// The RTC's registers, read until two consecutive reads agree (at most a few tries).
pub fn read() -> RtcRegisters {
    let mut last = read_once();
    for _ in 0..5 {
        let next = read_once();
        if next == last {
            break;
        }
        last = next;
    }
    last
}
