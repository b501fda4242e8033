//! Fuzz target `ansi_screen`: any bytes written to the console. The first two bytes choose the
//! screen size (1..=64 rows, 1..=160 columns); the rest go through the ANSI parser into the
//! screen model. Nothing may panic or overflow, every cell access must be inside the grid
//! (the test grid panics otherwise), and after every byte the cursor and the hardware cursor
//! position must be on the screen.
//! Shared by `tests/hostfuzz.rs` (cargo test) and `fuzz/` (libFuzzer).

use exo_tty::{Cells, Screen};

struct Grid {
    rows: usize,
    cols: usize,
    cells: Vec<u16>,
}

impl Cells for Grid {
    fn rows(&self) -> usize {
        self.rows
    }
    fn cols(&self) -> usize {
        self.cols
    }
    fn get(&self, row: usize, col: usize) -> u16 {
        assert!(
            row < self.rows && col < self.cols,
            "get({row}, {col}) outside {}x{}",
            self.rows,
            self.cols
        );
        self.cells[row * self.cols + col]
    }
    fn set(&mut self, row: usize, col: usize, cell: u16) {
        assert!(
            row < self.rows && col < self.cols,
            "set({row}, {col}) outside {}x{}",
            self.rows,
            self.cols
        );
        self.cells[row * self.cols + col] = cell;
    }
}

pub fn check(data: &[u8]) {
    let rows = 1 + usize::from(data.first().copied().unwrap_or(24)) % 64;
    let cols = 1 + usize::from(data.get(1).copied().unwrap_or(79)) % 160;
    let mut grid = Grid {
        rows,
        cols,
        cells: vec![0; rows * cols],
    };
    let mut screen = Screen::new(rows, cols);
    screen.clear(&mut grid);
    for &b in data.get(2..).unwrap_or(&[]) {
        screen.write_byte(b, &mut grid);
        assert!(
            screen.row < rows && screen.col <= cols,
            "cursor ({}, {}) outside {rows}x{cols}",
            screen.row,
            screen.col
        );
        let (r, c) = screen.cursor();
        assert!(r < rows && c < cols);
        assert!(screen.pen.fg < 16 && screen.pen.bg < 16);
    }
}
