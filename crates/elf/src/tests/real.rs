//! Tests on real executables: static and static-PIE programs compiled at test time with
//! `musl-gcc` (and glibc's `gcc` when its static libraries are installed), `/bin/busybox` and
//! a few system binaries, each compared against `readelf -lW` as an independent oracle.
//! Missing tools make the corresponding part print a note and skip.

use std::format;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{println, vec};

use super::check_invariants;
use super::shebang_tests::TempDir;
use crate::*;

/// A program with thread-local data (initialised and zeroed) so that it has a `PT_TLS`.
const PROGRAM_C: &str = r#"
#include <stdio.h>
__thread int counter = 42;
__thread char scratch[100];
int main(int argc, char **argv) {
    scratch[0] = (char)argc;
    printf("%d %s\n", counter + scratch[0], argv[0]);
    return 0;
}
"#;

/// One program header line of `readelf -lW`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RePh {
    kind: String,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    flags: String,
    align: u64,
}

#[derive(Debug)]
struct Readelf {
    dyn_type: bool,
    entry: u64,
    phoff: u64,
    phdrs: Vec<RePh>,
    interp: Option<String>,
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

/// Runs `readelf -lW` (None if it is missing or refuses the file).
fn readelf(path: &Path) -> Option<Readelf> {
    let out = Command::new("readelf").arg("-lW").arg(path).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut r = Readelf {
        dyn_type: false,
        entry: 0,
        phoff: 0,
        phdrs: vec![],
        interp: None,
    };
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("Elf file type is") {
            r.dyn_type = line.contains("DYN");
        } else if line.starts_with("Entry point") {
            r.entry = hex(t[2]);
        } else if line.starts_with("There are") {
            r.phoff = t.last().unwrap().parse().unwrap();
        } else if let Some(p) = line
            .trim()
            .strip_prefix("[Requesting program interpreter: ")
        {
            r.interp = Some(p.trim_end_matches(']').to_string());
        } else if t.len() >= 8 && t[1].starts_with("0x") && t[2].starts_with("0x") {
            r.phdrs.push(RePh {
                kind: t[0].to_string(),
                offset: hex(t[1]),
                vaddr: hex(t[2]),
                filesz: hex(t[4]),
                memsz: hex(t[5]),
                flags: t[6..t.len() - 1].concat(),
                align: hex(t[t.len() - 1]),
            });
        }
    }
    Some(r)
}

/// Parses `path` and compares every field with readelf's view; returns the image.
fn check_against_readelf(path: &Path) -> Option<ElfImage> {
    let file = std::fs::read(path).unwrap();
    let img = parse(&file).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    check_invariants(&file, &img);
    let Some(re) = readelf(path) else {
        println!("note: readelf missing, {} only parsed", path.display());
        return Some(img);
    };
    let what = path.display();
    assert_eq!(
        img.kind == ImageKind::PositionIndependent,
        re.dyn_type,
        "{what}"
    );
    assert_eq!(img.entry, re.entry, "{what}");
    assert_eq!(usize::from(img.phnum), re.phdrs.len(), "{what}");
    let perms = |f: &str| Perms {
        read: f.contains('R'),
        write: f.contains('W'),
        exec: f.contains('E'),
    };
    let loads: Vec<Segment> = re
        .phdrs
        .iter()
        .filter(|p| p.kind == "LOAD" && p.memsz > 0)
        .map(|p| Segment {
            vaddr: p.vaddr,
            mem_size: p.memsz,
            file_offset: p.offset,
            file_size: p.filesz,
            perms: perms(&p.flags),
        })
        .collect();
    assert_eq!(img.segments, loads, "{what}");
    let tls = re.phdrs.iter().find(|p| p.kind == "TLS");
    let tls = tls.map(|p| Tls {
        vaddr: p.vaddr,
        file_size: p.filesz,
        mem_size: p.memsz,
        align: p.align,
    });
    assert_eq!(img.tls, tls, "{what}");
    let stack = re.phdrs.iter().rev().find(|p| p.kind == "GNU_STACK");
    assert_eq!(
        img.stack_executable,
        stack.is_some_and(|p| p.flags.contains('E')),
        "{what}"
    );
    assert_eq!(
        img.interpreter.as_deref(),
        re.interp.as_deref().map(str::as_bytes),
        "{what}"
    );
    // AT_PHDR: the table must be where the loaded image really has it.
    let phdr = img
        .phdr_vaddr
        .expect("real programs have their headers mapped");
    if let Some(p) = re.phdrs.iter().find(|p| p.kind == "PHDR") {
        assert_eq!(phdr, p.vaddr, "{what}");
    }
    let seg = img
        .segments
        .iter()
        .find(|s| s.vaddr <= phdr && phdr < s.end())
        .unwrap();
    assert_eq!(
        seg.file_offset + (phdr - seg.vaddr),
        re.phoff,
        "{what}: AT_PHDR"
    );
    // Real linkers put the entry point in an executable segment.
    let text = img
        .segments
        .iter()
        .find(|s| s.vaddr <= img.entry && img.entry < s.end())
        .unwrap();
    assert!(text.perms.exec, "{what}");
    assert!(img.lowest_vaddr <= seg.vaddr && img.highest_vaddr >= text.end());
    Some(img)
}

