//! Scheduling and clock-adjustment records: `struct sched_param`, `struct sched_attr`
//! (sched_setattr), `struct timex` offsets (adjtimex), `struct signalfd_siginfo`, priority
//! and I/O-priority constants, and the CPU-clock id encoding of `clock_getcpuclockid`.

use bytemuck::{Pod, Zeroable};

/// getpriority/setpriority `which`.
pub const PRIO_PROCESS: i32 = 0;
pub const PRIO_PGRP: i32 = 1;
pub const PRIO_USER: i32 = 2;

/// Flag or'ed into a policy: children go back to SCHED_OTHER / nice 0.
pub const SCHED_RESET_ON_FORK: u32 = 0x4000_0000;
/// sched_setattr flags.
pub const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;

/// `struct sched_attr`, version 0 (48 bytes) and later sizes (fields past 48 are optional).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct SchedAttr {
    pub size: u32,
    pub sched_policy: u32,
    pub sched_flags: u64,
    pub sched_nice: i32,
    pub sched_priority: u32,
    pub sched_runtime: u64,
    pub sched_deadline: u64,
    pub sched_period: u64,
}
pub const SCHED_ATTR_SIZE_VER0: u32 = 48;

/// ioprio classes (value = class << 13 | data).
pub const IOPRIO_CLASS_SHIFT: u32 = 13;
pub const IOPRIO_CLASS_NONE: u32 = 0;
pub const IOPRIO_CLASS_RT: u32 = 1;
pub const IOPRIO_CLASS_BE: u32 = 2;
pub const IOPRIO_CLASS_IDLE: u32 = 3;
/// ioprio `which`.
pub const IOPRIO_WHO_PROCESS: i32 = 1;
pub const IOPRIO_WHO_PGRP: i32 = 2;
pub const IOPRIO_WHO_USER: i32 = 3;

/// CPU-clock ids (`clock_getcpuclockid`): `(~pid << 3) | type`, bit 2 for a thread.
pub const CPUCLOCK_PROF: i32 = 0;
pub const CPUCLOCK_VIRT: i32 = 1;
pub const CPUCLOCK_SCHED: i32 = 2;
pub const CPUCLOCK_PERTHREAD_MASK: i32 = 4;

/// A decoded CPU-clock id: (pid or tid, 0 = self; per thread; CPUCLOCK_* type).
pub fn decode_cpuclock(id: i32) -> Option<(i32, bool, i32)> {
    if id >= 0 {
        return None;
    }
    let kind = id & 3;
    if kind == 3 {
        return None;
    }
    Some((!(id >> 3), id & CPUCLOCK_PERTHREAD_MASK != 0, kind))
}

/// The id `clock_getcpuclockid(pid)` returns.
pub const fn process_cpuclock(pid: i32) -> i32 {
    ((!pid) << 3) | CPUCLOCK_SCHED
}

/// `struct timex` (208 bytes): field offsets used by adjtimex.
pub const TIMEX_SIZE: usize = 208;
pub const TIMEX_MODES: usize = 0;
pub const TIMEX_OFFSET: usize = 8;
pub const TIMEX_FREQ: usize = 16;
pub const TIMEX_MAXERROR: usize = 24;
pub const TIMEX_ESTERROR: usize = 32;
pub const TIMEX_STATUS: usize = 40;
pub const TIMEX_CONSTANT: usize = 48;
pub const TIMEX_PRECISION: usize = 56;
pub const TIMEX_TOLERANCE: usize = 64;
pub const TIMEX_TIME: usize = 72;
pub const TIMEX_TICK: usize = 88;
/// adjtimex modes.
pub const ADJ_OFFSET: u32 = 0x0001;
pub const ADJ_FREQUENCY: u32 = 0x0002;
pub const ADJ_SETOFFSET: u32 = 0x0100;
pub const ADJ_NANO: u32 = 0x2000;
pub const ADJ_OFFSET_SS_READ: u32 = 0xa001;
/// adjtimex return: clock synchronized.
pub const TIME_OK: u64 = 0;

/// `struct signalfd_siginfo` (128 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct SignalfdSiginfo {
    pub ssi_signo: u32,
    pub ssi_errno: i32,
    pub ssi_code: i32,
    pub ssi_pid: u32,
    pub ssi_uid: u32,
    pub ssi_fd: i32,
    pub ssi_tid: u32,
    pub ssi_band: u32,
    pub ssi_overrun: u32,
    pub ssi_trapno: u32,
    pub ssi_status: i32,
    pub ssi_int: i32,
    pub ssi_ptr: u64,
    pub ssi_utime: u64,
    pub ssi_stime: u64,
    pub ssi_addr: u64,
    pub ssi_addr_lsb: u16,
    pub _pad2: u16,
    pub ssi_syscall: i32,
    pub ssi_call_addr: u64,
    pub ssi_arch: u32,
    pub _pad: [u8; 28],
}

/// signalfd flags (the O_* values).
pub const SFD_CLOEXEC: u32 = crate::fcntl::O_CLOEXEC;
pub const SFD_NONBLOCK: u32 = crate::fcntl::O_NONBLOCK;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_and_clock_ids() {
        assert_eq!(core::mem::size_of::<SchedAttr>(), 48);
        assert_eq!(core::mem::size_of::<SignalfdSiginfo>(), 128);
        assert_eq!(decode_cpuclock(process_cpuclock(42)), Some((42, false, CPUCLOCK_SCHED)));
        assert_eq!(decode_cpuclock(process_cpuclock(0)), Some((0, false, CPUCLOCK_SCHED)));
        assert_eq!(decode_cpuclock(((!7) << 3) | 6), Some((7, true, CPUCLOCK_SCHED)));
        assert_eq!(decode_cpuclock(3), None);
        assert_eq!(decode_cpuclock(-1), None);
    }
}
