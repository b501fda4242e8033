//! The side-by-side part of `cargo xtask bench`: the static benchmark program
//! `user/bench/bench.c` is packed as `/init` (and `/bench`) of a tiny initramfs and booted on
//! Exo-OS and on Debian's Linux kernel with identical QEMU settings (TCG, one CPU, 256 MiB,
//! `-icount shift=0,sleep=off`: a "cycle" is one retired guest instruction). Each run's
//! `BENCH` lines are parsed by `benchreport`.
//!
//! Both machines get a virtio-blk disk (`/dev/vda`) for the storage cases (`user/bench/disk.h`):
//! copies of one blank ext2 image, so both kernels start from identical bytes. Linux's
//! initramfs also carries the modules it needs for that disk ([`DISK_MODULES`]), which the
//! program loads with `finit_module` before it mounts the disk.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use exo_cpio::{Writer, S_IFCHR};

use crate::benchreport::{self, BenchRun};
use crate::kbuild::{self, BuildOpts};
use crate::qemu::{self, Boot, Capture, Machine};
use crate::{disks, linux, util};

/// CPUs of both machines: Linux 6.1 does not bring up a second CPU under QEMU 7.2's icount.
pub const CPUS: u32 = 1;

/// Size of the benchmark's disk (the 64 MiB file and 10,000 files of 4 KiB fit with room).
pub const DISK_MIB: u64 = 256;

/// The modules Debian's kernel needs to mount the ext2 disk, in load order (dependencies first,
/// from their `depends=`): ext4 serves ext2 and needs crc32c at mount; virtio-blk on virtio-pci.
pub const DISK_MODULES: &[&str] = &[
    "crc32c_generic",
    "crc16",
    "mbcache",
    "jbd2",
    "ext4",
    "virtio_ring",
    "virtio",
    "virtio_pci_modern_dev",
    "virtio_pci_legacy_dev",
    "virtio_pci",
    "virtio_blk",
];

/// Compiles the benchmark and packs `build/bench.cpio`.
pub fn initramfs(root: &Path) -> Result<PathBuf> {
    util::ensure_packages(&[util::PKGS_USER])?;
    let dir = util::exo_target_dir(root).join("bench");
    util::mkdirs(&dir)?;
    let bin = dir.join("bench");
    let src = root.join("user").join("bench");
    let mut cc = Command::new("musl-gcc");
    cc.args(["-static", "-O2", "-Wall", "-pthread"])
        .arg(format!("-I{}", src.display()))
        .arg(format!("-I{}", root.join("user").join("lib").display()))
        .arg("-o")
        .arg(&bin)
        .arg(src.join("bench.c"));
    util::run_checked(&mut cc)?;
    let data = std::fs::read(&bin).with_context(|| format!("cannot read {}", bin.display()))?;
    let mut w = Writer::new();
    for (d, mode) in [("dev", 0o755), ("tmp", 0o1777), ("proc", 0o555)] {
        w.dir(d, mode);
    }
    // Linux connects init's console only through this node; /dev/null for the write case.
    w.node("dev/console", S_IFCHR | 0o600, 5, 1);
    w.node("dev/null", S_IFCHR | 0o666, 1, 3);
    w.file("init", 0o755, &data);
    w.file("bench", 0o755, &data);
    let out = util::build_dir(root).join("bench.cpio");
    std::fs::write(&out, w.finish()).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(out)
}

/// `build/bench-linux.cpio`: the benchmark's initramfs `base` followed by a second archive with
/// [`DISK_MODULES`] (Linux unpacks both).
fn linux_initramfs(root: &Path, vmlinux: &Path, base: &Path) -> Result<PathBuf> {
    let mut w = Writer::new();
    linux::add_modules(&mut w, root, vmlinux, DISK_MODULES)?;
    let mut image = std::fs::read(base).with_context(|| format!("cannot read {}", base.display()))?;
    image.extend(w.finish());
    let out = util::build_dir(root).join("bench-linux.cpio");
    std::fs::write(&out, image).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(out)
}

