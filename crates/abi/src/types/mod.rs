//! User-visible structures: time values here, file status in [`stat`], process and system
//! information in [`sys`], directory entries in [`dirent`]. Every struct is `#[repr(C)]` with
//! explicit padding and derives `Pod`, so it can be copied to and from user memory as bytes
//! (`bytemuck::bytes_of`, `bytemuck::pod_read_unaligned`). Structures that belong to one
//! subsystem live in its module and are re-exported here.

use bytemuck::{Pod, Zeroable};

pub mod dirent;
pub mod stat;
pub mod sys;

pub use dirent::*;
pub use stat::*;
pub use sys::*;

pub use crate::clone::CloneArgs;
pub use crate::epoll::EpollEvent;
pub use crate::fcntl::{Flock, OpenHow};
pub use crate::poll::PollFd;
pub use crate::signal::{RtSigFrame, SigAction, SigContext, SigInfo, StackT, UContext};
pub use crate::termios::{Termios, Termios2, Winsize};
pub use crate::time::SigEvent;

const NSEC_PER_SEC: u64 = 1_000_000_000;
const USEC_PER_SEC: u64 = 1_000_000;

/// `utimensat` `tv_nsec`: set the time to now.
pub const UTIME_NOW: i64 = (1 << 30) - 1;
/// `utimensat` `tv_nsec`: leave the time unchanged.
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

/// `struct timespec` (16 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

impl Timespec {
    pub const fn from_ns(ns: u64) -> Timespec {
        Timespec {
            tv_sec: (ns / NSEC_PER_SEC) as i64,
            tv_nsec: (ns % NSEC_PER_SEC) as i64,
        }
    }

    /// The value in nanoseconds; `None` if it is not a valid non-negative time (negative
    /// fields, `tv_nsec` ≥ 10⁹ — the kernel's `EINVAL` cases) or does not fit in a `u64`.
    pub const fn to_ns(&self) -> Option<u64> {
        if self.tv_sec < 0 || self.tv_nsec < 0 || self.tv_nsec >= NSEC_PER_SEC as i64 {
            return None;
        }
        match (self.tv_sec as u64).checked_mul(NSEC_PER_SEC) {
            Some(ns) => ns.checked_add(self.tv_nsec as u64),
            None => None,
        }
    }
}

/// `struct timeval` (16 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Timeval {
    pub tv_sec: i64,
    pub tv_usec: i64,
}

impl Timeval {
    /// The time `ns` nanoseconds after zero, truncated to microseconds.
    pub const fn from_ns(ns: u64) -> Timeval {
        Timeval {
            tv_sec: (ns / NSEC_PER_SEC) as i64,
            tv_usec: ((ns % NSEC_PER_SEC) / 1000) as i64,
        }
    }

    /// The value in nanoseconds; `None` for negative fields, `tv_usec` ≥ 10⁶ or overflow.
    pub const fn to_ns(&self) -> Option<u64> {
        if self.tv_sec < 0 || self.tv_usec < 0 || self.tv_usec >= USEC_PER_SEC as i64 {
            return None;
        }
        match (self.tv_sec as u64).checked_mul(NSEC_PER_SEC) {
            Some(ns) => ns.checked_add(self.tv_usec as u64 * 1000),
            None => None,
        }
    }
}

/// `struct timezone` (8 bytes), obsolete but still filled by `gettimeofday`.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Timezone {
    pub tz_minuteswest: i32,
    pub tz_dsttime: i32,
}

/// `struct itimerval` (32 bytes) for `setitimer`/`getitimer`.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Itimerval {
    pub it_interval: Timeval,
    pub it_value: Timeval,
}

/// `struct itimerspec` (32 bytes) for POSIX timers and timerfd.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Itimerspec {
    pub it_interval: Timespec,
    pub it_value: Timespec,
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layouts() {
        assert_eq!(size_of::<Timespec>(), 16);
        assert_eq!(offset_of!(Timespec, tv_nsec), 8);
        assert_eq!(size_of::<Timeval>(), 16);
        assert_eq!(offset_of!(Timeval, tv_usec), 8);
        assert_eq!(size_of::<Timezone>(), 8);
        assert_eq!(size_of::<Itimerval>(), 32);
        assert_eq!(offset_of!(Itimerval, it_value), 16);
        assert_eq!(size_of::<Itimerspec>(), 32);
        assert_eq!(offset_of!(Itimerspec, it_value), 16);
    }

    #[test]
    fn timespec_conversions() {
        let t = Timespec::from_ns(3_000_000_007);
        assert_eq!(
            t,
            Timespec {
                tv_sec: 3,
                tv_nsec: 7
            }
        );
        assert_eq!(t.to_ns(), Some(3_000_000_007));
        assert_eq!(Timespec::from_ns(u64::MAX).to_ns(), Some(u64::MAX));
        assert_eq!(
            Timespec {
                tv_sec: -1,
                tv_nsec: 0
            }
            .to_ns(),
            None
        );
        assert_eq!(
            Timespec {
                tv_sec: 0,
                tv_nsec: -1
            }
            .to_ns(),
            None
        );
        assert_eq!(
            Timespec {
                tv_sec: 0,
                tv_nsec: 1_000_000_000
            }
            .to_ns(),
            None
        );
        assert_eq!(
            Timespec {
                tv_sec: 0,
                tv_nsec: 999_999_999
            }
            .to_ns(),
            Some(999_999_999)
        );
        assert_eq!(
            Timespec {
                tv_sec: i64::MAX,
                tv_nsec: 0
            }
            .to_ns(),
            None
        );
    }

    #[test]
    fn timeval_conversions() {
        let t = Timeval::from_ns(2_500_000_999);
        assert_eq!(
            t,
            Timeval {
                tv_sec: 2,
                tv_usec: 500_000
            }
        );
        assert_eq!(t.to_ns(), Some(2_500_000_000));
        assert_eq!(
            Timeval {
                tv_sec: 0,
                tv_usec: 1_000_000
            }
            .to_ns(),
            None
        );
        assert_eq!(
            Timeval {
                tv_sec: -5,
                tv_usec: 0
            }
            .to_ns(),
            None
        );
        assert_eq!(
            Timeval {
                tv_sec: i64::MAX,
                tv_usec: 0
            }
            .to_ns(),
            None
        );
    }

    #[test]
    fn utime_specials() {
        assert_eq!((UTIME_NOW, UTIME_OMIT), (0x3fff_ffff, 0x3fff_fffe));
    }
}
