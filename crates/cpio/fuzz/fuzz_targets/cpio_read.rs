//! libFuzzer target `cpio_read`: the check in `tests/fuzz_checks/cpio_read.rs` (which says what is
//! fuzzed and which invariants hold), run by `cargo xtask hostfuzz`.
#![no_main]

#[path = "../../tests/fuzz_checks/cpio_read.rs"]
mod cpio_read;

libfuzzer_sys::fuzz_target!(|data: &[u8]| cpio_read::check(data));
