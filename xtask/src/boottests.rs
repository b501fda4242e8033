//! Boot tests: QEMU boots of the normal kernel (PVH and GRUB/Multiboot2) that look for
//! expected text on the serial port and the expected QEMU exit status.

use crate::harness::{log_path, timeout, Tally};
use crate::kbuild::{self, BuildOpts};
use crate::qemu::{self, Boot, Capture, Machine, STATUS_PANIC, STATUS_SUCCESS};
use crate::{iso, util};
use std::path::{Path, PathBuf};

const BANNER: &str = "Welcome to Exo-OS";
/// Size of the generated initrd: odd, so a rounded size would show.
pub const INITRD_SIZE: usize = 70_001;

/// One expectation: some line contains all substrings of one of the alternatives.
#[derive(Clone, Debug)]
pub struct Expect {
    pub what: String,
    pub alts: Vec<Vec<String>>,
}

impl Expect {
    fn line(parts: &[&str]) -> Self {
        Expect {
            what: parts.join(" … "),
            alts: vec![parts.iter().map(|s| s.to_string()).collect()],
        }
    }

    fn any(alts: &[&str]) -> Self {
        Expect {
            what: alts.join(" or "),
            alts: alts.iter().map(|a| vec![a.to_string()]).collect(),
        }
    }

    pub fn met_by(&self, lines: &[String]) -> bool {
        lines.iter().any(|l| {
            self.alts
                .iter()
                .any(|alt| alt.iter().all(|p| l.contains(p.as_str())))
        })
    }
}

/// How a boot test boots.
#[derive(Clone, Debug)]
enum How {
    Pvh { append: String, initrd: bool },
    Grub { append: String, initrd: bool },
}

#[derive(Clone, Debug)]
struct BootTest {
    name: &'static str,
    how: How,
    expect: Vec<Expect>,
    status: i32,
    /// Type `poweroff` once these have appeared (the idle console must answer).
    poweroff_after: Vec<&'static str>,
    secs: u64,
    /// QEMU `-cpu` model and features.
    cpu: &'static str,
}

fn pvh(append: &str, initrd: bool) -> How {
    How::Pvh {
        append: append.into(),
        initrd,
    }
}

