//! Building a BIOS-bootable GRUB rescue ISO that loads the kernel with Multiboot2
//! (used by `cargo xtask iso`, `run --iso` and the GRUB boot tests).

use crate::util::{self, rel};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

/// Quote one command-line word for grub.cfg when it needs it.
fn grub_word(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "=,.:/_-+@%".contains(c))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// The grub.cfg of the ISO (pure, for tests).
pub fn grub_cfg(cmdline: &str, with_initrd: bool) -> String {
    let mut entry = String::from("/boot/exo-kernel.elf");
    for w in cmdline.split_whitespace() {
        entry.push(' ');
        entry.push_str(&grub_word(w));
    }
    let module = if with_initrd {
        "    module2 /boot/initrd.img initrd\n"
    } else {
        ""
    };
    format!(
        "set timeout=0\n\
         set default=0\n\
         serial --unit=0 --speed=115200\n\
         terminal_input serial console\n\
         terminal_output serial console\n\
         menuentry \"Exo-OS\" {{\n    multiboot2 {entry}\n{module}    boot\n}}\n"
    )
}

/// Build `out` from `kernel`, an optional initrd and the kernel command line.
pub fn make_iso(
    root: &Path,
    kernel: &Path,
    initrd: Option<&Path>,
    cmdline: &str,
    out: &Path,
) -> Result<()> {
    util::ensure_packages(&[util::PKGS_ISO])?;
    let name = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staging = util::exo_target_dir(root).join("iso").join(name);
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot clean {}", staging.display()))?;
    }
    let grub_dir = staging.join("boot").join("grub");
    util::mkdirs(&grub_dir)?;
    let copy = |from: &Path, to: &str| -> Result<()> {
        std::fs::copy(from, staging.join(to))
            .map(|_| ())
            .with_context(|| format!("cannot copy {} into the ISO staging dir", from.display()))
    };
    copy(kernel, "boot/exo-kernel.elf")?;
    if let Some(i) = initrd {
        copy(i, "boot/initrd.img")?;
    }
    let cfg = grub_dir.join("grub.cfg");
    std::fs::write(&cfg, grub_cfg(cmdline, initrd.is_some()))
        .with_context(|| format!("cannot write {}", cfg.display()))?;
    if let Some(dir) = out.parent() {
        util::mkdirs(dir)?;
    }
    let mut cmd = Command::new("grub-mkrescue");
    cmd.arg("-o").arg(out).arg(&staging);
    util::run_quiet(&mut cmd).context("grub-mkrescue could not build the ISO")?;
    println!("xtask: {} ready", rel(root, out));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cfg_with_module() {
        let c = grub_cfg("log=debug panic=exit", true);
        assert!(c.starts_with("set timeout=0\nset default=0\nserial --unit=0 --speed=115200\n"));
        assert!(c.contains("terminal_input serial console\nterminal_output serial console\n"));
        assert!(c.contains(
            "menuentry \"Exo-OS\" {\n    multiboot2 /boot/exo-kernel.elf log=debug panic=exit\n"
        ));
        assert!(c.contains("    module2 /boot/initrd.img initrd\n    boot\n}"));
    }

    #[test]
    fn cfg_without_module_and_quoting() {
        let c = grub_cfg("a=\"x y\" $HOME", false);
        assert!(!c.contains("module2"));
        assert!(
            c.contains("multiboot2 /boot/exo-kernel.elf 'a=\"x' 'y\"' '$HOME'\n"),
            "{c}"
        );
        assert!(grub_cfg("", false).contains("multiboot2 /boot/exo-kernel.elf\n"));
    }
}
