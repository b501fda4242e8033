//! The console as a file (/dev/console, and fds 0-2 of init): the console TTY of
//! `crate::tty`, under the names the rest of the kernel already uses.

use alloc::sync::Arc;

use super::file::OpenFile;

/// Takes over the console's input for user space (see `crate::tty::init`).
pub fn init() {
    crate::tty::init();
}

/// The console device.
pub struct Console;

impl Console {
    /// Opens /dev/console with status flags `flags`.
    pub fn open(flags: u32) -> Arc<OpenFile> {
        crate::tty::TtyFile::open_console(flags)
    }
}
