//! The storage stage of `cargo xtask test` (`cargo xtask storage-test` alone): Exo-OS writes
//! files on a virtio-blk disk, the host checks the disk with its own tools, and the next boot
//! checks the files again.
//!
//! 1. A fresh disk (`disks::TestDisk`: MBR, `vda1` ext2, `vda2` FAT32).
//! 2. Boot: mount both, `disktest write` on ext2 (every kind of file, link, hole, attribute),
//!    `disktest fat` and a file for mtools on FAT, `/proc/mounts`, `df`, umount, power off.
//! 3. Host: `e2fsck -fn` of `vda1` finds no error, `debugfs` lists the files; `fsck.fat -n` of
//!    `vda2` is clean and `mtype` reads the file Exo-OS wrote.
//! 4. Boot again: `disktest check` / `fatcheck` verify every byte and attribute; the
//!    file-mapping test `t_mmap_file` runs on the ext2 disk.
//! 5. Crash: `disktest crash` fsyncs files and keeps writing until QEMU is killed; the host's
//!    `e2fsck -fy` repairs what the crash left; the next boot finds every fsynced file intact
//!    and `e2fsck -fn` is clean afterwards.
//! 6. Root on disk: an ext2 image of the initramfs tree booted with `root=/dev/vda rw` and no
//!    initramfs; a file written there is read back by `debugfs` on the host. Then the same disk
//!    with the initramfs: init switches to it (`switch_root`'s way) and finds the file.

use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::disks::{self, tool, TestDisk, STORAGE};
use crate::harness::{log_path, timeout, Tally};
use crate::kbuild::{self, BuildOpts};
use crate::qemu::{Boot, Disk, Machine};
use crate::shelltests::{contains_in_order, Session};
use crate::{initramfs, util};

/// What one session types, and what its output must contain.
struct Step<'a> {
    input: &'a str,
    expect: &'a [&'a str],
}

const fn step<'a>(input: &'a str, expect: &'a [&'a str]) -> Step<'a> {
    Step { input, expect }
}

const MOUNT_BOTH: &str = "mkdir -p /mnt/d /mnt/f && mount -t ext2 /dev/vda1 /mnt/d && mount -t vfat /dev/vda2 /mnt/f";

/// Boots `m`, runs `steps` in the shell (each checked), then powers off. Every step and the
/// power-off add a result named `storage <label>: …`.
fn session(m: &Machine, log: &Path, label: &str, steps: &[Step], t: &mut Tally) -> bool {
    let mut s = match Session::start(m, log) {
        Ok(s) => s,
        Err(e) => {
            t.fail(&format!("storage {label}: starting QEMU"), &format!("{e:#}"), Some(log));
            return false;
        }
    };
    if s.expect("exo:", timeout(90)).is_none() {
        let _ = s.finish(Duration::from_secs(1));
        t.fail(&format!("storage {label}: prompt"), "no shell prompt within 90 s", Some(log));
        return false;
    }
    let mut ok = true;
    for (n, step) in steps.iter().enumerate() {
        let marker = 2000 + n;
        s.send(&format!("{}\necho status:$? @@$(({marker}-0))@@\n", step.input));
        let name = format!("storage {label}: {}", step.input);
        match s.expect(&format!("@@{marker}@@"), timeout(300)) {
            Some(out) if contains_in_order(&out, step.expect) && out.contains("status:0 @@") => t.pass(&name, ""),
            Some(out) => {
                let shown: String = out.chars().rev().take(600).collect::<Vec<_>>().into_iter().rev().collect();
                t.fail(&name, &format!("expected {:?} and status 0, got: {shown:?}", step.expect), Some(log));
                ok = false;
            }
            None => {
                t.fail(&name, "no answer within 300 s", Some(log));
                let _ = s.finish(Duration::from_secs(1));
                return false;
            }
        }
    }
    s.send("poweroff\n");
    match s.finish(timeout(60)) {
        Some(33) | Some(0) => t.pass(&format!("storage {label}: poweroff"), ""),
        other => {
            t.fail(&format!("storage {label}: poweroff"), &format!("QEMU status {other:?}"), Some(log));
            ok = false;
        }
    }
    ok
}

/// Runs a host tool; returns its exit code and output.
fn host(cmd: &mut Command) -> Result<(i32, String)> {
    let out = cmd.output().with_context(|| format!("cannot run {}", util::show(cmd)))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok((out.status.code().unwrap_or(-1), text))
}

