//! Host fuzzing of exo-cpio, the `cargo test` part: replays `fuzz/corpus/` and runs a bounded
//! number of mutations through the check the libFuzzer target in `fuzz/` uses (`cargo xtask
//! hostfuzz` runs that; see docs/hostfuzz.md).

#[path = "fuzz_checks/cpio_read.rs"]
mod cpio_read;

use exo_fuzzkit::{corpus, run};

#[test]
fn cpio_read() {
    let dict: &[&[u8]] = &[
        b"070701",
        b"070702",
        b"TRAILER!!!\0",
        b"000041ED",
        b"0000A1FF",
        b"00000000",
        b"FFFFFFFF",
    ];
    run(
        "cpio_read",
        &corpus(env!("CARGO_MANIFEST_DIR"), "cpio_read"),
        dict,
        cpio_read::check,
    );
}

/// Every seed is a well-formed archive, so mutations start from the accepting paths.
#[test]
fn cpio_seeds_are_valid() {
    for seed in corpus(env!("CARGO_MANIFEST_DIR"), "cpio_read") {
        let entries: Vec<_> = exo_cpio::entries(&seed).collect();
        assert!(!entries.is_empty() && entries.iter().all(|e| e.is_ok()));
    }
}
