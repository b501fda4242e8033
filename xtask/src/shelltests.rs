//! The shell-session stage of `cargo xtask test`: boots Exo-OS with the normal initramfs (PID 1
//! starts Debian's busybox shell on the console) and drives a real session over the serial
//! port — one command at a time, each followed by an `echo` of its exit status and of a marker
//! the shell has to compute (`@@$((1000+N))@@`), so the echoed command line can never be
//! mistaken for its output — then checks what each command printed. Ends with `poweroff` (QEMU status 33).

use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use crate::harness::{log_path, timeout, Tally};
use crate::kbuild::{self, BuildOpts};
use crate::qemu::{Boot, Machine};
use crate::{initramfs, util};

/// `seq 1 10000 | md5sum` on Linux.
const SEQ_MD5: &str = "72d4ff27a28afbc066d5804999d5a504";

/// One step: what to type, and what its output must contain (in this order).
struct Step {
    name: &'static str,
    input: &'static str,
    expect: &'static [&'static str],
    /// Typed after the command, each after its pause, before the marker (e.g. ^C for a running
    /// command; vi's keys, with ESC on its own as a person types it).
    then: Vec<(&'static str, Duration)>,
}

fn steps() -> Vec<Step> {
    let s = |name, input, expect| Step { name, input, expect, then: vec![] };
    vec![
        s("echo hi | wc -c", "echo hi | wc -c", &["3"]),
        s("ls -l /", "ls -l /", &["drwx", "init", "proc", "tmp"]),
        s("cat /proc/meminfo", "cat /proc/meminfo", &["MemTotal:", "MemFree:"]),
        s("for loop | sort -r", "for i in 1 2 3; do echo $i; done | sort -r", &["3", "2", "1"]),
        s("sh -c 'exit 3'; echo $?", "sh -c 'exit 3'", &["status:3 @@"]),
        s("background job + wait", "sleep 1 & wait $!; echo waited:$?", &["waited:0"]),
        Step {
            name: "sleep 100 interrupted by ^C (status 130)",
            input: "sleep 100",
            expect: &["status:130 @@"],
            then: vec![("\x03", Duration::from_secs(2))],
        },
        s(
            "files in /tmp",
            "cd /tmp && echo one > f && echo two >> f && mv f g && cat g && rm g && ls -a /tmp | wc -l; cd /",
            &["one", "two", "2"],
        ),
        s("find / -name init", "find / -name init | sort", &["/init", "/sbin/init"]),
        s("ps", "ps", &["PID", "sh", "ps"]),
        s("free", "free", &["Mem:"]),
        s("uname -a", "uname -a", &["Linux exo", "x86_64"]),
        s("date", "date", &["20"]),
        s("seq 1 10000 | md5sum", "seq 1 10000 | md5sum", &[SEQ_MD5]),
        Step {
            name: "vi opens a file and quits",
            input: "vi /tmp/v.txt",
            expect: &[],
            then: vec![
                ("ihello from vi", Duration::from_secs(3)),
                ("\x1b", Duration::from_secs(1)),
                (":wq\r", Duration::from_secs(1)),
            ],
        },
        s("vi wrote the file", "cat /tmp/v.txt", &["hello from vi"]),
    ]
}

/// A running guest with its serial port as a byte stream (also driven by `nettests`).
pub(crate) struct Session {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Vec<u8>>,
    /// Everything received so far (lossy UTF-8), and how much of it earlier steps consumed.
    text: String,
    consumed: usize,
    log: std::fs::File,
}

