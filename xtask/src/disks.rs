//! Test disk images made with the host's tools (`sfdisk`, `mke2fs`, `mkfs.vfat`), remade for
//! every run under `target/exo/disks/`.
//!
//! The scratch disk ([`scratch_disk`]) is what the user-test boot and the multi-CPU in-kernel
//! test boots get as `/dev/vda`: 64 MiB with an MBR — vda1 an empty ext2 of 40 MiB from
//! 1 MiB, vda2 a vfat over the next 22 MiB, and the last MiB left unpartitioned for raw
//! write tests (`user/tests/t_blockdev.c`, `kernel/src/ktests/block.rs`, which know these
//! numbers).

use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::util;

const MIB: u64 = 1 << 20;
/// Size of the scratch disk.
pub const SCRATCH_SIZE: u64 = 64 * MIB;
/// vda1 (ext2) and vda2 (vfat): first byte and length.
pub const PART1: (u64, u64) = (MIB, 40 * MIB);
pub const PART2: (u64, u64) = (41 * MIB, 22 * MIB);

/// Labels `image` with `script` through sfdisk.
fn sfdisk(image: &Path, script: &str) -> Result<()> {
    let mut child = Command::new("sfdisk")
        .args(["--no-reread", "--no-tell-kernel", "-q"])
        .arg(image)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start sfdisk (package fdisk)")?;
    child.stdin.take().context("sfdisk stdin")?.write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("sfdisk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Copies the file `part` into `image` at byte `offset`.
fn place(image: &Path, part: &Path, offset: u64) -> Result<()> {
    let data = fs::read(part).with_context(|| format!("reading {}", part.display()))?;
    let mut f = OpenOptions::new().write(true).open(image)?;
    f.seek(SeekFrom::Start(offset))?;
    f.write_all(&data)?;
    Ok(())
}

/// A zeroed (sparse) file of `size` bytes.
fn blank(path: &Path, size: u64) -> Result<()> {
    let _ = fs::remove_file(path);
    let f = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    f.set_len(size)?;
    Ok(())
}

/// Makes the scratch disk `target/exo/disks/<name>.img` (see the module comment) and returns
/// its path.
pub fn scratch_disk(root: &Path, name: &str) -> Result<PathBuf> {
    let dir = util::exo_target_dir(root).join("disks");
    util::mkdirs(&dir)?;
    let image = dir.join(format!("{name}.img"));
    blank(&image, SCRATCH_SIZE)?;
    let sectors = |bytes: u64| bytes / 512;
    sfdisk(
        &image,
        &format!(
            "label: dos\nstart={}, size={}, type=83\nstart={}, size={}, type=c\n",
            sectors(PART1.0), sectors(PART1.1), sectors(PART2.0), sectors(PART2.1)
        ),
    )?;
    let ext2 = dir.join(format!("{name}-p1.img"));
    blank(&ext2, PART1.1)?;
    util::run_quiet(Command::new("mke2fs").args(["-q", "-F", "-t", "ext2", "-L", "exo-scratch"]).arg(&ext2))?;
    let vfat = dir.join(format!("{name}-p2.img"));
    blank(&vfat, PART2.1)?;
    util::run_quiet(Command::new("mkfs.vfat").args(["-n", "EXOVFAT"]).arg(&vfat))?;
    place(&image, &ext2, PART1.0)?;
    place(&image, &vfat, PART2.0)?;
    let _ = fs::remove_file(&ext2);
    let _ = fs::remove_file(&vfat);
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_disk_has_the_documented_layout() {
        if !util::on_path("sfdisk") || !util::on_path("mke2fs") || !util::on_path("mkfs.vfat") {
            eprintln!("sfdisk, mke2fs or mkfs.vfat missing: skipped");
            return;
        }
        let root = util::workspace_root();
        let image = scratch_disk(&root, "xtask-unit-test").unwrap();
        let data = fs::read(&image).unwrap();
        assert_eq!(data.len() as u64, SCRATCH_SIZE);
        assert_eq!(&data[510..512], &[0x55, 0xaa]);
        // ext2 magic at 1024 + 56 into vda1; FAT boot signature at the end of vda2's sector 0.
        let p1 = PART1.0 as usize;
        assert_eq!(&data[p1 + 1080..p1 + 1082], &[0x53, 0xef]);
        let p2 = PART2.0 as usize;
        assert_eq!(&data[p2 + 510..p2 + 512], &[0x55, 0xaa]);
        let _ = fs::remove_file(image);
    }
}
