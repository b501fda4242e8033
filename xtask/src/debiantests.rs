//! The `debian` stage of `cargo xtask test` (`cargo xtask debian-test` alone): Debian's own
//! dynamically linked programs on Exo-OS, compared with the same programs on the host.
//!
//! 1. The Debian image tree (`debian::image_tree`: bash, coreutils, findutils, grep, sed,
//!    gawk, tar, gzip, xz-utils, python3 and their libraries, plus two `--add` programs built
//!    from `user/debian/add/`) and its ext2 root disk.
//! 2. Host: every case of [`CASES`] (`user/debian/cases/<case>.sh`, run by
//!    `user/debian/run.sh` in a scratch directory with fixed input files) runs in a chroot of
//!    that same tree (a private mount namespace with a tmpfs `/tmp`, the host's `/dev` and a
//!    fresh `/proc`), so both sides run the very same binaries and libraries.
//! 3. Exo-OS boots the disk with bash on the console; each case is typed at bash's prompt and
//!    its output must equal the host's (one result line per case, a `diff -u` on failure).
//! 4. Interactive bash at the console ([`interactive`]): session leader with the console as
//!    its controlling terminal, job control (`&`, `jobs`, `^Z`, `bg`, `fg`, `kill %1`), then
//!    the `--add` programs, then `poweroff`.
//!
//! Kernel log lines that land in a case's output (e.g. `syscall: X (N) is not implemented`)
//! are removed before comparing; the stage lists the ENOSYS calls the programs made.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::harness::{log_path, timeout, Tally};
use crate::kbuild::{self, BuildOpts};
use crate::qemu::{Boot, Disk, Machine};
use crate::shelltests::{contains_in_order, Session};
use crate::{addprog, debian, disks, util};

/// The scripted sessions (`user/debian/cases/<name>.sh`), in the order they run.
pub const CASES: &[&str] = &[
    "bash-script",
    "bash-jobs",
    "bash-procsubst",
    "coreutils-text",
    "coreutils-files",
    "findutils",
    "grep",
    "sed",
    "gawk",
    "tar",
    "gzip",
    "xz",
    "python3",
];

/// Whether a line is the kernel's log (`[   12.345] WARN  …`), not a program's output.
pub fn is_kernel_log(line: &str) -> bool {
    let line = strip_colours(line);
    let Some(rest) = line.strip_prefix('[') else { return false };
    let Some((stamp, tail)) = rest.split_once(']') else { return false };
    let stamp = stamp.trim();
    !stamp.is_empty()
        && stamp.chars().all(|c| c.is_ascii_digit() || c == '.')
        && ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].iter().any(|l| tail.trim_start().starts_with(l))
}

