//! Fuzz target `ldisc`: a script of line-discipline operations, as a user (termios through
//! TCSETS, reads, writes) and a typist (received bytes) drive it, starting from the console's
//! default termios. Nothing may panic or overflow, and everything stays bounded: readable
//! bytes, echo per received byte (at most 8 bytes per byte of the edited line: erasing a
//! whole line of tabs or `^X`-echoed controls), output per written byte, read counts.
//!
//! Script bytes: `F0 i v0 v1 v2 v3` XORs `v` into flag word `i % 4` (iflag, oflag, cflag,
//! lflag); `F6 i v` sets `c_cc[i % NCCS] = v`; `F1 n` reads into a buffer of `n * 17` bytes;
//! `F2 n ...` writes the next `n % 64` bytes; `F3` flushes the input; `F4 g w e` asks for a
//! read decision; `F5 b` receives `b` itself; any other byte is received.
//! Shared by `tests/hostfuzz.rs` (cargo test) and `fuzz/` (libFuzzer).

use exo_abi::termios::{Termios, NCCS};
use exo_tty::ldisc::{MAX_INPUT, MAX_LINE};
use exo_tty::LineDiscipline;

pub fn check(data: &[u8]) {
    let mut termios = Termios::default_console();
    let mut ld = LineDiscipline::new(termios);
    let mut it = data.iter().copied();
    let mut next = || it.next();
    let mut echo = Vec::new();
    while let Some(op) = next() {
        match op {
            0xf0 => {
                let i = next().unwrap_or(0);
                let v = u32::from_le_bytes([
                    next().unwrap_or(0),
                    next().unwrap_or(0),
                    next().unwrap_or(0),
                    next().unwrap_or(0),
                ]);
                match i % 4 {
                    0 => termios.c_iflag ^= v,
                    1 => termios.c_oflag ^= v,
                    2 => termios.c_cflag ^= v,
                    _ => termios.c_lflag ^= v,
                }
                ld.set_termios(termios);
            }
            0xf6 => {
                let i = usize::from(next().unwrap_or(0)) % NCCS;
                termios.c_cc[i] = next().unwrap_or(0);
                ld.set_termios(termios);
            }
            0xf1 => {
                let mut buf = vec![0u8; usize::from(next().unwrap_or(1)) * 17];
                let before = ld.readable_bytes();
                let (n, _eof) = ld.read(&mut buf);
                assert!(
                    n <= buf.len() && n <= before,
                    "read {n} of {before} into {}",
                    buf.len()
                );
                assert_eq!(ld.readable_bytes(), before - n);
            }
            0xf2 => {
                let n = usize::from(next().unwrap_or(0)) % 64;
                let bytes: Vec<u8> = (0..n).filter_map(|_| next()).collect();
                let mut out = Vec::new();
                ld.process_output(&bytes, &mut out);
                assert!(
                    out.len() <= 8 * bytes.len(),
                    "{} bytes out for {}",
                    out.len(),
                    bytes.len()
                );
            }
            0xf3 => {
                ld.flush_input();
                assert_eq!(ld.readable_bytes(), 0);
            }
            0xf4 => {
                let got = usize::from(next().unwrap_or(0));
                let wanted = usize::from(next().unwrap_or(0));
                let _ = ld.read_decision(got, wanted, next().unwrap_or(0) & 1 == 1);
            }
            _ => {
                let b = if op == 0xf5 {
                    next().unwrap_or(0xf5)
                } else {
                    op
                };
                echo.clear();
                let _signal = ld.receive(b, &mut echo);
                assert!(
                    echo.len() <= 8 * (MAX_LINE + 1) + 64,
                    "{} bytes of echo",
                    echo.len()
                );
            }
        }
        assert!(
            ld.readable_bytes() <= MAX_INPUT + MAX_LINE + 1,
            "{} readable bytes",
            ld.readable_bytes()
        );
        let _ = (
            ld.has_input(),
            ld.poll_readable(),
            ld.output_stopped(),
            ld.termios(),
        );
    }
}
