//! Disk images for the storage tests and `cargo xtask run`, made with the host's tools
//! (`sfdisk`, `mke2fs`, `mkfs.vfat`, `util::PKGS_DISK`):
//!
//! - [`TestDisk`]: 128 MiB, an MBR with `vda1` (ext2, 48 MiB at 1 MiB) and `vda2` (FAT32,
//!   64 MiB), the last 15 MiB unpartitioned; partitions can be copied out for `e2fsck` and
//!   `fsck.fat` and copied back.
//! - [`root_image`]: an ext2 file system (no partition table) holding the initramfs tree, to
//!   boot with `root=/dev/vda`.

use anyhow::{bail, Context, Result};
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

const MIB: u64 = 1 << 20;

/// The partitions of a [`TestDisk`]: (start, length) in bytes.
pub const PARTITIONS: [(u64, u64); 2] = [(MIB, 48 * MIB), (49 * MIB, 64 * MIB)];
/// Size of a [`TestDisk`].
pub const SIZE: u64 = 128 * MIB;

/// A disk image with an ext2 and a FAT32 partition.
pub struct TestDisk {
    pub path: PathBuf,
}

/// The path of an e2fsprogs/dosfstools program (often in /usr/sbin, not on a user's PATH).
pub fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(name)
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("cannot run {}", util::show(cmd)))?;
    if !out.status.success() {
        bail!("{} failed: {}{}", util::show(cmd), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

impl TestDisk {
    /// Makes a fresh disk at `path` (replacing any old one).
    pub fn create(path: &Path) -> Result<TestDisk> {
        if let Some(dir) = path.parent() {
            util::mkdirs(dir)?;
        }
        let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        file.set_len(SIZE)?;
        drop(file);
        let table: String = format!(
            "label: dos\nstart={}, size={}, type=83\nstart={}, size={}, type=c\n",
            PARTITIONS[0].0 / 512,
            PARTITIONS[0].1 / 512,
            PARTITIONS[1].0 / 512,
            PARTITIONS[1].1 / 512
        );
        let mut sfdisk = Command::new(tool("sfdisk"));
        sfdisk.arg("--quiet").arg(path).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::null());
        let mut child = sfdisk.spawn().context("cannot run sfdisk")?;
        child.stdin.take().context("sfdisk stdin")?.write_all(table.as_bytes())?;
        if !child.wait()?.success() {
            bail!("sfdisk failed on {}", path.display());
        }
        let (start, len) = PARTITIONS[0];
        run(Command::new(tool("mke2fs"))
            .args(["-q", "-F", "-t", "ext2", "-L", "exo-test"])
            .arg("-E")
            .arg(format!("offset={start}"))
            .arg(path)
            .arg(format!("{}k", len / 1024)))?;
        let (start, len) = PARTITIONS[1];
        run(Command::new(tool("mkfs.vfat"))
            .args(["-F", "32", "-n", "EXOFAT"])
            .arg("--offset")
            .arg((start / 512).to_string())
            .arg(path)
            .arg((len / 1024).to_string()))?;
        Ok(TestDisk { path: path.to_path_buf() })
    }

    /// Copies partition `index` (0 = `vda1`) to a file next to the disk; returns its path.
    pub fn extract(&self, index: usize) -> Result<PathBuf> {
        let (start, len) = PARTITIONS[index];
        let out = self.path.with_extension(format!("part{}", index + 1));
        let mut disk = File::open(&self.path)?;
        disk.seek(SeekFrom::Start(start))?;
        let mut data = vec![0u8; len as usize];
        disk.read_exact(&mut data)?;
        fs::write(&out, &data).with_context(|| format!("cannot write {}", out.display()))?;
        Ok(out)
    }

    /// Writes a partition file made by [`TestDisk::extract`] back into the disk.
    pub fn put_back(&self, index: usize, part: &Path) -> Result<()> {
        let (start, len) = PARTITIONS[index];
        let data = fs::read(part)?;
        if data.len() as u64 != len {
            bail!("{} has the wrong size", part.display());
        }
        let mut disk = fs::OpenOptions::new().write(true).open(&self.path)?;
        disk.seek(SeekFrom::Start(start))?;
        disk.write_all(&data)?;
        Ok(())
    }

    /// mtools' name of partition `index`: `disk.img@@OFFSET`.
    pub fn mtools_image(&self, index: usize) -> String {
        format!("{}@@{}", self.path.display(), PARTITIONS[index].0)
    }
}

/// Makes `image`, an ext2 file system of `mib` MiB holding the files of the initramfs archive
/// `initrd` (directories, files, symlinks; device nodes are left to devtmpfs).
pub fn root_image(initrd: &Path, image: &Path, mib: u64) -> Result<()> {
    let archive = fs::read(initrd).with_context(|| format!("cannot read {}", initrd.display()))?;
    let tree = image.with_extension("tree");
    if tree.exists() {
        fs::remove_dir_all(&tree)?;
    }
    util::mkdirs(&tree)?;
    for entry in exo_cpio::entries(&archive) {
        let entry = entry.map_err(|e| anyhow::anyhow!("{}: {e:?}", initrd.display()))?;
        let Some(name) = entry.normalized_name() else { continue };
        let path = tree.join(std::str::from_utf8(name)?);
        let perms = entry.mode & 0o7777;
        match entry.mode & 0o170000 {
            0o040000 => {
                fs::create_dir_all(&path)?;
                set_mode(&path, perms)?;
            }
            0o100000 => {
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir)?;
                }
                fs::write(&path, entry.data)?;
                set_mode(&path, perms)?;
            }
            0o120000 => {
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir)?;
                }
                let _ = fs::remove_file(&path);
                std::os::unix::fs::symlink(std::str::from_utf8(entry.data)?, &path)?;
            }
            _ => {}
        }
    }
    for dir in ["dev", "proc", "tmp", "mnt", "sys"] {
        fs::create_dir_all(tree.join(dir))?;
    }
    set_mode(&tree.join("tmp"), 0o1777)?;
    let _ = fs::remove_file(image);
    run(Command::new(tool("mke2fs"))
        .args(["-q", "-F", "-t", "ext2", "-b", "4096", "-L", "exo-root", "-d"])
        .arg(&tree)
        .arg(image)
        .arg(format!("{mib}M")))?;
    fs::remove_dir_all(&tree)?;
    Ok(())
}

/// Makes `image` a blank ext2 file system of `mib` MiB, 4 KiB blocks, no partition table (the
/// disk of `cargo xtask bench`, `/dev/vda` as a whole).
pub fn blank_ext2(image: &Path, mib: u64) -> Result<()> {
    if let Some(dir) = image.parent() {
        util::mkdirs(dir)?;
    }
    let _ = fs::remove_file(image);
    run(Command::new(tool("mke2fs"))
        .args(["-q", "-F", "-t", "ext2", "-b", "4096", "-L", "exo-bench"])
        .arg(image)
        .arg(format!("{mib}M")))
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).with_context(|| format!("cannot chmod {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_fit_the_disk_and_do_not_overlap() {
        let [(a, al), (b, bl)] = PARTITIONS;
        assert!(a + al <= b && b + bl <= SIZE);
        assert_eq!(a % 4096, 0);
        assert_eq!(b % 4096, 0);
    }
}
