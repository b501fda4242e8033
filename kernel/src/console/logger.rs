//! The `log` crate's backend: `[   12.345] INFO  target: message` on the console, the timestamp
//! in milliseconds since the kernel started (from the TSC), the level in colour. Every line is
//! also kept in the kernel log buffer ([`super::klog`]), which `dmesg` reads; only levels under
//! the console log level are printed.

use core::fmt::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

struct KernelLogger;

static LOGGER: KernelLogger = KernelLogger;

impl Log for KernelLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let ns = crate::time::since_boot_ns();
        let us = ns / 1000;
        let (colour, name) = match record.level() {
            Level::Error => ("\x1b[91m", "ERROR"),
            Level::Warn => ("\x1b[93m", "WARN "),
            Level::Info => ("\x1b[92m", "INFO "),
            Level::Debug => ("\x1b[96m", "DEBUG"),
            Level::Trace => ("\x1b[90m", "TRACE"),
        };
        let target = record.target().strip_prefix("exo_kernel::").unwrap_or(record.target());
        // Linux's levels: KERN_ERR 3, KERN_WARNING 4, KERN_INFO 6, KERN_DEBUG 7.
        let level = match record.level() {
            Level::Error => 3,
            Level::Warn => 4,
            Level::Info => 6,
            Level::Debug | Level::Trace => 7,
        };
        // Into the ring first (its lock released before the console's is taken).
        super::klog::try_with(|log| {
            log.ring.push_with(ns, exo_klog::LOG_KERN, level, |w| {
                let _ = write!(w, "{target}: {}", record.args());
            })
        });
        if !super::klog::printed(level) {
            return;
        }
        super::with(|console| {
            let _ = writeln!(
                console,
                "[{:>6}.{:03}] {colour}{name}\x1b[0m {target}: {}",
                us / 1000,
                us % 1000,
                record.args()
            );
        });
    }

    fn flush(&self) {}
}

/// Installs the logger at level Info; [`set_level`] adjusts it once the command line is known.
pub fn init() {
    // `set_logger` fails only if a logger is already installed, which is then ours.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(LevelFilter::Info);
}

/// Sets the most verbose level printed.
pub fn set_level(level: LevelFilter) {
    log::set_max_level(level);
}
