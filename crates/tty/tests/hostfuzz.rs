//! Host fuzzing of exo-tty, the `cargo test` part: replays `fuzz/corpus/` and runs a bounded
//! number of mutations through the checks the libFuzzer targets in `fuzz/` use (`cargo xtask
//! hostfuzz` runs those; see docs/hostfuzz.md).

#[path = "fuzz_checks/ansi_screen.rs"]
mod ansi_screen;
#[path = "fuzz_checks/ldisc.rs"]
mod ldisc;

use exo_fuzzkit::{corpus, run, run_n};

const DIR: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn ansi_screen() {
    let dict: &[&[u8]] = &[
        b"\x1b[",
        b"\x1b[?",
        b"\x1b]",
        b"\x07",
        b"\x1b\\",
        b";",
        b"65535",
        b"99999999",
        b"\x1b[r",
        b"\x1b7",
        b"\x1b8",
        b"\xe2\x94\x80",
        b"\x1bc",
        b"\x1bM",
        b"\x1b(B",
    ];
    run(
        "ansi_screen",
        &corpus(DIR, "ansi_screen"),
        dict,
        ansi_screen::check,
    );
}

#[test]
fn ldisc() {
    let dict: &[&[u8]] = &[
        b"\xf0\x03",
        b"\xf0\x00",
        b"\xf0\x01",
        b"\xf6\x06",
        b"\xf6\x05",
        b"\xf1\xff",
        b"\xf2\x20",
        b"\xf3",
        b"\x16",
        b"\x17",
        b"\x15",
        b"\x7f",
        b"\x12",
        b"\x04",
        b"\x03",
        b"\n",
        b"\r",
        b"\t",
    ];
    run_n("ldisc", &corpus(DIR, "ldisc"), dict, 5000, ldisc::check);
}
