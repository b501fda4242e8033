//! `siginfo_t` ([`SigInfo`]): the 128-byte record describing why a signal was sent, as
//! `rt_sigaction` handlers with `SA_SIGINFO`, `waitid`, `rt_sigtimedwait` and `signalfd` see it,
//! and the `si_code` values.
//!
//! Layout on x86-64: `si_signo`, `si_errno`, `si_code` (3 × i32), 4 bytes of padding, then a
//! 112-byte union aligned to 8 at offset 16. The union members used here:
//! - kill/tkill/sigqueue: `si_pid` (16, i32), `si_uid` (20, u32), `si_value` (24, 8 bytes);
//! - POSIX timers: `si_tid` (16), `si_overrun` (20), `si_value` (24);
//! - SIGCHLD: `si_pid` (16), `si_uid` (20), `si_status` (24, i32), `si_utime` (32, i64 clock
//!   ticks), `si_stime` (40);
//! - faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP): `si_addr` (16, u64);
//! - SIGIO/SIGPOLL: `si_band` (16, i64), `si_fd` (24, i32);
//! - SIGSYS (seccomp): `si_call_addr` (16), `si_syscall` (24), `si_arch` (28).

use bytemuck::{Pod, Zeroable};

/// `si_code`: sent by `kill`.
pub const SI_USER: i32 = 0;
/// `si_code`: sent by the kernel.
pub const SI_KERNEL: i32 = 0x80;
/// `si_code`: sent by `sigqueue` (`rt_sigqueueinfo`).
pub const SI_QUEUE: i32 = -1;
/// `si_code`: a POSIX timer expired.
pub const SI_TIMER: i32 = -2;
pub const SI_MESGQ: i32 = -3;
pub const SI_ASYNCIO: i32 = -4;
pub const SI_SIGIO: i32 = -5;
/// `si_code`: sent by `tkill`/`tgkill`.
pub const SI_TKILL: i32 = -6;
pub const SI_DETHREAD: i32 = -7;
pub const SI_ASYNCNL: i32 = -60;

/// SIGILL codes.
pub const ILL_ILLOPC: i32 = 1;
pub const ILL_ILLOPN: i32 = 2;
pub const ILL_ILLADR: i32 = 3;
pub const ILL_ILLTRP: i32 = 4;
pub const ILL_PRVOPC: i32 = 5;
pub const ILL_PRVREG: i32 = 6;
pub const ILL_COPROC: i32 = 7;
pub const ILL_BADSTK: i32 = 8;

/// SIGFPE codes.
pub const FPE_INTDIV: i32 = 1;
pub const FPE_INTOVF: i32 = 2;
pub const FPE_FLTDIV: i32 = 3;
pub const FPE_FLTOVF: i32 = 4;
pub const FPE_FLTUND: i32 = 5;
pub const FPE_FLTRES: i32 = 6;
pub const FPE_FLTINV: i32 = 7;
pub const FPE_FLTSUB: i32 = 8;

/// SIGSEGV codes.
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const SEGV_BNDERR: i32 = 3;
pub const SEGV_PKUERR: i32 = 4;

/// SIGBUS codes.
pub const BUS_ADRALN: i32 = 1;
pub const BUS_ADRERR: i32 = 2;
pub const BUS_OBJERR: i32 = 3;
pub const BUS_MCEERR_AR: i32 = 4;
pub const BUS_MCEERR_AO: i32 = 5;

/// SIGTRAP codes.
pub const TRAP_BRKPT: i32 = 1;
pub const TRAP_TRACE: i32 = 2;
pub const TRAP_BRANCH: i32 = 3;
pub const TRAP_HWBKPT: i32 = 4;

/// SIGCHLD codes.
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_TRAPPED: i32 = 4;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// SIGIO/SIGPOLL codes.
pub const POLL_IN: i32 = 1;
pub const POLL_OUT: i32 = 2;
pub const POLL_MSG: i32 = 3;
pub const POLL_ERR: i32 = 4;
pub const POLL_PRI: i32 = 5;
pub const POLL_HUP: i32 = 6;

/// SIGSYS code: a seccomp filter returned SECCOMP_RET_TRAP.
pub const SYS_SECCOMP: i32 = 1;

/// `siginfo_t`: 128 bytes. The union area is kept as raw 64-bit words; use the constructors
/// and accessors, which place each member at Linux's offset.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct SigInfo {
    pub si_signo: i32,
    pub si_errno: i32,
    pub si_code: i32,
    pub _pad: i32,
    /// The union (offset 16 of the whole record): see the module documentation.
    pub fields: [u64; 14],
}