fn tests() -> Vec<BootTest> {
    let size = format!("({INITRD_SIZE} bytes)");
    let cmdline = "log=info exo.no-such-option=42 frobnicate";
    vec![
        BootTest {
            name: "pvh-banner",
            how: pvh("", false),
            expect: vec![
                Expect::line(&[BANNER]),
                Expect::line(&["boot: protocol=pvh"]),
            ],
            status: STATUS_SUCCESS,
            poweroff_after: vec![BANNER],
            secs: 60,
            cpu: "max",
        },
        BootTest {
            name: "pvh-initrd",
            how: pvh("", true),
            expect: vec![
                Expect::line(&["boot: module 0: ", &size]),
                Expect::line(&[BANNER]),
            ],
            status: STATUS_SUCCESS,
            poweroff_after: vec![BANNER],
            secs: 60,
            cpu: "max",
        },
        BootTest {
            name: "pvh-cmdline",
            how: pvh(cmdline, false),
            expect: vec![
                Expect::line(&[&format!("boot: cmdline \"{cmdline}\"")]),
                Expect::line(&[BANNER]),
            ],
            status: STATUS_SUCCESS,
            poweroff_after: vec![BANNER],
            secs: 60,
            cpu: "max",
        },
        BootTest {
            name: "pvh-no-apic",
            how: pvh("", false),
            expect: vec![
                Expect::line(&["local APIC unusable"]),
                Expect::line(&["scheduler tick every 10000 us"]),
                Expect::line(&[BANNER]),
            ],
            status: STATUS_SUCCESS,
            poweroff_after: vec![BANNER],
            secs: 60,
            cpu: "max,-apic",
        },
        BootTest {
            name: "crash-bp",
            how: pvh("crashtest=bp panic=exit", false),
            expect: vec![Expect::line(&[BANNER]), Expect::line(&["BREAKPOINT"])],
            status: STATUS_SUCCESS,
            poweroff_after: vec![BANNER, "BREAKPOINT"],
            secs: 60,
            cpu: "max",
        },
        BootTest {
            name: "crash-pf",
            how: pvh("crashtest=pf panic=exit", false),
            expect: vec![Expect::line(&["PAGE FAULT"])],
            status: STATUS_PANIC,
            poweroff_after: vec![],
            secs: 60,
            cpu: "max",
        },
        BootTest {
            name: "crash-stack-overflow",
            how: pvh("crashtest=stack-overflow panic=exit", false),
            expect: vec![Expect::any(&["DOUBLE FAULT", "kernel stack overflow"])],
            status: STATUS_PANIC,
            poweroff_after: vec![],
            secs: 60,
            cpu: "max",
        },
        BootTest {
            name: "crash-panic",
            how: pvh("crashtest=panic panic=exit", false),
            expect: vec![
                Expect::line(&["KERNEL PANIC"]),
                Expect::any(&["backtrace", "Backtrace", "BACKTRACE"]),
                Expect::line(&["exo_kernel::"]),
            ],
            status: STATUS_PANIC,
            poweroff_after: vec![],
            secs: 60,
            cpu: "max",
        },
        BootTest {
            name: "grub-banner",
            how: How::Grub {
                append: String::new(),
                initrd: false,
            },
            expect: vec![
                Expect::line(&[BANNER]),
                Expect::line(&["boot: protocol=multiboot2"]),
            ],
            status: STATUS_SUCCESS,
            poweroff_after: vec![BANNER],
            secs: 60,
            cpu: "max",
        },
        BootTest {
            name: "grub-module",
            how: How::Grub {
                append: String::new(),
                initrd: true,
            },
            expect: vec![
                Expect::line(&["boot: module 0: ", &size, "initrd\""]),
                Expect::line(&["boot: protocol=multiboot2"]),
                Expect::line(&[BANNER]),
            ],
            status: STATUS_SUCCESS,
            poweroff_after: vec![BANNER],
            secs: 60,
            cpu: "max",
        },
    ]
}

/// A deterministic initrd of exactly `INITRD_SIZE` bytes.
fn make_initrd(path: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let data: Vec<u8> = (0..INITRD_SIZE).map(|i| (i % 251) as u8).collect();
    if let Some(d) = path.parent() {
        util::mkdirs(d)?;
    }
    std::fs::write(path, data).with_context(|| format!("cannot write {}", path.display()))
}

fn machine(root: &Path, kernel: &Path, initrd: &Path, t: &BootTest) -> anyhow::Result<Machine> {
    let dir = util::build_dir(root).join("test");
    let mut machine = Machine::new(match &t.how {
        How::Pvh {
            append,
            initrd: with,
        } => Boot::Pvh {
            kernel: kernel.to_path_buf(),
            initrd: with.then(|| initrd.to_path_buf()),
            append: append.clone(),
        },
        How::Grub {
            append,
            initrd: with,
        } => {
            let out = dir.join(format!("{}.iso", t.name));
            iso::make_iso(root, kernel, with.then_some(initrd), append, &out)?;
            Boot::Iso(out)
        }
    });
    machine.cpu = t.cpu;
    Ok(machine)
}

