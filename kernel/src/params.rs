//! What the boot loader told the kernel, kept once parsed: the boot information (memory map,
//! modules, command line) and the kernel options read from the command line. Set once by
//! `kernel_main`; every layer above may read them.

use exo_bootinfo::cmdline::KernelOptions;
use exo_bootinfo::BootInfo;

static BOOT_INFO: spin::Once<BootInfo> = spin::Once::new();
static OPTIONS: spin::Once<KernelOptions> = spin::Once::new();

/// The kernel command-line options (defaults until the command line has been read).
pub fn options() -> &'static KernelOptions {
    static DEFAULT: spin::Once<KernelOptions> = spin::Once::new();
    OPTIONS.get().unwrap_or_else(|| DEFAULT.call_once(|| KernelOptions::from_cmdline("")))
}

/// What the boot loader told the kernel, once parsed.
pub fn boot_info() -> Option<&'static BootInfo> {
    BOOT_INFO.get()
}

/// Keeps the parsed boot information and the options of its command line (the first call
/// wins); returns both.
pub fn set(info: BootInfo) -> (&'static BootInfo, &'static KernelOptions) {
    let info = BOOT_INFO.call_once(|| info);
    let options = OPTIONS.call_once(|| KernelOptions::from_cmdline(info.cmdline.as_str()));
    (info, options)
}

/// Whether system calls and user page faults are logged (`strace` on the command line).
pub fn strace() -> bool {
    static STRACE: spin::Once<bool> = spin::Once::new();
    *STRACE.call_once(|| boot_info().is_some_and(|info| info.cmdline.as_str().split_whitespace().any(|w| w == "strace")))
}
