//! Starting QEMU: the machine every command uses, the interactive console, and the
//! captured runner of the test harness (serial on a pipe, wall-clock timeout, a log,
//! and typing into the guest's serial port once expected text has appeared).

use crate::util::{self, os};
use anyhow::{Context, Result};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// QEMU exit status when the kernel writes 0x10 (success) to isa-debug-exit.
pub const STATUS_SUCCESS: i32 = 33;
/// Status for 0x11: some in-kernel test failed.
pub const STATUS_TEST_FAILED: i32 = 35;
/// Status for 0x12: kernel panic or fatal exception with `panic=exit`.
pub const STATUS_PANIC: i32 = 37;

/// What QEMU boots.
#[derive(Clone, Debug)]
pub enum Boot {
    /// PVH direct boot of the ELF: `-kernel`, `-initrd`, `-append`.
    Pvh {
        kernel: PathBuf,
        initrd: Option<PathBuf>,
        append: String,
    },
    /// BIOS (SeaBIOS) boot of a GRUB ISO from the CD-ROM.
    Iso(PathBuf),
}

/// A QEMU machine.
#[derive(Clone, Debug)]
pub struct Machine {
    pub boot: Boot,
    pub smp: Option<u32>,
    pub gui: bool,
    /// `-icount shift=0,sleep=off`: one guest TSC cycle per retired instruction
    /// (deterministic benchmarks).
    pub icount: bool,
    /// The `-cpu` model and features (default `max`).
    pub cpu: &'static str,
    /// A virtio-net NIC on QEMU's user-mode network, always with `restrict=on` (the guest
    /// reaches only QEMU's own gateway services, nothing outside): [`NIC_ARGS`].
    pub nic: bool,
    /// Disk images attached as virtio-blk PCI devices, in order (`/dev/vda`, `/dev/vdb`, …).
    pub disks: Vec<Disk>,
    /// More arguments, after the machine's own (e.g. a NIC: `netcfg::UserNet::args`).
    pub extra: Vec<OsString>,
}

/// A raw disk image attached to a [`Machine`] as a virtio-blk device.
#[derive(Clone, Debug)]
pub struct Disk {
    pub path: PathBuf,
    pub read_only: bool,
}

impl Disk {
    /// A writable disk.
    pub fn new(path: impl Into<PathBuf>) -> Disk {
        Disk { path: path.into(), read_only: false }
    }

    /// QEMU's arguments for disk number `index`.
    fn args(&self, index: usize) -> [OsString; 4] {
        let mut drive = OsString::from("file=");
        drive.push(&self.path);
        drive.push(format!(",if=none,id=vd{index},format=raw"));
        if self.read_only {
            drive.push(",readonly=on");
        }
        [os("-drive"), drive, os("-device"), os(&format!("virtio-blk-pci,drive=vd{index}"))]
    }
}

/// The NIC of a machine with `nic` set: guest 10.0.2.15, gateway 10.0.2.2, isolated.
pub const NIC_ARGS: [&str; 4] = ["-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0"];

