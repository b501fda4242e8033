//! `cargo xtask <cmd>`: the single entry point for building, running, debugging and
//! testing Exo-OS. A host program: it drives Debian's toolchain (`/usr/bin/cargo`,
//! which can build bare-metal code), QEMU, GRUB and gdb, installing what is missing.

mod bench;
mod benchdisk;
mod benchfusion;
mod benchgoals;
mod benchnet;
#[allow(dead_code)]
mod benchreport;
mod addprog;
mod benchsvg;
mod boottests;
mod boots;
mod busybox;
mod debian;
mod debiantests;
mod disks;
mod fuzz;
mod harness;
mod hostfuzz;
mod initramfs;
mod iso;
mod kbuild;
mod layers;
mod ksyms;
mod ktest;
#[allow(dead_code)]
mod linux;
mod md5;
mod netbench;
mod netcfg;
mod netguest;
mod netpeer;
mod nettests;
mod qemu;
mod rustuser;
mod scaling;
mod shelltests;
mod sidebyside;
mod syscall_lint;
mod syscalldoc;
mod soak;
mod storagetests;
mod usertests;
mod util;
mod vdso;

use anyhow::{bail, Context, Result};
use kbuild::BuildOpts;
use qemu::{Boot, Machine};
use std::path::PathBuf;
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  build [--release] [--ktest] [--checked]
                                  build the kernel into build/exo-kernel.elf
                                  (build/exo-kernel-test.elf with --ktest; --checked: the
                                  optimized kernel with every check kept, *-checked.elf)
  run   [--release] [--gui] [--append \"CMDLINE\"] [--initrd FILE] [--smp N] [--iso]
        [--net] [--root-disk | --no-disk] [--debian] [--add FILE]...
                                  build and boot in QEMU, serial console on this terminal;
                                  build/disk.img (ext2, 512 MiB, made from the initramfs on
                                  first use) is /dev/vda, mounted on /mnt, or the root file
                                  system with --root-disk (no initramfs); files there persist;
                                  --debian: boot build/debian.img instead (Debian's bash,
                                  coreutils, findutils, grep, sed, gawk, tar, gzip, xz, python3;
                                  docs/debian.md); --add FILE: prog.c (musl-gcc -static),
                                  prog.rs (rustc, static glibc) or an ELF into /usr/local/bin
  iso   [--release] [--append \"CMDLINE\"] [--initrd FILE]
                                  build build/exo-os.iso (GRUB, Multiboot2)
  gdb   [--release] [--append \"CMDLINE\"] [--initrd FILE]
                                  boot halted in QEMU and attach gdb to it
                                  (run, iso and gdb load build/initramfs.cpio, rebuilt if
                                  needed, unless --initrd FILE is given)
  initramfs                       compile user/ (musl-gcc; gcc for user/tests/GLIBC; the Rust
                                  programs of user/rust with Debian's cargo) and pack
                                  build/initramfs.cpio
  bench [--filter NAME]           in-kernel microbenchmarks under QEMU -icount, written to
                                  target/bench/kernel.{md,json}; user/bench on Exo-OS and Linux
                                  and the scaling axis (Exo-OS on 1, 2, 4 CPUs), written to
                                  target/bench/report.{md,json,svg}
  bench --net [--linux]           only the virtio-net throughput guest -> host (MB/s of wall
                                  time, informational) into target/bench/net.{md,json}
                                  (--linux: on Debian's kernel, net-linux.{md,json})
  bench-smoke                     only the benchmark smoke stage of `test` (iterations / 20)
  hostfuzz [--minutes M] [--target NAME] [--libfuzzer | --randomized]
                                  fuzz the parsers in crates/ for M minutes (default 2) with
                                  libFuzzer and the randomized engine (docs/hostfuzz.md)
  fuzz [--calls N] [--seed S] [--workers W] [--checked]
                                  N (default 1000000) random system calls from W (default 4,
                                  at most 64) worker processes (root and uid 1000) under
                                  /bin/fuzz as PID 1 (user/fuzz); a failure prints the replay
  boots [--count N] [--checked]   boot N times (default 100) to the shell and power off, all clean
  soak [--minutes M] [--checked]  M minutes (default 2) of mixed load as PID 1 (user/soak), then
                                  checks free memory is back to the baseline and nothing panicked
                                  (fuzz, boots and soak use the debug kernel; --checked uses the
                                  optimized one with debug assertions, overflow checks and lockdep
                                  kept, cargo profile `checked`: faster, for long runs)
  syscalls                        regenerate docs/syscalls.md's per-call table from the
                                  dispatch table (each slot's `// full` / `// partial:` line)
  layers                          check that every kernel module imports only lower layers
                                  (docs/ARCHITECTURE.md; also a host test of `test`)
  shell-test                      only the busybox shell-session stage of `test`
  debian-test                     only the Debian-programs stage of `test` (scripted sessions
                                  of bash, coreutils, ..., python3 compared with the host)
  storage-test                    only the storage stage of `test` (ext2 and FAT on virtio-blk:
                                  write, host e2fsck/fsck.fat/mtools, reboot and check, crash,
                                  root on disk)
  net-test [--linux] [--static-ip] [--release]
                                  only the network end-to-end stage of `test` (httpd, wget, nc,
                                  ping, ifconfig against peers on the host's 127.0.0.1);
                                  --linux: the same session on Debian's kernel (checks the
                                  harness); --static-ip: ip= on the command line, not DHCP
  test                            host tests, in-kernel tests, harness self-test, boot tests,
                                  user-space tests (init runs /bin/tests/* of the initramfs)
                                  (serial logs in target/exo/test-logs/; XTASK_TIMEOUT_SCALE=2
                                  doubles the QEMU timeouts on a slow machine)
";

/// Parsed command-line options (each command accepts a subset).
#[derive(Debug, Default, PartialEq)]
struct Opts {
    release: bool,
    /// `--checked`: the optimized kernel with every check kept (cargo profile `checked`).
    checked: bool,
    ktest: bool,
    gui: bool,
    iso: bool,
    append: String,
    initrd: Option<PathBuf>,
    smp: Option<u32>,
    filter: Option<String>,
    minutes: Option<u64>,
    calls: Option<u64>,
    seed: Option<u64>,
    count: Option<u64>,
    workers: Option<u64>,
    /// `--net`: a NIC (`run`), or the network throughput (`bench`).
    net: bool,
    /// `--linux`: Debian's kernel as the guest (`net-test`, `bench --net`).
    linux: bool,
    /// `--static-ip`: `ip=` instead of DHCP (`net-test`).
    static_ip: bool,
    /// `--root-disk`: boot `run` with build/disk.img as the root file system.
    root_disk: bool,
    /// `--no-disk`: `run` without build/disk.img.
    no_disk: bool,
    /// `--debian`: `run` boots the Debian image (build/debian.img, `debian.rs`).
    debian: bool,
    /// `--add FILE` (repeatable): programs for /usr/local/bin (`addprog.rs`).
    add: Vec<PathBuf>,
}

fn parse_opts(cmd: &str, args: &[String]) -> Result<Opts> {
    let allowed: &[&str] = match cmd {
        "build" => &["--release", "--ktest", "--checked"],
        "run" => &[
            "--release",
            "--gui",
            "--append",
            "--initrd",
            "--smp",
            "--iso",
            "--net",
            "--root-disk",
            "--no-disk",
            "--debian",
            "--add",
        ],
        "iso" | "gdb" => &["--release", "--append", "--initrd"],
        "test" | "initramfs" | "shell-test" | "storage-test" | "debian-test" | "bench-smoke" => &[],
        "bench" => &["--filter", "--net", "--linux"],
        "net-test" => &["--linux", "--static-ip", "--release"],
        "soak" => &["--minutes", "--checked"],
        "fuzz" => &["--calls", "--seed", "--checked", "--workers"],
        "boots" => &["--count", "--checked"],
        "layers" | "syscalls" => &[],
        _ => bail!("unknown command `{cmd}`\n\n{USAGE}"),
    };
    let mut o = Opts::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        if !allowed.contains(&flag) {
            bail!("`{cmd}` does not accept `{a}`\n\n{USAGE}");
        }
        let mut value = || -> Result<String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it
                    .next()
                    .cloned()
                    .with_context(|| format!("{flag} needs a value")),
            }
        };
        match flag {
            "--release" => o.release = true,
            "--ktest" => o.ktest = true,
            "--checked" => o.checked = true,
            "--gui" => o.gui = true,
            "--iso" => o.iso = true,
            "--net" => o.net = true,
            "--linux" => o.linux = true,
            "--static-ip" => o.static_ip = true,
            "--root-disk" => o.root_disk = true,
            "--no-disk" => o.no_disk = true,
            "--debian" => o.debian = true,
            "--add" => {
                let p = PathBuf::from(value()?);
                if !p.is_file() {
                    bail!("--add: {} is not a file", p.display());
                }
                o.add.push(p);
            }
            "--append" => o.append = value()?,
            "--filter" => o.filter = Some(value()?),
            "--minutes" => o.minutes = Some(number(flag, &value()?)?),
            "--calls" => o.calls = Some(number(flag, &value()?)?),
            "--seed" => o.seed = Some(number(flag, &value()?)?),
            "--count" => o.count = Some(number(flag, &value()?)?),
            "--workers" => o.workers = Some(number(flag, &value()?)?),
            "--initrd" => o.initrd = Some(PathBuf::from(value()?)),
            "--smp" => {
                let v = value()?;
                o.smp = Some(
                    v.parse()
                        .ok()
                        .filter(|n| *n >= 1)
                        .with_context(|| format!("bad --smp `{v}`"))?,
                );
            }
            _ => unreachable!("flag in the allowed list"),
        }
    }
    if o.linux && cmd == "bench" && !o.net {
        bail!("`bench --linux` needs --net (the side-by-side bench always runs both kernels)");
    }
    if let Some(i) = &o.initrd {
        if !i.is_file() {
            bail!("initrd {} does not exist", i.display());
        }
    }
    Ok(o)
}

/// A positive integer option value.
fn number(flag: &str, v: &str) -> Result<u64> {
    v.parse().ok().filter(|n| *n >= 1).with_context(|| format!("bad {flag} `{v}`"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    if matches!(cmd.as_str(), "-h" | "--help" | "help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let result = if cmd == "hostfuzz" {
        hostfuzz::run(&util::workspace_root(), &args[1..])
    } else if cmd == "net-relay" {
        // Run by QEMU per guest connection of a guestfwd rule (netcfg.rs); not for people.
        netcfg::relay_main(args.get(1).map_or("", String::as_str))
    } else {
        parse_opts(cmd, &args[1..]).and_then(|o| dispatch(cmd, &o))
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cmd: &str, o: &Opts) -> Result<u8> {
    let root = util::workspace_root();
    let build = BuildOpts {
        release: o.release,
        ktest: o.ktest,
        checked: o.checked,
    };
    match cmd {
        "build" => kbuild::build_kernel(&root, build).map(|_| 0),
        "iso" => make_main_iso(&root, o).map(|_| 0),
        "run" => run(&root, o),
        "gdb" => gdb(&root, o),
        "test" => harness::run_all(&root),
        "shell-test" => Ok(harness::run_one_stage(&root, crate::shelltests::run)),
        "storage-test" => Ok(harness::run_one_stage(&root, crate::storagetests::run)),
        "debian-test" => Ok(harness::run_one_stage(&root, crate::debiantests::run)),
        "bench-smoke" => Ok(harness::run_one_stage(&root, crate::sidebyside::smoke)),
        "initramfs" => initramfs::build(&root, false).map(|_| 0),
        "layers" => Ok(layers::run(&root)?.max(syscall_lint::run(&root)?)),
        "syscalls" => syscalldoc::run(&root),
        "bench" if o.net => netbench::run(&root, if o.linux { netguest::Kernel::Linux } else { netguest::Kernel::Exo }),
        "bench" => bench::run(&root, o.filter.as_deref()),
        "net-test" => {
            let boot = netguest::NetBoot {
                kernel: if o.linux { netguest::Kernel::Linux } else { netguest::Kernel::Exo },
                static_ip: o.static_ip,
                release: o.release,
                smp: 2,
            };
            Ok(harness::run_one_stage(&root, |r, t| nettests::run_on(r, &boot, t)))
        }
        "soak" => soak::run(&root, o.minutes.unwrap_or(2), o.checked),
        "boots" => boots::run(&root, u32::try_from(o.count.unwrap_or(100)).unwrap_or(u32::MAX), o.checked),
        "fuzz" => fuzz::run(
            &root,
            fuzz::Run {
                calls: o.calls.unwrap_or(1_000_000),
                seed: o.seed.unwrap_or(1),
                workers: o.workers.unwrap_or(fuzz::DEFAULT_WORKERS),
                checked: o.checked,
            },
        ),
        _ => bail!("unknown command `{cmd}`"),
    }
}

/// Builds the normal (non-test) kernel with the profile `o` asks for.
fn main_kernel(root: &std::path::Path, o: &Opts) -> Result<PathBuf> {
    kbuild::build_kernel(root, BuildOpts { release: o.release, ktest: false, checked: false })
}

/// The initrd to boot: `--initrd FILE`, else `build/initramfs.cpio` (rebuilt if needed).
fn initrd(root: &std::path::Path, o: &Opts) -> Result<PathBuf> {
    match &o.initrd {
        Some(i) => Ok(i.clone()),
        None => Ok(initramfs::build(root, false)?.path),
    }
}

fn make_main_iso(root: &std::path::Path, o: &Opts) -> Result<PathBuf> {
    let initrd = initrd(root, o)?;
    let kernel = main_kernel(root, o)?;
    let out = util::build_dir(root).join("exo-os.iso");
    iso::make_iso(root, &kernel, Some(&initrd), &o.append, &out)?;
    Ok(out)
}

fn machine(root: &std::path::Path, o: &Opts) -> Result<Machine> {
    let boot = if o.iso {
        Boot::Iso(make_main_iso(root, o)?)
    } else {
        let initrd = initrd(root, o)?;
        let kernel = main_kernel(root, o)?;
        Boot::Pvh {
            kernel,
            initrd: Some(initrd),
            append: o.append.clone(),
        }
    };
    Ok(Machine {
        boot,
        smp: o.smp,
        gui: o.gui,
        icount: false,
        cpu: "max",
        nic: false,
        disks: Vec::new(),
        extra: Vec::new(),
    })
}

/// `run`'s persistent disk: build/disk.img (made on first use from the initramfs tree, then
/// kept), as /dev/vda mounted on /mnt by init (`exo.mnt=`), or as the root file system
/// (`--root-disk`: `root=/dev/vda rw`, no initramfs).
fn attach_run_disk(root: &std::path::Path, o: &Opts, m: &mut Machine) -> Result<()> {
    util::ensure_packages(&[util::PKGS_DISK])?;
    let disk = util::build_dir(root).join("disk.img");
    if !disk.exists() {
        let initrd = initrd(root, o)?;
        disks::root_image(&initrd, &disk, 512)?;
        println!("xtask: made {} (ext2, 512 MiB): your files there persist", util::rel(root, &disk));
    }
    m.disks.push(qemu::Disk::new(&disk));
    if let Boot::Pvh { initrd, append, .. } = &mut m.boot {
        if o.root_disk {
            *initrd = None;
            append.push_str(" root=/dev/vda rootfstype=ext2 rw");
        } else {
            append.push_str(" exo.mnt=/dev/vda");
        }
    }
    Ok(())
}

/// `run --debian`: build/debian.img (rebuilt each time, with the `--add` programs) as the root
/// disk, bash on the console, 512 MiB.
fn debian_machine(root: &std::path::Path, o: &Opts, adds: &[(String, Vec<u8>)]) -> Result<Machine> {
    if o.iso || o.root_disk || o.initrd.is_some() {
        bail!("--debian boots its own root disk: no --iso, --root-disk or --initrd");
    }
    let image = debian::image(root, adds, 1024)?;
    println!("xtask: made {} (ext2 root disk, rebuilt on each run: files written there do not persist)", util::rel(root, &image));
    let kernel = main_kernel(root, o)?;
    let mut m = Machine::new(Boot::Pvh { kernel, initrd: None, append: format!("{} {}", debian::APPEND, o.append).trim().to_string() });
    m.smp = o.smp;
    m.gui = o.gui;
    m.disks.push(qemu::Disk::new(&image));
    m.extra = vec!["-m".into(), debian::MEMORY.into()];
    Ok(m)
}

/// The host port `run --net` forwards to the guest's port 80.
const RUN_NET_PORT: u16 = 8080;

fn run(root: &std::path::Path, o: &Opts) -> Result<u8> {
    let gui: &[&str] = if o.gui { util::PKGS_GUI } else { &[] };
    util::ensure_packages(&[util::PKGS_QEMU, gui])?;
    let adds = addprog::build_all(root, &o.add)?;
    let mut m = if o.debian { debian_machine(root, o, &adds)? } else { machine(root, o)? };
    if o.root_disk && o.no_disk {
        bail!("--root-disk and --no-disk exclude each other");
    }
    if !adds.is_empty() && !o.debian {
        if let Boot::Pvh { initrd: Some(i), .. } = &mut m.boot {
            *i = addprog::initramfs_with(root, i, &adds)?;
        }
    }
    if !o.no_disk && !o.debian {
        attach_run_disk(root, o, &mut m)?;
    }
    if o.net {
        m.extra.extend(netcfg::UserNet { hostfwd: vec![(RUN_NET_PORT, 80)], ..Default::default() }.args());
        println!(
            "xtask: virtio-net NIC on QEMU's user network (restrict=on: the guest reaches no other host); \
             http://127.0.0.1:{RUN_NET_PORT}/ on this machine is the guest's port 80 (e.g. `httpd -p 80 -h /www`)"
        );
    }
    println!("xtask: booting Exo-OS in QEMU: press Ctrl-A then X to quit (Ctrl-A C: QEMU monitor); Ctrl-C goes to the guest");
    let status = qemu::run_interactive(&m)?;
    Ok(match status {
        qemu::STATUS_SUCCESS => 0,
        s => u8::try_from(s).unwrap_or(1),
    })
}

fn gdb(root: &std::path::Path, o: &Opts) -> Result<u8> {
    util::ensure_packages(&[util::PKGS_QEMU, util::PKGS_GDB])?;
    let m = machine(root, o)?;
    let Boot::Pvh { kernel, .. } = &m.boot else {
        unreachable!("gdb boots PVH")
    };
    let serial = util::build_dir(root).join("gdb-serial.log");
    let (mut qemu_child, shown) = qemu::spawn_for_gdb(&m, &serial)?;
    let elf = util::rel(root, kernel);
    println!(
        "xtask: QEMU is waiting for gdb on :1234 (CPU halted); serial output goes to {}",
        util::rel(root, &serial)
    );
    println!("xtask: the same by hand, in two terminals:\n  {shown}\n  gdb {elf} -ex \"target remote :1234\"");
    // Ctrl-C in gdb interrupts the target: xtask must survive it (gdb handles its own).
    // SAFETY: setting a signal disposition to SIG_IGN has no memory-safety preconditions.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let mut gdb = Command::new("gdb");
    gdb.current_dir(root)
        .arg(&elf)
        .args(["-ex", "target remote :1234"]);
    // SAFETY: the hook only calls signal(2), which is async-signal-safe.
    unsafe {
        use std::os::unix::process::CommandExt;
        gdb.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let gdb_result = gdb.status().context("cannot start gdb");
    let _ = qemu_child.kill();
    let _ = qemu_child.wait();
    println!("xtask: gdb exited; QEMU stopped");
    gdb_result.map(|s| if s.success() { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn parses_run_options() {
        let o = parse_opts(
            "run",
            &args(&[
                "--release",
                "--append",
                "log=debug x",
                "--smp=2",
                "--gui",
                "--iso",
            ]),
        )
        .unwrap();
        assert_eq!(
            o,
            Opts {
                release: true,
                gui: true,
                iso: true,
                append: "log=debug x".into(),
                smp: Some(2),
                ..Opts::default()
            }
        );
        assert_eq!(
            parse_opts("run", &args(&["--append=a=b c"]))
                .unwrap()
                .append,
            "a=b c"
        );
    }

    #[test]
    fn parses_network_options() {
        let o = parse_opts("run", &args(&["--net"])).unwrap();
        assert!(o.net && !o.linux);
        let o = parse_opts("bench", &args(&["--net", "--linux"])).unwrap();
        assert!(o.net && o.linux);
        let o = parse_opts("net-test", &args(&["--linux", "--static-ip", "--release"])).unwrap();
        assert!(o.linux && o.static_ip && o.release);
    }

    #[test]
    fn initrd_defaults_to_the_initramfs() {
        // Without --initrd nothing is chosen while parsing: run/iso/gdb build the initramfs.
        assert_eq!(parse_opts("run", &[]).unwrap().initrd, None);
        assert_eq!(parse_opts("initramfs", &[]).unwrap(), Opts::default());
        let file = std::env::current_exe().unwrap();
        let o = parse_opts("iso", &args(&["--initrd", file.to_str().unwrap()])).unwrap();
        assert_eq!(o.initrd.as_deref(), Some(file.as_path()));
        assert_eq!(initrd(std::path::Path::new("/nonexistent"), &o).unwrap(), file);
        assert_eq!(
            initramfs::output(std::path::Path::new("/w")),
            std::path::Path::new("/w/build/initramfs.cpio")
        );
    }

    #[test]
    fn rejects_bad_options() {
        assert!(parse_opts("build", &args(&["--gui"])).is_err());
        assert!(parse_opts("run", &args(&["--smp", "0"])).is_err());
        assert!(parse_opts("run", &args(&["--append"])).is_err());
        assert!(parse_opts("run", &args(&["--initrd", "/nonexistent/initrd"])).is_err());
        assert!(parse_opts("test", &args(&["--release"])).is_err());
        assert!(parse_opts("frobnicate", &[]).is_err());
        assert!(parse_opts("initramfs", &args(&["--release"])).is_err());
        assert!(parse_opts("initramfs", &args(&["--initrd", "x"])).is_err());
        assert!(parse_opts("bench", &args(&["--linux"])).is_err(), "--linux needs --net");
        assert!(parse_opts("net-test", &args(&["--net"])).is_err());
        assert!(
            parse_opts("build", &args(&["--ktest", "--release"]))
                .unwrap()
                .ktest
        );
    }
}
