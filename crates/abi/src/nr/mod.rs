//! Linux x86-64 system call numbers (the `rax` value of the `syscall` instruction), one
//! UPPER_SNAKE constant per call (`nr::READ`, `nr::EXIT_GROUP`, ...), and [`name`] for tracing.
//!
//! The numbers are the native 64-bit ones (the "common" and "64" rows of Linux's table). The
//! x32 numbers (512 and up, or with bit 30 set) are not part of this ABI: they are outside
//! [`COUNT`] and the kernel answers them with `ENOSYS`. `_sysctl` (156) is spelled `SYSCTL`.
//! Some numbers are reserved but never implemented by Linux either (`getpmsg`, `tuxcall`,
//! `security`, `vserver`, ...): they are listed so that traces show their name.

/// Declares one `pub const NAME: usize = number;` per row and a lookup function from number
/// to the lowercase name.
macro_rules! syscalls {
    ($lookup:ident; $($name:ident = $nr:literal, $text:literal;)*) => {
        $(#[doc = concat!("`", $text, "`")] pub const $name: usize = $nr;)*

        /// The lowercase name of a syscall number listed in this file.
        pub(super) fn $lookup(nr: usize) -> Option<&'static str> {
            match nr {
                $($nr => Some($text),)*
                _ => None,
            }
        }
    };
}

mod high;
mod low;

pub use high::*;
pub use low::*;

/// Size of the kernel's dispatch table: every valid syscall number is below this.
pub const COUNT: usize = 512;

/// The lowercase Linux name of syscall `nr` ("read", "exit_group"), or `None` for a number
/// Linux x86-64 does not assign.
pub fn name(nr: usize) -> Option<&'static str> {
    if nr < 200 {
        low::name_low(nr)
    } else {
        high::name_high(nr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_linux() {
        let pinned = [
            (READ, 0),
            (WRITE, 1),
            (OPEN, 2),
            (MMAP, 9),
            (BRK, 12),
            (RT_SIGRETURN, 15),
            (IOCTL, 16),
            (SCHED_YIELD, 24),
            (GETPID, 39),
            (CLONE, 56),
            (FORK, 57),
            (VFORK, 58),
            (EXECVE, 59),
            (EXIT, 60),
            (WAIT4, 61),
            (KILL, 62),
            (UNAME, 63),
            (FCNTL, 72),
            (GETDENTS, 78),
            (GETCWD, 79),
            (UMASK, 95),
            (SYSINFO, 99),
            (SIGALTSTACK, 131),
            (SYSCTL, 156),
            (ARCH_PRCTL, 158),
            (REBOOT, 169),
            (GETTID, 186),
            (TKILL, 200),
            (FUTEX, 202),
            (GETDENTS64, 217),
            (SET_TID_ADDRESS, 218),
            (CLOCK_GETTIME, 228),
            (EXIT_GROUP, 231),
            (TGKILL, 234),
            (WAITID, 247),
            (OPENAT, 257),
            (NEWFSTATAT, 262),
            (PSELECT6, 270),
            (PPOLL, 271),
            (SET_ROBUST_LIST, 273),
            (UTIMENSAT, 280),
            (EPOLL_PWAIT, 281),
            (EVENTFD2, 290),
            (EPOLL_CREATE1, 291),
            (DUP3, 292),
            (PIPE2, 293),
            (PRLIMIT64, 302),
            (GETRANDOM, 318),
            (MEMFD_CREATE, 319),
            (STATX, 332),
            (RSEQ, 334),
            (PIDFD_SEND_SIGNAL, 424),
            (PIDFD_OPEN, 434),
            (CLONE3, 435),
            (CLOSE_RANGE, 436),
            (OPENAT2, 437),
            (FACCESSAT2, 439),
            (EPOLL_PWAIT2, 441),
            (FUTEX_WAITV, 449),
            (FCHMODAT2, 452),
            (LSM_LIST_MODULES, 461),
            (MSEAL, 462),
        ];
        for (constant, linux) in pinned {
            assert_eq!(constant, linux);
        }
    }

    #[test]
    fn names() {
        assert_eq!(name(READ), Some("read"));
        assert_eq!(name(15), Some("rt_sigreturn"));
        assert_eq!(name(156), Some("_sysctl"));
        assert_eq!(name(199), Some("fremovexattr"));
        assert_eq!(name(200), Some("tkill"));
        assert_eq!(name(231), Some("exit_group"));
        assert_eq!(name(334), Some("rseq"));
        assert_eq!(name(435), Some("clone3"));
        assert_eq!(name(461), Some("lsm_list_modules"));
        for unassigned in [337, 400, 423, 471, COUNT - 1, COUNT, usize::MAX] {
            assert_eq!(name(unassigned), None, "{unassigned}");
        }
    }

    #[test]
    fn table_is_dense_where_linux_is() {
        // 0..=336 and 424..=470 are all assigned; everything assigned is below COUNT.
        for nr in (0..=336).chain(424..=470) {
            assert!(name(nr).is_some(), "{nr} has no name");
        }
        let assigned = (0..COUNT).filter(|&nr| name(nr).is_some()).count();
        assert_eq!(assigned, 337 + 47);
    }
}
