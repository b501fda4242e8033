//! libFuzzer target `abi_structs`: the check in `tests/fuzz_checks/abi_structs.rs` (which says what is
//! fuzzed and which invariants hold), run by `cargo xtask hostfuzz`.
#![no_main]

#[path = "../../tests/fuzz_checks/abi_structs.rs"]
mod abi_structs;

libfuzzer_sys::fuzz_target!(|data: &[u8]| abi_structs::check(data));
