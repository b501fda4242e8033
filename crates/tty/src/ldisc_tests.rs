//! Host tests of the line discipline: one or more per n_tty rule.

use alloc::vec;
use alloc::vec::Vec;

use super::*;
use proptest::prelude::*;

fn tty() -> LineDiscipline {
    LineDiscipline::new(Termios::default_console())
}

fn raw(vmin: u8, vtime: u8) -> LineDiscipline {
    let mut t = Termios::default_console();
    t.c_lflag &= !(ICANON | ECHO | ISIG);
    t.c_cc[VMIN] = vmin;
    t.c_cc[VTIME] = vtime;
    LineDiscipline::new(t)
}

/// Feeds `input`; returns (echo, signals).
fn feed(ld: &mut LineDiscipline, input: &[u8]) -> (Vec<u8>, Vec<u32>) {
    let mut echo = Vec::new();
    let mut signals = Vec::new();
    for &b in input {
        if let Some(sig) = ld.receive(b, &mut echo) {
            signals.push(sig);
        }
    }
    (echo, signals)
}

fn read_all(ld: &mut LineDiscipline) -> (Vec<u8>, bool) {
    let mut buf = [0u8; 8192];
    let (n, eof) = ld.read(&mut buf);
    (buf[..n].to_vec(), eof)
}

#[test]
fn canonical_line_is_readable_after_newline_only() {
    let mut ld = tty();
    let (echo, _) = feed(&mut ld, b"ls");
    assert_eq!(echo, b"ls");
    assert_eq!(ld.readable_bytes(), 0);
    assert!(!ld.poll_readable());
    assert_eq!(ld.read_decision(0, 10, false), ReadDecision::Wait(None));
    let (echo, _) = feed(&mut ld, b"\r");
    assert_eq!(echo, b"\r\n", "ICRNL then ONLCR echo");
    assert_eq!(ld.readable_bytes(), 3);
    assert!(ld.poll_readable());
    assert_eq!(read_all(&mut ld), (b"ls\n".to_vec(), false));
}

#[test]
fn canonical_read_returns_one_line_at_a_time() {
    let mut ld = tty();
    feed(&mut ld, b"one\ntwo\n");
    assert_eq!(read_all(&mut ld).0, b"one\n");
    let mut small = [0u8; 2];
    assert_eq!(ld.read(&mut small), (2, false));
    assert_eq!(&small, b"tw");
    assert_eq!(read_all(&mut ld).0, b"o\n");
    assert_eq!(ld.read_decision(3, 10, false), ReadDecision::Return);
}

#[test]
fn igncr_inlcr_istrip() {
    let mut t = Termios::default_console();
    t.c_iflag = IGNCR | ISTRIP;
    let mut ld = LineDiscipline::new(t);
    feed(&mut ld, b"a\r\xe2\n");
    assert_eq!(read_all(&mut ld).0, b"ab\n", "CR ignored, 0xe2 stripped to 'b'");
    let mut t = Termios::default_console();
    t.c_iflag = INLCR;
    t.c_lflag &= !ICANON;
    let mut ld = LineDiscipline::new(t);
    feed(&mut ld, b"\n\r");
    assert_eq!(read_all(&mut ld).0, b"\r\r", "INLCR maps NL to CR; CR stays without ICRNL");
}

#[test]
fn erase_and_backspace_with_echoe() {
    let mut ld = tty();
    let (echo, _) = feed(&mut ld, b"abc\x7f\x08d\n");
    assert_eq!(echo, b"abc\x08 \x08\x08 \x08d\r\n");
    assert_eq!(read_all(&mut ld).0, b"ad\n");
    // Erase at the start of a line does nothing.
    let (echo, _) = feed(&mut ld, b"\x7f");
    assert!(echo.is_empty());
}

#[test]
fn erase_without_echoe_echoes_the_erase_char() {
    let mut t = Termios::default_console();
    t.c_lflag &= !(ECHOE | ECHOCTL);
    let mut ld = LineDiscipline::new(t);
    let (echo, _) = feed(&mut ld, b"ab\x7f");
    assert_eq!(echo, b"ab\x7f");
}

