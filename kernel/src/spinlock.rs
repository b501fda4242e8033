//! The kernel's spin locks, both checked by lockdep in debug builds (see docs/locking.md for the
//! lock order and every lock's rules):
//!
//! - `SpinLock`: a plain spin lock (`spin::Mutex` underneath). It leaves interrupts as they are
//!   but disables preemption while held (the per-CPU count of `arch::percpu::preempt_disable`),
//!   so its holder is never switched away while another thread of the same CPU spins on it
//!   (such a spinner used to burn its whole time slice: a futex wake-up preempted under the
//!   futex table's lock cost the woken thread a full quantum). A switch asked for meanwhile
//!   happens when the outermost lock is released. Never sleep holding it (lockdep checks).
//! - `IrqSpinLock`: a spin lock that disables interrupts on the local CPU while held, for data an
//!   interrupt handler may also touch (run queues, the thread table, the timer queue, wait
//!   queues). Holding it also keeps the holder from being preempted, so it never spins against
//!   itself. The interrupt state is restored when the guard is dropped.
//!
//! Each lock's lockdep class is the place its constructor was called (`#[track_caller]`); in
//! release builds the class and the guards' tokens are empty types and the hooks do nothing.

use core::ops::{Deref, DerefMut};

use crate::arch;
use crate::lockdep::{self, Kind, LockClass};

// Release builds without the `lockdep` feature: checking adds nothing to a lock or a guard.
#[cfg(not(any(debug_assertions, feature = "lockdep")))]
const _: () = {
    use core::mem::size_of;
    assert!(size_of::<SpinLock<u64>>() == size_of::<spin::Mutex<u64>>());
    assert!(size_of::<IrqSpinLock<u64>>() == size_of::<spin::Mutex<u64>>());
    assert!(size_of::<SpinLockGuard<'static, u64>>() == size_of::<spin::MutexGuard<'static, u64>>());
};

/// A spin lock that leaves interrupts alone.
pub struct SpinLock<T> {
    inner: spin::Mutex<T>,
    class: LockClass,
}

impl<T> SpinLock<T> {
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub const fn new(value: T) -> Self {
        SpinLock { inner: spin::Mutex::new(value), class: LockClass::here() }
    }

    fn addr(&self) -> usize {
        self as *const Self as usize
    }

    /// Disables preemption, then takes the lock, spinning while another holder has it.
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        arch::percpu::preempt_disable();
        let token = lockdep::acquire(&self.class, self.addr(), Kind::Spin);
        SpinLockGuard { guard: Some(self.inner.lock()), token }
    }

    /// Takes the lock if it is free (recorded as held by lockdep, with no order edge), for
    /// code that must never wait (the memory shrinker).
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub fn try_lock(&self) -> Option<SpinLockGuard<'_, T>> {
        arch::percpu::preempt_disable();
        match self.inner.try_lock() {
            Some(guard) => Some(SpinLockGuard { guard: Some(guard), token: lockdep::acquired(&self.class, self.addr(), Kind::Spin) }),
            None => {
                if arch::percpu::preempt_enable() {
                    arch::preemption_point();
                }
                None
            }
        }
    }
}

impl<T: Default> Default for SpinLock<T> {
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    fn default() -> Self {
        SpinLock::new(T::default())
    }
}

/// Access to a [`SpinLock`]'s value; unlocks when dropped.
pub struct SpinLockGuard<'a, T> {
    guard: Option<spin::MutexGuard<'a, T>>,
    token: lockdep::Token,
}

impl<T> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.guard {
            Some(guard) => guard,
            None => unreachable!("the guard is only emptied in drop"),
        }
    }
}

impl<T> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.guard {
            Some(guard) => guard,
            None => unreachable!("the guard is only emptied in drop"),
        }
    }
}

impl<T> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        drop(self.guard.take());
        lockdep::release(&self.token);
        if arch::percpu::preempt_enable() {
            // The outermost spin lock is gone and a switch was asked for while it was held.
            arch::preemption_point();
        }
    }
}

/// A spin lock that masks interrupts while held.
pub struct IrqSpinLock<T> {
    inner: spin::Mutex<T>,
    class: LockClass,
}

impl<T> IrqSpinLock<T> {
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub const fn new(value: T) -> Self {
        IrqSpinLock { inner: spin::Mutex::new(value), class: LockClass::here() }
    }

    /// Disables interrupts, then takes the lock.
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub fn lock(&self) -> IrqSpinLockGuard<'_, T> {
        let interrupts_were_enabled = arch::save_and_disable_interrupts();
        let token = lockdep::acquire(&self.class, self as *const Self as usize, Kind::IrqSpin);
        IrqSpinLockGuard { guard: Some(self.inner.lock()), token, interrupts_were_enabled }
    }
}

/// Access to the value; unlocks, then restores the interrupt state, when dropped.
pub struct IrqSpinLockGuard<'a, T> {
    guard: Option<spin::MutexGuard<'a, T>>,
    token: lockdep::Token,
    interrupts_were_enabled: bool,
}

impl<T> Deref for IrqSpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.guard {
            Some(guard) => guard,
            None => unreachable!("the guard is only emptied in drop"),
        }
    }
}

impl<T> DerefMut for IrqSpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.guard {
            Some(guard) => guard,
            None => unreachable!("the guard is only emptied in drop"),
        }
    }
}

impl<T> Drop for IrqSpinLockGuard<'_, T> {
    fn drop(&mut self) {
        drop(self.guard.take());
        lockdep::release(&self.token);
        arch::restore_interrupts(self.interrupts_were_enabled);
    }
}
