//! In-kernel tests: a registry of named test functions (the `ktest!` macro puts each in the
//! `.ktests` linker section) and the runner that boots into them when the command line says
//! `ktest` or `ktest=<filter>`.
//!
//! Each test runs inside a fault guard, so a CPU exception or panic fails that test and the run
//! goes on. Results go to the serial console as one line each, the protocol xtask parses:
//! `KTEST BEGIN <n>`, `KTEST RUN <name>`, `KTEST PASS <name>` / `KTEST FAIL <name>: <reason>`,
//! `KTEST END passed=<p> failed=<f>`; then QEMU exits with the success or failure code. A test
//! that hangs is caught by the harness's timeout. Tests named `meta::…` are deliberately broken
//! (they prove the harness reports failures) and run only when the filter asks for them. Tests
//! named `…::last_…` run after all the others (e.g. lockdep's check that the run reported no
//! lock-order problem).

use core::fmt::{self, Write};

use crate::{arch, kprintln};

/// A registered test.
#[repr(C)]
pub struct KTest {
    /// Full module path of the test function.
    pub path: &'static str,
    pub run: fn() -> TestResult,
}

/// What a test returns: `Err` carries the failure message.
pub type TestResult = Result<(), TestFailure>;

/// A failure message, formatted into a fixed buffer (the tests run without a heap).
pub struct TestFailure {
    buf: [u8; 200],
    len: usize,
}

impl TestFailure {
    /// A failure with the formatted message (truncated to 200 bytes).
    pub fn new(args: fmt::Arguments) -> Self {
        let mut failure = TestFailure { buf: [0; 200], len: 0 };
        let _ = failure.write_fmt(args);
        failure
    }

    pub fn message(&self) -> &str {
        match core::str::from_utf8(&self.buf[..self.len]) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&self.buf[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

impl Write for TestFailure {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Defines an in-kernel test: `ktest!(fn name() { ...; Ok(()) });`
#[macro_export]
macro_rules! ktest {
    (fn $name:ident() $body:block) => {
        fn $name() -> $crate::ktest::TestResult $body
        const _: () = {
            #[used]
            #[link_section = ".ktests"]
            static ENTRY: $crate::ktest::KTest = $crate::ktest::KTest {
                path: concat!(module_path!(), "::", stringify!($name)),
                run: $name,
            };
        };
    };
}

/// Fails the test unless `cond` holds.
#[macro_export]
macro_rules! kassert {
    ($cond:expr) => { $crate::kassert!($cond, "assertion failed: {}", stringify!($cond)) };
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err($crate::ktest::TestFailure::new(format_args!(
                "{} ({}:{})", format_args!($($arg)+), file!(), line!())));
        }
    };
}

/// Fails the test unless `left == right`, showing both.
#[macro_export]
macro_rules! kassert_eq {
    ($left:expr, $right:expr) => {
        match (&$left, &$right) {
            (l, r) => $crate::kassert!(*l == *r, "{} == {} failed: {:?} != {:?}",
                stringify!($left), stringify!($right), l, r),
        }
    };
}

extern "C" {
    static __ktests_start: u8;
    static __ktests_end: u8;
}

/// Every registered test, in link order.
pub fn registry() -> &'static [KTest] {
    let start = (&raw const __ktests_start).cast::<KTest>();
    let end = &raw const __ktests_end;
    let count = (end as usize - start as usize) / core::mem::size_of::<KTest>();
    // SAFETY: the linker script gathers the `.ktests` input sections, which contain only `KTest`
    // statics emitted by `ktest!` (8-byte aligned, size a multiple of 8), between the two symbols.
    unsafe { core::slice::from_raw_parts(start, count) }
}

/// The name shown for a test: its path without the crate and `ktests::` prefixes.
pub fn display_name(test: &KTest) -> &'static str {
    let name = test.path.strip_prefix("exo_kernel::").unwrap_or(test.path);
    name.strip_prefix("ktests::").unwrap_or(name)
}

/// Runs the tests the command line's `ktest=` selects and exits QEMU with the outcome.
pub fn run() -> ! {
    let options = crate::params::options();
    let selected = |test: &&KTest| options.ktest_selects(display_name(test));
    // Tests named `last_…` run after all the others (the link order is arbitrary), so they can
    // check the whole run (e.g. that lockdep reported nothing).
    let is_last = |test: &&KTest| display_name(test).rsplit("::").next().is_some_and(|n| n.starts_with("last_"));
    let registered = registry();
    let tests = registered.iter().filter(|t| !is_last(t)).chain(registered.iter().filter(is_last));
    let count = registered.iter().filter(selected).count();
    kprintln!("KTEST BEGIN {count}");
    let (mut passed, mut failed) = (0usize, 0usize);
    for test in tests.filter(selected) {
        let name = display_name(test);
        kprintln!("KTEST RUN {name}");
        let mut outcome = None;
        let guarded = arch::run_guarded(|| outcome = Some((test.run)()));
        match (guarded, outcome) {
            (Ok(()), Some(Ok(()))) => {
                passed += 1;
                kprintln!("KTEST PASS {name}");
            }
            (Ok(()), Some(Err(failure))) => {
                failed += 1;
                kprintln!("KTEST FAIL {name}: {}", failure.message());
            }
            (Err(fault), _) => {
                failed += 1;
                kprintln!("KTEST FAIL {name}: {fault}");
            }
            (Ok(()), None) => {
                failed += 1;
                kprintln!("KTEST FAIL {name}: test did not return");
            }
        }
    }
    kprintln!("KTEST END passed={passed} failed={failed}");
    let code = if failed == 0 { arch::exit_code::SUCCESS } else { arch::exit_code::FAILURE };
    arch::exit_emulator(code)
}