#[test]
fn erase_control_char_shown_with_echoctl_takes_two_columns() {
    let mut ld = tty();
    let (echo, _) = feed(&mut ld, b"\x01\x7f");
    assert_eq!(echo, b"^A\x08 \x08\x08 \x08");
}

#[test]
fn erase_tab_moves_back_to_its_start() {
    let mut ld = tty();
    let (echo, _) = feed(&mut ld, b"ab\t\x7f");
    assert_eq!(echo, b"ab\t\x08\x08\x08\x08\x08\x08");
}

#[test]
fn erase_tab_after_a_flush_goes_back_one_tab_only() {
    // Found by host fuzzing (corpus ldisc/regress-flush-stale-line-start): a flush left the
    // start column of the discarded line, so erasing a tab went back to it (thousands of
    // backspaces for a long discarded line).
    let mut ld = tty();
    feed(&mut ld, b"ab\t\t\t");
    ld.flush_input();
    let (echo, _) = feed(&mut ld, b"\t\x7f");
    assert_eq!(echo, b"\t\x08\x08\x08\x08\x08\x08\x08\x08");
}

#[test]
fn erase_tab_after_an_interrupt_starts_after_the_echoed_signal() {
    let mut ld = tty();
    let (echo, signals) = feed(&mut ld, b"abc\x03\t\x7f");
    assert_eq!(signals, vec![SIGINT]);
    // "abc^C" ends in column 5; the tab takes columns 5..8.
    assert_eq!(echo, b"abc^C\t\x08\x08\x08");
}

#[test]
fn erase_tab_after_entering_canonical_mode_starts_at_the_cursor() {
    let mut ld = raw(1, 0);
    let mut t = *ld.termios();
    t.c_lflag |= ECHO;
    ld.set_termios(t);
    feed(&mut ld, b"xyz");
    t.c_lflag |= ICANON;
    ld.set_termios(t);
    let (echo, _) = feed(&mut ld, b"\t\x7f");
    assert_eq!(echo, b"\t\x08\x08\x08\x08\x08");
}

#[test]
fn erase_utf8_character_with_iutf8() {
    let mut t = Termios::default_console();
    t.c_iflag |= IUTF8;
    let mut ld = LineDiscipline::new(t);
    let (echo, _) = feed(&mut ld, "xé".as_bytes());
    assert_eq!(echo, "xé".as_bytes());
    let (echo, _) = feed(&mut ld, b"\x7f\n");
    assert_eq!(echo, b"\x08 \x08\r\n");
    assert_eq!(read_all(&mut ld).0, b"x\n");
}

#[test]
fn word_erase() {
    let mut ld = tty();
    feed(&mut ld, b"echo hello  \x17x\n");
    assert_eq!(read_all(&mut ld).0, b"echo x\n");
}

#[test]
fn kill_with_echoke_erases_the_line() {
    let mut ld = tty();
    let (echo, _) = feed(&mut ld, b"ab\x15");
    assert_eq!(echo, b"ab\x08 \x08\x08 \x08");
    feed(&mut ld, b"c\n");
    assert_eq!(read_all(&mut ld).0, b"c\n");
}

#[test]
fn kill_with_echok_echoes_kill_and_newline() {
    let mut t = Termios::default_console();
    t.c_lflag &= !(ECHOKE | ECHOCTL);
    let mut ld = LineDiscipline::new(t);
    let (echo, _) = feed(&mut ld, b"ab\x15");
    assert_eq!(echo, b"ab\x15\r\n");
}

#[test]
fn eof_completes_a_line_without_the_eof_char() {
    let mut ld = tty();
    let (echo, _) = feed(&mut ld, b"abc\x04");
    assert_eq!(echo, b"abc");
    assert_eq!(read_all(&mut ld), (b"abc".to_vec(), false));
    feed(&mut ld, b"\x04");
    assert!(ld.poll_readable());
    assert_eq!(ld.readable_bytes(), 0);
    let (data, eof) = read_all(&mut ld);
    assert!(data.is_empty() && eof);
    assert_eq!(ld.read_decision(0, 10, true), ReadDecision::Return);
    assert!(!ld.poll_readable());
}

