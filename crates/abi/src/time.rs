//! Clock and timer constants: clock ids, `TIMER_ABSTIME`, interval timers, timerfd flags and
//! `sigevent` notification kinds, plus the `struct sigevent` record of `timer_create`. The
//! time structures themselves (`timespec`, ...) are in [`crate::types`].

use bytemuck::{Pod, Zeroable};

pub const CLOCK_REALTIME: i32 = 0;
pub const CLOCK_MONOTONIC: i32 = 1;
pub const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
pub const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
pub const CLOCK_MONOTONIC_RAW: i32 = 4;
pub const CLOCK_REALTIME_COARSE: i32 = 5;
pub const CLOCK_MONOTONIC_COARSE: i32 = 6;
pub const CLOCK_BOOTTIME: i32 = 7;
pub const CLOCK_REALTIME_ALARM: i32 = 8;
pub const CLOCK_BOOTTIME_ALARM: i32 = 9;
// 10 was CLOCK_SGI_CYCLE, never used on x86.
pub const CLOCK_TAI: i32 = 11;
/// Number of static clock ids (`0..MAX_CLOCKS`); negative ids are dynamic CPU/fd clocks.
pub const MAX_CLOCKS: i32 = 16;

/// `clock_nanosleep`/`timer_settime` flag: the time is absolute.
pub const TIMER_ABSTIME: u32 = 0x01;

/// `setitimer`/`getitimer` timers.
pub const ITIMER_REAL: i32 = 0;
pub const ITIMER_VIRTUAL: i32 = 1;
pub const ITIMER_PROF: i32 = 2;

/// `timerfd_settime` flags.
pub const TFD_TIMER_ABSTIME: u32 = 1 << 0;
pub const TFD_TIMER_CANCEL_ON_SET: u32 = 1 << 1;
/// `timerfd_create` flags (the `O_*` values).
pub const TFD_CLOEXEC: u32 = crate::fcntl::O_CLOEXEC;
pub const TFD_NONBLOCK: u32 = crate::fcntl::O_NONBLOCK;

/// `sigev_notify` values.
pub const SIGEV_SIGNAL: i32 = 0;
pub const SIGEV_NONE: i32 = 1;
pub const SIGEV_THREAD: i32 = 2;
pub const SIGEV_THREAD_ID: i32 = 4;

/// `struct sigevent` (64 bytes) as `timer_create` reads it.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct SigEvent {
    /// `sigev_value`: delivered as `si_value`.
    pub sigev_value: u64,
    pub sigev_signo: i32,
    pub sigev_notify: i32,
    /// The thread to signal with `SIGEV_THREAD_ID` (first word of the union).
    pub sigev_notify_thread_id: i32,
    pub _pad: [i32; 11],
}

/// Nanoseconds per second.
pub const NSEC_PER_SEC: u64 = 1_000_000_000;
/// Clock ticks per second reported to user space (`AT_CLKTCK`, `times`, `si_utime`).
pub const USER_HZ: u64 = 100;

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn values_match_linux() {
        assert_eq!(
            (
                CLOCK_REALTIME,
                CLOCK_MONOTONIC,
                CLOCK_MONOTONIC_RAW,
                CLOCK_BOOTTIME
            ),
            (0, 1, 4, 7)
        );
        assert_eq!(
            (CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_TAI),
            (5, 6, 11)
        );
        assert_eq!((TIMER_ABSTIME, ITIMER_REAL, ITIMER_PROF), (1, 0, 2));
        assert_eq!((TFD_CLOEXEC, TFD_NONBLOCK), (0o2000000, 0o4000));
    }

    #[test]
    fn sigevent_layout() {
        assert_eq!(size_of::<SigEvent>(), 64);
        assert_eq!(offset_of!(SigEvent, sigev_signo), 8);
        assert_eq!(offset_of!(SigEvent, sigev_notify), 12);
        assert_eq!(offset_of!(SigEvent, sigev_notify_thread_id), 16);
    }
}
