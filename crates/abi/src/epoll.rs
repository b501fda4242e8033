//! `epoll`: `epoll_ctl` operations, event bits (the same values as `poll`'s, as `u32`), flags,
//! and `struct epoll_event`, which is packed on x86-64 (12 bytes).

use bytemuck::{Pod, Zeroable};

pub const EPOLL_CTL_ADD: u32 = 1;
pub const EPOLL_CTL_DEL: u32 = 2;
pub const EPOLL_CTL_MOD: u32 = 3;

pub const EPOLLIN: u32 = 0x0000_0001;
pub const EPOLLPRI: u32 = 0x0000_0002;
pub const EPOLLOUT: u32 = 0x0000_0004;
pub const EPOLLERR: u32 = 0x0000_0008;
pub const EPOLLHUP: u32 = 0x0000_0010;
pub const EPOLLNVAL: u32 = 0x0000_0020;
pub const EPOLLRDNORM: u32 = 0x0000_0040;
pub const EPOLLRDBAND: u32 = 0x0000_0080;
pub const EPOLLWRNORM: u32 = 0x0000_0100;
pub const EPOLLWRBAND: u32 = 0x0000_0200;
pub const EPOLLMSG: u32 = 0x0000_0400;
pub const EPOLLRDHUP: u32 = 0x0000_2000;
/// Internal to io_uring; never set by user space.
pub const EPOLL_URING_WAKE: u32 = 1 << 27;
/// Wake only one of several epoll instances waiting on the same file.
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
pub const EPOLLWAKEUP: u32 = 1 << 29;
/// Disarm the entry after one event.
pub const EPOLLONESHOT: u32 = 1 << 30;
/// Edge-triggered.
pub const EPOLLET: u32 = 1 << 31;

/// `epoll_create1` flag (the `O_CLOEXEC` value).
pub const EPOLL_CLOEXEC: u32 = crate::fcntl::O_CLOEXEC;

/// `struct epoll_event` (12 bytes, packed on x86-64). Fields of a packed struct cannot be
/// borrowed; read and write them by value (`ev.events`, `ev.data = x`) or use the accessors.
#[derive(Clone, Copy, Default, Pod, Zeroable)]
#[repr(C, packed)]
pub struct EpollEvent {
    pub events: u32,
    /// The user's cookie, returned unchanged with each event.
    pub data: u64,
}

impl EpollEvent {
    pub const fn new(events: u32, data: u64) -> EpollEvent {
        EpollEvent { events, data }
    }

    pub const fn events(&self) -> u32 {
        self.events
    }

    pub const fn data(&self) -> u64 {
        self.data
    }
}

impl PartialEq for EpollEvent {
    fn eq(&self, other: &Self) -> bool {
        self.events() == other.events() && self.data() == other.data()
    }
}

impl Eq for EpollEvent {}

impl core::fmt::Debug for EpollEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EpollEvent")
            .field("events", &self.events())
            .field("data", &self.data())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn layout() {
        assert_eq!(size_of::<EpollEvent>(), 12);
        assert_eq!(align_of::<EpollEvent>(), 1);
        assert_eq!(offset_of!(EpollEvent, data), 4);
        let ev = EpollEvent::new(EPOLLIN | EPOLLET, 0x1122_3344_5566_7788);
        let bytes = bytemuck::bytes_of(&ev);
        assert_eq!(&bytes[..4], &(0x8000_0001u32).to_le_bytes());
        assert_eq!(&bytes[4..], &0x1122_3344_5566_7788u64.to_le_bytes());
        let back: EpollEvent = bytemuck::pod_read_unaligned(bytes);
        assert_eq!(back, ev);
        assert_eq!(
            (back.events(), back.data()),
            (0x8000_0001, 0x1122_3344_5566_7788)
        );
    }

    #[test]
    fn values_match_poll() {
        use crate::poll::*;
        assert_eq!(EPOLLIN, POLLIN as u32);
        assert_eq!(EPOLLOUT, POLLOUT as u32);
        assert_eq!(EPOLLRDHUP, POLLRDHUP as u32);
        assert_eq!((EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD), (1, 2, 3));
        assert_eq!(
            (EPOLLONESHOT, EPOLLET, EPOLL_CLOEXEC),
            (0x4000_0000, 0x8000_0000, 0x80000)
        );
    }
}
