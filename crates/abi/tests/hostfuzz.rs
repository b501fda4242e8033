//! Host fuzzing of exo-abi's decoding of user-supplied structures and numbers, the `cargo
//! test` part: replays `fuzz/corpus/` and runs a bounded number of mutations through the check
//! the libFuzzer target in `fuzz/` uses (`cargo xtask hostfuzz` runs that; see
//! docs/hostfuzz.md).

#[path = "fuzz_checks/abi_structs.rs"]
mod abi_structs;

use exo_fuzzkit::{corpus, run};

#[test]
fn abi_structs() {
    run(
        "abi_structs",
        &corpus(env!("CARGO_MANIFEST_DIR"), "abi_structs"),
        &[],
        abi_structs::check,
    );
}