impl Default for SigInfo {
    fn default() -> Self {
        Self::zeroed()
    }
}

// Byte offsets of union members within the whole record.
const OFF_PID: usize = 16;
const OFF_UID: usize = 20;
const OFF_VALUE: usize = 24;
const OFF_STATUS: usize = 24;
const OFF_UTIME: usize = 32;
const OFF_STIME: usize = 40;
const OFF_ADDR: usize = 16;
const OFF_BAND: usize = 16;
const OFF_FD: usize = 24;

impl SigInfo {
    /// A record with only `si_signo` and `si_code` set (e.g. `SI_KERNEL`).
    pub fn new(signo: u32, code: i32) -> SigInfo {
        SigInfo {
            si_signo: signo as i32,
            si_code: code,
            ..SigInfo::zeroed()
        }
    }

    /// A signal sent by a process (`kill`: `SI_USER`, `tkill`/`tgkill`: `SI_TKILL`).
    pub fn user(signo: u32, code: i32, pid: i32, uid: u32) -> SigInfo {
        let mut info = SigInfo::new(signo, code);
        info.put_u32(OFF_PID, pid as u32);
        info.put_u32(OFF_UID, uid);
        info
    }

    /// A signal queued with a value (`sigqueue`: `SI_QUEUE`, message queues, ...).
    pub fn queued(signo: u32, code: i32, pid: i32, uid: u32, value: u64) -> SigInfo {
        let mut info = SigInfo::user(signo, code, pid, uid);
        info.put_u64(OFF_VALUE, value);
        info
    }

    /// A hardware fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP) at `addr`.
    pub fn fault(signo: u32, code: i32, addr: u64) -> SigInfo {
        let mut info = SigInfo::new(signo, code);
        info.put_u64(OFF_ADDR, addr);
        info
    }

    /// SIGCHLD about child `pid`: `code` is a `CLD_*`, `status` the exit code (CLD_EXITED) or
    /// the signal number, `utime`/`stime` the child's CPU times in clock ticks.
    pub fn child(code: i32, pid: i32, uid: u32, status: i32, utime: i64, stime: i64) -> SigInfo {
        let mut info = SigInfo::user(super::SIGCHLD, code, pid, uid);
        info.put_u32(OFF_STATUS, status as u32);
        info.put_u64(OFF_UTIME, utime as u64);
        info.put_u64(OFF_STIME, stime as u64);
        info
    }

    /// SIGIO/SIGPOLL for file descriptor `fd` with poll `band` bits.
    pub fn poll(signo: u32, code: i32, band: i64, fd: i32) -> SigInfo {
        let mut info = SigInfo::new(signo, code);
        info.put_u64(OFF_BAND, band as u64);
        info.put_u32(OFF_FD, fd as u32);
        info
    }

    /// The signal number as an unsigned value.
    pub fn signo(&self) -> u32 {
        self.si_signo as u32
    }

    pub fn pid(&self) -> i32 {
        self.get_u32(OFF_PID) as i32
    }

    pub fn uid(&self) -> u32 {
        self.get_u32(OFF_UID)
    }

    /// `si_value` (`sival_int` is its low 32 bits, `sival_ptr` the whole word).
    pub fn value(&self) -> u64 {
        self.get_u64(OFF_VALUE)
    }

    pub fn addr(&self) -> u64 {
        self.get_u64(OFF_ADDR)
    }

    pub fn status(&self) -> i32 {
        self.get_u32(OFF_STATUS) as i32
    }

    pub fn utime(&self) -> i64 {
        self.get_u64(OFF_UTIME) as i64
    }

    pub fn stime(&self) -> i64 {
        self.get_u64(OFF_STIME) as i64
    }

    pub fn band(&self) -> i64 {
        self.get_u64(OFF_BAND) as i64
    }

    pub fn fd(&self) -> i32 {
        self.get_u32(OFF_FD) as i32
    }

    /// The 32-bit word at byte `offset` of the record (offset ≥ 16, 4-aligned).
    fn get_u32(&self, offset: usize) -> u32 {
        bytemuck::cast_slice::<u64, u32>(&self.fields)[(offset - 16) / 4]
    }

    fn put_u32(&mut self, offset: usize, value: u32) {
        bytemuck::cast_slice_mut::<u64, u32>(&mut self.fields)[(offset - 16) / 4] = value;
    }

