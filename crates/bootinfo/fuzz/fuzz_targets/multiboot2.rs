//! libFuzzer target `multiboot2`: the check in `tests/fuzz_checks/multiboot2.rs` (which says what is
//! fuzzed and which invariants hold), run by `cargo xtask hostfuzz`.
#![no_main]

#[path = "../../tests/fuzz_checks/multiboot2.rs"]
mod multiboot2;

libfuzzer_sys::fuzz_target!(|data: &[u8]| multiboot2::check(data));