impl Machine {
    pub fn new(boot: Boot) -> Self {
        Machine {
            boot,
            smp: None,
            gui: false,
            icount: false,
            cpu: "max",
            nic: false,
            disks: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// Arguments shared by all uses (no serial/monitor configuration).
    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = [
            "-machine",
            "q35",
            "-accel",
            "tcg",
            "-m",
            "256M",
            "-no-reboot",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=4",
        ]
        .iter()
        .map(os)
        .collect();
        a.extend([os("-cpu"), os(self.cpu)]);
        if self.icount {
            // The RTC follows the virtual clock too, so no host-time event changes the run.
            a.extend([os("-icount"), os("shift=0,sleep=off"), os("-rtc"), os("clock=vm")]);
        }
        if let Some(n) = self.smp {
            a.extend([os("-smp"), os(&n.to_string())]);
        }
        if self.nic {
            a.extend(NIC_ARGS.iter().map(os));
        } else {
            // Without this QEMU adds a default e1000e NIC on an unrestricted user network.
            a.extend([os("-nic"), os("none")]);
        }
        for (index, disk) in self.disks.iter().enumerate() {
            a.extend(disk.args(index));
        }
        a.extend([os("-display"), os(if self.gui { "gtk" } else { "none" })]);
        match &self.boot {
            Boot::Pvh {
                kernel,
                initrd,
                append,
            } => {
                a.extend([os("-kernel"), os(kernel)]);
                if let Some(i) = initrd {
                    a.extend([os("-initrd"), os(i)]);
                }
                if !append.is_empty() {
                    a.extend([os("-append"), os(append)]);
                }
            }
            Boot::Iso(iso) => a.extend([os("-cdrom"), os(iso), os("-boot"), os("d")]),
        }
        a.extend(self.extra.iter().cloned());
        a
    }
}

fn qemu() -> Command {
    Command::new("qemu-system-x86_64")
}

/// Interactive run: serial and monitor multiplexed on the terminal (Ctrl-A X quits,
/// Ctrl-C goes to the guest). Returns QEMU's exit status.
pub fn run_interactive(m: &Machine) -> Result<i32> {
    let mut cmd = qemu();
    cmd.args(m.args()).args([
        "-chardev",
        "stdio,id=s0,mux=on,signal=off",
        "-serial",
        "chardev:s0",
        "-mon",
        "chardev=s0",
    ]);
    let status = cmd
        .status()
        .with_context(|| format!("cannot start `{}`", util::show(&cmd)))?;
    Ok(exit_code(status))
}

/// QEMU with the gdb stub waiting (`-s -S`), serial to `serial_log`, in its own
/// process group so that Ctrl-C in gdb does not reach it.
pub fn spawn_for_gdb(m: &Machine, serial_log: &Path) -> Result<(Child, String)> {
    use std::os::unix::process::CommandExt;
    let mut cmd = qemu();
    cmd.args(m.args())
        .arg("-serial")
        .arg(format!("file:{}", serial_log.display()))
        .args(["-monitor", "none", "-s", "-S"])
        .stdin(Stdio::null())
        .process_group(0);
    let shown = util::show(&cmd);
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start `{shown}`"))?;
    Ok((child, shown))
}

fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Options of a captured (test) run.
#[derive(Clone, Debug)]
pub struct Capture {
    pub timeout: Duration,
    /// Every serial line (and QEMU's stderr) is written here.
    pub log: PathBuf,
    /// Text after which `input` is typed into the serial port (retyped every few seconds
    /// until QEMU exits, in case the guest's console was not ready yet).
    pub send: Option<(Vec<String>, String)>,
    /// Record the time from QEMU's start to the first line containing this.
    pub mark: Option<String>,
    /// Echo serial lines to our stdout as they arrive.
    pub echo: bool,
    /// Stop QEMU at once when a line contains one of these (a known dead end).
    pub abort_on: Vec<String>,
}

/// The result of a captured run.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Serial lines, `\r` stripped.
    pub lines: Vec<String>,
    /// QEMU's exit status; `None` if it was killed on timeout.
    pub status: Option<i32>,
    pub timed_out: bool,
    pub elapsed: Duration,
    /// Time to the first line containing `Capture::mark`.
    pub mark_time: Option<Duration>,
    /// The `Capture::abort_on` text that made us stop QEMU.
    pub aborted_on: Option<String>,
}

impl Outcome {
    /// "exited with status N" or "timed out after S s", for messages.
    pub fn describe_end(&self) -> String {
        if let Some(a) = &self.aborted_on {
            return format!("stopped QEMU after {a:?}");
        }
        match self.status {
            Some(s) => format!("QEMU exited with status {s}"),
            None => format!(
                "killed after the {:.0} s timeout",
                self.elapsed.as_secs_f64()
            ),
        }
    }
}

enum Msg {
    Serial(String),
    Stderr(String),
}