/// `line` without ANSI SGR sequences (`ESC [ … m`: the kernel colours its log levels).
fn strip_colours(line: &str) -> String {
    let mut out = String::new();
    let mut it = line.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\x1b' && it.peek() == Some(&'[') {
            for d in it.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The output of `case` between run.sh's markers, without kernel log lines.
pub fn case_output(text: &str, case: &str) -> Option<String> {
    let begin = format!("<<begin-{case}>>\n");
    let end = format!("<<end-{case}>>");
    let start = text.rfind(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let body: Vec<&str> = text[start..stop].split('\n').filter(|l| !is_kernel_log(l)).collect();
    Some(body.join("\n").replace('\r', ""))
}

/// The names of the calls Exo-OS reported as not implemented in `log`.
pub fn enosys_calls(log: &str) -> Vec<String> {
    let mut v: Vec<String> = log
        .lines()
        .filter_map(|l| l.split_once("syscall: ").map(|(_, r)| r))
        .filter(|r| r.contains("is not implemented"))
        .filter_map(|r| r.split(" is not implemented").next())
        .map(|s| s.trim().to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Runs `run.sh <case>` in a chroot of `tree` on the host; its stdout.
fn host_case(tree: &Path, case: &str) -> Result<String, String> {
    let t = tree.display();
    let script = format!(
        "mount -t tmpfs tmpfs '{t}/tmp' && mount --rbind /dev '{t}/dev' && mount -t proc proc '{t}/proc' && \
         exec chroot '{t}' /bin/sh /opt/exo-debian/run.sh {case}"
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    case_output(&text, case).ok_or_else(|| format!("no output markers (status {}): {}{}", out.status, text, String::from_utf8_lossy(&out.stderr)))
}

/// `diff -u` of the host's and Exo-OS's outputs (kept in `target/exo/debian/results/`).
fn diff(root: &Path, case: &str, host: &str, exo: &str) -> String {
    let dir = debian::cache_dir(root).join("results");
    let _ = util::mkdirs(&dir);
    let (h, e) = (dir.join(format!("{case}.host")), dir.join(format!("{case}.exo")));
    let _ = std::fs::write(&h, host);
    let _ = std::fs::write(&e, exo);
    let out = Command::new("diff").arg("-u").arg(&h).arg(&e).output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    let shown: String = text.lines().take(60).collect::<Vec<_>>().join("\n");
    format!("output differs from the host's (- host, + Exo-OS):\n{shown}")
}

/// The programs of `user/debian/add/` built as `--add` would (C and Rust).
fn add_programs(root: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let dir = root.join("user/debian/add");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)?.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    addprog::build_all(root, &paths)
}

/// What is typed at the interactive prompt, and what must come back (in order).
const INTERACTIVE: &[(&str, &str, &[&str])] = &[
    ("bash is the session leader on the console", "[ $(cut -d' ' -f6 /proc/$$/stat) = $$ ] && echo leader-ok; set -o | grep -w monitor", &["leader-ok", "monitor", "on"]),
    ("background job and jobs", "sleep 30 &\njobs", &["[1]", "[1]+  Running", "sleep 30 &"]),
    ("kill %1", "kill %1; wait", &["Terminated", "sleep 30"]),
    ("fg of a stopped job", "sleep 3 &\nfg %1", &["sleep 3"]),
    ("PATH has /usr/local/bin", "echo $PATH; type python3 awk ls", &["/usr/local/bin", "/usr/bin/python3", "/usr/bin/awk", "/bin/ls"]),
    ("--add C program", "hello_c exo", &["hello from C, exo"]),
    ("--add Rust program", "hello_rs exo", &["hello from Rust, exo"]),
];

/// Step 4: interactive bash at the console.
fn interactive(s: &mut Session, t: &mut Tally, log: &Path) -> bool {
    for (n, (name, input, expect)) in INTERACTIVE.iter().enumerate() {
        let marker = 3000 + n;
        s.send(&format!("{input}\n"));
        s.send(&format!("echo status:$? @@$(({marker}-0))@@\n"));
        match s.expect(&format!("@@{marker}@@"), timeout(60)) {
            Some(out) if contains_in_order(&out, expect) => t.pass(&format!("debian interactive: {name}"), ""),
            Some(out) => {
                let shown: String = out.chars().rev().take(500).collect::<Vec<_>>().into_iter().rev().collect();
                t.fail(&format!("debian interactive: {name}"), &format!("expected {expect:?} in order, got: {shown:?}"), Some(log));
            }
            None => {
                t.fail(&format!("debian interactive: {name}"), "no answer within 60 s", Some(log));
                return false;
            }
        }
    }
    // ^Z stops a foreground job; bg resumes it.
    s.send("sleep 20\n");
    std::thread::sleep(Duration::from_secs(2));
    s.send("\x1a");
    std::thread::sleep(Duration::from_secs(1));
    s.send("jobs; bg; jobs; kill %1; wait; echo @@$((3100-0))@@\n");
    match s.expect("@@3100@@", timeout(60)) {
        Some(out) if contains_in_order(&out, &["Stopped", "sleep 20", "Running"]) => t.pass("debian interactive: ^Z stops a job, bg resumes it", ""),
        Some(out) => t.fail("debian interactive: ^Z stops a job, bg resumes it", &format!("got: {out:?}"), Some(log)),
        None => {
            t.fail("debian interactive: ^Z stops a job, bg resumes it", "no answer within 60 s", Some(log));
            return false;
        }
    }
    true
}

/// Runs the stage.
pub fn run(root: &Path, t: &mut Tally) {
    if let Err(e) = util::ensure_packages(&[util::PKGS_DISK, util::PKGS_DEB, util::PKGS_USER]) {
        return t.fail("debian: installing the tools", &format!("{e:#}"), None);
    }
    let adds = match add_programs(root) {
        Ok(a) => a,
        Err(e) => return t.fail("debian: building the --add programs", &format!("{e:#}"), None),
    };
    let tree = match debian::image_tree(root, &adds) {
        Ok(tree) => tree,
        Err(e) => return t.fail("debian: fetching the packages and making the tree", &format!("{e:#}"), None),
    };
    let image = util::exo_target_dir(root).join("debian-test.img");
    if let Err(e) = disks::ext2_from_tree(&tree, &image, 1024) {
        return t.fail("debian: making the root disk", &format!("{e:#}"), None);
    }
    println!("  (packages: {})", debian::pins(root).lines().collect::<Vec<_>>().join(" "));

    // 2. The host's outputs.
    let mut expected = Vec::new();
    for case in CASES {
        match host_case(&tree, case) {
            Ok(out) => expected.push(Some(out)),
            Err(e) => {
                t.fail(&format!("debian {case}: on the host"), &e, None);
                expected.push(None);
            }
        }
    }

    // 3. Exo-OS.
    let kernel = match kbuild::build_kernel(root, BuildOpts::default()) {
        Ok(k) => k,
        Err(e) => return t.fail("debian: building the kernel", &format!("{e:#}"), None),
    };
    let mut m = Machine::new(Boot::Pvh { kernel, initrd: None, append: debian::APPEND.into() });
    m.smp = Some(2);
    m.disks.push(Disk::new(&image));
    m.extra = vec!["-m".into(), debian::MEMORY.into()];
    let log = log_path(root, "debian");
    let _ = util::mkdirs(&crate::harness::logs_dir(root));
    let mut s = match Session::start(&m, &log) {
        Ok(s) => s,
        Err(e) => return t.fail("debian: starting QEMU", &format!("{e:#}"), Some(&log)),
    };
    if s.expect("exo-debian:", timeout(120)).is_none() {
        let _ = s.finish(Duration::from_secs(1));
        return t.fail("debian: bash prompt", "no `exo-debian:` prompt within 120 s", Some(&log));
    }
    t.pass("debian: bash prompt on the console", "");
    let mut alive = true;
    for (case, want) in CASES.iter().zip(&expected) {
        s.send(&format!("sh /opt/exo-debian/run.sh {case}\n"));
        let name = format!("debian {case}");
        let Some(text) = s.expect(&format!("<<end-{case}>>"), timeout(180)) else {
            t.fail(&name, "no end marker within 180 s", Some(&log));
            alive = false;
            break;
        };
        let got = case_output(&(text + "\n"), case).unwrap_or_default();
        match want {
            Some(want) if *want == got => t.pass(&name, "same output as on the host"),
            Some(want) => t.fail(&name, &diff(root, case, want, &got), Some(&log)),
            None => t.fail(&name, "no host output to compare with", Some(&log)),
        }
    }
    if alive && interactive(&mut s, t, &log) {
        s.send("poweroff\n");
        match s.finish(timeout(60)) {
            Some(33) | Some(0) => t.pass("debian: poweroff", ""),
            other => t.fail("debian: poweroff", &format!("QEMU status {other:?}"), Some(&log)),
        }
    } else {
        let _ = s.finish(Duration::from_secs(1));
    }
    let calls = enosys_calls(&std::fs::read_to_string(&log).unwrap_or_default());
    println!("  (system calls the Debian programs used that Exo-OS lacks: {})", if calls.is_empty() { "none".into() } else { calls.join(", ") });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_output_is_cut_between_markers_without_kernel_lines() {
        let text = "typed run.sh x\n<<begin-x>>\nline 1\r\n[   12.345] WARN  exo_kernel::syscall: syscall: foo (1) is not implemented\nline 2\n<<end-x>>\n";
        assert_eq!(case_output(text, "x").as_deref(), Some("line 1\nline 2\n"));
        assert_eq!(case_output(text, "y"), None);
        assert!(!is_kernel_log("[1] 1234"));
        assert!(is_kernel_log("[   293.776] \x1b[93mWARN \x1b[0m syscall::enosys: syscall: rseq"));
        assert!(!is_kernel_log("[a] INFO"));
    }

    #[test]
    fn enosys_names_are_collected_once() {
        let log = "x\n[ 1.0] WARN  k: syscall: rseq (334) is not implemented (ENOSYS), first called by pid 3\n\
                   [ 2.0] WARN  k: syscall: rseq (334) is not implemented (ENOSYS), first called by pid 4\n";
        assert_eq!(enosys_calls(log), vec!["rseq (334)".to_string()]);
    }

    #[test]
    fn every_case_has_a_script() {
        let root = util::workspace_root();
        for case in CASES {
            assert!(root.join("user/debian/cases").join(format!("{case}.sh")).is_file(), "{case}");
        }
    }
}
