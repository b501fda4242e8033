//! Building the Rust user programs (`user/rust`, package `exo-user-rust`) for the initramfs:
//! the Debian toolchain that builds the kernel (`-Zbuild-std` of `core`), target
//! `x86_64-unknown-none` with the user code model (`code-model=small`, static relocations, GNU
//! ld), release profile, into `target/exo/rust-user` so that the kernel's build (other flags,
//! `target/exo`) is never invalidated. Each program is a static non-PIE ELF executable loaded
//! at 0x400000, packed as `/bin/<name>` by `initramfs::build`.
//!
//! Cargo runs again only when a file of `user/rust`, `crates/abi` or `crates/fusion`, the
//! workspace's `Cargo.toml`/`Cargo.lock`, the compiler or the command changed since the last
//! successful build (a stamp file holding the command); otherwise the binaries are reused.

use crate::util::{self, rel};
use anyhow::{bail, Context, Result};
use object::read::elf::{FileHeader, ProgramHeader};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// The cargo package of the programs.
pub const PACKAGE: &str = "exo-user-rust";
/// Its binaries: each becomes `/bin/<name>`.
pub const PROGRAMS: &[&str] = &["fusion_echo_rs"];
/// Code generation of user programs: the small code model (the target's default is the
/// kernel's), static relocations, GNU ld (Debian's rustc has no rust-lld), no debug info in the
/// image.
const RUSTFLAGS: &str = "-C linker=ld -C linker-flavor=ld -C relocation-model=static \
    -C code-model=small -C force-frame-pointers=yes -C strip=debuginfo";
/// Lowest address a program may load at (the kernel leaves the first pages unmapped).
const MIN_LOAD: u64 = 0x10000;

/// `target/exo/rust-user`.
pub fn target_dir(root: &Path) -> PathBuf {
    util::exo_target_dir(root).join("rust-user")
}

/// The built binary of `name`.
pub fn binary(root: &Path, name: &str) -> PathBuf {
    target_dir(root)
        .join(crate::kbuild::KERNEL_TARGET)
        .join("release")
        .join(name)
}

/// The cargo command that builds every program.
fn command(root: &Path) -> Command {
    let mut cmd = util::debian_cargo(root);
    cmd.env("CARGO_TARGET_DIR", target_dir(root))
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_X86_64_UNKNOWN_NONE_RUSTFLAGS", RUSTFLAGS)
        .args(["build", "-p", PACKAGE, "--release", "--target", crate::kbuild::KERNEL_TARGET])
        .args([
            "-Zbuild-std=core,compiler_builtins",
            "-Zbuild-std-features=compiler-builtins-mem",
        ]);
    cmd
}

/// What the stamp holds: the command line and its code generation flags.
fn stamp_text(root: &Path) -> String {
    format!("{}\nRUSTFLAGS={RUSTFLAGS}\n", util::show(&command(root)))
}

/// Every file under `dir` (recursively; none if it does not exist), skipping `target`.
fn files_under(dir: &Path, into: &mut Vec<PathBuf>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let p = e?.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "target") {
                files_under(&p, into)?;
            }
        } else {
            into.push(p);
        }
    }
    Ok(())
}

