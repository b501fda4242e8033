//! libFuzzer target `elf_parse`: the check in `tests/fuzz_checks/elf_parse.rs` (which says what is
//! fuzzed and which invariants hold), run by `cargo xtask hostfuzz`.
#![no_main]

#[path = "../../tests/fuzz_checks/elf_parse.rs"]
mod elf_parse;

libfuzzer_sys::fuzz_target!(|data: &[u8]| elf_parse::check(data));
