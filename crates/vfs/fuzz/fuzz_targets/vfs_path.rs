//! libFuzzer target `vfs_path`: the check in `tests/fuzz_checks/vfs_path.rs` (which says what is
//! fuzzed and which invariants hold), run by `cargo xtask hostfuzz`.
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/fuzz_checks/vfs_path.rs"]
mod vfs_path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| vfs_path::check(data));