/// The files a build depends on.
fn inputs(root: &Path) -> Result<Vec<PathBuf>> {
    let mut v = vec![
        root.join("Cargo.toml"),
        root.join("Cargo.lock"),
        PathBuf::from(util::DEBIAN_RUSTC),
    ];
    for dir in ["user/rust", "crates/abi", "crates/fusion"] {
        files_under(&root.join(dir), &mut v)?;
    }
    Ok(v)
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Must cargo run? The stamp is missing, holds another command, or is older than an input;
/// or a binary is missing.
pub fn is_stale(stamp: &Path, text: &str, inputs: &[PathBuf], binaries: &[PathBuf]) -> bool {
    let Some(built) = mtime(stamp) else {
        return true;
    };
    std::fs::read_to_string(stamp).unwrap_or_default() != text
        || inputs.iter().any(|i| mtime(i).is_none_or(|t| t > built))
        || binaries.iter().any(|b| !b.is_file())
}

/// The checks the image needs: a static (no interpreter) x86-64 `ET_EXEC` ELF64 whose
/// segments load at or above [`MIN_LOAD`].
pub fn check_elf(data: &[u8]) -> Result<()> {
    use object::elf::{FileHeader64, EM_X86_64, ET_EXEC, PT_INTERP, PT_LOAD};
    use object::LittleEndian as LE;
    let hdr = FileHeader64::<LE>::parse(data).map_err(|e| anyhow::anyhow!("not an ELF64 file: {e}"))?;
    if !hdr.is_little_endian() || hdr.e_machine(LE) != EM_X86_64 {
        bail!("not a little-endian x86-64 ELF");
    }
    if hdr.e_type(LE) != ET_EXEC {
        bail!("not a non-PIE executable (e_type {})", hdr.e_type(LE));
    }
    let phdrs = hdr
        .program_headers(LE, data)
        .map_err(|e| anyhow::anyhow!("bad program headers: {e}"))?;
    let mut loads = 0;
    for ph in phdrs {
        match ph.p_type(LE) {
            PT_INTERP => bail!("has an interpreter (PT_INTERP): not static"),
            PT_LOAD if ph.p_vaddr(LE) < MIN_LOAD => {
                bail!("a segment loads at {:#x}, below {MIN_LOAD:#x}", ph.p_vaddr(LE))
            }
            PT_LOAD => loads += 1,
            _ => {}
        }
    }
    if loads == 0 {
        bail!("no loadable segment");
    }
    Ok(())
}

/// Builds the programs (when stale) and returns them as (image path, contents).
pub fn build(root: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let binaries: Vec<PathBuf> = PROGRAMS.iter().map(|n| binary(root, n)).collect();
    let stamp = target_dir(root).join(format!("{PACKAGE}.stamp"));
    let text = stamp_text(root);
    if is_stale(&stamp, &text, &inputs(root)?, &binaries) {
        util::ensure_packages(&[util::PKGS_BUILD])?;
        println!("xtask: building the Rust user programs (user/rust, {PACKAGE})");
        let _ = std::fs::remove_file(&stamp);
        util::run_checked(&mut command(root)).context("building the Rust user programs failed")?;
        util::mkdirs(&target_dir(root))?;
        std::fs::write(&stamp, &text).with_context(|| format!("cannot write {}", stamp.display()))?;
    }
    let mut out = Vec::new();
    for (name, bin) in PROGRAMS.iter().zip(&binaries) {
        let data = std::fs::read(bin).with_context(|| format!("cannot read {}", rel(root, bin)))?;
        check_elf(&data).with_context(|| format!("{} cannot run on Exo-OS", rel(root, bin)))?;
        out.push((format!("bin/{name}"), data));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 header plus one program header of type `ptype` at `vaddr`.
    fn elf(e_type: u16, ptype: u32, vaddr: u64) -> Vec<u8> {
        let mut d = vec![0u8; 64 + 56];
        d[..4].copy_from_slice(b"\x7fELF");
        (d[4], d[5], d[6]) = (2, 1, 1);
        d[16..18].copy_from_slice(&e_type.to_le_bytes());
        d[18..20].copy_from_slice(&62u16.to_le_bytes());
        d[20..24].copy_from_slice(&1u32.to_le_bytes());
        d[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        d[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        d[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        d[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        d[64..68].copy_from_slice(&ptype.to_le_bytes());
        d[64 + 16..64 + 24].copy_from_slice(&vaddr.to_le_bytes());
        d
    }

    #[test]
    fn accepts_only_static_executables_at_user_addresses() {
        check_elf(&elf(2, 1, 0x400000)).unwrap();
        assert!(check_elf(&elf(3, 1, 0x400000)).is_err(), "PIE / shared object");
        assert!(check_elf(&elf(2, 3, 0x400000)).is_err(), "PT_INTERP");
        assert!(check_elf(&elf(2, 1, 0)).is_err(), "loads at 0");
        assert!(check_elf(&elf(2, 6, 0x400000)).is_err(), "no PT_LOAD");
        assert!(check_elf(b"\x7fELF").is_err());
    }

    #[test]
    fn stale_until_stamped_then_on_changes() {
        let d = std::env::temp_dir().join(format!("xtask-rustuser-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let (src, bin, stamp) = (d.join("main.rs"), d.join("prog"), d.join("p.stamp"));
        std::fs::write(&src, "fn main() {}").unwrap();
        std::fs::write(&bin, "ELF").unwrap();
        let inputs = [src.clone()];
        let bins = [bin.clone()];
        assert!(is_stale(&stamp, "cmd", &inputs, &bins), "no stamp");
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&stamp, "cmd").unwrap();
        assert!(!is_stale(&stamp, "cmd", &inputs, &bins));
        assert!(is_stale(&stamp, "other cmd", &inputs, &bins), "command changed");
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&src, "fn main() { }").unwrap();
        assert!(is_stale(&stamp, "cmd", &inputs, &bins), "source changed");
        std::fs::write(&stamp, "cmd").unwrap();
        std::fs::remove_file(&bin).unwrap();
        assert!(is_stale(&stamp, "cmd", &inputs, &bins), "binary gone");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn lists_the_inputs_of_the_real_tree() {
        let root = util::workspace_root();
        let v = inputs(&root).unwrap();
        assert!(v.iter().any(|p| p.ends_with("user/rust/src/fusion_echo_rs.rs")));
        assert!(v.iter().any(|p| p.ends_with("crates/fusion/src/sys.rs")));
    }
}
