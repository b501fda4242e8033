//! lockdep compiled out (release builds without the `lockdep` feature): the same interface as
//! `on.rs`, made of empty types and functions that do nothing.

use super::Kind;

/// A lock's class: nothing to remember when checking is off.
pub struct LockClass;

impl LockClass {
    #[inline(always)]
    pub const fn here() -> LockClass {
        LockClass
    }
}

/// Proof that a lock was recorded as held: nothing when checking is off.
pub struct Token;

/// The locks a thread holds: nothing when checking is off.
pub struct HeldLocks;

impl HeldLocks {
    pub const fn new() -> HeldLocks {
        HeldLocks
    }
}

/// A reference to a thread's held stack, made before the thread is handed over.
#[derive(Clone, Copy)]
pub struct HeldRef;

impl HeldRef {
    #[inline(always)]
    pub fn of(_: &HeldLocks) -> HeldRef {
        HeldRef
    }

    #[inline(always)]
    pub fn enter(self) {}
}

/// Checking is off.
#[cfg(feature = "ktest")]
pub const ENABLED: bool = false;

#[inline(always)]
pub fn acquire(_: &LockClass, _: usize, _: Kind) -> Token {
    Token
}

#[inline(always)]
pub fn check(_: &LockClass, _: usize, _: Kind) {}

#[inline(always)]
pub fn acquired(_: &LockClass, _: usize, _: Kind) -> Token {
    Token
}

#[inline(always)]
pub fn release(_: &Token) {}

#[inline(always)]
pub fn might_sleep() {}

#[cfg(feature = "ktest")]
pub fn reports() -> usize {
    0
}

#[cfg(feature = "ktest")]
pub fn expected_reports() -> usize {
    0
}

#[cfg(feature = "ktest")]
pub fn expect_reports(_: bool) {}

#[cfg(feature = "ktest")]
pub fn held_depth() -> usize {
    0
}

#[cfg(feature = "ktest")]
pub fn print_order() {}
