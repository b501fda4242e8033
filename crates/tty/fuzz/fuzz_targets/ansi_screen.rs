//! libFuzzer target `ansi_screen`: the check in `tests/fuzz_checks/ansi_screen.rs` (which says what is
//! fuzzed and which invariants hold), run by `cargo xtask hostfuzz`.
#![no_main]

#[path = "../../tests/fuzz_checks/ansi_screen.rs"]
mod ansi_screen;

libfuzzer_sys::fuzz_target!(|data: &[u8]| ansi_screen::check(data));
