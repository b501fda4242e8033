//! Locks for the hardware-independent crates whose holders may block: a file system that waits
//! for its disk while holding a directory lock, or the VFS namespace lock held across such a
//! file system's operations. A plain spin lock would make every other thread that wants it burn
//! its CPU for the whole disk access, and deadlock outright if the spinner kept the holder from
//! running.
//!
//! [`Mutex`] and [`RwLock`] wrap `spin`'s locks. Taking a free lock is one atomic operation; a
//! contended one spins briefly (the holder is usually about to release it), then *parks*: it
//! calls [`Parker::park`] with the lock's address and a predicate telling whether the lock is
//! still unavailable. Every release that finds parked threads calls [`Parker::unpark_all`] on
//! the same address. The kernel installs a parker built on its wait queues ([`install`]); until
//! one is installed (host tests, early boot) parking is a spin-loop hint, so the locks are
//! plain spin locks.
//!
//! # No lost wake-up
//!
//! A parking thread counts itself in `parked` and then (SeqCst fence) looks at the lock state;
//! a releasing thread releases the lock and then (SeqCst fence) reads `parked`. Whichever runs
//! second sees the other's write: either the parker sees the lock free and does not sleep, or
//! the releaser sees the parker and wakes its queue. A [`Parker`] must therefore register the
//! thread on its queue *before* evaluating the predicate, as a wait queue's `wait_until` does.
//!
//! The locks are not fair and not recursive; a thread that parks must be allowed to sleep (in
//! the kernel: no spin lock held, not in an interrupt handler).
#![no_std]
#![forbid(unsafe_code)]

use core::ops::{Deref, DerefMut};
use core::sync::atomic::{fence, AtomicUsize, Ordering};

/// How a contended lock sleeps: installed once by the kernel.
pub trait Parker: Sync {
    /// Sleeps while `blocked()` is true. Implementations register the thread for wake-ups on
    /// `key` first, then evaluate `blocked`, then sleep until [`Parker::unpark_all`] of `key`
    /// (spurious returns are allowed: the caller retries).
    fn park(&self, key: usize, blocked: &dyn Fn() -> bool);
    /// Wakes every thread parked on `key`.
    fn unpark_all(&self, key: usize);
}

static PARKER: spin::Once<&'static dyn Parker> = spin::Once::new();

/// Installs the parker (the first call wins; later calls are ignored).
pub fn install(parker: &'static dyn Parker) {
    PARKER.call_once(|| parker);
}

/// Attempts at a contended lock before parking.
const SPINS: usize = 64;

fn park(key: usize, blocked: &dyn Fn() -> bool) {
    match PARKER.get() {
        Some(parker) => parker.park(key, blocked),
        None => core::hint::spin_loop(),
    }
}

fn unpark_all(key: usize) {
    if let Some(parker) = PARKER.get() {
        parker.unpark_all(key);
    }
}

/// Takes a lock with `try_take`, spinning briefly, then parking on `key` while `blocked()`.
fn acquire<G>(parked: &AtomicUsize, key: usize, try_take: impl Fn() -> Option<G>, blocked: impl Fn() -> bool) -> G {
    loop {
        for _ in 0..SPINS {
            if let Some(guard) = try_take() {
                return guard;
            }
            core::hint::spin_loop();
        }
        parked.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        park(key, &blocked);
        parked.fetch_sub(1, Ordering::SeqCst);
    }
}

/// After a release: wakes the parked threads, if any.
fn released(parked: &AtomicUsize, key: usize) {
    fence(Ordering::SeqCst);
    if parked.load(Ordering::SeqCst) != 0 {
        unpark_all(key);
    }
}

/// A mutual-exclusion lock whose waiters park (see the crate docs).
pub struct Mutex<T> {
    inner: spin::Mutex<T>,
    parked: AtomicUsize,
}

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Mutex<T> {
        Mutex { inner: spin::Mutex::new(value), parked: AtomicUsize::new(0) }
    }

    fn key(&self) -> usize {
        self as *const Self as usize
    }

    /// Takes the lock, parking while another thread holds it.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        let guard = acquire(&self.parked, self.key(), || self.inner.try_lock(), || self.inner.is_locked());
        MutexGuard { guard: Some(guard), lock: self }
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.inner.try_lock().map(|guard| MutexGuard { guard: Some(guard), lock: self })
    }

    /// Whether some thread holds the lock (a snapshot).
    pub fn is_locked(&self) -> bool {
        self.inner.is_locked()
    }

    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

/// Holds a [`Mutex`]; releasing it wakes parked threads.
pub struct MutexGuard<'a, T> {
    guard: Option<spin::MutexGuard<'a, T>>,
    lock: &'a Mutex<T>,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_deref().unwrap_or_else(|| unreachable!("guard present until drop"))
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_deref_mut().unwrap_or_else(|| unreachable!("guard present until drop"))
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        drop(self.guard.take());
        released(&self.lock.parked, self.lock.key());
    }
}