    /// The 64-bit word at byte `offset` of the record (offset ≥ 16, 8-aligned).
    fn get_u64(&self, offset: usize) -> u64 {
        self.fields[(offset - 16) / 8]
    }

    fn put_u64(&mut self, offset: usize, value: u64) {
        self.fields[(offset - 16) / 8] = value;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{SIGCHLD, SIGIO, SIGSEGV, SIGTERM};
    use super::*;
    use core::mem::{offset_of, size_of};

    /// Reads a little-endian integer of `N` bytes at `offset` of the raw record.
    fn raw<const N: usize>(info: &SigInfo, offset: usize) -> [u8; N] {
        bytemuck::bytes_of(info)[offset..offset + N]
            .try_into()
            .unwrap()
    }

    #[test]
    fn layout() {
        assert_eq!(size_of::<SigInfo>(), 128);
        assert_eq!(core::mem::align_of::<SigInfo>(), 8);
        assert_eq!(offset_of!(SigInfo, si_signo), 0);
        assert_eq!(offset_of!(SigInfo, si_errno), 4);
        assert_eq!(offset_of!(SigInfo, si_code), 8);
        assert_eq!(offset_of!(SigInfo, fields), 16);
    }

    #[test]
    fn user_and_queued() {
        let info = SigInfo::user(SIGTERM, SI_TKILL, 42, 1000);
        assert_eq!(raw::<4>(&info, 0), 15i32.to_le_bytes());
        assert_eq!(raw::<4>(&info, 8), (-6i32).to_le_bytes());
        assert_eq!(raw::<4>(&info, 16), 42i32.to_le_bytes());
        assert_eq!(raw::<4>(&info, 20), 1000u32.to_le_bytes());
        assert_eq!((info.signo(), info.pid(), info.uid()), (15, 42, 1000));
        let queued = SigInfo::queued(40, SI_QUEUE, 7, 0, 0xdead_beef_0000_0001);
        assert_eq!(
            raw::<8>(&queued, 24),
            0xdead_beef_0000_0001u64.to_le_bytes()
        );
        assert_eq!(queued.value(), 0xdead_beef_0000_0001);
        assert_eq!(queued.pid(), 7);
    }

    #[test]
    fn fault() {
        let info = SigInfo::fault(SIGSEGV, SEGV_MAPERR, 0x7fff_dead_b000);
        assert_eq!(raw::<8>(&info, 16), 0x7fff_dead_b000u64.to_le_bytes());
        assert_eq!(info.addr(), 0x7fff_dead_b000);
        assert_eq!((info.si_signo, info.si_code, info.si_errno), (11, 1, 0));
    }

    #[test]
    fn child() {
        let info = SigInfo::child(CLD_EXITED, 99, 5, 3, -1, 12);
        assert_eq!(info.si_signo, SIGCHLD as i32);
        assert_eq!(raw::<4>(&info, 16), 99i32.to_le_bytes());
        assert_eq!(raw::<4>(&info, 20), 5u32.to_le_bytes());
        assert_eq!(raw::<4>(&info, 24), 3i32.to_le_bytes());
        assert_eq!(raw::<8>(&info, 32), (-1i64).to_le_bytes());
        assert_eq!(raw::<8>(&info, 40), 12i64.to_le_bytes());
        assert_eq!((info.pid(), info.uid(), info.status()), (99, 5, 3));
        assert_eq!((info.utime(), info.stime()), (-1, 12));
    }

    #[test]
    fn poll() {
        let info = SigInfo::poll(SIGIO, POLL_IN, 0x41, 9);
        assert_eq!(raw::<8>(&info, 16), 0x41i64.to_le_bytes());
        assert_eq!(raw::<4>(&info, 24), 9i32.to_le_bytes());
        assert_eq!((info.band(), info.fd()), (0x41, 9));
    }

    #[test]
    fn codes_match_linux() {
        assert_eq!(
            (SI_USER, SI_KERNEL, SI_QUEUE, SI_TIMER, SI_TKILL),
            (0, 0x80, -1, -2, -6)
        );
        assert_eq!(
            (SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR, ILL_ILLOPN),
            (1, 2, 2, 2)
        );
        assert_eq!((FPE_INTDIV, TRAP_BRKPT, TRAP_TRACE), (1, 1, 2));
        assert_eq!((CLD_EXITED, CLD_KILLED, CLD_DUMPED), (1, 2, 3));
        assert_eq!((CLD_TRAPPED, CLD_STOPPED, CLD_CONTINUED), (4, 5, 6));
    }
}
