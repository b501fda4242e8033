//! The namespace's keep-alive set of recently looked-up dentries. A directory caches its
//! children weakly, so a dentry nobody holds dies as soon as its lookup ends and the next
//! lookup of the same name rebuilds it (an inode lookup, two allocations, a cache insert).
//! [`Recent`] holds a bounded number of such dentries strongly so that repeated lookups of the
//! same paths (`stat`, `open` in a loop, a shell's `$PATH` search) hit the cache.
//!
//! The set's capacity is 64 by default; the kernel sets it from the memory size (a dcache
//! for disk file systems, whose lookups cost a directory search and an inode read) and lets
//! go of entries under memory pressure ([`Recent::shrink`]). Each kept dentry remembers its
//! slot, so forgetting one is O(1).
//!
//! Replacement is CLOCK (second chance): a cache hit sets the dentry's `referenced` flag (one
//! relaxed store, no lock); the hand skips — and clears — referenced entries once before it
//! evicts. Only children of directories whose file system changes names exclusively through
//! the namespace ([`Inode::names_stable`](crate::Inode::names_stable)) are kept: for the
//! others (procfs) a kept dentry could outlive the name it caches.
//!
//! Holding a dentry never makes a lookup wrong — the directory's child cache stays the only
//! source of truth and the namespace operations keep it coherent — but it keeps the inode
//! alive. So the namespace drops a dentry from here when its name is removed ([`Recent::forget`],
//! the file's memory is released as soon as the last open file closes, as before) and empties
//! the set on `umount` ([`Recent::clear`]). The lock is a leaf; evicted dentries are dropped
//! after it is released.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use spin::Mutex;

use super::dentry::Dentry;

/// How many dentries are kept alive unless the kernel says otherwise
/// ([`Namespace::set_dentry_cache_capacity`](crate::Namespace::set_dentry_cache_capacity)).
pub(crate) const RECENT_SLOTS: usize = 64;

/// A dentry's slot in the set when it has none.
pub(crate) const NO_SLOT: usize = usize::MAX;

struct Slots {
    slots: Vec<Option<Arc<Dentry>>>,
    hand: usize,
    capacity: usize,
}

impl Slots {
    /// Empties slot `at`, returning its dentry (to be dropped after the lock).
    fn take(&mut self, at: usize) -> Option<Arc<Dentry>> {
        let gone = self.slots.get_mut(at).and_then(Option::take);
        if let Some(d) = &gone {
            d.recent_slot.store(NO_SLOT, Ordering::Relaxed);
        }
        gone
    }
}

/// See the module docs.
pub(crate) struct Recent {
    inner: Mutex<Slots>,
    /// Dentries in the set (read without the lock for statistics).
    count: AtomicUsize,
}

impl Recent {
    pub(crate) fn new() -> Recent {
        Recent { inner: Mutex::new(Slots { slots: Vec::new(), hand: 0, capacity: RECENT_SLOTS }), count: AtomicUsize::new(0) }
    }

