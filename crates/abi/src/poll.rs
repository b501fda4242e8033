//! `poll`/`ppoll` event bits and `struct pollfd`; `select`'s `FD_SETSIZE`.

use bytemuck::{Pod, Zeroable};

pub const POLLIN: i16 = 0x0001;
pub const POLLPRI: i16 = 0x0002;
pub const POLLOUT: i16 = 0x0004;
pub const POLLERR: i16 = 0x0008;
pub const POLLHUP: i16 = 0x0010;
pub const POLLNVAL: i16 = 0x0020;
pub const POLLRDNORM: i16 = 0x0040;
pub const POLLRDBAND: i16 = 0x0080;
pub const POLLWRNORM: i16 = 0x0100;
pub const POLLWRBAND: i16 = 0x0200;
pub const POLLMSG: i16 = 0x0400;
pub const POLLREMOVE: i16 = 0x1000;
pub const POLLRDHUP: i16 = 0x2000;

/// Bits reported whether requested or not.
pub const POLL_ALWAYS: i16 = POLLERR | POLLHUP | POLLNVAL;

/// Number of descriptors in an `fd_set`.
pub const FD_SETSIZE: usize = 1024;

/// `struct pollfd` (8 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct PollFd {
    /// Descriptor; negative entries are skipped (`revents` = 0).
    pub fd: i32,
    pub events: i16,
    pub revents: i16,
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_and_values() {
        assert_eq!(size_of::<PollFd>(), 8);
        assert_eq!(offset_of!(PollFd, events), 4);
        assert_eq!(offset_of!(PollFd, revents), 6);
        assert_eq!(
            (POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL),
            (1, 2, 4, 8, 0x10, 0x20)
        );
        assert_eq!((POLLRDNORM, POLLWRNORM, POLLRDHUP), (0x40, 0x100, 0x2000));
    }
}
