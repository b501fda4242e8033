//! A terminal screen: applies the [`Action`]s of the ANSI parser to a grid of VGA-style cells
//! (character byte | attribute << 8) behind the [`Cells`] trait — cursor movement, wrapping,
//! erasing, SGR colours (as VGA attributes), scrolling regions, insert/delete of lines and
//! characters, saved cursor, hidden cursor. The kernel's VGA driver gives it the text buffer;
//! the tests give it an array.

use crate::ansi::{Action, Parser};

/// A grid of cells.
pub trait Cells {
    fn rows(&self) -> usize;
    fn cols(&self) -> usize;
    /// The cell at (`row`, `col`) (both in range).
    fn get(&self, row: usize, col: usize) -> u16;
    fn set(&mut self, row: usize, col: usize, cell: u16);
}

/// ANSI colour number (0-7) to VGA colour.
const ANSI_TO_VGA: [u8; 8] = [0, 4, 2, 6, 1, 5, 3, 7];

/// The drawing attributes (SGR state).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Pen {
    /// VGA colours 0-15.
    pub fg: u8,
    pub bg: u8,
    pub bold: bool,
    pub reverse: bool,
}

impl Default for Pen {
    fn default() -> Self {
        Pen { fg: 7, bg: 0, bold: false, reverse: false }
    }
}

impl Pen {
    /// Applies SGR parameters.
    pub fn apply(&mut self, params: &[u16]) {
        for &p in params {
            match p {
                0 => *self = Pen::default(),
                1 => self.bold = true,
                22 => self.bold = false,
                7 => self.reverse = true,
                27 => self.reverse = false,
                30..=37 => self.fg = ANSI_TO_VGA[usize::from(p - 30)],
                39 => self.fg = 7,
                40..=47 => self.bg = ANSI_TO_VGA[usize::from(p - 40)],
                49 => self.bg = 0,
                90..=97 => self.fg = ANSI_TO_VGA[usize::from(p - 90)] | 8,
                100..=107 => self.bg = ANSI_TO_VGA[usize::from(p - 100)] | 8,
                _ => {}
            }
        }
    }

    /// The VGA attribute byte (background << 4 | foreground).
    pub fn attribute(&self) -> u8 {
        let fg = if self.bold { self.fg | 8 } else { self.fg };
        let (fg, bg) = if self.reverse { (self.bg, fg) } else { (fg, self.bg) };
        (bg & 0x0f) << 4 | (fg & 0x0f)
    }
}

/// The glyph for a character in code page 437 (what the VGA shows): ASCII as is, a few common
/// symbols, and a block for anything else.
pub fn cp437(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '─' => 0xc4,
        '│' => 0xb3,
        '┌' => 0xda,
        '┐' => 0xbf,
        '└' => 0xc0,
        '┘' => 0xd9,
        '·' => 0xfa,
        '°' => 0xf8,
        'é' => 0x82,
        _ => 0xfe,
    }
}

/// Cursor and attributes (what ESC 7 saves).
#[derive(Clone, Copy, Debug, Default)]
struct Saved {
    row: usize,
    col: usize,
    pen: Pen,
}

/// The terminal state over a grid.
#[derive(Clone, Debug)]
pub struct Screen {
    parser: Parser,
    pub row: usize,
    pub col: usize,
    pub pen: Pen,
    /// Scrolling region, inclusive rows.
    top: usize,
    bottom: usize,
    saved: Saved,
    pub cursor_visible: bool,
    /// The cursor is past the last column: the next character wraps first.
    wrap_pending: bool,
    rows: usize,
    cols: usize,
}

impl Screen {
    /// A screen of `rows` × `cols`, cursor at the top left.
    pub const fn new(rows: usize, cols: usize) -> Screen {
        Screen {
            parser: Parser::new(),
            row: 0,
            col: 0,
            pen: Pen { fg: 7, bg: 0, bold: false, reverse: false },
            top: 0,
            bottom: rows.saturating_sub(1),
            saved: Saved { row: 0, col: 0, pen: Pen { fg: 7, bg: 0, bold: false, reverse: false } },
            cursor_visible: true,
            wrap_pending: false,
            rows,
            cols,
        }
    }

