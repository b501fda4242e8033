//! `cargo xtask run --add FILE [--add FILE…]`: your own programs in `/usr/local/bin` of the
//! system that boots.
//!
//! - `prog.c`: `musl-gcc -static -O2` (musl-tools), a static executable.
//! - `prog.rs`: a single-file Rust program built by Debian's `rustc` (`/usr/bin/rustc`, the
//!   toolchain xtask installs) for the host target `x86_64-unknown-linux-gnu` with
//!   `-C target-feature=+crt-static`: glibc linked statically (libc6-dev's `libc.a`). Neither
//!   rustup nor Debian ships a musl target for Rust here; a dynamic glibc build (no
//!   `crt-static`) runs on the Debian image, whose `/lib` has glibc's loader and libraries.
//! - anything else must be an ELF executable and is copied as it is (static, or dynamic for
//!   the Debian image).
//!
//! With `--debian` the programs go into the Debian root disk (`debian.rs`); otherwise a second
//! cpio archive holding them is appended to the initramfs (`build/initramfs-add.cpio`: Linux
//! and Exo-OS unpack concatenated archives one after the other).

use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

/// What a `--add` file is.
#[derive(Debug, PartialEq)]
pub enum Kind {
    C,
    Rust,
    Elf,
}

/// The kind of `path` from its name (and, for other files, its first bytes).
pub fn kind(path: &Path, head: &[u8]) -> Result<Kind> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("c") => Ok(Kind::C),
        Some("rs") => Ok(Kind::Rust),
        _ if head.starts_with(b"\x7fELF") => Ok(Kind::Elf),
        _ => bail!("{}: --add takes a .c or .rs source file or an ELF executable", path.display()),
    }
}

/// The name the program gets in `/usr/local/bin`: the file name without `.c`/`.rs`.
pub fn name(path: &Path, kind: &Kind) -> Result<String> {
    let n = match kind {
        Kind::Elf => path.file_name(),
        _ => path.file_stem(),
    };
    let n = n.and_then(|n| n.to_str()).with_context(|| format!("{}: no usable file name", path.display()))?;
    if n.is_empty() || n.starts_with('.') || n.contains('/') {
        bail!("{}: bad program name `{n}`", path.display());
    }
    Ok(n.to_string())
}

/// Builds (or reads) `path`; returns its name in `/usr/local/bin` and the executable.
pub fn build(root: &Path, path: &Path) -> Result<(String, Vec<u8>)> {
    let head = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let kind = kind(path, &head[..head.len().min(4)])?;
    let name = name(path, &kind)?;
    let out_dir = util::exo_target_dir(root).join("add");
    util::mkdirs(&out_dir)?;
    let out: PathBuf = out_dir.join(&name);
    match kind {
        Kind::Elf => return Ok((name, head)),
        Kind::C => {
            util::ensure_packages(&[util::PKGS_USER])?;
            println!("xtask: musl-gcc -static -O2 {}", path.display());
            util::run_checked(Command::new("musl-gcc").args(["-static", "-O2", "-Wall", "-o"]).arg(&out).arg(path))?;
        }
        Kind::Rust => {
            util::ensure_packages(&[util::PKGS_BUILD, util::PKGS_USER])?;
            println!("xtask: rustc -O -C target-feature=+crt-static {}", path.display());
            util::run_checked(
                Command::new(util::DEBIAN_RUSTC)
                    .args(["--edition", "2021", "-O", "-C", "target-feature=+crt-static", "-o"])
                    .arg(&out)
                    .arg(path)
                    .env_remove("RUSTUP_TOOLCHAIN"),
            )?;
        }
    }
    let data = fs::read(&out).with_context(|| format!("cannot read {}", out.display()))?;
    Ok((name, data))
}

/// Builds every `--add` file; fails on two programs of the same name.
pub fn build_all(root: &Path, paths: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for p in paths {
        let (name, data) = build(root, p)?;
        if out.iter().any(|(n, _)| *n == name) {
            bail!("two --add programs are called `{name}`");
        }
        out.push((name, data));
    }
    Ok(out)
}

/// A cpio archive holding `progs` in `usr/local/bin`, to append to an initramfs.
pub fn archive(progs: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = exo_cpio::Writer::new();
    for d in ["usr", "usr/local", "usr/local/bin"] {
        w.dir(d, 0o755);
    }
    for (name, data) in progs {
        w.file(&format!("usr/local/bin/{name}"), 0o755, data);
    }
    w.finish()
}

/// `initrd` followed by [`archive`] of `progs`, written to `build/initramfs-add.cpio`.
pub fn initramfs_with(root: &Path, initrd: &Path, progs: &[(String, Vec<u8>)]) -> Result<PathBuf> {
    let mut data = fs::read(initrd).with_context(|| format!("cannot read {}", initrd.display()))?;
    while data.len() % 4 != 0 {
        data.push(0);
    }
    data.extend_from_slice(&archive(progs));
    let out = util::build_dir(root).join("initramfs-add.cpio");
    fs::write(&out, data).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_names() {
        assert_eq!(kind(Path::new("a/hello.c"), b"int ").unwrap(), Kind::C);
        assert_eq!(kind(Path::new("hello.rs"), b"fn m").unwrap(), Kind::Rust);
        assert_eq!(kind(Path::new("bin/tool"), b"\x7fELF").unwrap(), Kind::Elf);
        assert!(kind(Path::new("notes.txt"), b"text").is_err());
        assert_eq!(name(Path::new("a/hello.c"), &Kind::C).unwrap(), "hello");
        assert_eq!(name(Path::new("bin/tool.x"), &Kind::Elf).unwrap(), "tool.x");
    }

    #[test]
    fn appended_archive_is_read_after_the_first() {
        let mut first = exo_cpio::Writer::new();
        first.file("init", 0o755, b"x");
        let mut data = first.finish();
        while data.len() % 4 != 0 {
            data.push(0);
        }
        data.extend(archive(&[("hello".into(), b"\x7fELF".to_vec())]));
        let names: Vec<Vec<u8>> = exo_cpio::entries(&data).map(|e| e.unwrap().name.to_vec()).collect();
        assert!(names.contains(&b"init".to_vec()) && names.contains(&b"usr/local/bin/hello".to_vec()), "{names:?}");
    }
}
