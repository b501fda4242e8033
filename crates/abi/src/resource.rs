//! Resource limits (`getrlimit`/`setrlimit`/`prlimit64`), `getrusage` targets and
//! `getpriority`/`setpriority` targets. The records are [`crate::types::Rlimit`] and
//! [`crate::types::Rusage`].

pub const RLIMIT_CPU: u32 = 0;
pub const RLIMIT_FSIZE: u32 = 1;
pub const RLIMIT_DATA: u32 = 2;
pub const RLIMIT_STACK: u32 = 3;
pub const RLIMIT_CORE: u32 = 4;
pub const RLIMIT_RSS: u32 = 5;
pub const RLIMIT_NPROC: u32 = 6;
pub const RLIMIT_NOFILE: u32 = 7;
pub const RLIMIT_MEMLOCK: u32 = 8;
pub const RLIMIT_AS: u32 = 9;
pub const RLIMIT_LOCKS: u32 = 10;
pub const RLIMIT_SIGPENDING: u32 = 11;
pub const RLIMIT_MSGQUEUE: u32 = 12;
pub const RLIMIT_NICE: u32 = 13;
pub const RLIMIT_RTPRIO: u32 = 14;
pub const RLIMIT_RTTIME: u32 = 15;
/// Number of limits: valid resources are `0..RLIM_NLIMITS`.
pub const RLIM_NLIMITS: u32 = 16;
/// "No limit".
pub const RLIM_INFINITY: u64 = u64::MAX;

/// `getrusage` targets.
pub const RUSAGE_SELF: i32 = 0;
pub const RUSAGE_CHILDREN: i32 = -1;
pub const RUSAGE_BOTH: i32 = -2;
pub const RUSAGE_THREAD: i32 = 1;

/// `getpriority`/`setpriority` targets.
pub const PRIO_PROCESS: i32 = 0;
pub const PRIO_PGRP: i32 = 1;
pub const PRIO_USER: i32 = 2;
/// Range of nice values.
pub const PRIO_MIN: i32 = -20;
pub const PRIO_MAX: i32 = 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_linux() {
        assert_eq!(
            (
                RLIMIT_CPU,
                RLIMIT_STACK,
                RLIMIT_NPROC,
                RLIMIT_NOFILE,
                RLIMIT_AS
            ),
            (0, 3, 6, 7, 9)
        );
        assert_eq!(
            (RLIMIT_SIGPENDING, RLIMIT_RTTIME, RLIM_NLIMITS),
            (11, 15, 16)
        );
        assert_eq!(RLIM_INFINITY, !0);
        assert_eq!((RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD), (0, -1, 1));
        assert_eq!((PRIO_PROCESS, PRIO_PGRP, PRIO_USER), (0, 1, 2));
    }
}
