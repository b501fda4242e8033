//! Building the vDSO (`user/vdso/`): the host gcc compiles `vdso.c` into a position-independent
//! shared object laid out by `vdso.lds`, written to `build/vdso.so`, which the kernel embeds
//! (`include_bytes!` in `kernel/src/process/vdso.rs`). `kbuild::build_kernel` runs this first,
//! so every kernel build (build, test, bench …) has an up-to-date vDSO; it is rebuilt only when a
//! source under `user/vdso/` is newer than the output.

use crate::util::{self, rel};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The compiler's flags: freestanding PIC without stack protector or CET padding, one PT_LOAD
/// from address 0, SysV and GNU hash tables (musl reads DT_HASH), versioned symbols.
const FLAGS: &[&str] = &[
    "-shared",
    "-nostdlib",
    "-fPIC",
    "-O2",
    "-fno-stack-protector",
    "-fcf-protection=none",
    "-ffreestanding",
    "-fno-builtin",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wl,--hash-style=both",
    "-Wl,-soname=linux-vdso.so.1",
    "-Wl,--build-id=sha1",
    "-Wl,-Bsymbolic",
    "-Wl,-z,max-page-size=4096",
    "-Wl,--eh-frame-hdr",
    // No static symbol table: the image must fit one page.
    "-Wl,--strip-all",
];

/// The host compiler.
const PKGS_VDSO: &[&str] = &["gcc"];

/// `build/vdso.so`.
pub fn output(root: &Path) -> PathBuf {
    util::build_dir(root).join("vdso.so")
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Builds `build/vdso.so` unless it is newer than every file of `user/vdso/`.
pub fn build(root: &Path) -> Result<PathBuf> {
    let src = root.join("user").join("vdso");
    let out = output(root);
    let newest_source = std::fs::read_dir(&src)
        .with_context(|| format!("reading {}", rel(root, &src)))?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| modified(&entry.path()))
        .max();
    if let (Some(built), Some(source)) = (modified(&out), newest_source) {
        if built >= source {
            return Ok(out);
        }
    }
    util::ensure_packages(&[PKGS_VDSO])?;
    util::mkdirs(&util::build_dir(root))?;
    let script = src.join("vdso.lds");
    let mut cmd = Command::new("gcc");
    cmd.args(FLAGS)
        .arg(format!("-Wl,-T,{}", script.display()))
        .arg("-o")
        .arg(&out)
        .arg(src.join("vdso.c"));
    util::run_checked(&mut cmd).context("vDSO build failed")?;
    let bytes = std::fs::read(&out)?;
    check(&bytes).with_context(|| format!("{} is not a usable vDSO", rel(root, &out)))?;
    println!("xtask: {} ready ({} bytes)", rel(root, &out), bytes.len());
    Ok(out)
}

/// The checks the kernel relies on: a 64-bit little-endian ET_DYN x86-64 object whose first
/// PT_LOAD starts at file offset 0, address 0, and no larger than the kernel maps (one page,
/// the last of the user half).
fn check(bytes: &[u8]) -> Result<()> {
    let u16_at = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    if bytes.get(..4) != Some(b"\x7fELF".as_slice()) || bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        bail!("not an ELF64 little-endian file");
    }
    if u16_at(16) != Some(3) || u16_at(18) != Some(62) {
        bail!("not an x86-64 shared object");
    }
    if bytes.len() > 4096 {
        bail!("larger than one page ({} bytes)", bytes.len());
    }
    Ok(())
}
