//! The Exo-OS boot splash and the "Welcome" banner.

use crate::kprintln;

const LOGO: [&str; 6] = [
    r"  _____             ___  ____  ",
    r" | ____|_  _____   / _ \/ ___| ",
    r" |  _| \ \/ / _ \ | | | \___ \ ",
    r" | |___ >  < (_) || |_| |___) |",
    r" |_____/_/\_\___/  \___/|____/ ",
    r"                               ",
];

/// Kernel version, from the workspace manifest.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Prints the logo and the kernel's name line. Each feature it names is described in docs/
/// (Fusion Rings: docs/ipc.md; the scheduler: docs/scheduler.md; POSIX-X: docs/syscalls.md).
pub fn show() {
    for (i, line) in LOGO.iter().enumerate() {
        // A cyan-to-blue gradient, top to bottom.
        let colour = if i < 3 { 96 } else { 94 };
        kprintln!("\x1b[{colour}m{line}\x1b[0m");
    }
    kprintln!(
        "\x1b[97mExo-OS {VERSION}\x1b[0m — x86-64 kernel in Rust · 3-queue EMA scheduler · Fusion Rings · POSIX-X"
    );
    kprintln!();
}

/// The line that marks the end of boot (test harnesses wait for it).
pub fn welcome() {
    kprintln!("\x1b[92mWelcome to Exo-OS {VERSION}!\x1b[0m Type `help` for the console commands.");
}
