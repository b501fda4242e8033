//! libFuzzer target `cmdline`: the check in `tests/fuzz_checks/cmdline.rs` (which says what is
//! fuzzed and which invariants hold), run by `cargo xtask hostfuzz`.
#![no_main]

#[path = "../../tests/fuzz_checks/cmdline.rs"]
mod cmdline;

libfuzzer_sys::fuzz_target!(|data: &[u8]| cmdline::check(data));