/// `e2fsck -f -n` (`repair`: `-f -y`) of partition `index` of the disk; returns the exit code
/// and output. A repaired partition is written back.
fn e2fsck(disk: &TestDisk, index: usize, repair: bool) -> Result<(i32, String)> {
    let part = disk.extract(index)?;
    let result = host(Command::new(tool("e2fsck")).arg("-f").arg(if repair { "-y" } else { "-n" }).arg(&part))?;
    if repair {
        disk.put_back(index, &part)?;
    }
    let _ = std::fs::remove_file(&part);
    Ok(result)
}

fn check_host(t: &mut Tally, name: &str, result: Result<(i32, String)>, ok: impl Fn(i32, &str) -> bool) {
    match result {
        Ok((code, out)) if ok(code, &out) => t.pass(&format!("storage host: {name}"), ""),
        Ok((code, out)) => t.fail(&format!("storage host: {name}"), &format!("exit {code}: {}", out.chars().take(1500).collect::<String>()), None),
        Err(e) => t.fail(&format!("storage host: {name}"), &format!("{e:#}"), None),
    }
}

/// Runs the stage.
pub fn run(root: &Path, t: &mut Tally) {
    if let Err(e) = util::ensure_packages(&[util::PKGS_DISK]) {
        return t.fail("storage: installing the disk tools", &format!("{e:#}"), None);
    }
    let built = match initramfs::build(root, true) {
        Ok(b) => b,
        Err(e) => return t.fail("storage: building the initramfs", &format!("{e:#}"), None),
    };
    let kernel = match kbuild::build_kernel(root, BuildOpts::default()) {
        Ok(k) => k,
        Err(e) => return t.fail("storage: building the kernel", &format!("{e:#}"), None),
    };
    let disk = match TestDisk::create(&util::exo_target_dir(root).join("storage-disk.img"), STORAGE) {
        Ok(d) => d,
        Err(e) => return t.fail("storage: making the disk", &format!("{e:#}"), None),
    };
    let machine = |disk: &Path| {
        let mut m = Machine::new(Boot::Pvh { kernel: kernel.clone(), initrd: Some(built.path.clone()), append: String::new() });
        m.smp = Some(2);
        m.disks.push(Disk::new(disk));
        m
    };
    let m = machine(&disk.path);

    // 2. Write.
    let write = [
        step(MOUNT_BOTH, &[]),
        step("grep /mnt /proc/mounts", &["/dev/vda1 /mnt/d ext2 rw", "/dev/vda2 /mnt/f vfat rw"]),
        step("disktest write /mnt/d", &["disktest write ok"]),
        step("disktest fat /mnt/f && echo hello-from-exo > /mnt/f/HELLO.TXT && mkdir /mnt/f/Long-Named-Directory", &["disktest fat ok"]),
        step("df /mnt/d /mnt/f", &["/dev/vda1", "/mnt/d", "/dev/vda2", "/mnt/f"]),
        step("sync && umount /mnt/d && umount /mnt/f", &[]),
    ];
    let wrote = session(&m, &log_path(root, "storage-write"), "write", &write, t);

    // 3. Host checks.
    check_host(t, "e2fsck -fn after Exo-OS wrote", e2fsck(&disk, 0, false), |code, _| code == 0);
    check_host(t, "debugfs lists the files", disk.extract(0).and_then(|part| {
        let r = host(Command::new(tool("debugfs")).arg("-R").arg("ls -l /d1/d2").arg(&part));
        let _ = std::fs::remove_file(&part);
        r
    }), |code, out| code == 0 && out.contains("hardlink") && out.contains("dir-to"));
    check_host(t, "fsck.fat -n after Exo-OS wrote", disk.extract(1).and_then(|part| {
        let r = host(Command::new(tool("fsck.fat")).arg("-n").arg(&part));
        let _ = std::fs::remove_file(&part);
        r
    }), |code, _| code == 0);
    let fat = disk.mtools_image(1);
    check_host(t, "mtype reads the file Exo-OS wrote on FAT", host(Command::new("mtype").arg("-i").arg(&fat).arg("::/HELLO.TXT")), |code, out| {
        code == 0 && out.contains("hello-from-exo")
    });
    check_host(t, "mdir shows the long name", host(Command::new("mdir").arg("-i").arg(&fat).arg("::/")), |code, out| {
        code == 0 && out.contains("Long-Named-Directory")
    });
    if !wrote {
        return;
    }

    // 4. Check after a power-off.
    let check = [
        step(MOUNT_BOTH, &[]),
        step("disktest check /mnt/d", &["disktest check ok"]),
        step("disktest fatcheck /mnt/f && cat /mnt/f/HELLO.TXT", &["disktest fatcheck ok", "hello-from-exo"]),
        // File-backed mmap on ext2 (shared write-back, COW, SIGBUS, msync...).
        step("T_MMAP_DIR=/mnt/d /bin/tests/t_mmap_file > /tmp/mm.log; grep FAIL /tmp/mm.log; tail -1 /tmp/mm.log; grep -q ' 0 failed' /tmp/mm.log", &[" 0 failed"]),
        step("umount /mnt/d && umount /mnt/f", &[]),
    ];
    session(&m, &log_path(root, "storage-check"), "check after reboot", &check, t);

    // 5. Crash.
    crash(root, t, &m, &disk);

    // 6. Root on disk.
    root_disk(root, t, &kernel, &built.path);
}

