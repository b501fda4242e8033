//! Host tests of the ANSI parser.

use alloc::vec::Vec;

use super::*;
use proptest::prelude::*;

fn parse(bytes: &[u8]) -> Vec<Action> {
    let mut p = Parser::new();
    bytes.iter().filter_map(|&b| p.advance(b)).collect()
}

#[test]
fn text_and_controls() {
    assert_eq!(
        parse(b"a\r\n\x08\t\x07"),
        [Action::Print('a'), Action::CarriageReturn, Action::LineFeed, Action::Backspace, Action::Tab, Action::Bell]
    );
}

#[test]
fn utf8_is_decoded() {
    assert_eq!(parse("é─".as_bytes()), [Action::Print('é'), Action::Print('─')]);
    assert_eq!(parse(b"\x80"), [Action::Print(char::REPLACEMENT_CHARACTER)]);
}

#[test]
fn cursor_movement() {
    assert_eq!(
        parse(b"\x1b[A\x1b[3B\x1b[2C\x1b[D\x1b[5;10H\x1b[f\x1b[7G"),
        [
            Action::CursorUp(1),
            Action::CursorDown(3),
            Action::CursorForward(2),
            Action::CursorBack(1),
            Action::CursorPosition { row: 4, col: 9 },
            Action::CursorPosition { row: 0, col: 0 },
            Action::CursorColumn(6),
        ]
    );
}

#[test]
fn erase() {
    assert_eq!(
        parse(b"\x1b[J\x1b[1J\x1b[2J\x1b[K\x1b[1K\x1b[2K"),
        [
            Action::EraseDisplay(0),
            Action::EraseDisplay(1),
            Action::EraseDisplay(2),
            Action::EraseLine(0),
            Action::EraseLine(1),
            Action::EraseLine(2),
        ]
    );
}

#[test]
fn sgr_parameters() {
    let actions = parse(b"\x1b[1;31;44m\x1b[m");
    let [Action::Sgr(a), Action::Sgr(b)] = actions[..] else { panic!("{actions:?}") };
    assert_eq!(a.as_slice(), [1, 31, 44]);
    assert_eq!(b.as_slice(), [0]);
}

#[test]
fn regions_lines_chars_and_modes() {
    assert_eq!(
        parse(b"\x1b[2;20r\x1b[r\x1b[2L\x1b[M\x1b[3@\x1b[P\x1b[s\x1b[u\x1b7\x1b8\x1bM\x1b[?25l\x1b[?25h\x1b[?1049h\x1b[?1049l"),
        [
            Action::ScrollRegion { top: 1, bottom: Some(19) },
            Action::ScrollRegion { top: 0, bottom: None },
            Action::InsertLines(2),
            Action::DeleteLines(1),
            Action::InsertChars(3),
            Action::DeleteChars(1),
            Action::SaveCursor,
            Action::RestoreCursor,
            Action::SaveCursor,
            Action::RestoreCursor,
            Action::ReverseIndex,
            Action::ShowCursor(false),
            Action::ShowCursor(true),
            Action::AlternateScreen(true),
            Action::AlternateScreen(false),
        ]
    );
}

#[test]
fn unknown_sequences_are_ignored() {
    assert_eq!(parse(b"\x1b[>c\x1b[1 q\x1b]0;title\x07\x1b(Bx\x1b[?1h\x1b[99zy"), [Action::Print('x'), Action::Print('y')]);
    // An OSC ended by ESC \ .
    assert_eq!(parse(b"\x1b]2;t\x1b\\z"), [Action::Print('z')]);
}

#[test]
fn huge_parameters_saturate() {
    assert_eq!(parse(b"\x1b[99999999999A"), [Action::CursorUp(u16::MAX)]);
    let many: Vec<u8> = b"\x1b[".iter().copied().chain(core::iter::repeat(b"1;".iter().copied()).take(40).flatten()).chain(*b"m").collect();
    let actions = parse(&many);
    let [Action::Sgr(p)] = actions[..] else { panic!("{actions:?}") };
    assert_eq!(p.as_slice().len(), MAX_PARAMS);
}

proptest! {
    #[test]
    fn any_bytes_are_safe(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = parse(&bytes);
    }
}