/// A reader-writer lock whose waiters park (see the crate docs). Not fair: a steady stream of
/// readers can hold a writer off.
pub struct RwLock<T> {
    inner: spin::RwLock<T>,
    parked: AtomicUsize,
}

impl<T> RwLock<T> {
    pub const fn new(value: T) -> RwLock<T> {
        RwLock { inner: spin::RwLock::new(value), parked: AtomicUsize::new(0) }
    }

    fn key(&self) -> usize {
        self as *const Self as usize
    }

    /// Shared access, parking while a writer holds the lock.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        let guard = acquire(&self.parked, self.key(), || self.inner.try_read(), || self.inner.writer_count() != 0);
        RwLockReadGuard { guard: Some(guard), lock: self }
    }

    /// Exclusive access, parking while anyone holds the lock.
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        let guard = acquire(&self.parked, self.key(), || self.inner.try_write(), || {
            self.inner.writer_count() != 0 || self.inner.reader_count() != 0
        });
        RwLockWriteGuard { guard: Some(guard), lock: self }
    }

    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.inner.try_read().map(|guard| RwLockReadGuard { guard: Some(guard), lock: self })
    }

    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.inner.try_write().map(|guard| RwLockWriteGuard { guard: Some(guard), lock: self })
    }

    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }

    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

/// Shared access to a [`RwLock`].
pub struct RwLockReadGuard<'a, T> {
    guard: Option<spin::RwLockReadGuard<'a, T>>,
    lock: &'a RwLock<T>,
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_deref().unwrap_or_else(|| unreachable!("guard present until drop"))
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        drop(self.guard.take());
        released(&self.lock.parked, self.lock.key());
    }
}

/// Exclusive access to a [`RwLock`].
pub struct RwLockWriteGuard<'a, T> {
    guard: Option<spin::RwLockWriteGuard<'a, T>>,
    lock: &'a RwLock<T>,
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_deref().unwrap_or_else(|| unreachable!("guard present until drop"))
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_deref_mut().unwrap_or_else(|| unreachable!("guard present until drop"))
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        drop(self.guard.take());
        released(&self.lock.parked, self.lock.key());
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, Condvar, Mutex as StdMutex};
    use std::thread;
    use std::vec::Vec;

    /// A parker on one std condition variable, counting parks (so the tests see parking happen).
    struct StdParker {
        generation: StdMutex<u64>,
        changed: Condvar,
        parks: AtomicUsize,
    }

    impl Parker for StdParker {
        fn park(&self, _key: usize, blocked: &dyn Fn() -> bool) {
            let generation = self.generation.lock().unwrap();
            if !blocked() {
                return;
            }
            self.parks.fetch_add(1, Ordering::Relaxed);
            let seen = *generation;
            let _unused = self.changed.wait_while(generation, |g| *g == seen).unwrap();
        }

        fn unpark_all(&self, _key: usize) {
            *self.generation.lock().unwrap() += 1;
            self.changed.notify_all();
        }
    }

    static TEST_PARKER: StdParker = StdParker { generation: StdMutex::new(0), changed: Condvar::new(), parks: AtomicUsize::new(0) };

    fn with_parker() {
        install(&TEST_PARKER);
    }

    #[test]
    fn mutex_excludes_and_parked_threads_wake() {
        with_parker();
        let lock = Arc::new(Mutex::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                thread::spawn(move || {
                    for i in 0..2000 {
                        let mut value = lock.lock();
                        let before = *value;
                        if i % 100 == 0 {
                            // Hold the lock across a "disk access" so others park.
                            thread::sleep(std::time::Duration::from_micros(200));
                        }
                        *value = before + 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.lock(), 8000);
        assert!(TEST_PARKER.parks.load(Ordering::Relaxed) > 0, "contended threads parked");
    }

    #[test]
    fn rwlock_readers_share_writers_exclude() {
        with_parker();
        let lock = Arc::new(RwLock::new((0u64, 0u64)));
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (lock, stop) = (lock.clone(), stop.clone());
                thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let pair = lock.read();
                        assert_eq!(pair.0, pair.1, "a reader never sees a half-done write");
                    }
                })
            })
            .collect();
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let lock = lock.clone();
                thread::spawn(move || {
                    for _ in 0..5000 {
                        let mut pair = lock.write();
                        pair.0 += 1;
                        pair.1 += 1;
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            r.join().unwrap();
        }
        assert_eq!(*lock.read(), (10000, 10000));
        assert!(lock.try_write().is_some());
    }

    #[test]
    fn try_lock_fails_while_held() {
        let lock = Mutex::new(1);
        let guard = lock.lock();
        assert!(lock.try_lock().is_none());
        assert!(lock.is_locked());
        drop(guard);
        assert!(lock.try_lock().is_some());
    }
}
