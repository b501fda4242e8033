//! Host tests of the screen model on an array of cells.

use alloc::vec;
use alloc::vec::Vec;

use super::*;
use proptest::prelude::*;

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
        self.cells[row * self.cols + col]
    }
    fn set(&mut self, row: usize, col: usize, cell: u16) {
        self.cells[row * self.cols + col] = cell;
    }
}

fn term(rows: usize, cols: usize) -> (Screen, Grid) {
    let mut grid = Grid { rows, cols, cells: vec![0; rows * cols] };
    let mut screen = Screen::new(rows, cols);
    screen.clear(&mut grid);
    (screen, grid)
}

fn write(s: &mut Screen, g: &mut Grid, bytes: &[u8]) {
    for &b in bytes {
        s.write_byte(b, g);
    }
}

fn row(g: &Grid, r: usize) -> Vec<u8> {
    (0..g.cols).map(|c| g.get(r, c) as u8).collect()
}

#[test]
fn prints_wraps_and_scrolls() {
    let (mut s, mut g) = term(3, 4);
    write(&mut s, &mut g, b"abcdef\r\nxy\r\nzz");
    assert_eq!(row(&g, 0), b"ef  ");
    assert_eq!(row(&g, 1), b"xy  ");
    assert_eq!(row(&g, 2), b"zz  ");
    assert_eq!(s.cursor(), (2, 2));
}

#[test]
fn cursor_position_and_erase() {
    let (mut s, mut g) = term(3, 4);
    write(&mut s, &mut g, b"abcd\x1b[2;1Hefgh\x1b[3;1Hijkl\x1b[2;3H\x1b[K");
    assert_eq!(row(&g, 1), b"ef  ");
    write(&mut s, &mut g, b"\x1b[1K");
    assert_eq!(row(&g, 1), b"    ");
    write(&mut s, &mut g, b"\x1b[1;2H\x1b[J");
    assert_eq!(row(&g, 0), b"a   ");
    assert_eq!(row(&g, 2), b"    ");
    write(&mut s, &mut g, b"\x1b[2J");
    assert_eq!(row(&g, 0), b"    ");
}

#[test]
fn relative_moves_are_clamped() {
    let (mut s, mut g) = term(3, 4);
    write(&mut s, &mut g, b"\x1b[9B\x1b[9C");
    assert_eq!(s.cursor(), (2, 3));
    write(&mut s, &mut g, b"\x1b[9A\x1b[2D");
    assert_eq!(s.cursor(), (0, 1));
}

#[test]
fn colours_and_reverse() {
    let (mut s, mut g) = term(2, 4);
    write(&mut s, &mut g, b"\x1b[1;31;44mA\x1b[7mB\x1b[0;93;101mC\x1b[39;49mD");
    assert_eq!(g.get(0, 0) >> 8, 0x1c);
    assert_eq!(g.get(0, 1) >> 8, 0xc1);
    assert_eq!(g.get(0, 2) >> 8, 0xce);
    assert_eq!(g.get(0, 3) >> 8, 0x07);
}

#[test]
fn scroll_region_and_reverse_index() {
    let (mut s, mut g) = term(4, 2);
    write(&mut s, &mut g, b"a\r\nb\r\nc\r\nd");
    write(&mut s, &mut g, b"\x1b[2;3r\x1b[3;1H\n");
    assert_eq!((row(&g, 0), row(&g, 1), row(&g, 2), row(&g, 3)), (b"a ".to_vec(), b"c ".to_vec(), b"  ".to_vec(), b"d ".to_vec()));
    write(&mut s, &mut g, b"\x1b[2;1H\x1bM");
    assert_eq!((row(&g, 1), row(&g, 2)), (b"  ".to_vec(), b"c ".to_vec()));
}

#[test]
fn insert_delete_lines_and_chars() {
    let (mut s, mut g) = term(3, 4);
    write(&mut s, &mut g, b"1111\r\n2222\r\n3333");
    write(&mut s, &mut g, b"\x1b[1;1H\x1b[L");
    assert_eq!((row(&g, 0), row(&g, 1), row(&g, 2)), (b"    ".to_vec(), b"1111".to_vec(), b"2222".to_vec()));
    write(&mut s, &mut g, b"\x1b[2M");
    assert_eq!((row(&g, 0), row(&g, 1)), (b"2222".to_vec(), b"    ".to_vec()));
    write(&mut s, &mut g, b"\x1b[1;1Habcd\x1b[1;2H\x1b[2@");
    assert_eq!(row(&g, 0), b"a  b");
    write(&mut s, &mut g, b"\x1b[P");
    assert_eq!(row(&g, 0), b"a b ");
}

#[test]
fn save_restore_cursor_and_visibility() {
    let (mut s, mut g) = term(3, 4);
    write(&mut s, &mut g, b"\x1b[2;3H\x1b7\x1b[H\x1b8");
    assert_eq!(s.cursor(), (1, 2));
    write(&mut s, &mut g, b"\x1b[s\x1b[H\x1b[u\x1b[?25l");
    assert_eq!(s.cursor(), (1, 2));
    assert!(!s.cursor_visible);
    write(&mut s, &mut g, b"x\x1b[?1049h");
    assert_eq!(row(&g, 1), b"    ");
    assert_eq!(s.cursor(), (0, 0));
}

#[test]
fn backspace_and_tab() {
    let (mut s, mut g) = term(1, 20);
    write(&mut s, &mut g, b"ab\x08c\td");
    assert_eq!(&row(&g, 0)[..9], b"ac      d");
}

proptest! {
    #[test]
    fn any_output_keeps_the_cursor_on_screen(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let (mut s, mut g) = term(5, 7);
        write(&mut s, &mut g, &bytes);
        let (r, c) = s.cursor();
        prop_assert!(r < 5 && c < 7);
    }

    #[test]
    fn csi_sequences_with_any_numbers_are_safe(nums in proptest::collection::vec(0u16..400, 0..4), fin in 0x40u8..0x7f) {
        let (mut s, mut g) = term(5, 7);
        let mut seq = b"\x1b[".to_vec();
        for (i, n) in nums.iter().enumerate() {
            if i > 0 { seq.push(b';'); }
            seq.extend_from_slice(alloc::format!("{n}").as_bytes());
        }
        seq.push(fin);
        seq.extend_from_slice(b"x\nyz");
        write(&mut s, &mut g, &seq);
        let (r, c) = s.cursor();
        prop_assert!(r < 5 && c < 7);
    }
}
