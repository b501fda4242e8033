//! Blocking synchronisation for threads, built on wait queues: a mutex, a counting semaphore and
//! a condition variable. Waiters sleep (they do not spin), so these are for code that may block,
//! never for interrupt handlers. Lockdep (debug builds) checks the mutex's order against the
//! other locks, and reports taking it while a spin lock is held (see docs/locking.md).
//! So far only the in-kernel tests and benchmarks use the semaphore, the condition variable and
//! `Mutex::try_lock`, so they are compiled in the test build (`ktest` feature) only.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};
#[cfg(feature = "ktest")]
use core::sync::atomic::{AtomicU64, AtomicUsize};

use super::wait::WaitQueue;
use crate::lockdep::{self, Kind, LockClass};

/// A sleeping mutual-exclusion lock.
pub struct Mutex<T> {
    locked: AtomicBool,
    waiters: WaitQueue,
    value: UnsafeCell<T>,
    class: LockClass,
}

// SAFETY: the value is only reached through a guard, and at most one guard exists at a time
// (`locked`), so sharing the mutex shares `T` only as `Send` allows.
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: moving the mutex moves the `T` it owns.
unsafe impl<T: Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            locked: AtomicBool::new(false),
            waiters: WaitQueue::new(),
            value: UnsafeCell::new(value),
            class: LockClass::here(),
        }
    }

    fn addr(&self) -> usize {
        self as *const Self as usize
    }

    fn try_acquire(&self) -> bool {
        self.locked.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// Takes the lock, sleeping while another thread holds it.
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        lockdep::check(&self.class, self.addr(), Kind::Sleep);
        self.waiters.wait_until(|| self.try_acquire());
        MutexGuard { mutex: self, token: lockdep::acquired(&self.class, self.addr(), Kind::Sleep) }
    }

    /// Takes the lock if it is free.
    #[cfg(feature = "ktest")]
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        if !self.try_acquire() {
            return None;
        }
        Some(MutexGuard { mutex: self, token: lockdep::acquired(&self.class, self.addr(), Kind::Sleep) })
    }
}

impl<T: Default> Default for Mutex<T> {
    #[cfg_attr(any(debug_assertions, feature = "lockdep"), track_caller)]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

/// Access to a locked [`Mutex`]'s value; unlocks when dropped.
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
    token: lockdep::Token,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves this thread holds the lock.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves this thread holds the lock, exclusively.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        lockdep::release(&self.token);
        self.mutex.locked.store(false, Ordering::Release);
        self.mutex.waiters.wake_one();
    }
}

/// A counting semaphore.
#[cfg(feature = "ktest")]
pub struct Semaphore {
    count: AtomicUsize,
    waiters: WaitQueue,
}

#[cfg(feature = "ktest")]
impl Semaphore {
    pub const fn new(count: usize) -> Semaphore {
        Semaphore { count: AtomicUsize::new(count), waiters: WaitQueue::new() }
    }

    fn try_take(&self) -> bool {
        self.count.fetch_update(Ordering::Acquire, Ordering::Relaxed, |c| c.checked_sub(1)).is_ok()
    }

    /// Takes one unit, sleeping until one is available.
    pub fn down(&self) {
        self.waiters.wait_until(|| self.try_take());
    }

    /// Takes one unit, waiting at most `timeout_ns`; returns whether it got one.
    pub fn down_timeout(&self, timeout_ns: u64) -> bool {
        self.waiters.wait_until_timeout(|| self.try_take(), timeout_ns)
    }

    /// Takes one unit if available.
    pub fn try_down(&self) -> bool {
        self.try_take()
    }

    /// Returns one unit, waking a waiter.
    pub fn up(&self) {
        self.count.fetch_add(1, Ordering::Release);
        self.waiters.wake_one();
    }

    /// Units available now.
    pub fn available(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

/// A condition variable used with [`Mutex`].
#[cfg(feature = "ktest")]
pub struct Condvar {
    generation: AtomicU64,
    waiters: WaitQueue,
}

#[cfg(feature = "ktest")]
impl Default for Condvar {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "ktest")]
impl Condvar {
    pub const fn new() -> Condvar {
        Condvar { generation: AtomicU64::new(0), waiters: WaitQueue::new() }
    }

    /// Releases `guard`'s mutex, sleeps until notified, and takes the mutex again. As with every
    /// condition variable, re-check the predicate in a loop (a wake-up may be spurious).
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = guard.mutex;
        let seen = self.generation.load(Ordering::Acquire);
        drop(guard);
        self.waiters.wait_until(|| self.generation.load(Ordering::Acquire) != seen);
        mutex.lock()
    }

    /// Like [`wait`](Self::wait), but waits at most `timeout_ns`; the flag is true when it timed
    /// out without a notification.
    pub fn wait_timeout<'a, T>(&self, guard: MutexGuard<'a, T>, timeout_ns: u64) -> (MutexGuard<'a, T>, bool) {
        let mutex = guard.mutex;
        let seen = self.generation.load(Ordering::Acquire);
        drop(guard);
        let notified = self.waiters.wait_until_timeout(|| self.generation.load(Ordering::Acquire) != seen, timeout_ns);
        (mutex.lock(), !notified)
    }

    /// Wakes one waiting thread.
    pub fn notify_one(&self) {
        self.generation.fetch_add(1, Ordering::Release);
        self.waiters.wake_one();
    }

    /// Wakes every waiting thread.
    pub fn notify_all(&self) {
        self.generation.fetch_add(1, Ordering::Release);
        self.waiters.wake_all();
    }
}
