//! Host fuzzing of exo-vfs path walking, the `cargo test` part: replays `fuzz/corpus/` and
//! runs a bounded number of mutations through the check the libFuzzer target in `fuzz/` uses
//! (`cargo xtask hostfuzz` runs that; see docs/hostfuzz.md).

mod common;
#[path = "fuzz_checks/vfs_path.rs"]
mod vfs_path;

use exo_fuzzkit::{corpus, run_n};

#[test]
fn vfs_path() {
    let dict: &[&[u8]] = &[
        b"/",
        b"..",
        b".",
        b"../",
        b"\xfe",
        b"a",
        b"b",
        b"f",
        b"up",
        b"abs",
        b"loop",
        b"dangling",
        b"fslash",
        b"mnt",
        b"in",
        b"out",
        b"jail",
        b"x",
        b"dotdot",
        b"locked",
        b"new",
        b"file",
    ];
    run_n(
        "vfs_path",
        &corpus(env!("CARGO_MANIFEST_DIR"), "vfs_path"),
        dict,
        5000,
        vfs_path::check,
    );
}
