//! Disk images made with the host's tools (`sfdisk`, `mke2fs`, `mkfs.vfat`; `util::PKGS_DISK`)
//! for the tests, the benchmark and `cargo xtask run`:
//!
//! - [`TestDisk`]: a raw disk with an MBR, `vda1` an empty ext2 and `vda2` a vfat, in one of
//!   two [`Layout`]s. [`SCRATCH`] (64 MiB: ext2 40 MiB from 1 MiB, FAT16 22 MiB from 41 MiB,
//!   the last MiB unpartitioned for raw writes) is what the user-test boot and the 2- and
//!   4-CPU in-kernel test boots get as `/dev/vda` ([`scratch_disk`]; `user/tests/t_blockdev.c`,
//!   `t_disk.c` and `kernel/src/ktests/block.rs` know these numbers). [`STORAGE`] (128 MiB:
//!   ext2 48 MiB, FAT32 64 MiB) is the storage stage's. Partitions can be copied out for
//!   `e2fsck`/`fsck.fat` and back.
//! - [`root_image`]: an ext2 file system (no partition table) holding the initramfs tree, to
//!   boot with `root=/dev/vda`; [`blank_ext2`]: an empty one (the benchmark's disk).

use anyhow::{bail, Context, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util;

const MIB: u64 = 1 << 20;

/// Where the partitions of a [`TestDisk`] lie.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub size: u64,
    /// vda1 (ext2) and vda2 (vfat): first byte and length.
    pub parts: [(u64, u64); 2],
    /// `mkfs.vfat -F 32` (else mkfs.vfat chooses: FAT16 for small partitions).
    pub fat32: bool,
}

/// The scratch disk of the user-test and in-kernel-test boots.
pub const SCRATCH: Layout = Layout { size: 64 * MIB, parts: [(MIB, 40 * MIB), (41 * MIB, 22 * MIB)], fat32: false };
/// The storage stage's disk.
pub const STORAGE: Layout = Layout { size: 128 * MIB, parts: [(MIB, 48 * MIB), (49 * MIB, 64 * MIB)], fat32: true };

/// The path of an e2fsprogs/dosfstools/fdisk program (often in /usr/sbin, not on a user's PATH).
pub fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(name)
}

/// A raw disk image with an ext2 and a vfat partition.
pub struct TestDisk {
    pub path: PathBuf,
    pub layout: Layout,
}

/// A zeroed (sparse) file of `size` bytes, replacing any old one.
fn blank(path: &Path, size: u64) -> Result<()> {
    if let Some(dir) = path.parent() {
        util::mkdirs(dir)?;
    }
    let _ = fs::remove_file(path);
    let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.set_len(size)?;
    Ok(())
}