    /// Keeps `dentry` alive, evicting the oldest unreferenced entry if the set is full. An
    /// allocation failure while the set grows only means the dentry is not kept. A dentry
    /// already kept stays where it is.
    pub(crate) fn keep(&self, dentry: &Arc<Dentry>) {
        if dentry.recent_slot.load(Ordering::Relaxed) != NO_SLOT {
            return;
        }
        let evicted = {
            let mut s = self.inner.lock();
            if dentry.recent_slot.load(Ordering::Relaxed) != NO_SLOT || s.capacity == 0 {
                return;
            }
            if s.slots.len() < s.capacity {
                if s.slots.try_reserve(1).is_ok() {
                    dentry.recent_slot.store(s.slots.len(), Ordering::Relaxed);
                    s.slots.push(Some(dentry.clone()));
                    self.count.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
            // At most one full turn clears every flag, so this ends within 2 * len.
            let len = s.slots.len();
            loop {
                let hand = s.hand % len;
                s.hand = (hand + 1) % len;
                match &s.slots[hand] {
                    Some(d) if d.referenced.swap(false, Ordering::Relaxed) => continue,
                    _ => {
                        let old = s.take(hand);
                        if old.is_none() {
                            self.count.fetch_add(1, Ordering::Relaxed);
                        }
                        dentry.recent_slot.store(hand, Ordering::Relaxed);
                        s.slots[hand] = Some(dentry.clone());
                        break old;
                    }
                }
            }
        };
        drop(evicted);
    }

    /// Stops keeping `dentry` (its name was removed). O(1): the dentry knows its slot.
    pub(crate) fn forget(&self, dentry: &Dentry) {
        if dentry.recent_slot.load(Ordering::Relaxed) == NO_SLOT {
            return;
        }
        let gone = {
            let mut s = self.inner.lock();
            let at = dentry.recent_slot.load(Ordering::Relaxed);
            let mine = s.slots.get(at).is_some_and(|slot| slot.as_ref().is_some_and(|d| core::ptr::eq(&**d, dentry)));
            if mine {
                self.count.fetch_sub(1, Ordering::Relaxed);
                s.take(at)
            } else {
                None
            }
        };
        drop(gone);
    }

    /// Drops every kept dentry (`umount`).
    pub(crate) fn clear(&self) {
        self.shrink(usize::MAX);
    }

    /// Lets go of up to `wanted` kept dentries, unreferenced ones first (memory pressure);
    /// returns how many were let go.
    pub(crate) fn shrink(&self, wanted: usize) -> usize {
        let gone: Vec<Arc<Dentry>> = {
            let mut s = self.inner.lock();
            let mut gone = Vec::new();
            if wanted >= s.slots.len() {
                for at in 0..s.slots.len() {
                    if let Some(d) = s.take(at) {
                        let _ = gone.try_reserve(1);
                        if gone.len() < gone.capacity() {
                            gone.push(d);
                        }
                    }
                }
                s.slots = Vec::new();
                s.hand = 0;
            } else {
                let len = s.slots.len();
                let _ = gone.try_reserve(wanted);
                // Two turns at most: the first clears the flags.
                for _ in 0..2 * len {
                    if gone.len() >= wanted.min(gone.capacity()) {
                        break;
                    }
                    let hand = s.hand % len;
                    s.hand = (hand + 1) % len;
                    let referenced = s.slots[hand].as_ref().map(|d| d.referenced.swap(false, Ordering::Relaxed));
                    if referenced == Some(false) {
                        if let Some(d) = s.take(hand) {
                            gone.push(d);
                        }
                    }
                }
            }
            self.count.fetch_sub(gone.len(), Ordering::Relaxed);
            gone
        };
        let n = gone.len();
        drop(gone);
        n
    }

    /// Changes how many dentries may be kept (at least 0); a smaller capacity lets the
    /// excess go.
    pub(crate) fn set_capacity(&self, capacity: usize) {
        let excess = {
            let mut s = self.inner.lock();
            s.capacity = capacity;
            s.slots.len().saturating_sub(capacity)
        };
        if excess > 0 {
            self.shrink(usize::MAX);
        }
    }

    /// How many dentries are kept.
    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inode::FileSystem;
    use crate::tmpfs::{TmpFs, TmpFsOptions};

    fn dentries(n: usize) -> Vec<Arc<Dentry>> {
        let fs = TmpFs::new(1, TmpFsOptions::default());
        (0..n).map(|_| Dentry::new_root(fs.root())).collect()
    }

    /// The set is bounded; a referenced entry gets a second chance; forget and clear let go.
    #[test]
    fn clock_keeps_referenced_entries() {
        let r = Recent::new();
        let d = dentries(RECENT_SLOTS + 8);
        for x in &d[..RECENT_SLOTS] {
            r.keep(x);
        }
        assert_eq!(r.len(), RECENT_SLOTS);
        d[0].referenced.store(true, Ordering::Relaxed);
        r.keep(&d[RECENT_SLOTS]);
        assert_eq!(r.len(), RECENT_SLOTS);
        // d[0] was skipped (and its flag cleared); d[1] was evicted in its place.
        assert_eq!(Arc::strong_count(&d[0]), 2);
        assert_eq!(Arc::strong_count(&d[1]), 1);
        assert!(!d[0].referenced.load(Ordering::Relaxed));
        r.forget(&d[0]);
        assert_eq!(Arc::strong_count(&d[0]), 1);
        assert_eq!(r.len(), RECENT_SLOTS - 1);
        // The hand moves on: the next entry replaces d[2], the emptied slot waits for its turn.
        r.keep(&d[RECENT_SLOTS + 1]);
        assert_eq!(Arc::strong_count(&d[2]), 1);
        assert_eq!(r.len(), RECENT_SLOTS - 1);
        r.clear();
        assert_eq!(r.len(), 0);
        assert!(d.iter().all(|x| Arc::strong_count(x) == 1));
    }

    /// A larger capacity keeps more; shrink lets unreferenced entries go first; forget finds
    /// its slot directly; a smaller capacity lets everything go.
    #[test]
    fn capacity_shrink_and_forget() {
        let r = Recent::new();
        r.set_capacity(1000);
        let d = dentries(1000);
        for x in &d {
            r.keep(x);
            r.keep(x);
        }
        assert_eq!(r.len(), 1000);
        assert!(d.iter().all(|x| Arc::strong_count(x) == 2));
        d[5].referenced.store(true, Ordering::Relaxed);
        assert_eq!(r.shrink(10), 10);
        assert_eq!(r.len(), 990);
        assert_eq!(Arc::strong_count(&d[5]), 2, "a referenced entry gets a second chance");
        r.forget(&d[999]);
        r.forget(&d[999]);
        assert_eq!(Arc::strong_count(&d[999]), 1);
        assert_eq!(r.len(), 989);
        r.set_capacity(64);
        assert_eq!(r.len(), 0);
        assert!(d.iter().all(|x| Arc::strong_count(x) == 1));
        r.keep(&d[1]);
        assert_eq!(r.len(), 1);
    }
}
