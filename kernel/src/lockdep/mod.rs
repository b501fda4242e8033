//! lockdep: run-time checking of the kernel's lock order (see docs/locking.md).
//!
//! Every lock (`SpinLock`, `IrqSpinLock`, the sleeping `sched::sync::Mutex`) carries a
//! [`LockClass`]: the place in the source where the lock was constructed (`#[track_caller]`), so
//! all the locks made by one line (say, every pipe's buffer lock) are one class, as in Linux.
//! While checking is on, each thread keeps the stack of locks it holds ([`HeldLocks`], in its
//! `Thread`), with the call site that took each one. Taking lock B while holding A records the
//! edge "A before B" in a global graph of classes; a new edge that closes a cycle (B was taken
//! before A somewhere, directly or through other classes) is reported once, with the call sites
//! of every edge of the cycle. Also reported: taking a lock this thread already holds (a certain
//! deadlock), and sleeping (a sleeping mutex, a wait queue) while holding a spin lock.
//!
//! Reports are printed as `LOCKDEP: …` header lines (details on `lockdep:   …` lines), which the
//! test harness counts as failures, and counted ([`reports`]). A test that provokes a report on
//! purpose marks its thread with [`expect_reports`]; those print `lockdep (expected): …` instead
//! and count in [`expected_reports`].
//!
//! Checking is compiled in debug builds (`debug_assertions`: every ktest and user-test kernel)
//! or with the `lockdep` feature; otherwise every type here is empty and every function does
//! nothing, so release locks carry no extra field and do no extra work. The checker never
//! allocates and takes no lock of its own except a tiny spin flag around graph updates, which are
//! rare (once per new pair of classes).

#[cfg(any(debug_assertions, feature = "lockdep"))]
mod graph;
#[cfg(any(debug_assertions, feature = "lockdep"))]
mod held;
#[cfg(any(debug_assertions, feature = "lockdep"))]
mod on;
#[cfg(any(debug_assertions, feature = "lockdep"))]
pub use on::*;

#[cfg(not(any(debug_assertions, feature = "lockdep")))]
mod off;
#[cfg(not(any(debug_assertions, feature = "lockdep")))]
pub use off::*;

/// What kind of lock an entry of the held stack is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A spin lock that leaves interrupts as they are (`SpinLock`).
    Spin = 1,
    /// A spin lock that masks interrupts while held (`IrqSpinLock`).
    IrqSpin = 2,
    /// A sleeping lock (`sched::sync::Mutex`).
    Sleep = 3,
}

#[cfg(any(debug_assertions, feature = "lockdep"))]
impl Kind {
    /// Whether holding a lock of this kind forbids sleeping.
    pub fn spins(self) -> bool {
        self != Kind::Sleep
    }
}