/// Compiles `PROGRAM_C` with `cc args -o name prog.c post`; `None` (with a note) on failure.
fn compile(dir: &Path, name: &str, cc: &str, args: &[&str], post: &[&str]) -> Option<PathBuf> {
    if !Path::new(cc).exists() {
        println!("note: {cc} missing, {name} skipped");
        return None;
    }
    let src = dir.join("prog.c");
    std::fs::write(&src, PROGRAM_C).unwrap();
    let out = dir.join(name);
    let res = Command::new(cc)
        .args(args)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .args(post)
        .output()
        .unwrap();
    if !res.status.success() {
        println!(
            "note: `{cc} {}` failed, {name} skipped: {}",
            args.join(" "),
            String::from_utf8_lossy(&res.stderr)
        );
        return None;
    }
    Some(out)
}

/// The object file `name` from `cc -print-file-name`, if it exists.
fn gcc_file(name: &str) -> Option<String> {
    let out = Command::new("/usr/bin/gcc")
        .arg(format!("-print-file-name={name}"))
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Path::new(&path).exists().then_some(path)
}

#[test]
fn musl_static_and_static_pie() {
    let dir = TempDir::new("musl");
    let musl = "/usr/bin/musl-gcc";
    if let Some(exe) = compile(&dir.0, "static", musl, &["-static", "-O1"], &[]) {
        let img = check_against_readelf(&exe).unwrap();
        assert_eq!(img.kind, ImageKind::Executable);
        assert!(img.interpreter.is_none());
        let tls = img.tls.expect("__thread variables give a PT_TLS");
        assert!(tls.file_size >= 4 && tls.mem_size >= 104, "{tls:?}");
        assert!(!img.stack_executable);
    }
    // The command line of the specification. Debian's musl-gcc specs do not implement
    // -static-pie (the result is a dynamic PIE asking for ld-musl), so readelf decides.
    if let Some(exe) = compile(
        &dir.0,
        "static-pie-driver",
        musl,
        &["-static-pie", "-fPIE", "-O1"],
        &[],
    ) {
        let img = check_against_readelf(&exe).unwrap();
        assert_eq!(img.kind, ImageKind::PositionIndependent);
        assert_eq!(img.lowest_vaddr, 0);
    }
    // A real musl static-PIE, linked the way musl's own toolchains do (rcrt1.o, no loader).
    let m = "/usr/lib/x86_64-linux-musl";
    let (r, i, n) = (
        format!("{m}/rcrt1.o"),
        format!("{m}/crti.o"),
        format!("{m}/crtn.o"),
    );
    let crt = (gcc_file("crtbeginS.o"), gcc_file("crtendS.o"));
    if let ((Some(b), Some(e)), true) = (crt, Path::new(&r).exists()) {
        let args = ["-fPIE", "-static-pie", "-nostartfiles", "-O1", &r, &i, &b];
        let post = [
            e.as_str(),
            n.as_str(),
            "-Wl,-static,-pie,--no-dynamic-linker,-z,text",
        ];
        if let Some(exe) = compile(&dir.0, "static-pie", musl, &args, &post) {
            let img = check_against_readelf(&exe).unwrap();
            assert_eq!(img.kind, ImageKind::PositionIndependent);
            assert_eq!(img.interpreter, None);
            assert!(img.tls.is_some());
            assert_eq!(img.lowest_vaddr, 0);
            // The program really runs (on the host kernel) and sees its TLS.
            let out = Command::new(&exe).output().unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                format!("43 {}\n", exe.display())
            );
        }
    } else {
        println!("note: musl rcrt1.o or gcc's crtbeginS.o missing, true static-PIE skipped");
    }
}

#[test]
fn glibc_static_and_static_pie() {
    let dir = TempDir::new("glibc");
    if let Some(exe) = compile(&dir.0, "static", "/usr/bin/gcc", &["-static", "-O1"], &[]) {
        let img = check_against_readelf(&exe).unwrap();
        assert_eq!(img.kind, ImageKind::Executable);
        assert!(img.tls.is_some() && img.interpreter.is_none());
    }
    if let Some(exe) = compile(
        &dir.0,
        "static-pie",
        "/usr/bin/gcc",
        &["-static-pie", "-fPIE", "-O1"],
        &[],
    ) {
        let img = check_against_readelf(&exe).unwrap();
        assert_eq!(img.kind, ImageKind::PositionIndependent);
        assert!(img.tls.is_some() && img.interpreter.is_none());
    }
}

#[test]
fn busybox_and_system_binaries() {
    let mut seen = 0;
    for path in [
        "/bin/busybox",
        "/usr/bin/busybox",
        "/bin/ls",
        "/usr/bin/env",
        "/bin/sh",
        "/usr/bin/cargo",
    ] {
        let p = Path::new(path);
        let Ok(file) = std::fs::read(p) else {
            println!("note: {path} missing, skipped");
            continue;
        };
        if parse_shebang(&file).is_some() || file.get(..4) != Some(b"\x7fELF") {
            continue;
        }
        check_against_readelf(p);
        seen += 1;
    }
    println!("{seen} system binaries checked");
}
