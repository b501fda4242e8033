//! Shared helpers of xtask: workspace paths, the Debian toolchain command, running
//! external programs with clear errors, and installing missing Debian packages.

use anyhow::{bail, Context, Result};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Debian packages every kernel build needs (toolchain with `rust-src` for `-Zbuild-std`, objcopy).
pub const PKGS_BUILD: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "binutils"];
/// Packages for booting the kernel in QEMU.
pub const PKGS_QEMU: &[&str] = &["qemu-system-x86"];
/// QEMU's GTK window for `run --gui` (only a Recommends of qemu-system-x86).
pub const PKGS_GUI: &[&str] = &["qemu-system-gui"];
/// Packages for building a GRUB rescue ISO (BIOS only).
pub const PKGS_ISO: &[&str] = &["grub-pc-bin", "grub-common", "xorriso", "mtools"];
/// Compilers of the user programs: `musl-gcc` (musl-tools) and `gcc` with glibc's static libc.
pub const PKGS_USER: &[&str] = &["musl-tools", "gcc", "libc6-dev"];
/// Disk-image tools: `mke2fs`/`e2fsck`/`debugfs` (ext2 images and checks), `mkfs.vfat` and
/// mtools (FAT), `sfdisk` (partition tables).
pub const PKGS_DISK: &[&str] = &["e2fsprogs", "dosfstools", "mtools", "fdisk"];
/// Unpacking Debian packages for the Debian image (`xtask/src/debian.rs`): `apt-get download`
/// and `dpkg-deb` (essential on Debian, listed for other Debian-based systems); `unshare` of
/// util-linux runs the host side of the `debian` test stage in a chroot.
pub const PKGS_DEB: &[&str] = &["apt", "dpkg", "util-linux"];
/// Packages for `cargo xtask gdb`.
pub const PKGS_GDB: &[&str] = &["gdb"];

/// The Debian cargo/rustc that can build bare-metal code (`-Zbuild-std`).
pub const DEBIAN_CARGO: &str = "/usr/bin/cargo";
pub const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
pub const DEBIAN_RUSTDOC: &str = "/usr/bin/rustdoc";

/// Root of the Cargo workspace (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// `target/exo`: the target directory of everything the Debian toolchain builds.
pub fn exo_target_dir(root: &Path) -> PathBuf {
    root.join("target").join("exo")
}

/// `build/`: where finished artifacts (kernel ELFs, ISOs) are copied.
pub fn build_dir(root: &Path) -> PathBuf {
    root.join("build")
}

/// A `/usr/bin/cargo` command run from the workspace root with the Debian rustc,
/// rustdoc and the separate target dir, cleaned of rustup's toolchain override.
pub fn debian_cargo(root: &Path) -> Command {
    let mut cmd = Command::new(DEBIAN_CARGO);
    cmd.current_dir(root)
        .env("RUSTC", DEBIAN_RUSTC)
        .env("RUSTDOC", DEBIAN_RUSTDOC)
        .env("CARGO_TARGET_DIR", exo_target_dir(root))
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO");
    cmd
}

/// Human-readable form of a command line, for messages.
pub fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '"') {
            s.push_str(&format!(" '{a}'"));
        } else {
            s.push(' ');
            s.push_str(&a);
        }
    }
    s
}

/// Run a command with inherited stdio; fail unless it exits successfully.
pub fn run_checked(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start `{}`", show(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", show(cmd));
    }
    Ok(())
}

/// Run a command capturing its output; on failure the error carries that output.
pub fn run_quiet(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start `{}`", show(cmd)))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!(
            "`{}` failed ({}):\n{}",
            show(cmd),
            out.status,
            text.trim_end()
        );
    }
    Ok(text)
}

/// Is `prog` an executable found on `PATH`?
pub fn on_path(prog: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|d| d.join(prog).is_file())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Is the Debian package `pkg` installed?
fn installed(pkg: &str) -> Result<bool> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .stderr(Stdio::null())
        .output()
        .context("cannot run dpkg-query: xtask needs a Debian (or Debian-based) system")?;
    Ok(out.status.success()
        && String::from_utf8_lossy(&out.stdout).trim() == "install ok installed")
}

/// Install the packages of `groups` that are missing (apt-get update once, only if needed).
pub fn ensure_packages(groups: &[&[&str]]) -> Result<()> {
    let mut missing: Vec<&str> = Vec::new();
    for pkg in groups.iter().flat_map(|g| g.iter()) {
        if !missing.contains(pkg) && !installed(pkg)? {
            missing.push(pkg);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    println!(
        "xtask: installing missing Debian packages: {}",
        missing.join(" ")
    );
    let sudo = if is_root() {
        false
    } else if on_path("sudo") {
        println!("xtask: not root, using sudo");
        true
    } else {
        bail!(
            "missing Debian packages ({}) and not root, with no sudo: run as root \
             `apt-get update && apt-get install -y --no-install-recommends {}`",
            missing.join(" "),
            missing.join(" ")
        );
    };
    let apt = |args: &[&str]| -> Command {
        let mut c = if sudo {
            Command::new("sudo")
        } else {
            Command::new("apt-get")
        };
        if sudo {
            c.args(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        }
        c.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null());
        c
    };
    run_checked(&mut apt(&["update"])).context("apt-get update failed")?;
    let mut install = apt(&["install", "-y", "--no-install-recommends"]);
    install.args(&missing);
    run_checked(&mut install).context("installing Debian packages failed")?;
    for pkg in &missing {
        if !installed(pkg)? {
            bail!("package {pkg} is still not installed after apt-get install");
        }
    }
    Ok(())
}

/// Create a directory and its parents, with a clear error.
pub fn mkdirs(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))
}

/// A path relative to the workspace root when possible (for short messages).
pub fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// Accept `OsStr`s and `&str`s alike when building argument lists.
pub fn os<S: AsRef<OsStr> + ?Sized>(s: &S) -> std::ffi::OsString {
    s.as_ref().to_os_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status() {
        if on_path("dpkg-query") {
            assert!(installed("dpkg").unwrap());
            assert!(!installed("xtask-no-such-package").unwrap());
        }
    }

    #[test]
    fn shows_commands_with_quotes() {
        let mut c = Command::new("qemu");
        c.args(["-append", "a b", ""]);
        assert_eq!(show(&c), "qemu -append 'a b' ''");
        assert_eq!(rel(Path::new("/w"), Path::new("/w/build/x")), "build/x");
    }
}
