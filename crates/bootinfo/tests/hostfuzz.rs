//! Host fuzzing of exo-bootinfo, the `cargo test` part: replays `fuzz/corpus/` and runs a
//! bounded number of mutations through the checks the libFuzzer targets in `fuzz/` use
//! (`cargo xtask hostfuzz` runs those; see docs/hostfuzz.md).

#[path = "fuzz_checks/cmdline.rs"]
mod cmdline;
#[path = "fuzz_checks/multiboot2.rs"]
mod multiboot2;
#[path = "fuzz_checks/pvh.rs"]
mod pvh;

use exo_fuzzkit::{corpus, run};

const DIR: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn cmdline() {
    let dict: &[&[u8]] = &[
        b" ",
        b"=",
        b"\"",
        b"--",
        b" -- ",
        b"ktest=",
        b"panic=exit",
        b"loglevel=",
        b"init=/bin/sh",
        b"crashtest=",
        b"kbench",
        b"\t",
    ];
    run("cmdline", &corpus(DIR, "cmdline"), dict, cmdline::check);
}

#[test]
fn multiboot2() {
    run(
        "multiboot2",
        &corpus(DIR, "multiboot2"),
        &[],
        multiboot2::check,
    );
}

#[test]
fn pvh() {
    run(
        "pvh",
        &corpus(DIR, "pvh"),
        &[b"\x78\xc5\x6e\x33"],
        pvh::check,
    );
}
