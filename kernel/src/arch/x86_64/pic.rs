//! The legacy 8259A interrupt controllers: remapped to vectors 32-47 so they cannot collide with
//! CPU exceptions, and masked except for the lines a driver asks for.

use super::io::{inb, io_wait, outb};
use core::sync::atomic::{AtomicU16, Ordering};

/// First vector of the master PIC's lines (IRQ0 → 32).
pub const IRQ_BASE: u8 = 32;

const MASTER_CMD: u16 = 0x20;
const MASTER_DATA: u16 = 0x21;
const SLAVE_CMD: u16 = 0xa0;
const SLAVE_DATA: u16 = 0xa1;

/// Current mask (bit set = line masked); bit 2 (the cascade) is unmasked with any slave line.
static MASK: AtomicU16 = AtomicU16::new(0xffff);

/// Remaps both PICs to vectors 32-47 and masks every line.
pub fn init() {
    outb(MASTER_CMD, 0x11);
    io_wait();
    outb(SLAVE_CMD, 0x11);
    io_wait();
    outb(MASTER_DATA, IRQ_BASE);
    io_wait();
    outb(SLAVE_DATA, IRQ_BASE + 8);
    io_wait();
    outb(MASTER_DATA, 4);
    io_wait();
    outb(SLAVE_DATA, 2);
    io_wait();
    outb(MASTER_DATA, 1);
    io_wait();
    outb(SLAVE_DATA, 1);
    io_wait();
    write_mask(0xffff);
}

fn write_mask(mask: u16) {
    MASK.store(mask, Ordering::Relaxed);
    outb(MASTER_DATA, mask as u8);
    outb(SLAVE_DATA, (mask >> 8) as u8);
}

/// Lets IRQ line `irq` (0-15) through.
pub fn unmask(irq: u8) {
    let mut mask = MASK.load(Ordering::Relaxed) & !(1 << irq);
    if irq >= 8 {
        mask &= !(1 << 2);
    }
    write_mask(mask);
}

/// Whether `irq` is a spurious interrupt (IRQ7/15 with no bit set in the in-service register).
pub fn is_spurious(irq: u8) -> bool {
    if irq != 7 && irq != 15 {
        return false;
    }
    let (cmd, bit) = if irq == 7 { (MASTER_CMD, 7) } else { (SLAVE_CMD, 7) };
    outb(cmd, 0x0b);
    let isr = inb(cmd);
    if isr & (1 << bit) != 0 {
        return false;
    }
    // A spurious IRQ15 still needs an EOI to the master for the cascade line.
    if irq == 15 {
        outb(MASTER_CMD, 0x20);
    }
    true
}

/// Signals end of interrupt for `irq`.
pub fn end_of_interrupt(irq: u8) {
    if irq >= 8 {
        outb(SLAVE_CMD, 0x20);
    }
    outb(MASTER_CMD, 0x20);
}
