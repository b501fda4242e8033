//! Signals: numbers, the 64-bit signal set, `rt_sigprocmask`/`rt_sigaction` constants, the
//! default action of each signal and its name. The user-visible structures are in
//! [`info`] (`siginfo_t`) and [`frame`] (`sigaction`, `stack_t`, the signal frame).

pub mod frame;
pub mod info;

pub use frame::*;
pub use info::*;

pub const SIGHUP: u32 = 1;
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGABRT: u32 = 6;
pub const SIGIOT: u32 = 6;
pub const SIGBUS: u32 = 7;
pub const SIGFPE: u32 = 8;
pub const SIGKILL: u32 = 9;
pub const SIGUSR1: u32 = 10;
pub const SIGSEGV: u32 = 11;
pub const SIGUSR2: u32 = 12;
pub const SIGPIPE: u32 = 13;
pub const SIGALRM: u32 = 14;
pub const SIGTERM: u32 = 15;
pub const SIGSTKFLT: u32 = 16;
pub const SIGCHLD: u32 = 17;
pub const SIGCONT: u32 = 18;
pub const SIGSTOP: u32 = 19;
pub const SIGTSTP: u32 = 20;
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;
pub const SIGURG: u32 = 23;
pub const SIGXCPU: u32 = 24;
pub const SIGXFSZ: u32 = 25;
pub const SIGVTALRM: u32 = 26;
pub const SIGPROF: u32 = 27;
pub const SIGWINCH: u32 = 28;
pub const SIGIO: u32 = 29;
pub const SIGPOLL: u32 = SIGIO;
pub const SIGPWR: u32 = 30;
pub const SIGSYS: u32 = 31;
/// The first real-time signal as the kernel numbers them (libcs reserve a few for themselves).
pub const SIGRTMIN: u32 = 32;
pub const SIGRTMAX: u32 = 64;
/// Number of signals; valid signal numbers are `1..=NSIG`.
pub const NSIG: u32 = 64;
/// The `sigsetsize` argument `rt_sigprocmask`, `rt_sigaction`, ... require: 8 bytes.
pub const SIGSET_SIZE: usize = 8;

/// `rt_sigprocmask` `how`: add the set to the mask.
pub const SIG_BLOCK: i32 = 0;
/// `rt_sigprocmask` `how`: remove the set from the mask.
pub const SIG_UNBLOCK: i32 = 1;
/// `rt_sigprocmask` `how`: replace the mask.
pub const SIG_SETMASK: i32 = 2;

/// `sa_handler` value: the default action.
pub const SIG_DFL: u64 = 0;
/// `sa_handler` value: ignore the signal.
pub const SIG_IGN: u64 = 1;

/// `sa_flags` bits.
pub const SA_NOCLDSTOP: u64 = 0x0000_0001;
pub const SA_NOCLDWAIT: u64 = 0x0000_0002;
pub const SA_SIGINFO: u64 = 0x0000_0004;
/// Never supported; the kernel clears it so programs can probe which flags it knows.
pub const SA_UNSUPPORTED: u64 = 0x0000_0400;
pub const SA_EXPOSE_TAGBITS: u64 = 0x0000_0800;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;
pub const SA_NOMASK: u64 = SA_NODEFER;
pub const SA_ONESHOT: u64 = SA_RESETHAND;

/// A set of signals, as in the kernel's 8-byte `sigset_t`: bit `n - 1` stands for signal `n`.
/// Out-of-range signal numbers (0, above 64) are never members and are ignored by `add` and
/// `remove`.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct SigSet(pub u64);

/// SIGKILL and SIGSTOP: they can be neither blocked, caught nor ignored.
pub const UNBLOCKABLE: SigSet = SigSet::UNBLOCKABLE;

impl SigSet {
    /// SIGKILL and SIGSTOP: they can be neither blocked, caught nor ignored.
    pub const UNBLOCKABLE: SigSet = SigSet(SigSet::bit(SIGKILL) | SigSet::bit(SIGSTOP));