fn spawn_reader<R: Read + Send + 'static>(r: R, tx: mpsc::Sender<Msg>, wrap: fn(String) -> Msg) {
    std::thread::spawn(move || {
        let mut r = BufReader::new(r);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']).replace('\r', "");
                    if tx.send(wrap(line)).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

/// Have all of `needles` been seen (each in some line)?
fn all_seen(seen: &[bool]) -> bool {
    seen.iter().all(|s| *s)
}

/// Boot `m` with the serial port on a pipe and wait for QEMU to exit or the timeout.
pub fn run_captured(m: &Machine, cap: &Capture) -> Result<Outcome> {
    let mut cmd = qemu();
    cmd.args(m.args())
        .args(["-serial", "stdio", "-monitor", "none"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = cap.log.parent() {
        util::mkdirs(dir)?;
    }
    let mut log = std::fs::File::create(&cap.log)
        .with_context(|| format!("cannot create {}", cap.log.display()))?;
    let _ = writeln!(log, "# {}", util::show(&cmd));

    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start `{}`", util::show(&cmd)))?;
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        spawn_reader(out, tx.clone(), Msg::Serial);
    }
    if let Some(err) = child.stderr.take() {
        spawn_reader(err, tx, Msg::Stderr);
    }
    let mut stdin = child.stdin.take();

    let deadline = start + cap.timeout;
    let mut out = Outcome::default();
    let mut seen = vec![false; cap.send.as_ref().map_or(0, |s| s.0.len())];
    let mut next_send: Option<Instant> = None;
    const RESEND: Duration = Duration::from_secs(3);
    let mut streams_open = true;
    while streams_open {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        if let (Some(t), Some((_, input))) = (next_send, &cap.send) {
            if now >= t {
                if let Some(w) = stdin.as_mut() {
                    // The guest may already be gone: a failed write is not an error here.
                    let _ = w.write_all(input.as_bytes()).and_then(|_| w.flush());
                    let _ = writeln!(
                        log,
                        "# typed {input:?} at {:.2} s",
                        now.duration_since(start).as_secs_f64()
                    );
                }
                next_send = Some(now + RESEND);
            }
        }
        let wait = next_send
            .map_or(deadline, |t| t.min(deadline))
            .saturating_duration_since(now);
        match rx.recv_timeout(wait.max(Duration::from_millis(1))) {
            Ok(Msg::Serial(line)) => {
                let _ = writeln!(log, "{line}");
                if cap.echo {
                    println!("  | {line}");
                }
                if out.mark_time.is_none()
                    && cap.mark.as_ref().is_some_and(|m| line.contains(m.as_str()))
                {
                    out.mark_time = Some(start.elapsed());
                }
                if let Some((needles, _)) = &cap.send {
                    for (i, n) in needles.iter().enumerate() {
                        seen[i] |= line.contains(n.as_str());
                    }
                    if next_send.is_none() && all_seen(&seen) {
                        next_send = Some(Instant::now());
                    }
                }
                let abort = cap
                    .abort_on
                    .iter()
                    .find(|a| line.contains(a.as_str()))
                    .cloned();
                out.lines.push(line);
                if abort.is_some() {
                    out.aborted_on = abort;
                    break;
                }
            }
            Ok(Msg::Stderr(line)) => {
                let _ = writeln!(log, "# qemu stderr: {line}");
                if cap.echo {
                    eprintln!("  qemu: {line}");
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => streams_open = false,
        }
    }
    // Both streams closed (QEMU is exiting) or the deadline passed.
    loop {
        match child.try_wait().context("cannot wait for QEMU")? {
            Some(status) => {
                out.status = Some(exit_code(status));
                break;
            }
            None if out.aborted_on.is_some() || Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                out.timed_out = out.aborted_on.is_none();
                break;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    drop(stdin);
    out.elapsed = start.elapsed();
    let _ = writeln!(
        log,
        "# {} after {:.2} s",
        out.describe_end(),
        out.elapsed.as_secs_f64()
    );
    Ok(out)
}

/// The last `n` lines of a log file (for failure reports).
pub fn tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return vec![];
    };
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pvh() -> Machine {
        Machine::new(Boot::Pvh {
            kernel: "k.elf".into(),
            initrd: Some("i.img".into()),
            append: "ktest panic=exit".into(),
        })
    }

    fn strs(a: Vec<OsString>) -> Vec<String> {
        a.into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn machine_args_pvh() {
        let a = strs(pvh().args());
        let has = |pair: [&str; 2]| a.windows(2).any(|w| w[0] == pair[0] && w[1] == pair[1]);
        assert!(has(["-machine", "q35"]));
        assert!(has(["-accel", "tcg"]));
        assert!(has(["-kernel", "k.elf"]));
        assert!(has(["-initrd", "i.img"]));
        assert!(has(["-append", "ktest panic=exit"]));
        assert!(has(["-display", "none"]));
        assert!(has(["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]));
        assert!(a.contains(&"-no-reboot".to_string()));
        assert!(!a.iter().any(|s| s.contains("kvm")));
        assert!(!a.iter().any(|s| s.contains("netdev")));
        assert!(has(["-nic", "none"]));
    }

    #[test]
    fn machine_args_nic_is_restricted() {
        let mut m = pvh();
        m.nic = true;
        let a = strs(m.args()).join(" ");
        assert!(a.contains("-netdev user,id=n0,restrict=on"), "{a}");
        assert!(a.contains("-device virtio-net-pci,netdev=n0"), "{a}");
        assert!(!a.contains("-nic none"), "{a}");
    }

    #[test]
    fn machine_args_iso_gui_smp() {
        let mut m = Machine::new(Boot::Iso("x.iso".into()));
        m.gui = true;
        m.smp = Some(4);
        let a = strs(m.args()).join(" ");
        assert!(a.contains("-cdrom x.iso"), "{a}");
        assert!(a.contains("-display gtk"), "{a}");
        assert!(a.contains("-smp 4"), "{a}");
        assert!(!a.contains("-kernel"), "{a}");
    }

    #[test]
    fn tail_of_missing_file_is_empty() {
        assert!(tail(Path::new("/nonexistent/xtask.log"), 30).is_empty());
    }

    #[test]
    fn exit_codes() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit_code(ExitStatus::from_raw(33 << 8)), 33);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
    }
}
