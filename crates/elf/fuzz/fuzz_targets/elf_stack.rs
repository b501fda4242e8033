//! libFuzzer target `elf_stack`: the check in `tests/fuzz_checks/elf_stack.rs` (which says what is
//! fuzzed and which invariants hold), run by `cargo xtask hostfuzz`.
#![no_main]

#[path = "../../tests/fuzz_checks/elf_stack.rs"]
mod elf_stack;

libfuzzer_sys::fuzz_target!(|data: &[u8]| elf_stack::check(data));