/// Step 5: kill QEMU while files are being written; fsynced files survive.
fn crash(root: &Path, t: &mut Tally, m: &Machine, disk: &TestDisk) {
    let log = log_path(root, "storage-crash");
    let mut s = match Session::start(m, &log) {
        Ok(s) => s,
        Err(e) => return t.fail("storage crash: starting QEMU", &format!("{e:#}"), Some(&log)),
    };
    let started = s.expect("exo:", timeout(90)).is_some() && {
        s.send("mkdir -p /mnt && mount -t ext2 /dev/vda1 /mnt && disktest crash /mnt\n");
        s.expect("disktest: fsynced", timeout(300)).is_some()
    };
    // Let unsynced writes pile up (and the flusher start on them), then pull the plug.
    std::thread::sleep(Duration::from_secs(3));
    let _ = s.finish(Duration::from_millis(1));
    if !started {
        return t.fail("storage crash: fsynced files written", "no \"disktest: fsynced\" within 300 s", Some(&log));
    }
    t.pass("storage crash: fsynced files written, QEMU killed", "");
    check_host(t, "e2fsck -fy repairs the crashed file system", e2fsck(disk, 0, true), |code, _| code <= 1);
    let after = [step("mkdir -p /mnt && mount -t ext2 /dev/vda1 /mnt && disktest aftercrash /mnt", &["disktest aftercrash ok"]), step("umount /mnt", &[])];
    session(m, &log_path(root, "storage-aftercrash"), "fsynced files intact after the crash", &after, t);
    check_host(t, "e2fsck -fn after the crash and the next boot", e2fsck(disk, 0, false), |code, _| code == 0);
}

/// Step 6: boot with the root file system on a disk and no initramfs.
fn root_disk(root: &Path, t: &mut Tally, kernel: &Path, initrd: &Path) {
    let image = util::exo_target_dir(root).join("storage-root.img");
    if let Err(e) = disks::root_image(initrd, &image, 256) {
        return t.fail("storage root disk: making the image", &format!("{e:#}"), None);
    }
    let mut m = Machine::new(Boot::Pvh { kernel: kernel.to_path_buf(), initrd: None, append: "root=/dev/vda rootfstype=ext2 rw".into() });
    m.smp = Some(2);
    m.disks.push(Disk::new(&image));
    let steps = [
        step("grep ' / ' /proc/mounts", &["/dev/vda / ext2 rw"]),
        step("echo written-on-the-root-disk > /persisted && sync", &[]),
    ];
    if session(&m, &log_path(root, "storage-rootdisk"), "root=/dev/vda", &steps, t) {
        check_host(t, "debugfs reads the file written on the root disk", host(Command::new(tool("debugfs")).arg("-R").arg("cat /persisted").arg(&image)), |code, out| {
            code == 0 && out.contains("written-on-the-root-disk")
        });
        check_host(t, "e2fsck -fn of the root disk", host(Command::new(tool("e2fsck")).arg("-fn").arg(&image)), |code, _| code == 0);
    }
    // The same disk from an initramfs: init switches to it (mount --move onto /, chroot).
    m.boot = Boot::Pvh { kernel: kernel.to_path_buf(), initrd: Some(initrd.to_path_buf()), append: "root=/dev/vda rootfstype=ext2 rw".into() };
    let steps = [step("grep ' / ' /proc/mounts; cat /persisted", &["/dev/vda / ext2 rw", "written-on-the-root-disk"])];
    session(&m, &log_path(root, "storage-switchroot"), "initramfs + root=/dev/vda (switch_root)", &steps, t);
}