/// Fresh disks for the two machines in `dir`: one blank ext2 image (`mke2fs`, so its UUID and
/// hash seed are random) copied twice, so both kernels start from the same bytes. The copies
/// are sparse; [`Disks`] deletes them when the run is over.
fn fresh_disks(dir: &Path) -> Result<Disks> {
    let blank = dir.join("disk-blank.img");
    disks::blank_ext2(&blank, DISK_MIB)?;
    let disks = Disks([dir.join("exo-disk.img"), dir.join("linux-disk.img")]);
    for copy in &disks.0 {
        sparse_copy(&blank, copy).with_context(|| format!("cannot copy {} to {}", blank.display(), copy.display()))?;
    }
    let _ = std::fs::remove_file(&blank);
    Ok(disks)
}

/// The two disk images of a run (Exo-OS's, Linux's), deleted on drop: 256 MiB each, and the
/// host's disk is shared.
struct Disks([PathBuf; 2]);

impl Drop for Disks {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Copies `from` to `to`, leaving holes where `from` has 4 KiB blocks of zeros.
fn sparse_copy(from: &Path, to: &Path) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    const BLOCK: usize = 4096;
    let mut src = std::fs::File::open(from)?;
    let len = src.metadata()?.len();
    let _ = std::fs::remove_file(to);
    let mut dst = std::fs::File::create(to)?;
    let mut buf = vec![0u8; 256 * BLOCK];
    let mut at = 0u64;
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        for block in buf[..n].chunks(BLOCK) {
            if block.iter().any(|b| *b != 0) {
                dst.seek(SeekFrom::Start(at))?;
                dst.write_all(block)?;
            }
            at += block.len() as u64;
        }
    }
    dst.set_len(len)?;
    Ok(())
}

/// Boots `machine`, returns the parsed run and the serial lines (log at `log`).
pub(crate) fn boot(machine: &Machine, log: PathBuf, what: &str, ok_status: &[i32]) -> Result<(BenchRun, Vec<String>)> {
    let cap = Capture {
        timeout: Duration::from_secs(900),
        log: log.clone(),
        send: None,
        mark: None,
        echo: true,
        abort_on: vec!["KERNEL PANIC".into(), "Kernel panic".into()],
    };
    // The guest's serial lines (one `BENCH` line per case) are shown as they come.
    println!("xtask bench: running the benchmark on {what} (progress: one line per case)");
    let out = qemu::run_captured(machine, &cap)?;
    let run = benchreport::parse(&out.lines).with_context(|| format!("{what}: serial log {}", log.display()))?;
    if !out.status.is_some_and(|s| ok_status.contains(&s)) {
        bail!("{what}: {} (serial log {})", out.describe_end(), log.display());
    }
    Ok((run, out.lines))
}

/// Runs the benchmark on both kernels; `scale` divides iteration counts (CI smoke).
pub fn run_both(root: &Path, scale: u32, filter: Option<&str>) -> Result<(BenchRun, BenchRun)> {
    util::ensure_packages(&[util::PKGS_QEMU, linux::PKGS_LINUX, util::PKGS_DISK])?;
    let initrd = initramfs(root)?;
    let vars = format!("BENCH_SCALE={scale}{}", filter.map(|f| format!(" BENCH_FILTER={f}")).unwrap_or_default());
    let out_dir = root.join("target").join("bench");
    util::mkdirs(&out_dir)?;
    let disks = fresh_disks(&out_dir)?;
    let [exo_disk, linux_disk] = disks.0.clone();

    let kernel = kbuild::build_kernel(root, BuildOpts { release: true, ktest: false, checked: false })?;
    let mut exo = Machine::new(Boot::Pvh { kernel, initrd: Some(initrd.clone()), append: format!("panic=exit log=warn {vars}") });
    exo.icount = true;
    exo.smp = Some(CPUS);
    exo.disks.push(qemu::Disk::new(exo_disk));
    let (exo_run, _) = boot(&exo, out_dir.join("exo-serial.log"), "Exo-OS", &[qemu::STATUS_SUCCESS, 0])?;

    let vmlinux = linux::vmlinux(root)?;
    let linux_initrd = linux_initramfs(root, &vmlinux, &initrd)?;
    let mut lin = linux::machine(&vmlinux, &linux_initrd, CPUS);
    lin.disks.push(qemu::Disk::new(linux_disk));
    if let Boot::Pvh { append, .. } = &mut lin.boot {
        // No address-space randomization: the same run every time (Exo-OS has none either).
        append.push_str(" nokaslr norandmaps ");
        append.push_str(&vars);
    }
    let (linux_run, _) = boot(&lin, out_dir.join("linux-serial.log"), "Linux", &[0, qemu::STATUS_SUCCESS])?;
    Ok((exo_run, linux_run))
}