    const fn bit(sig: u32) -> u64 {
        if sig >= 1 && sig <= NSIG {
            1 << (sig - 1)
        } else {
            0
        }
    }

    pub const fn empty() -> SigSet {
        SigSet(0)
    }

    /// Every signal 1..=64.
    pub const fn full() -> SigSet {
        SigSet(u64::MAX)
    }

    /// The set holding only `sig` (empty if `sig` is out of range).
    pub const fn of(sig: u32) -> SigSet {
        SigSet(SigSet::bit(sig))
    }

    pub const fn contains(self, sig: u32) -> bool {
        self.0 & SigSet::bit(sig) != 0
    }

    pub fn add(&mut self, sig: u32) {
        self.0 |= SigSet::bit(sig);
    }

    pub fn remove(&mut self, sig: u32) {
        self.0 &= !SigSet::bit(sig);
    }

    pub const fn union(self, other: SigSet) -> SigSet {
        SigSet(self.0 | other.0)
    }

    pub const fn intersection(self, other: SigSet) -> SigSet {
        SigSet(self.0 & other.0)
    }

    /// The signals of `self` that are not in `other`.
    pub const fn difference(self, other: SigSet) -> SigSet {
        SigSet(self.0 & !other.0)
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The lowest signal number in the set (the one Linux delivers first among pending
    /// signals, apart from its preference for synchronous ones).
    pub const fn first(self) -> Option<u32> {
        if self.0 == 0 {
            None
        } else {
            Some(self.0.trailing_zeros() + 1)
        }
    }
}

/// What happens to a process when a signal arrives with `SIG_DFL` as its handler.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DefaultAction {
    /// Kill the process.
    Terminate,
    /// Kill the process and dump core (the wait status has the core flag).
    CoreDump,
    /// Discard the signal.
    Ignore,
    /// Stop the process (job control).
    Stop,
    /// Continue a stopped process (and otherwise ignore).
    Continue,
}

/// Linux's default action for `sig`. Real-time signals and unknown numbers terminate.
pub fn default_action(sig: u32) -> DefaultAction {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGCONT => DefaultAction::Continue,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => DefaultAction::CoreDump,
        _ => DefaultAction::Terminate,
    }
}