#[test]
fn eol_and_eol2_end_lines() {
    let mut t = Termios::default_console();
    t.c_cc[VEOL] = b';';
    t.c_cc[VEOL2] = b'|';
    let mut ld = LineDiscipline::new(t);
    feed(&mut ld, b"a;b|");
    assert_eq!(read_all(&mut ld).0, b"a;");
    assert_eq!(read_all(&mut ld).0, b"b|");
}

#[test]
fn lnext_quotes_the_next_character() {
    let mut ld = tty();
    let (echo, sigs) = feed(&mut ld, b"\x16\x03\x16\x7f\n");
    assert!(sigs.is_empty());
    assert_eq!(echo, b"^\x08^C^\x08^?\r\n");
    assert_eq!(read_all(&mut ld).0, b"\x03\x7f\n");
}

#[test]
fn line_length_is_limited() {
    let mut ld = tty();
    let long = vec![b'x'; MAX_LINE + 10];
    feed(&mut ld, &long);
    feed(&mut ld, b"\n");
    assert_eq!(ld.readable_bytes(), MAX_LINE + 1);
}

#[test]
fn signals_flush_input_unless_noflsh() {
    let mut ld = tty();
    let (echo, sigs) = feed(&mut ld, b"done\nabc\x03");
    assert_eq!(sigs, vec![SIGINT]);
    assert!(echo.ends_with(b"^C"));
    assert_eq!(ld.readable_bytes(), 0);
    let (_, sigs) = feed(&mut ld, b"\x1c\x1a");
    assert_eq!(sigs, vec![SIGQUIT, SIGTSTP]);

    let mut t = Termios::default_console();
    t.c_lflag |= NOFLSH;
    let mut ld = LineDiscipline::new(t);
    feed(&mut ld, b"keep\nab\x03c\n");
    assert_eq!(read_all(&mut ld).0, b"keep\n");
    assert_eq!(read_all(&mut ld).0, b"abc\n");
}

#[test]
fn no_signals_without_isig() {
    let mut t = Termios::default_console();
    t.c_lflag &= !ISIG;
    let mut ld = LineDiscipline::new(t);
    let (_, sigs) = feed(&mut ld, b"\x03\n");
    assert!(sigs.is_empty());
    assert_eq!(read_all(&mut ld).0, b"\x03\n");
}

#[test]
fn no_echo_but_echonl() {
    let mut t = Termios::default_console();
    t.c_lflag &= !ECHO;
    t.c_lflag |= ECHONL;
    let mut ld = LineDiscipline::new(t);
    let (echo, _) = feed(&mut ld, b"secret\n");
    assert_eq!(echo, b"\r\n");
    t.c_lflag &= !ECHONL;
    ld.set_termios(t);
    let (echo, _) = feed(&mut ld, b"x\n");
    assert!(echo.is_empty());
}

#[test]
fn echoctl_off_echoes_control_chars_raw() {
    let mut t = Termios::default_console();
    t.c_lflag &= !ECHOCTL;
    let mut ld = LineDiscipline::new(t);
    let (echo, _) = feed(&mut ld, b"\x01");
    assert_eq!(echo, b"\x01");
}

#[test]
fn ixon_consumes_stop_and_start() {
    let mut ld = tty();
    feed(&mut ld, b"\x13");
    assert!(ld.output_stopped());
    feed(&mut ld, b"\x11a\n");
    assert!(!ld.output_stopped());
    assert_eq!(read_all(&mut ld).0, b"a\n");
}

