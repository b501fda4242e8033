//! VGA text-mode console: 80×25 cells at physical 0xb8000, 16 colours (attribute byte:
//! background << 4 | foreground), scrolling, the hardware
//! cursor, and the ANSI "select graphic rendition" escapes (`ESC [ … m`) the kernel log uses for
//! colour. Other escape sequences are consumed and ignored; the TTY issue extends this set.

use crate::arch::io::outb;

pub const WIDTH: usize = 80;
pub const HEIGHT: usize = 25;
const BUFFER_PADDR: u64 = 0xb8000;

/// ANSI colour number (0-7) to VGA colour.
const ANSI_TO_VGA: [u8; 8] = [0, 4, 2, 6, 1, 5, 3, 7];
/// Light grey on black.
const DEFAULT_ATTR: u8 = 0x07;

#[derive(Clone, Copy)]
enum Escape {
    None,
    Esc,
    Csi { params: [u16; 4], count: usize },
}

/// The text console state: cursor, current attribute and escape-sequence parser.
pub struct VgaText {
    row: usize,
    col: usize,
    attr: u8,
    escape: Escape,
    buffer: *mut u16,
}

// SAFETY: the buffer pointer refers to the one VGA text buffer; `VgaText` is only used behind the
// console lock, so moving it between CPUs is fine.
unsafe impl Send for VgaText {}

impl VgaText {
    /// The console over the VGA buffer, or `None` when the direct map cannot reach it.
    pub fn new() -> Option<Self> {
        let virt = crate::memory::phys_to_virt(BUFFER_PADDR)?;
        Some(VgaText { row: 0, col: 0, attr: DEFAULT_ATTR, escape: Escape::None, buffer: virt as *mut u16 })
    }

    fn put_cell(&mut self, row: usize, col: usize, cell: u16) {
        if row < HEIGHT && col < WIDTH {
            // SAFETY: row/col are in range, so the cell lies inside the 80×25 buffer, which the
            // direct map keeps mapped; volatile because the device reads it.
            unsafe { self.buffer.add(row * WIDTH + col).write_volatile(cell) }
        }
    }

    /// The character and attribute at (`row`, `col`), or 0 outside the screen.
    pub fn cell(&self, row: usize, col: usize) -> u16 {
        if row < HEIGHT && col < WIDTH {
            // SAFETY: in range, as in `put_cell`.
            unsafe { self.buffer.add(row * WIDTH + col).read_volatile() }
        } else {
            0
        }
    }

    /// The cursor position as (row, column).
    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.col)
    }

    /// The attribute byte new characters get.
    pub fn attribute(&self) -> u8 {
        self.attr
    }

    /// Blanks the screen and homes the cursor.
    pub fn clear(&mut self) {
        for row in 0..HEIGHT {
            self.clear_row(row);
        }
        self.row = 0;
        self.col = 0;
        self.update_cursor();
    }

    fn clear_row(&mut self, row: usize) {
        let blank = u16::from(self.attr) << 8 | u16::from(b' ');
        for col in 0..WIDTH {
            self.put_cell(row, col, blank);
        }
    }

    fn scroll(&mut self) {
        for row in 1..HEIGHT {
            for col in 0..WIDTH {
                let cell = self.cell(row, col);
                self.put_cell(row - 1, col, cell);
            }
        }
        self.clear_row(HEIGHT - 1);
    }

    fn newline(&mut self) {
        self.col = 0;
        if self.row + 1 < HEIGHT {
            self.row += 1;
        } else {
            self.scroll();
        }
    }

    fn put_glyph(&mut self, glyph: u8) {
        if self.col >= WIDTH {
            self.newline();
        }
        let cell = u16::from(self.attr) << 8 | u16::from(glyph);
        self.put_cell(self.row, self.col, cell);
        self.col += 1;
    }

    /// Writes one byte of (UTF-8) text, interpreting control characters and escapes.
    pub fn write_byte(&mut self, byte: u8) {
        match self.escape {
            Escape::Esc => {
                self.escape = if byte == b'[' {
                    Escape::Csi { params: [0; 4], count: 0 }
                } else {
                    Escape::None
                };
                return;
            }
            Escape::Csi { mut params, mut count } => {
                match byte {
                    b'0'..=b'9' => {
                        let slot = count.min(params.len() - 1);
                        params[slot] = params[slot].saturating_mul(10).saturating_add(u16::from(byte - b'0'));
                        self.escape = Escape::Csi { params, count };
                    }
                    b';' => {
                        count += 1;
                        self.escape = Escape::Csi { params, count };
                    }
                    0x40..=0x7e => {
                        if byte == b'm' {
                            self.select_rendition(&params[..=count.min(params.len() - 1)]);
                        }
                        self.escape = Escape::None;
                    }
                    _ => {}
                }
                return;
            }
            Escape::None => {}
        }
        match byte {
            0x1b => self.escape = Escape::Esc,
            b'\n' => self.newline(),
            b'\r' => self.col = 0,
            b'\t' => {
                let next = (self.col / 8 + 1) * 8;
                while self.col < next.min(WIDTH) {
                    self.put_glyph(b' ');
                }
            }
            0x08 => self.col = self.col.saturating_sub(1),
            0x20..=0x7e => self.put_glyph(byte),
            // UTF-8: one block glyph per character (lead byte), nothing for continuation bytes.
            0xc0..=0xff => self.put_glyph(0xfe),
            _ => {}
        }
    }

    fn select_rendition(&mut self, params: &[u16]) {
        for &p in params {
            let (fg, bg) = (self.attr & 0x0f, self.attr >> 4);
            self.attr = match p {
                0 => DEFAULT_ATTR,
                1 => self.attr | 0x08,
                30..=37 => (bg << 4) | ANSI_TO_VGA[usize::from(p - 30)] | (fg & 0x08),
                39 => (bg << 4) | (DEFAULT_ATTR & 0x0f),
                40..=47 => (ANSI_TO_VGA[usize::from(p - 40)] << 4) | fg,
                49 => (DEFAULT_ATTR & 0xf0) | fg,
                90..=97 => (bg << 4) | ANSI_TO_VGA[usize::from(p - 90)] | 0x08,
                _ => self.attr,
            };
        }
    }

    /// Moves the blinking hardware cursor to the software cursor.
    pub fn update_cursor(&self) {
        let pos = (self.row * WIDTH + self.col.min(WIDTH - 1)) as u16;
        outb(0x3d4, 0x0f);
        outb(0x3d5, pos as u8);
        outb(0x3d4, 0x0e);
        outb(0x3d5, (pos >> 8) as u8);
    }
}
