//! libFuzzer target `ldisc`: the check in `tests/fuzz_checks/ldisc.rs` (which says what is
//! fuzzed and which invariants hold), run by `cargo xtask hostfuzz`.
#![no_main]

#[path = "../../tests/fuzz_checks/ldisc.rs"]
mod ldisc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| ldisc::check(data));