impl Session {
    pub(crate) fn start(m: &Machine, log: &Path) -> Result<Session> {
        let mut cmd = Command::new("qemu-system-x86_64");
        cmd.args(m.args())
            .args(["-serial", "stdio", "-monitor", "none"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut log = std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let _ = writeln!(log, "# {}", util::show(&cmd));
        // QEMU's own complaints (a bad option, a port in use) go into the log too.
        cmd.stderr(log.try_clone().map_or(Stdio::null(), Stdio::from));
        let mut child = cmd.spawn().context("cannot start QEMU")?;
        let stdin = child.stdin.take().context("no stdin")?;
        let mut stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Ok(Session { child, stdin, rx, text: String::new(), consumed: 0, log })
    }

    pub(crate) fn send(&mut self, text: &str) {
        let _ = self.stdin.write_all(text.as_bytes()).and_then(|_| self.stdin.flush());
        let _ = writeln!(self.log, "\n# typed {text:?}");
    }

    /// Waits until `needle` appears after what earlier steps consumed; returns the text up to
    /// it and consumes it. None on timeout or when QEMU is gone.
    pub(crate) fn expect(&mut self, needle: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(pos) = self.text[self.consumed..].find(needle) {
                let end = self.consumed + pos + needle.len();
                let got = self.text[self.consumed..end].to_string();
                self.consumed = end;
                return Some(got);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            match self.rx.recv_timeout(left) {
                Ok(bytes) => {
                    let _ = self.log.write_all(&bytes);
                    self.text.push_str(&String::from_utf8_lossy(&bytes).replace('\r', ""));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => return None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// QEMU's exit status within `within` (killing it otherwise).
    pub(crate) fn finish(mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            while let Ok(bytes) = self.rx.try_recv() {
                let _ = self.log.write_all(&bytes);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

/// Whether `output` contains every expected text, in order.
pub fn contains_in_order(output: &str, expect: &[&str]) -> bool {
    let mut rest = output;
    for e in expect {
        match rest.find(e) {
            Some(i) => rest = &rest[i + e.len()..],
            None => return false,
        }
    }
    true
}

/// Runs the stage, adding one result per step.
pub fn run(root: &Path, t: &mut Tally) {
    let built = match initramfs::build(root, true) {
        Ok(b) => b,
        Err(e) => return t.fail("shell: building the initramfs", &format!("{e:#}"), None),
    };
    let kernel = match kbuild::build_kernel(root, BuildOpts::default()) {
        Ok(k) => k,
        Err(e) => return t.fail("shell: building the kernel", &format!("{e:#}"), None),
    };
    let mut m = Machine::new(Boot::Pvh { kernel, initrd: Some(built.path), append: String::new() });
    m.smp = Some(2);
    let log = log_path(root, "shell-session");
    let mut session = match Session::start(&m, &log) {
        Ok(s) => s,
        Err(e) => return t.fail("shell: starting QEMU", &format!("{e:#}"), Some(&log)),
    };
    let prompt = "exo:";
    if session.expect(prompt, timeout(60)).is_none() {
        let _ = session.finish(Duration::from_secs(1));
        return t.fail("shell: prompt", "no shell prompt within 60 s", Some(&log));
    }
    for (n, step) in steps().iter().enumerate() {
        session.send(&format!("{}\n", step.input));
        for (keys, pause) in &step.then {
            std::thread::sleep(*pause);
            session.send(keys);
        }
        if !step.then.is_empty() {
            // Let the program react before the shell's next line arrives.
            std::thread::sleep(Duration::from_secs(1));
        }
        let marker = 1000 + n;
        // The marker line also reports the step's exit status.
        session.send(&format!("echo status:$? @@$(({marker}-0))@@\n"));
        let name = format!("shell {}", step.name);
        match session.expect(&format!("@@{marker}@@"), timeout(60)) {
            Some(out) if contains_in_order(&out, step.expect) => t.pass(&name, ""),
            Some(out) => {
                let shown: String = out.chars().rev().take(300).collect::<Vec<_>>().into_iter().rev().collect();
                t.fail(&name, &format!("expected {:?} in order, got: {shown:?}", step.expect), Some(&log));
            }
            None => {
                t.fail(&name, "no answer within 60 s", Some(&log));
                let _ = session.finish(Duration::from_secs(1));
                return;
            }
        }
    }
    session.send("poweroff\n");
    match session.finish(timeout(30)) {
        Some(33) | Some(0) => t.pass("shell poweroff", ""),
        other => t.fail("shell poweroff", &format!("QEMU status {other:?} (expected 33)"), Some(&log)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_matters_in_expectations() {
        assert!(contains_in_order("3\n2\n1\n", &["3", "2", "1"]));
        assert!(!contains_in_order("1\n2\n3\n", &["3", "2", "1"]));
        assert!(contains_in_order("anything", &[]));
    }

    #[test]
    fn markers_are_not_in_the_commands() {
        for (n, step) in steps().iter().enumerate() {
            assert!(!step.input.contains(&format!("@@{}@@", 1000 + n)));
        }
    }
}
