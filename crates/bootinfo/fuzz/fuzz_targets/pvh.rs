//! libFuzzer target `pvh`: the check in `tests/fuzz_checks/pvh.rs` (which says what is
//! fuzzed and which invariants hold), run by `cargo xtask hostfuzz`.
#![no_main]

#[allow(dead_code)]
#[path = "../../tests/fuzz_checks/multiboot2.rs"]
mod multiboot2;
#[path = "../../tests/fuzz_checks/pvh.rs"]
mod pvh;

libfuzzer_sys::fuzz_target!(|data: &[u8]| pvh::check(data));
