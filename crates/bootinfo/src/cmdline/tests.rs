//! Tests of command-line splitting (`Cmdline`) and option interpretation (`KernelOptions`).

use super::*;
use proptest::prelude::*;
use std::{format, string::String, vec::Vec};

fn params(s: &str) -> Vec<(&str, Option<&str>)> {
    Cmdline::new(s).params().map(|p| (p.key, p.value)).collect()
}

#[test]
fn splits_keys_and_values() {
    assert_eq!(
        params("  quiet loglevel=7\tinit=/sbin/init \n a=b=c  empty= "),
        [
            ("quiet", None),
            ("loglevel", Some("7")),
            ("init", Some("/sbin/init")),
            ("a", Some("b=c")),
            ("empty", Some(""))
        ]
    );
    assert!(params("").is_empty());
    assert!(params(" \t\r\n ").is_empty());
}

#[test]
fn quotes_like_linux() {
    assert_eq!(
        params(r#"ktest="a b" x"#),
        [("ktest", Some("a b")), ("x", None)]
    );
    assert_eq!(
        params(r#""init=/bin/my sh" y"#),
        [("init", Some("/bin/my sh")), ("y", None)]
    );
    assert_eq!(
        params(r#"k="a b"c z"#),
        [("k", Some("a b\"c")), ("z", None)]
    );
    // An unterminated quote runs to the end of the line.
    assert_eq!(params(r#"k="a b c"#), [("k", Some("a b c"))]);
    assert_eq!(params("k=\"\"\""), [("k", Some("\""))]);
    assert_eq!(params(r#"k="" j"#), [("k", Some("")), ("j", None)]);
    assert_eq!(params("\"\""), [("", None)]);
}

#[test]
fn double_dash_separates_init_args() {
    let c = Cmdline::new("log=debug -- single  -x --");
    assert_eq!(c.params().map(|p| p.key).collect::<Vec<_>>(), ["log"]);
    assert_eq!(c.init_args(), Some("single  -x --"));
    assert_eq!(Cmdline::new("a b").init_args(), None);
    assert_eq!(Cmdline::new("a --").init_args(), Some(""));
    // `--x` and `--=1` are ordinary parameters.
    assert_eq!(Cmdline::new("--x --=1").init_args(), None);
    assert_eq!(params("--x --=1"), [("--x", None), ("--", Some("1"))]);
    // Options after `--` are not the kernel's.
    let o = KernelOptions::from_cmdline("quiet -- debug ktest");
    assert_eq!(o.log_level, LogLevel::Warn);
    assert_eq!(o.ktest, None);
    // IntoIterator.
    let keys: Vec<&str> = Cmdline::new("a b").into_iter().map(|p| p.key).collect();
    assert_eq!(keys, ["a", "b"]);
}

#[test]
fn defaults() {
    let o = KernelOptions::from_cmdline("");
    assert_eq!(o, KernelOptions::default());
    assert_eq!(o.log_level, LogLevel::Info);
    assert_eq!(o.panic, PanicAction::Halt);
    assert_eq!(
        (o.ktest, o.crashtest, o.init, o.rdinit),
        (None, None, None, None)
    );
}

#[test]
fn log_levels() {
    let lvl = |s: &str| KernelOptions::from_cmdline(s).log_level;
    for (n, want) in [
        (0, LogLevel::Error),
        (3, LogLevel::Error),
        (4, LogLevel::Warn),
        (5, LogLevel::Info),
        (6, LogLevel::Info),
        (7, LogLevel::Debug),
        (8, LogLevel::Trace),
        (15, LogLevel::Trace),
    ] {
        assert_eq!(lvl(&format!("loglevel={n}")), want, "loglevel={n}");
    }
    assert_eq!(lvl("loglevel=99999999999999999999999"), LogLevel::Trace);
    assert_eq!(lvl("loglevel=-1"), LogLevel::Info);
    assert_eq!(lvl("loglevel=abc"), LogLevel::Info);
    assert_eq!(lvl("loglevel"), LogLevel::Info);
    assert_eq!(lvl("log=trace"), LogLevel::Trace);
    assert_eq!(lvl("log=WARN"), LogLevel::Warn);
    assert_eq!(lvl("log=warning"), LogLevel::Warn);
    assert_eq!(lvl("log=error"), LogLevel::Error);
    assert_eq!(lvl("log=loud"), LogLevel::Info);
    assert_eq!(lvl("quiet"), LogLevel::Warn);
    assert_eq!(lvl("debug"), LogLevel::Debug);
    // The later one wins, whatever the spelling.
    assert_eq!(lvl("debug quiet"), LogLevel::Warn);
    assert_eq!(lvl("quiet loglevel=8"), LogLevel::Trace);
    assert_eq!(lvl("loglevel=8 log=error"), LogLevel::Error);
    assert_eq!(lvl("log=error debug"), LogLevel::Debug);
    // A bad later value does not reset a good earlier one.
    assert_eq!(lvl("log=debug log=bogus loglevel=x"), LogLevel::Debug);
    assert_eq!(
        LogLevel::from_name("Trace").map(LogLevel::as_str),
        Some("trace")
    );
    assert!(LogLevel::Error < LogLevel::Trace);
}

#[test]
fn ktest_filter() {
    let k = |s: &str| {
        KernelOptions::from_cmdline(s)
            .ktest
            .map(|f| String::from(f.as_str()))
    };
    assert_eq!(k("ktest"), Some(String::new()));
    assert_eq!(k("ktest="), Some(String::new()));
    assert_eq!(k("ktest=mm::"), Some("mm::".into()));
    assert_eq!(k(r#"ktest="sched yield""#), Some("sched yield".into()));
    assert_eq!(k("ktest=a ktest=b"), Some("b".into()));
    assert_eq!(k("ktests"), None);
    let long = "x".repeat(300);
    assert_eq!(k(&format!("ktest={long}")).map(|s| s.len()), Some(128));

    let o = KernelOptions::from_cmdline("ktest=frame");
    assert!(o.ktest_selects("mm::frame::alloc"));
    assert!(!o.ktest_selects("sched::yield"));
    assert!(KernelOptions::from_cmdline("ktest").ktest_selects("anything"));
    assert!(!KernelOptions::from_cmdline("").ktest_selects("anything"));
    assert!(!KernelOptions::from_cmdline("ktest").ktest_selects("meta::deliberate_hang"));
    let meta = KernelOptions::from_cmdline("ktest=meta::");
    assert!(meta.ktest_selects("meta::deliberate_failure"));
    assert!(!meta.ktest_selects("sched::yield"));
}

#[test]
fn panic_action() {
    let p = |s: &str| KernelOptions::from_cmdline(s).panic;
    assert_eq!(p("panic=exit"), PanicAction::Exit);
    assert_eq!(p("panic=halt"), PanicAction::Halt);
    assert_eq!(p("panic=0"), PanicAction::Halt);
    assert_eq!(p("panic=10"), PanicAction::Exit);
    assert_eq!(p("panic=-1"), PanicAction::Exit);
    assert_eq!(p("panic=exit panic=0"), PanicAction::Halt);
    assert_eq!(p("panic=exit panic=reboot"), PanicAction::Exit); // unknown value ignored
    assert_eq!(p("panic"), PanicAction::Halt);
    assert_eq!(p("panic=-"), PanicAction::Halt);
    assert_eq!(p("panic=1x"), PanicAction::Halt);
}

#[test]
fn crashtest() {
    let c = |s: &str| KernelOptions::from_cmdline(s).crashtest;
    assert_eq!(c("crashtest=bp"), Some(CrashTest::Breakpoint));
    assert_eq!(c("crashtest=pf"), Some(CrashTest::PageFault));
    assert_eq!(
        c("crashtest=stack-overflow"),
        Some(CrashTest::StackOverflow)
    );
    assert_eq!(c("crashtest=panic"), Some(CrashTest::Panic));
    assert_eq!(c("crashtest=df"), Some(CrashTest::DoubleFault));
    assert_eq!(c("crashtest=gp"), None);
    assert_eq!(c("crashtest"), None);
    assert_eq!(c("crashtest=bp crashtest=nope"), None);
    assert_eq!(c("crashtest=bp crashtest=df"), Some(CrashTest::DoubleFault));
    for t in [
        CrashTest::Breakpoint,
        CrashTest::PageFault,
        CrashTest::StackOverflow,
        CrashTest::Panic,
        CrashTest::DoubleFault,
    ] {
        assert_eq!(CrashTest::from_name(t.as_str()), Some(t));
    }
}

#[test]
fn init_paths() {
    let o = KernelOptions::from_cmdline(r#"init=/sbin/init rdinit="/my init" init= rdinit"#);
    assert_eq!(o.init.as_ref().map(|s| s.as_str()), Some("/sbin/init"));
    assert_eq!(o.rdinit.as_ref().map(|s| s.as_str()), Some("/my init"));
    let o = KernelOptions::from_cmdline("init=/a init=/b");
    assert_eq!(o.init.map(|s| String::from(s.as_str())), Some("/b".into()));
}

#[test]
fn unknown_and_garbage_ignored() {
    let o = KernelOptions::from_cmdline(
        "console=ttyS0 root=/dev/sda \u{1F600}=x === \"\" \0\u{7f} panic=exit",
    );
    assert_eq!(o.panic, PanicAction::Exit);
    assert_eq!(o.log_level, LogLevel::Info);
    assert_eq!(o.ktest, None);
}

proptest! {
    /// Any string parses without panicking; the parameters are substrings of the input that
    /// contain no unquoted whitespace, and parsing stops at a lone `--`.
    #[test]
    fn arbitrary_lines_parse(s in "[ a-z=\"\\-\t\u{e9}0-9]{0,60}") {
        let c = Cmdline::new(&s);
        for p in c.params() {
            prop_assert!(s.contains(p.key));
            prop_assert!(!p.key.contains('='));
            if let Some(v) = p.value {
                prop_assert!(s.contains(v));
            }
            prop_assert!(!(p.key == "--" && p.value.is_none()));
        }
        if let Some(rest) = c.init_args() {
            prop_assert!(s.ends_with(rest));
        }
        let _ = KernelOptions::from_cmdline(&s);
    }

    /// Unquoted words round-trip.
    #[test]
    fn words_round_trip(words in proptest::collection::vec(("[a-z_.]{1,8}", proptest::option::of("[a-z0-9/,.]{0,8}")), 0..10)) {
        let line: Vec<String> = words
            .iter()
            .map(|(k, v)| match v { Some(v) => format!("{k}={v}"), None => k.clone() })
            .collect();
        let line = line.join("  ");
        let got: Vec<(String, Option<String>)> = Cmdline::new(&line)
            .params()
            .map(|p| (p.key.into(), p.value.map(String::from)))
            .collect();
        prop_assert_eq!(got, words);
    }
}

#[test]
fn kbench_with_and_without_filter() {
    assert_eq!(KernelOptions::from_cmdline("x=1").kbench, None);
    let all = KernelOptions::from_cmdline("kbench panic=exit");
    assert_eq!(all.kbench.as_ref().map(|f| f.as_str()), Some(""));
    assert_eq!(all.panic, PanicAction::Exit);
    let some = KernelOptions::from_cmdline("kbench=heap");
    assert_eq!(some.kbench.as_ref().map(|f| f.as_str()), Some("heap"));
    assert_eq!(some.ktest, None);
}

#[test]
fn root_device_options() {
    let o = KernelOptions::from_cmdline("root=/dev/vda1 rootfstype=ext2 ro rw rootflags=errors=remount-ro");
    assert_eq!(o.root.as_ref().map(|s| s.as_str()), Some("/dev/vda1"));
    assert_eq!(o.rootfstype.as_ref().map(|s| s.as_str()), Some("ext2"));
    assert_eq!(o.rootflags.as_ref().map(|s| s.as_str()), Some("errors=remount-ro"));
    assert_eq!(o.root_read_only, Some(false), "the last of ro/rw wins");
    let o = KernelOptions::from_cmdline("root= ro");
    assert_eq!((o.root, o.root_read_only), (None, Some(true)));
    assert_eq!(KernelOptions::from_cmdline("").root_read_only, None);
}
