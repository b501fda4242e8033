//! Tests of the console drivers: VGA text output, colours and scrolling, serial loopback.

use crate::drivers::serial::{Uart16550, COM1_BASE};
use crate::drivers::vga_text::{HEIGHT, WIDTH};
use crate::{console, kassert, kassert_eq, ktest};

fn row_text(vga: &crate::drivers::vga_text::VgaText, row: usize, len: usize) -> [u8; 16] {
    let mut text = [0u8; 16];
    for (col, byte) in text.iter_mut().enumerate().take(len.min(16)) {
        *byte = vga.cell(row, col) as u8;
    }
    text
}

ktest!(fn vga_shows_written_text_with_colours() {
    console::with(|c| {
        let Some(vga) = c.vga.as_mut() else { return Err(crate::ktest::TestFailure::new(format_args!("no VGA"))) };
        vga.write_byte(b'\n');
        let (row, col) = vga.cursor();
        kassert_eq!(col, 0);
        for &b in b"\x1b[91mExo\x1b[0m" {
            vga.write_byte(b);
        }
        kassert_eq!(&row_text(vga, row, 3)[..3], b"Exo");
        // Bright red on black = 0x0c.
        kassert_eq!(vga.cell(row, 0) >> 8, 0x0c);
        kassert_eq!(vga.attribute(), 0x07);
        kassert_eq!(vga.cursor(), (row, 3));
        vga.write_byte(b'\n');
        Ok(())
    })
});

ktest!(fn vga_scrolls_at_the_bottom() {
    console::with(|c| {
        let Some(vga) = c.vga.as_mut() else { return Err(crate::ktest::TestFailure::new(format_args!("no VGA"))) };
        for _ in 0..HEIGHT {
            vga.write_byte(b'\n');
        }
        for &b in b"scroll-1\nscroll-2" {
            vga.write_byte(b);
        }
        kassert_eq!(vga.cursor(), (HEIGHT - 1, 8));
        kassert_eq!(&row_text(vga, HEIGHT - 2, 8)[..8], b"scroll-1");
        kassert_eq!(&row_text(vga, HEIGHT - 1, 8)[..8], b"scroll-2");
        // A long line wraps instead of writing past the row.
        vga.write_byte(b'\n');
        for _ in 0..WIDTH + 2 {
            vga.write_byte(b'w');
        }
        kassert_eq!(vga.cursor(), (HEIGHT - 1, 2));
        vga.write_byte(b'\n');
        Ok(())
    })
});

ktest!(fn serial_loopback_round_trips_bytes() {
    console::with(|_| {
        let uart = Uart16550::new(COM1_BASE);
        while uart.read_byte().is_some() {}
        uart.set_loopback(true);
        let mut got = [0u8; 4];
        for (i, &b) in b"exo!".iter().enumerate() {
            uart.write_byte(b);
            let mut byte = None;
            for _ in 0..10_000 {
                byte = uart.read_byte();
                if byte.is_some() {
                    break;
                }
            }
            got[i] = byte.unwrap_or(0);
        }
        uart.set_loopback(false);
        kassert_eq!(&got, b"exo!");
        kassert!(uart.read_byte().is_none());
        Ok(())
    })
});