pub fn run(root: &Path, tally: &mut Tally) {
    let kernel = match kbuild::build_kernel(root, BuildOpts::default()) {
        Ok(k) => k,
        Err(e) => {
            let n = tests().len();
            tally.fail(
                "building the kernel",
                &format!("{e:#}; the {n} boot tests were skipped"),
                None,
            );
            return;
        }
    };
    let initrd: PathBuf = util::build_dir(root).join("test").join("initrd-test.bin");
    if let Err(e) = make_initrd(&initrd) {
        tally.fail("making the test initrd", &format!("{e:#}"), None);
        return;
    }
    for t in tests() {
        let m = match machine(root, &kernel, &initrd, &t) {
            Ok(m) => m,
            Err(e) => {
                tally.fail(t.name, &format!("{e:#}"), None);
                continue;
            }
        };
        let log = log_path(root, t.name);
        let cap = Capture {
            timeout: timeout(t.secs),
            log: log.clone(),
            send: (!t.poweroff_after.is_empty()).then(|| {
                (
                    t.poweroff_after.iter().map(|s| s.to_string()).collect(),
                    "poweroff\n".to_string(),
                )
            }),
            mark: Some(BANNER.to_string()),
            echo: false,
            // GRUB waits for a key forever once it could not boot the kernel.
            abort_on: vec![
                "Failed to boot both default and fallback".into(),
                "Press any key to continue".into(),
            ],
        };
        let out = match qemu::run_captured(&m, &cap) {
            Ok(o) => o,
            Err(e) => {
                tally.fail(t.name, &format!("{e:#}"), Some(&log));
                continue;
            }
        };
        let mut wrong: Vec<String> = t
            .expect
            .iter()
            .filter(|e| !e.met_by(&out.lines))
            .map(|e| format!("no line with {:?}", e.what))
            .collect();
        if out.status != Some(t.status) {
            let hint = if out.status == Some(0) {
                " (0 with -no-reboot: a triple fault)"
            } else {
                ""
            };
            wrong.push(format!(
                "{}{hint}, expected status {}",
                out.describe_end(),
                t.status
            ));
        }
        let mut detail = format!("{:.1} s", out.elapsed.as_secs_f64());
        if let Some(b) = out.mark_time {
            detail.push_str(&format!(", banner after {:.2} s wall", b.as_secs_f64()));
        }
        if t.name == "pvh-banner" {
            report_banner_time(&out);
        }
        if wrong.is_empty() {
            tally.pass(t.name, &detail);
        } else {
            tally.fail(
                t.name,
                &format!("{} [{}]", wrong.join("; "), util::rel(root, &log)),
                Some(&log),
            );
        }
    }
}

/// Print the PVH boot time: wall clock from QEMU's start, and the kernel's own TSC figure.
fn report_banner_time(out: &qemu::Outcome) {
    let tsc = out.lines.iter().find_map(|l| {
        let rest = &l[l.find("banner after ")? + "banner after ".len()..];
        rest.split_whitespace().next()?.parse::<u64>().ok()
    });
    match (out.mark_time, tsc) {
        (Some(w), Some(us)) => println!(
            "  boot time (PVH): banner {:.2} s after QEMU start (wall), {:.3} s since reset per the kernel (TSC)",
            w.as_secs_f64(),
            us as f64 / 1e6
        ),
        (Some(w), None) => println!("  boot time (PVH): banner {:.2} s after QEMU start (wall)", w.as_secs_f64()),
        _ => println!("  boot time (PVH): the banner never appeared"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(String::from).collect()
    }

    #[test]
    fn expectations_match_on_one_line() {
        let l = lines("boot: module 0: 0x1000..0x12171 (70001 bytes) \"initrd\"\nfoo");
        let size = format!("({INITRD_SIZE} bytes)");
        assert!(Expect::line(&["boot: module 0: ", &size, "initrd\""]).met_by(&l));
        assert!(!Expect::line(&["boot: module 0: ", "foo"]).met_by(&l));
        assert!(Expect::any(&["DOUBLE FAULT", "foo"]).met_by(&l));
        assert!(!Expect::any(&["DOUBLE FAULT", "bar"]).met_by(&l));
    }

    #[test]
    fn every_test_expects_something() {
        let all = tests();
        assert!(all.iter().all(|t| !t.expect.is_empty() && t.secs > 0));
        // Tests that expect a clean exit must type `poweroff`; crash tests must not.
        assert!(all
            .iter()
            .all(|t| (t.status == STATUS_SUCCESS) != t.poweroff_after.is_empty()));
    }

    #[test]
    fn initrd_has_the_announced_size() {
        let p = std::env::temp_dir().join(format!("xtask-initrd-{}.bin", std::process::id()));
        make_initrd(&p).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), INITRD_SIZE as u64);
        let _ = std::fs::remove_file(p);
    }
}
