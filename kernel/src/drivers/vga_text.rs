//! VGA text-mode console: 80×25 cells at physical 0xb8000, 16 colours (attribute byte:
//! background << 4 | foreground) and the hardware cursor, driven by the ANSI/VT100 screen model
//! of `exo_tty` (cursor positioning, erase, SGR colours, scrolling and scroll regions,
//! insert/delete, saved and hidden cursor). Kernel messages use [`VgaText::write_byte`], where
//! "\n" also returns the carriage; the TTY uses [`VgaText::write_terminal_byte`] (exact VT100).

use exo_tty::{Cells, Screen};

use crate::arch::io::outb;

pub const WIDTH: usize = 80;
pub const HEIGHT: usize = 25;
const BUFFER_PADDR: u64 = 0xb8000;

/// The VGA buffer as a grid of cells.
struct Buffer(*mut u16);

impl Cells for Buffer {
    fn rows(&self) -> usize {
        HEIGHT
    }

    fn cols(&self) -> usize {
        WIDTH
    }

    fn get(&self, row: usize, col: usize) -> u16 {
        if row < HEIGHT && col < WIDTH {
            // SAFETY: row/col are in range, so the cell lies inside the 80×25 buffer, which the
            // direct map keeps mapped; volatile because the device owns it.
            unsafe { self.0.add(row * WIDTH + col).read_volatile() }
        } else {
            0
        }
    }

    fn set(&mut self, row: usize, col: usize, cell: u16) {
        if row < HEIGHT && col < WIDTH {
            // SAFETY: in range, as in `get`; volatile because the device reads it.
            unsafe { self.0.add(row * WIDTH + col).write_volatile(cell) }
        }
    }
}

/// The text console state: the screen model over the VGA buffer.
pub struct VgaText {
    screen: Screen,
    buffer: Buffer,
}

// SAFETY: the buffer pointer refers to the one VGA text buffer; `VgaText` is only used behind the
// console lock, so moving it between CPUs is fine.
unsafe impl Send for VgaText {}

impl VgaText {
    /// The console over the VGA buffer, or `None` when the direct map cannot reach it.
    pub fn new() -> Option<Self> {
        // The boot direct map covers the first BOOT_DIRECT_MAP_SIZE bytes of physical memory.
        let end = BUFFER_PADDR + (HEIGHT * WIDTH * 2) as u64;
        (end <= crate::arch::BOOT_DIRECT_MAP_SIZE).then_some(())?;
        let virt = crate::arch::DIRECT_MAP_BASE + BUFFER_PADDR;
        Some(VgaText { screen: Screen::new(HEIGHT, WIDTH), buffer: Buffer(virt as *mut u16) })
    }

    /// The character and attribute at (`row`, `col`), or 0 outside the screen.
    #[cfg(feature = "ktest")]
    pub fn cell(&self, row: usize, col: usize) -> u16 {
        self.buffer.get(row, col)
    }

    /// The cursor position as (row, column).
    #[cfg(feature = "ktest")]
    pub fn cursor(&self) -> (usize, usize) {
        self.screen.cursor()
    }

    /// The attribute byte new characters get.
    #[cfg(feature = "ktest")]
    pub fn attribute(&self) -> u8 {
        self.screen.pen.attribute()
    }

    /// Blanks the screen and homes the cursor.
    pub fn clear(&mut self) {
        self.screen.clear(&mut self.buffer);
        self.update_cursor();
    }

    /// Writes one byte of kernel text: "\n" starts a new line at column 0; escapes and other
    /// controls as on a VT100.
    pub fn write_byte(&mut self, byte: u8) {
        if byte == b'\n' {
            self.screen.write_byte(b'\r', &mut self.buffer);
        }
        self.screen.write_byte(byte, &mut self.buffer);
    }

    /// Writes one byte of terminal output (already output-processed by the TTY).
    pub fn write_terminal_byte(&mut self, byte: u8) {
        self.screen.write_byte(byte, &mut self.buffer);
    }

    /// Moves the blinking hardware cursor to the software cursor (or hides it).
    pub fn update_cursor(&self) {
        // Cursor start register: bit 5 disables the cursor; scan lines 14-15 otherwise.
        outb(0x3d4, 0x0a);
        outb(0x3d5, if self.screen.cursor_visible { 0x0e } else { 0x20 });
        let (row, col) = self.screen.cursor();
        let pos = (row * WIDTH + col) as u16;
        outb(0x3d4, 0x0f);
        outb(0x3d5, pos as u8);
        outb(0x3d4, 0x0e);
        outb(0x3d5, (pos >> 8) as u8);
    }
}
