//! 16550 UART driver (COM1 at I/O port 0x3f8): 115200 baud, 8N1, FIFOs on, optional receive IRQ.

use crate::arch::io::{inb, outb};

/// I/O base of the first serial port.
pub const COM1_BASE: u16 = 0x3f8;
/// Legacy IRQ line of COM1.
pub const COM1_IRQ: u8 = 4;

const DATA: u16 = 0;
const INTERRUPT_ENABLE: u16 = 1;
const FIFO_CONTROL: u16 = 2;
const LINE_CONTROL: u16 = 3;
const MODEM_CONTROL: u16 = 4;
const LINE_STATUS: u16 = 5;

const LSR_DATA_READY: u8 = 0x01;
const LSR_TRANSMIT_EMPTY: u8 = 0x20;
const MCR_DTR_RTS_OUT2: u8 = 0x0b;
#[cfg(feature = "ktest")]
const MCR_LOOPBACK: u8 = 0x10;

/// One 16550-compatible UART.
pub struct Uart16550 {
    base: u16,
}

impl Uart16550 {
    /// The UART at I/O base `base` (not yet initialised).
    pub const fn new(base: u16) -> Self {
        Uart16550 { base }
    }

    /// Programs 115200 baud 8N1 with FIFOs, interrupts off.
    pub fn init(&self) {
        outb(self.base + INTERRUPT_ENABLE, 0x00);
        outb(self.base + LINE_CONTROL, 0x80); // DLAB on: divisor follows
        outb(self.base + DATA, 0x01); // divisor 1 = 115200 baud
        outb(self.base + INTERRUPT_ENABLE, 0x00);
        outb(self.base + LINE_CONTROL, 0x03); // 8 bits, no parity, 1 stop bit, DLAB off
        outb(self.base + FIFO_CONTROL, 0xc7); // enable + clear FIFOs, 14-byte threshold
        outb(self.base + MODEM_CONTROL, MCR_DTR_RTS_OUT2);
    }

    /// Sends one byte, waiting (boundedly) for room in the transmitter.
    pub fn write_byte(&self, byte: u8) {
        for _ in 0..100_000 {
            if inb(self.base + LINE_STATUS) & LSR_TRANSMIT_EMPTY != 0 {
                break;
            }
            core::hint::spin_loop();
        }
        outb(self.base + DATA, byte);
    }

    /// A received byte, if one is waiting.
    pub fn read_byte(&self) -> Option<u8> {
        (inb(self.base + LINE_STATUS) & LSR_DATA_READY != 0).then(|| inb(self.base + DATA))
    }

    /// Raises the UART's IRQ when a byte arrives.
    pub fn enable_receive_interrupt(&self) {
        outb(self.base + INTERRUPT_ENABLE, 0x01);
    }

    /// Switches internal loopback on or off (transmitted bytes come back as received bytes).
    #[cfg(feature = "ktest")]
    pub fn set_loopback(&self, on: bool) {
        let mcr = if on { MCR_DTR_RTS_OUT2 | MCR_LOOPBACK } else { MCR_DTR_RTS_OUT2 };
        outb(self.base + MODEM_CONTROL, mcr);
    }
}

impl core::fmt::Write for Uart16550 {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(byte);
        }
        Ok(())
    }
}
