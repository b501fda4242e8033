//! Host fuzzing of exo-elf, the `cargo test` part: replays the corpora in `fuzz/corpus/` and
//! runs a bounded number of mutations through the same checks the libFuzzer targets in
//! `fuzz/` use (`cargo xtask hostfuzz` runs those; see docs/hostfuzz.md).

#[path = "fuzz_checks/elf_parse.rs"]
mod elf_parse;
#[path = "fuzz_checks/elf_stack.rs"]
mod elf_stack;

use exo_fuzzkit::{corpus, run};

const DIR: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn elf_parse() {
    let dict: &[&[u8]] = &[
        b"\x7fELF\x02\x01\x01",
        b"#!",
        b"#!/bin/sh -x\n",
        b"/lib/ld.so\0",
    ];
    run(
        "elf_parse",
        &corpus(DIR, "elf_parse"),
        dict,
        elf_parse::check,
    );
}

#[test]
fn elf_stack() {
    let dict: &[&[u8]] = &[
        b"\xff",
        b"\xff\xff",
        b"x86_64",
        &[0x19, 0, 0, 0, 0, 0, 0, 0],
    ];
    run(
        "elf_stack",
        &corpus(DIR, "elf_stack"),
        dict,
        elf_stack::check,
    );
}

/// The seeds exercise the accepting paths: the real executables parse, the scripts are scripts.
#[test]
fn elf_seeds_are_valid() {
    let dir = std::path::Path::new(DIR).join("fuzz/corpus/elf_parse");
    for name in [
        "static-exec",
        "static-pie",
        "dynamic-pie-interp",
        "static-execstack",
    ] {
        let file = std::fs::read(dir.join(name)).unwrap();
        let img = exo_elf::parse(&file).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(img.interpreter.is_some(), name == "dynamic-pie-interp");
        assert_eq!(img.stack_executable, name == "static-execstack");
    }
    for name in ["script-sh", "script-arg-spaces", "script-no-newline"] {
        let file = std::fs::read(dir.join(name)).unwrap();
        assert!(
            matches!(exo_elf::parse_shebang(&file), Some(Ok(_))),
            "{name}"
        );
    }
}
