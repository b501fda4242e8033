//! `wait4`/`waitid` options, `waitid` id types and the wait-status encoding that `wait4`
//! stores (the one `WIFEXITED`, `WEXITSTATUS`, ... decode).

pub const WNOHANG: u32 = 0x0000_0001;
pub const WUNTRACED: u32 = 0x0000_0002;
pub const WSTOPPED: u32 = WUNTRACED;
pub const WEXITED: u32 = 0x0000_0004;
pub const WCONTINUED: u32 = 0x0000_0008;
/// Leave the child waitable (`waitid`).
pub const WNOWAIT: u32 = 0x0100_0000;
/// Wait only for this thread's children, not its thread group's.
pub const __WNOTHREAD: u32 = 0x2000_0000;
/// Wait for every child, "clone" or not.
pub const __WALL: u32 = 0x4000_0000;
/// Wait only for "clone" children (exit signal other than SIGCHLD).
pub const __WCLONE: u32 = 0x8000_0000;

/// `waitid` id types.
pub const P_ALL: u32 = 0;
pub const P_PID: u32 = 1;
pub const P_PGID: u32 = 2;
pub const P_PIDFD: u32 = 3;

/// Core-dump flag of a "killed by signal" status.
pub const WCOREFLAG: i32 = 0x80;
/// Status of a child resumed by SIGCONT (`WIFCONTINUED`).
pub const CONTINUED_STATUS: i32 = 0xffff;

/// Status of a child that called `exit(code)`.
pub const fn exit_status(code: i32) -> i32 {
    (code & 0xff) << 8
}

/// Status of a child killed by signal `sig` (with a core dump if `core`).
pub const fn signaled_status(sig: u32, core: bool) -> i32 {
    (sig & 0x7f) as i32 | if core { WCOREFLAG } else { 0 }
}

/// Status of a child stopped by signal `sig`.
pub const fn stopped_status(sig: u32) -> i32 {
    (((sig & 0xff) as i32) << 8) | 0x7f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_decode_like_libc() {
        // WIFEXITED: (s & 0x7f) == 0; WEXITSTATUS: (s >> 8) & 0xff.
        let s = exit_status(300);
        assert_eq!((s & 0x7f, (s >> 8) & 0xff), (0, 300 & 0xff));
        assert_eq!(exit_status(0), 0);
        assert_eq!(exit_status(1), 0x100);
        // WIFSIGNALED: ((s & 0x7f) + 1) as i8 >> 1 > 0; WTERMSIG: s & 0x7f; WCOREDUMP: s & 0x80.
        assert_eq!(signaled_status(9, false), 9);
        assert_eq!(signaled_status(11, true), 0x8b);
        // WIFSTOPPED: (s & 0xff) == 0x7f; WSTOPSIG: (s >> 8) & 0xff.
        let s = stopped_status(19);
        assert_eq!((s & 0xff, (s >> 8) & 0xff), (0x7f, 19));
        assert_eq!(CONTINUED_STATUS, 0xffff);
    }

    #[test]
    fn options_match_linux() {
        assert_eq!(
            (WNOHANG, WUNTRACED, WEXITED, WCONTINUED, WNOWAIT),
            (1, 2, 4, 8, 0x0100_0000)
        );
        assert_eq!(
            (__WNOTHREAD, __WALL, __WCLONE),
            (0x2000_0000, 0x4000_0000, 0x8000_0000)
        );
        assert_eq!((P_ALL, P_PID, P_PGID, P_PIDFD), (0, 1, 2, 3));
    }
}