/// Labels `image` with the sfdisk `script`.
fn sfdisk(image: &Path, script: &str) -> Result<()> {
    let mut child = Command::new(tool("sfdisk"))
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

impl TestDisk {
    /// Makes a fresh disk at `path` (replacing any old one).
    pub fn create(path: &Path, layout: Layout) -> Result<TestDisk> {
        blank(path, layout.size)?;
        let [(s1, l1), (s2, l2)] = layout.parts;
        sfdisk(path, &format!("label: dos\nstart={}, size={}, type=83\nstart={}, size={}, type=c\n", s1 / 512, l1 / 512, s2 / 512, l2 / 512))?;
        util::run_quiet(
            Command::new(tool("mke2fs")).args(["-q", "-F", "-t", "ext2", "-L", "exo-test", "-E"]).arg(format!("offset={s1}")).arg(path).arg(format!("{}k", l1 / 1024)),
        )?;
        let mut mkfs = Command::new(tool("mkfs.vfat"));
        if layout.fat32 {
            mkfs.args(["-F", "32"]);
        }
        util::run_quiet(mkfs.args(["-n", "EXOFAT", "--offset"]).arg((s2 / 512).to_string()).arg(path).arg((l2 / 1024).to_string()))?;
        Ok(TestDisk { path: path.to_path_buf(), layout })
    }

    /// Copies partition `index` (0 = `vda1`) to a file next to the disk; returns its path.
    pub fn extract(&self, index: usize) -> Result<PathBuf> {
        let (start, len) = self.layout.parts[index];
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
        let (start, len) = self.layout.parts[index];
        let data = fs::read(part)?;
        if data.len() as u64 != len {
            bail!("{} has the wrong size", part.display());
        }
        let mut disk = OpenOptions::new().write(true).open(&self.path)?;
        disk.seek(SeekFrom::Start(start))?;
        disk.write_all(&data)?;
        Ok(())
    }

    /// mtools' name of partition `index`: `disk.img@@OFFSET`.
    pub fn mtools_image(&self, index: usize) -> String {
        format!("{}@@{}", self.path.display(), self.layout.parts[index].0)
    }
}

/// Makes the scratch disk `target/exo/disks/<name>.img` ([`SCRATCH`]) and returns its path.
pub fn scratch_disk(root: &Path, name: &str) -> Result<PathBuf> {
    let image = util::exo_target_dir(root).join("disks").join(format!("{name}.img"));
    TestDisk::create(&image, SCRATCH)?;
    Ok(image)
}

/// Makes `image`, an ext2 file system of `mib` MiB holding the files of the initramfs archive
/// `initrd` (directories, files, symlinks; device nodes are left to devtmpfs).
pub fn root_image(initrd: &Path, image: &Path, mib: u64) -> Result<()> {
    let tree = image.with_extension("tree");
    unpack_initrd(initrd, &tree)?;
    ext2_from_tree(&tree, image, mib)?;
    fs::remove_dir_all(&tree)?;
    Ok(())
}

/// Unpacks the initramfs archive `initrd` into the directory `tree` (replacing it), with the
/// mount points a root file system needs.
pub fn unpack_initrd(initrd: &Path, tree: &Path) -> Result<()> {
    let archive = fs::read(initrd).with_context(|| format!("cannot read {}", initrd.display()))?;
    if tree.exists() {
        fs::remove_dir_all(tree)?;
    }
    util::mkdirs(tree)?;
    for entry in exo_cpio::entries(&archive) {
        let entry = entry.map_err(|e| anyhow::anyhow!("{}: {e:?}", initrd.display()))?;
        let Some(name) = entry.normalized_name() else { continue };
        let path = tree.join(std::str::from_utf8(name)?);
        let perms = entry.mode & 0o7777;
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        match entry.mode & 0o170000 {
            0o040000 => {
                fs::create_dir_all(&path)?;
                set_mode(&path, perms)?;
            }
            0o100000 => {
                fs::write(&path, entry.data)?;
                set_mode(&path, perms)?;
            }
            0o120000 => {
                let _ = fs::remove_file(&path);
                std::os::unix::fs::symlink(std::str::from_utf8(entry.data)?, &path)?;
            }
            _ => {}
        }
    }
    for dir in ["dev", "proc", "tmp", "mnt", "sys"] {
        fs::create_dir_all(tree.join(dir))?;
    }
    set_mode(&tree.join("tmp"), 0o1777)
}

/// Makes `image`, an ext2 file system of `mib` MiB (4 KiB blocks) holding the files of `tree`.
pub fn ext2_from_tree(tree: &Path, image: &Path, mib: u64) -> Result<()> {
    if let Some(dir) = image.parent() {
        util::mkdirs(dir)?;
    }
    let _ = fs::remove_file(image);
    util::run_quiet(Command::new(tool("mke2fs")).args(["-q", "-F", "-t", "ext2", "-b", "4096", "-L", "exo-root", "-d"]).arg(tree).arg(image).arg(format!("{mib}M")))?;
    Ok(())
}

/// Makes `image`, an empty ext2 of `mib` MiB with 4 KiB blocks (the benchmark's disk).
pub fn blank_ext2(image: &Path, mib: u64) -> Result<()> {
    if let Some(dir) = image.parent() {
        util::mkdirs(dir)?;
    }
    let _ = fs::remove_file(image);
    util::run_quiet(Command::new(tool("mke2fs")).args(["-q", "-F", "-t", "ext2", "-b", "4096", "-L", "exo-bench"]).arg(image).arg(format!("{mib}M")))?;
    Ok(())
}

pub fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).with_context(|| format!("cannot chmod {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_fit_their_disks() {
        for l in [SCRATCH, STORAGE] {
            let [(a, al), (b, bl)] = l.parts;
            assert!(a + al <= b && b + bl <= l.size);
            assert!(a % 4096 == 0 && b % 4096 == 0);
        }
        assert!(SCRATCH.parts[1].0 + SCRATCH.parts[1].1 + MIB <= SCRATCH.size, "the last MiB stays free");
    }

    #[test]
    fn scratch_disk_has_the_documented_layout() {
        if !tool("sfdisk").exists() || !tool("mke2fs").exists() || !tool("mkfs.vfat").exists() {
            eprintln!("sfdisk, mke2fs or mkfs.vfat missing: skipped");
            return;
        }
        let root = util::workspace_root();
        let image = scratch_disk(&root, "xtask-unit-test").unwrap();
        let data = fs::read(&image).unwrap();
        assert_eq!(data.len() as u64, SCRATCH.size);
        assert_eq!(&data[510..512], &[0x55, 0xaa]);
        // ext2 magic at 1024 + 56 into vda1; FAT boot signature at the end of vda2's sector 0.
        let p1 = SCRATCH.parts[0].0 as usize;
        assert_eq!(&data[p1 + 1080..p1 + 1082], &[0x53, 0xef]);
        let p2 = SCRATCH.parts[1].0 as usize;
        assert_eq!(&data[p2 + 510..p2 + 512], &[0x55, 0xaa]);
        let _ = fs::remove_file(image);
    }
}