    /// Where the hardware cursor goes: (row, col), the column kept inside the screen.
    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.col.min(self.cols.saturating_sub(1)))
    }

    fn blank(&self) -> u16 {
        u16::from(self.pen.attribute()) << 8 | u16::from(b' ')
    }

    /// Feeds one output byte.
    pub fn write_byte(&mut self, byte: u8, cells: &mut impl Cells) {
        if let Some(action) = self.parser.advance(byte) {
            self.apply(action, cells);
        }
    }

    /// Blanks the whole grid and homes the cursor.
    pub fn clear(&mut self, cells: &mut impl Cells) {
        self.fill(cells, 0, 0, self.rows, 0);
        self.row = 0;
        self.col = 0;
        self.wrap_pending = false;
    }

    /// Blanks from (r0, c0) to (r1, c1) exclusive, in reading order.
    fn fill(&self, cells: &mut impl Cells, r0: usize, c0: usize, r1: usize, c1: usize) {
        let blank = self.blank();
        let (start, end) = (r0 * self.cols + c0, (r1 * self.cols + c1).min(self.rows * self.cols));
        for i in start..end {
            cells.set(i / self.cols, i % self.cols, blank);
        }
    }

    /// Moves rows `from..=bottom` of the region up by `n` (content scrolls up).
    fn scroll_up(&self, cells: &mut impl Cells, from: usize, n: usize) {
        let n = n.min(self.bottom + 1 - from);
        for row in from..=self.bottom {
            for col in 0..self.cols {
                let cell = if row + n <= self.bottom { cells.get(row + n, col) } else { self.blank() };
                cells.set(row, col, cell);
            }
        }
    }

    /// Moves rows `from..=bottom` down by `n` (content scrolls down, blanks at `from`).
    fn scroll_down(&self, cells: &mut impl Cells, from: usize, n: usize) {
        let n = n.min(self.bottom + 1 - from);
        for row in (from..=self.bottom).rev() {
            for col in 0..self.cols {
                let cell = if row >= from + n { cells.get(row - n, col) } else { self.blank() };
                cells.set(row, col, cell);
            }
        }
    }

    fn line_feed(&mut self, cells: &mut impl Cells) {
        self.wrap_pending = false;
        if self.row == self.bottom {
            self.scroll_up(cells, self.top, 1);
        } else if self.row + 1 < self.rows {
            self.row += 1;
        }
    }

    fn in_region(&self) -> bool {
        (self.top..=self.bottom).contains(&self.row)
    }

    fn clamp_col(&mut self, col: usize) {
        self.col = col.min(self.cols - 1);
        self.wrap_pending = false;
    }

    /// Applies one action.
    pub fn apply(&mut self, action: Action, cells: &mut impl Cells) {
        if self.rows == 0 || self.cols == 0 {
            return;
        }
        let last_row = self.rows - 1;
        match action {
            Action::Print(c) => {
                if self.wrap_pending || self.col >= self.cols {
                    self.col = 0;
                    self.line_feed(cells);
                }
                let cell = u16::from(self.pen.attribute()) << 8 | u16::from(cp437(c));
                cells.set(self.row, self.col, cell);
                if self.col + 1 >= self.cols {
                    self.wrap_pending = true;
                } else {
                    self.col += 1;
                }
            }
            Action::CarriageReturn => self.clamp_col(0),
            Action::LineFeed => self.line_feed(cells),
            Action::NextLine => {
                self.clamp_col(0);
                self.line_feed(cells);
            }
            Action::Backspace => {
                if self.wrap_pending {
                    self.wrap_pending = false;
                } else {
                    self.col = self.col.saturating_sub(1);
                }
            }
            Action::Tab => {
                let next = (self.col / 8 + 1) * 8;
                self.clamp_col(next);
            }
            Action::Bell => {}
            Action::CursorUp(n) => {
                let limit = if self.in_region() { self.top } else { 0 };
                self.row = self.row.saturating_sub(usize::from(n)).max(limit);
                self.wrap_pending = false;
            }
            Action::CursorDown(n) => {
                let limit = if self.in_region() { self.bottom } else { last_row };
                self.row = (self.row + usize::from(n)).min(limit);
                self.wrap_pending = false;
            }
            Action::CursorForward(n) => self.clamp_col(self.col + usize::from(n)),
            Action::CursorBack(n) => self.clamp_col(self.col.saturating_sub(usize::from(n))),
            Action::CursorPosition { row, col } => {
                self.row = usize::from(row).min(last_row);
                self.clamp_col(usize::from(col));
            }
            Action::CursorColumn(col) => self.clamp_col(usize::from(col)),
            Action::CursorRow(row) => {
                self.row = usize::from(row).min(last_row);
                self.wrap_pending = false;
            }
            Action::EraseDisplay(mode) => match mode {
                0 => self.fill(cells, self.row, self.col.min(self.cols), self.rows, 0),
                1 => self.fill(cells, 0, 0, self.row, self.col.min(self.cols - 1) + 1),
                _ => self.fill(cells, 0, 0, self.rows, 0),
            },
            Action::EraseLine(mode) => match mode {
                0 => self.fill(cells, self.row, self.col.min(self.cols), self.row + 1, 0),
                1 => self.fill(cells, self.row, 0, self.row, self.col.min(self.cols - 1) + 1),
                _ => self.fill(cells, self.row, 0, self.row + 1, 0),
            },
            Action::EraseChars(n) => {
                let end = (self.col + usize::from(n)).min(self.cols);
                self.fill(cells, self.row, self.col.min(self.cols), self.row, end);
            }
            Action::Sgr(params) => self.pen.apply(params.as_slice()),
            Action::ScrollRegion { top, bottom } => {
                let top = usize::from(top);
                let bottom = bottom.map_or(last_row, usize::from).min(last_row);
                if top < bottom {
                    self.top = top;
                    self.bottom = bottom;
                    self.row = 0;
                    self.clamp_col(0);
                }
            }
            Action::InsertLines(n) => {
                if self.in_region() {
                    self.scroll_down(cells, self.row, usize::from(n));
                    self.clamp_col(0);
                }
            }
            Action::DeleteLines(n) => {
                if self.in_region() {
                    self.scroll_up(cells, self.row, usize::from(n));
                    self.clamp_col(0);
                }
            }
            Action::InsertChars(n) => {
                let col = self.col.min(self.cols - 1);
                let n = usize::from(n).min(self.cols - col);
                for c in (col..self.cols).rev() {
                    let cell = if c >= col + n { cells.get(self.row, c - n) } else { self.blank() };
                    cells.set(self.row, c, cell);
                }
                self.wrap_pending = false;
            }
            Action::DeleteChars(n) => {
                let col = self.col.min(self.cols - 1);
                let n = usize::from(n).min(self.cols - col);
                for c in col..self.cols {
                    let cell = if c + n < self.cols { cells.get(self.row, c + n) } else { self.blank() };
                    cells.set(self.row, c, cell);
                }
                self.wrap_pending = false;
            }
            Action::ScrollUp(n) => self.scroll_up(cells, self.top, usize::from(n)),
            Action::ScrollDown(n) => self.scroll_down(cells, self.top, usize::from(n)),
            Action::SaveCursor => self.saved = Saved { row: self.row, col: self.col, pen: self.pen },
            Action::RestoreCursor => {
                self.row = self.saved.row.min(last_row);
                self.pen = self.saved.pen;
                self.clamp_col(self.saved.col);
            }
            Action::ReverseIndex => {
                self.wrap_pending = false;
                if self.row == self.top {
                    self.scroll_down(cells, self.top, 1);
                } else {
                    self.row = self.row.saturating_sub(1);
                }
            }
            Action::ShowCursor(on) => self.cursor_visible = on,
            // No second buffer: entering or leaving the alternate screen clears it.
            Action::AlternateScreen(_) => {
                self.top = 0;
                self.bottom = last_row;
                self.clear(cells);
            }
            Action::Reset => {
                *self = Screen::new(self.rows, self.cols);
                self.clear(cells);
            }
        }
    }
}

#[cfg(test)]
#[path = "screen_tests.rs"]
mod tests;
