//! `IrqSpinLock`: a spin lock that disables interrupts on the local CPU while held, for data an
//! interrupt handler may also touch (run queues, the thread table, the timer queue, wait queues).
//! Holding it also keeps the holder from being preempted, so it never spins against itself.
//! The interrupt state is restored when the guard is dropped.

use core::ops::{Deref, DerefMut};

use crate::arch;

/// A spin lock that masks interrupts while held.
pub struct IrqSpinLock<T> {
    inner: spin::Mutex<T>,
}

impl<T> IrqSpinLock<T> {
    pub const fn new(value: T) -> Self {
        IrqSpinLock { inner: spin::Mutex::new(value) }
    }

    /// Disables interrupts, then takes the lock.
    pub fn lock(&self) -> IrqSpinLockGuard<'_, T> {
        let interrupts_were_enabled = arch::save_and_disable_interrupts();
        IrqSpinLockGuard { guard: Some(self.inner.lock()), interrupts_were_enabled }
    }
}

/// Access to the value; unlocks, then restores the interrupt state, when dropped.
pub struct IrqSpinLockGuard<'a, T> {
    guard: Option<spin::MutexGuard<'a, T>>,
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
        arch::restore_interrupts(self.interrupts_were_enabled);
    }
}
