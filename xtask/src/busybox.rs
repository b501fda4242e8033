//! Debian's `busybox-static` for the initramfs: the package is fetched with
//! `apt-get download` (the machine reaches the package registries), unpacked with `dpkg-deb`,
//! and its static binary and applet list are cached in `target/exo/busybox/`. The image then
//! gets `/bin/busybox` and one symlink per applet (`/bin/ls -> /bin/busybox`, ...).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

/// The busybox binary and where its applets go (image paths, e.g. `bin/ls`, `usr/bin/awk`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Busybox {
    pub binary: Vec<u8>,
    pub applets: Vec<String>,
}

fn cache_dir(root: &Path) -> PathBuf {
    util::exo_target_dir(root).join("busybox")
}

/// Image paths of the applets from `busybox --list-full` output; paths that would replace the
/// system's own files (init, linuxrc) are left out.
pub fn parse_applets(list: &str) -> Vec<String> {
    let mut applets: Vec<String> = list
        .lines()
        .map(|l| l.trim().trim_start_matches('/'))
        .filter(|l| !l.is_empty() && !l.contains("..") && !l.ends_with('/'))
        .filter(|l| !matches!(*l, "sbin/init" | "linuxrc" | "init" | "bin/busybox"))
        .map(String::from)
        .collect();
    applets.sort();
    applets.dedup();
    applets
}

fn download(dir: &Path) -> Result<PathBuf> {
    util::mkdirs(dir)?;
    let find_deb = || -> Option<PathBuf> {
        std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| {
            p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("busybox-static_"))
                && p.extension().is_some_and(|x| x == "deb")
        })
    };
    if let Some(deb) = find_deb() {
        return Ok(deb);
    }
    println!("xtask: downloading Debian's busybox-static package");
    let fetch = || Command::new("apt-get").args(["download", "busybox-static"]).current_dir(dir).status();
    let ok = fetch().map(|s| s.success()).unwrap_or(false);
    if !ok {
        // The package lists may be missing on a fresh machine.
        let _ = Command::new("apt-get").arg("update").status();
        let status = fetch().context("cannot run apt-get download")?;
        if !status.success() {
            bail!("`apt-get download busybox-static` failed ({status})");
        }
    }
    find_deb().context("apt-get download left no busybox-static_*.deb")
}

/// The cached busybox, fetching and unpacking it first if needed.
pub fn fetch(root: &Path) -> Result<Busybox> {
    let dir = cache_dir(root);
    let bin = dir.join("busybox");
    let list = dir.join("applets.txt");
    if !bin.is_file() || !list.is_file() {
        let deb = download(&dir)?;
        let extract = dir.join("extract");
        let _ = std::fs::remove_dir_all(&extract);
        util::run_checked(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&extract))?;
        let found = ["bin/busybox", "usr/bin/busybox"].iter().map(|p| extract.join(p)).find(|p| p.is_file());
        let found = found.context("the busybox-static package holds no bin/busybox")?;
        std::fs::copy(&found, &bin).with_context(|| format!("cannot copy {}", found.display()))?;
        let out = Command::new(&bin).arg("--list-full").output().context("cannot run busybox --list-full")?;
        if !out.status.success() {
            bail!("busybox --list-full failed");
        }
        std::fs::write(&list, &out.stdout)?;
    }
    let binary = std::fs::read(&bin).with_context(|| format!("cannot read {}", bin.display()))?;
    let applets = parse_applets(&std::fs::read_to_string(&list)?);
    Ok(Busybox { binary, applets })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applet_list_keeps_paths_and_drops_system_files() {
        let list = "bin/ls\n/usr/bin/awk\nsbin/init\nlinuxrc\nbin/sh\n\nbin/ls\n../etc/x\n";
        assert_eq!(parse_applets(list), vec!["bin/ls", "bin/sh", "usr/bin/awk"]);
    }
}