/// The benchmark's 2-CPU cases (names ending in `_2cpu`) on Exo-OS with 2 CPUs (Linux 6.1 brings
/// up one CPU under QEMU's icount, so they have no Linux figure); `filter` narrows them further.
pub fn run_exo_2cpu(root: &Path, scale: u32, filter: Option<&str>) -> Result<BenchRun> {
    let initrd = initramfs(root)?;
    let kernel = kbuild::build_kernel(root, BuildOpts { release: true, ktest: false, checked: false })?;
    let append = format!("panic=exit log=warn BENCH_SCALE={scale} BENCH_FILTER=_2cpu");
    let mut exo = Machine::new(Boot::Pvh { kernel, initrd: Some(initrd), append });
    exo.icount = true;
    exo.smp = Some(2);
    let out_dir = root.join("target").join("bench");
    let (mut run, _) = boot(&exo, out_dir.join("exo-2cpu-serial.log"), "Exo-OS (2 CPUs)", &[qemu::STATUS_SUCCESS, 0])?;
    if let Some(filter) = filter {
        run.cases.retain(|name, _| name.contains(filter));
    }
    Ok(run)
}

/// Replaces the 1-CPU run's `_2cpu` results (unsupported there) by the 2-CPU run's.
pub fn merge_2cpu(exo: &mut BenchRun, two: BenchRun) {
    for (name, result) in two.cases {
        if name.ends_with("_2cpu") {
            exo.cases.insert(name, result);
        }
    }
}

/// The CI smoke of `cargo xtask bench` (a tier of `cargo xtask test`): both kernels run the
/// benchmark with iteration counts divided by 20; every case must report on both; the scaling
/// axis runs once, on 2 CPUs, with the same division; the parsers and report writers must
/// accept the output.
pub fn smoke(root: &Path, t: &mut crate::harness::Tally) {
    let (exo, linux) = match run_both(root, 20, None) {
        Ok(runs) => runs,
        Err(e) => return t.fail("bench smoke", &format!("{e:#}"), None),
    };
    for (what, run) in [("Exo-OS", &exo), ("Linux", &linux)] {
        if run.cases.is_empty() {
            t.fail(&format!("bench smoke {what}"), "no BENCH case lines", None);
        } else {
            t.pass(&format!("bench smoke {what}"), &format!("{} cases", run.cases.len()));
        }
    }
    let axis = match crate::scaling::run(root, 20, None, &[2]) {
        Ok(axis) if !axis.samples.is_empty() => {
            t.pass("bench smoke scaling", &format!("{} samples on 2 CPUs", axis.samples.len()));
            axis
        }
        Ok(axis) => {
            t.fail("bench smoke scaling", "no SCALE lines", None);
            axis
        }
        Err(e) => {
            t.fail("bench smoke scaling", &format!("{e:#}"), None);
            Default::default()
        }
    };
    let dir = util::exo_target_dir(root).join("bench-smoke");
    match benchreport::write_reports(&dir, &exo, &linux, &[], &axis) {
        Ok(()) => t.pass("bench smoke reports", ""),
        Err(e) => t.fail("bench smoke reports", &format!("{e:#}"), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn sparse_copy_keeps_the_bytes_and_skips_zero_blocks() {
        let dir = std::env::temp_dir().join(format!("xtask-sparse-{}", std::process::id()));
        util::mkdirs(&dir).unwrap();
        let (from, to) = (dir.join("a.img"), dir.join("b.img"));
        let mut data = vec![0u8; 4 << 20];
        data[5] = 1;
        data[3 << 20] = 7;
        data.truncate(data.len() - 100); // a partial last block
        *data.last_mut().unwrap() = 9;
        std::fs::write(&from, &data).unwrap();
        sparse_copy(&from, &to).unwrap();
        let copy = std::fs::read(&to).unwrap();
        let allocated = std::fs::metadata(&to).unwrap().blocks() * 512;
        let _ = std::fs::remove_dir_all(&dir);
        assert!(copy == data, "the copy differs");
        assert!(allocated < 1 << 20, "{allocated} bytes allocated for 3 non-zero blocks");
    }
}
