//! [`KernelOptions`]: the command-line options Exo-OS understands, interpreted from a
//! [`Cmdline`]. Unknown options and unparsable values are ignored (as Linux does); when an option
//! is repeated, the later one wins.

use super::Cmdline;
use crate::FixedStr;

/// Kernel log verbosity, from least to most verbose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// Informational messages (default).
    #[default]
    Info,
    /// Debug messages.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// Maps a Linux console log level: 0-3 Error, 4 Warn, 5-6 Info, 7 Debug, 8+ Trace.
    pub fn from_linux(level: u64) -> Self {
        match level {
            0..=3 => Self::Error,
            4 => Self::Warn,
            5 | 6 => Self::Info,
            7 => Self::Debug,
            _ => Self::Trace,
        }
    }

    /// Parses `error`, `warn` (or `warning`), `info`, `debug`, `trace`, ignoring ASCII case.
    pub fn from_name(name: &str) -> Option<Self> {
        const NAMES: [(&str, LogLevel); 6] = [
            ("error", LogLevel::Error),
            ("warn", LogLevel::Warn),
            ("warning", LogLevel::Warn),
            ("info", LogLevel::Info),
            ("debug", LogLevel::Debug),
            ("trace", LogLevel::Trace),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, l)| l)
    }

    /// Lower-case name of the level.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Trace => "trace",
        }
    }
}

/// What to do after a panic or fatal exception.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PanicAction {
    /// Halt the CPU forever (default).
    #[default]
    Halt,
    /// Power off QEMU with a failure exit code (for automated tests).
    Exit,
}

/// A deliberate crash, triggered at boot to test the fatal-error paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashTest {
    /// `bp`: a breakpoint exception (`int3`).
    Breakpoint,
    /// `pf`: a page fault.
    PageFault,
    /// `stack-overflow`: unbounded recursion into the guard page.
    StackOverflow,
    /// `panic`: a Rust panic.
    Panic,
    /// `df`: a double fault.
    DoubleFault,
}

impl CrashTest {
    /// Parses the `crashtest=` value.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "bp" => Some(Self::Breakpoint),
            "pf" => Some(Self::PageFault),
            "stack-overflow" => Some(Self::StackOverflow),
            "panic" => Some(Self::Panic),
            "df" => Some(Self::DoubleFault),
            _ => None,
        }
    }

    /// The `crashtest=` value that selects this test.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Breakpoint => "bp",
            Self::PageFault => "pf",
            Self::StackOverflow => "stack-overflow",
            Self::Panic => "panic",
            Self::DoubleFault => "df",
        }
    }
}

/// The options Exo-OS takes from its command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelOptions {
    /// `loglevel=N`, `log=NAME`, `quiet` (Warn), `debug` (Debug); default Info.
    pub log_level: LogLevel,
    /// `ktest` (Some(""): run all in-kernel tests) or `ktest=FILTER` (tests whose name contains
    /// FILTER); `None` if absent. A filter longer than 128 bytes is truncated.
    pub ktest: Option<FixedStr<128>>,
    /// `kbench` (Some(""): run all in-kernel microbenchmarks) or `kbench=FILTER`; `None` if
    /// absent.
    pub kbench: Option<FixedStr<64>>,
    /// `panic=exit` or a non-zero integer: Exit; `panic=halt` or `panic=0`: Halt (default).
    pub panic: PanicAction,
    /// `crashtest=bp|pf|stack-overflow|panic|df`; an unknown value gives `None`.
    pub crashtest: Option<CrashTest>,
    /// `init=PATH`: the program to run as PID 1 (an empty value is ignored).
    pub init: Option<FixedStr<128>>,
    /// `rdinit=PATH`: the program to run from the initramfs (an empty value is ignored).
    pub rdinit: Option<FixedStr<128>>,
    /// `root=DEVICE`: the root file system's device (`/dev/vda1`, `vda1`, `254:1`; an empty
    /// value is ignored).
    pub root: Option<FixedStr<64>>,
    /// `rootfstype=TYPE` (`ext2`, `vfat`, …); absent: every type is tried.
    pub rootfstype: Option<FixedStr<32>>,
    /// `rootflags=OPTIONS`: the mount data of the root file system.
    pub rootflags: Option<FixedStr<128>>,
    /// `ro` (true) or `rw` (false), the last one winning; Linux mounts the root read-only by
    /// default.
    pub root_read_only: Option<bool>,
}

/// Parses an optionally signed decimal integer; `None` if it is not one. Magnitudes too large
/// for `i64` saturate (only zero vs non-zero and small values matter here).
fn parse_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mag = digits.bytes().fold(0i64, |acc, b| {
        acc.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    });
    Some(if neg { -mag } else { mag })
}

impl KernelOptions {
    /// Interprets the kernel's part of `cmdline` (parameters after `--` are init's).
    pub fn from_cmdline(cmdline: &str) -> Self {
        let mut o = Self::default();
        for p in Cmdline::new(cmdline).params() {
            match (p.key, p.value) {
                ("loglevel", Some(v)) => {
                    if let Some(n) = parse_int(v).filter(|n| *n >= 0) {
                        o.log_level = LogLevel::from_linux(n as u64);
                    }
                }
                ("log", Some(v)) => {
                    if let Some(l) = LogLevel::from_name(v) {
                        o.log_level = l;
                    }
                }
                ("quiet", _) => o.log_level = LogLevel::Warn,
                ("debug", _) => o.log_level = LogLevel::Debug,
                ("ktest", v) => o.ktest = Some(FixedStr::from(v.unwrap_or(""))),
                ("kbench", v) => o.kbench = Some(FixedStr::from(v.unwrap_or(""))),
                ("panic", Some(v)) => {
                    if v == "exit" {
                        o.panic = PanicAction::Exit;
                    } else if v == "halt" {
                        o.panic = PanicAction::Halt;
                    } else if let Some(n) = parse_int(v) {
                        o.panic = if n == 0 {
                            PanicAction::Halt
                        } else {
                            PanicAction::Exit
                        };
                    }
                }
                ("crashtest", v) => o.crashtest = v.and_then(CrashTest::from_name),
                ("init", Some(v)) if !v.is_empty() => o.init = Some(FixedStr::from(v)),
                ("rdinit", Some(v)) if !v.is_empty() => o.rdinit = Some(FixedStr::from(v)),
                ("root", Some(v)) if !v.is_empty() => o.root = Some(FixedStr::from(v)),
                ("rootfstype", Some(v)) if !v.is_empty() => o.rootfstype = Some(FixedStr::from(v)),
                ("rootflags", Some(v)) => o.rootflags = Some(FixedStr::from(v)),
                ("ro", None) => o.root_read_only = Some(true),
                ("rw", None) => o.root_read_only = Some(false),
                _ => {}
            }
        }
        o
    }

    /// True if in-kernel tests were requested and `name` passes the `ktest=` filter. Tests
    /// named `meta::…` (deliberately broken, for checking the test harness) are selected only
    /// by a filter that itself starts with `meta::`, and never by a plain `ktest`.
    pub fn ktest_selects(&self, name: &str) -> bool {
        self.ktest.as_ref().is_some_and(|f| {
            let filter = f.as_str();
            name.starts_with("meta::") == filter.starts_with("meta::") && name.contains(filter)
        })
    }
}