#[test]
fn output_processing() {
    let mut ld = tty();
    let mut out = Vec::new();
    ld.process_output(b"a\nb", &mut out);
    assert_eq!(out, b"a\r\nb");
    let mut t = Termios::default_console();
    t.c_oflag = 0;
    ld.set_termios(t);
    out.clear();
    ld.process_output(b"a\nb", &mut out);
    assert_eq!(out, b"a\nb");
    t.c_oflag = OPOST | OCRNL | OLCUC | TAB3;
    let mut ld = LineDiscipline::new(t);
    out.clear();
    ld.process_output(b"ab\r\tc", &mut out);
    assert_eq!(out, b"AB\n      C");
    t.c_oflag = OPOST | ONOCR;
    let mut ld = LineDiscipline::new(t);
    out.clear();
    ld.process_output(b"\r\r", &mut out);
    assert_eq!(out, b"", "no CR at column 0 with ONOCR");
}

#[test]
fn raw_mode_delivers_bytes_at_once() {
    let mut ld = raw(1, 0);
    let (echo, _) = feed(&mut ld, b"\x7fa\x03");
    assert!(echo.is_empty());
    assert_eq!(ld.readable_bytes(), 3);
    assert_eq!(read_all(&mut ld).0, b"\x7fa\x03");
}

#[test]
fn vmin_vtime_decisions() {
    let t = 100_000_000;
    let ld = raw(0, 0);
    assert_eq!(ld.read_decision(0, 10, false), ReadDecision::Return);
    let ld = raw(0, 1);
    assert_eq!(ld.read_decision(0, 10, false), ReadDecision::Wait(Some(Timeout::Overall(t))));
    assert_eq!(ld.read_decision(1, 10, false), ReadDecision::Return);
    let ld = raw(3, 0);
    assert_eq!(ld.read_decision(2, 10, false), ReadDecision::Wait(None));
    assert_eq!(ld.read_decision(3, 10, false), ReadDecision::Return);
    assert_eq!(ld.read_decision(2, 2, false), ReadDecision::Return);
    let ld = raw(3, 5);
    assert_eq!(ld.read_decision(0, 10, false), ReadDecision::Wait(None));
    assert_eq!(ld.read_decision(1, 10, false), ReadDecision::Wait(Some(Timeout::InterByte(5 * t))));
    assert_eq!(ld.read_decision(3, 10, false), ReadDecision::Return);
}

#[test]
fn poll_readiness_in_raw_mode_follows_vmin() {
    let mut ld = raw(2, 0);
    feed(&mut ld, b"a");
    assert!(!ld.poll_readable());
    feed(&mut ld, b"b");
    assert!(ld.poll_readable());
    let mut ld = raw(2, 1);
    feed(&mut ld, b"a");
    assert!(ld.poll_readable());
}

#[test]
fn mode_switches_keep_input() {
    let mut ld = tty();
    feed(&mut ld, b"partial");
    let mut t = *ld.termios();
    t.c_lflag &= !ICANON;
    ld.set_termios(t);
    assert_eq!(ld.readable_bytes(), 7);
    t.c_lflag |= ICANON;
    ld.set_termios(t);
    assert_eq!(read_all(&mut ld).0, b"partial");
}

#[test]
fn flush_discards_everything() {
    let mut ld = tty();
    feed(&mut ld, b"a\nb");
    ld.flush_input();
    assert_eq!(ld.readable_bytes(), 0);
    feed(&mut ld, b"\n");
    assert_eq!(read_all(&mut ld).0, b"\n");
}

proptest! {
    #[test]
    fn never_panics_and_stays_bounded(input in proptest::collection::vec(any::<u8>(), 0..6000), lflag in any::<u32>(), iflag in any::<u32>(), oflag in any::<u32>()) {
        let mut t = Termios::default_console();
        t.c_lflag = lflag;
        t.c_iflag = iflag;
        t.c_oflag = oflag;
        let mut ld = LineDiscipline::new(t);
        let mut echo = Vec::new();
        for &b in &input {
            ld.receive(b, &mut echo);
            prop_assert!(ld.readable_bytes() <= MAX_INPUT);
        }
        let mut buf = [0u8; 64];
        for _ in 0..200 {
            let (n, eof) = ld.read(&mut buf);
            if n == 0 && !eof { break; }
        }
    }
}