/// Names of the classic signals, indexed by number (index 0 unused).
const CLASSIC_NAMES: [&str; 32] = [
    "SIG?",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// Names of the real-time signals 32..=64, relative to SIGRTMIN.
const RT_NAMES: [&str; 33] = [
    "SIGRTMIN",
    "SIGRTMIN+1",
    "SIGRTMIN+2",
    "SIGRTMIN+3",
    "SIGRTMIN+4",
    "SIGRTMIN+5",
    "SIGRTMIN+6",
    "SIGRTMIN+7",
    "SIGRTMIN+8",
    "SIGRTMIN+9",
    "SIGRTMIN+10",
    "SIGRTMIN+11",
    "SIGRTMIN+12",
    "SIGRTMIN+13",
    "SIGRTMIN+14",
    "SIGRTMIN+15",
    "SIGRTMIN+16",
    "SIGRTMIN+17",
    "SIGRTMIN+18",
    "SIGRTMIN+19",
    "SIGRTMIN+20",
    "SIGRTMIN+21",
    "SIGRTMIN+22",
    "SIGRTMIN+23",
    "SIGRTMIN+24",
    "SIGRTMIN+25",
    "SIGRTMIN+26",
    "SIGRTMIN+27",
    "SIGRTMIN+28",
    "SIGRTMIN+29",
    "SIGRTMIN+30",
    "SIGRTMIN+31",
    "SIGRTMAX",
];

/// The symbolic name of a signal ("SIGSEGV", "SIGRTMIN+3"), or "SIG?" for an invalid number.
pub fn name(sig: u32) -> &'static str {
    match sig {
        1..=31 => CLASSIC_NAMES[sig as usize],
        SIGRTMIN..=SIGRTMAX => RT_NAMES[(sig - SIGRTMIN) as usize],
        _ => "SIG?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_linux() {
        assert_eq!((SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP), (1, 2, 3, 4, 5));
        assert_eq!(
            (SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1),
            (6, 7, 8, 9, 10)
        );
        assert_eq!(
            (SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM),
            (11, 12, 13, 14, 15)
        );
        assert_eq!(
            (SIGSTKFLT, SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP),
            (16, 17, 18, 19, 20)
        );
        assert_eq!(
            (SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ),
            (21, 22, 23, 24, 25)
        );
        assert_eq!(
            (SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS),
            (26, 27, 28, 29, 30, 31)
        );
        assert_eq!((SIGRTMIN, SIGRTMAX, NSIG), (32, 64, 64));
        assert_eq!(
            (SA_SIGINFO, SA_RESTORER, SA_ONSTACK),
            (4, 0x0400_0000, 0x0800_0000)
        );
        assert_eq!(
            (SA_RESTART, SA_NODEFER, SA_RESETHAND),
            (0x1000_0000, 0x4000_0000, 0x8000_0000)
        );
    }

    #[test]
    fn sigset_operations() {
        let mut set = SigSet::empty();
        assert!(set.is_empty() && set.first().is_none());
        set.add(SIGINT);
        set.add(SIGRTMAX);
        set.add(0); // ignored
        set.add(65); // ignored
        assert_eq!(set.0, (1 << 1) | (1 << 63));
        assert!(set.contains(SIGINT) && set.contains(64) && !set.contains(SIGHUP));
        assert!(!set.contains(0) && !set.contains(65));
        assert_eq!(set.first(), Some(SIGINT));
        set.remove(SIGINT);
        assert_eq!(set.first(), Some(SIGRTMAX));
        assert_eq!(SigSet::UNBLOCKABLE.0, (1 << 8) | (1 << 18));
        assert_eq!(UNBLOCKABLE, SigSet::of(SIGKILL).union(SigSet::of(SIGSTOP)));
        let blocked = SigSet::full().difference(UNBLOCKABLE);
        assert!(!blocked.contains(SIGKILL) && !blocked.contains(SIGSTOP));
        assert!(blocked.contains(SIGTERM) && blocked.contains(64));
        assert_eq!(
            SigSet::full().intersection(SigSet::of(SIGCHLD)),
            SigSet(1 << 16)
        );
        assert_eq!(SigSet::full().first(), Some(1));
    }

    #[test]
    fn default_actions() {
        use DefaultAction::*;
        for sig in [SIGCHLD, SIGURG, SIGWINCH] {
            assert_eq!(default_action(sig), Ignore);
        }
        for sig in [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU] {
            assert_eq!(default_action(sig), Stop);
        }
        assert_eq!(default_action(SIGCONT), Continue);
        let core = [
            SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS,
        ];
        for sig in core {
            assert_eq!(default_action(sig), CoreDump);
        }
        for sig in [
            SIGHUP, SIGINT, SIGKILL, SIGUSR1, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT,
        ] {
            assert_eq!(default_action(sig), Terminate);
        }
        for sig in [SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGRTMIN, 40, SIGRTMAX] {
            assert_eq!(default_action(sig), Terminate);
        }
    }

    #[test]
    fn names() {
        assert_eq!(name(SIGSEGV), "SIGSEGV");
        assert_eq!(name(SIGHUP), "SIGHUP");
        assert_eq!(name(SIGSYS), "SIGSYS");
        assert_eq!(name(SIGRTMIN), "SIGRTMIN");
        assert_eq!(name(35), "SIGRTMIN+3");
        assert_eq!(name(63), "SIGRTMIN+31");
        assert_eq!(name(SIGRTMAX), "SIGRTMAX");
        assert_eq!(name(0), "SIG?");
        assert_eq!(name(65), "SIG?");
    }
}
