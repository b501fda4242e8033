//! The namespace's keep-alive set of recently looked-up dentries. A directory caches its
//! children weakly, so a dentry nobody holds dies as soon as its lookup ends and the next
//! lookup of the same name rebuilds it (an inode lookup, two allocations, a cache insert).
//! [`Recent`] holds a bounded number of such dentries strongly so that repeated lookups of the
//! same paths (`stat`, `open` in a loop, a shell's `$PATH` search) hit the cache.
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
use core::sync::atomic::Ordering;

use spin::Mutex;

use super::dentry::Dentry;

/// How many dentries are kept alive.
pub(crate) const RECENT_SLOTS: usize = 64;

struct Slots {
    slots: Vec<Option<Arc<Dentry>>>,
    hand: usize,
}

/// See the module docs.
pub(crate) struct Recent {
    inner: Mutex<Slots>,
}

impl Recent {
    pub(crate) fn new() -> Recent {
        Recent { inner: Mutex::new(Slots { slots: Vec::new(), hand: 0 }) }
    }

    /// Keeps `dentry` alive, evicting the oldest unreferenced entry if the set is full. An
    /// allocation failure while the set grows only means the dentry is not kept.
    pub(crate) fn keep(&self, dentry: &Arc<Dentry>) {
        let evicted = {
            let mut s = self.inner.lock();
            if s.slots.len() < RECENT_SLOTS {
                if s.slots.try_reserve(1).is_ok() {
                    s.slots.push(Some(dentry.clone()));
                }
                return;
            }
            // At most one full turn clears every flag, so this ends within 2 * RECENT_SLOTS.
            loop {
                let hand = s.hand % RECENT_SLOTS;
                s.hand = (hand + 1) % RECENT_SLOTS;
                let slot = &mut s.slots[hand];
                match slot {
                    Some(d) if d.referenced.swap(false, Ordering::Relaxed) => continue,
                    _ => break slot.replace(dentry.clone()),
                }
            }
        };
        drop(evicted);
    }

    /// Stops keeping `dentry` (its name was removed).
    pub(crate) fn forget(&self, dentry: &Dentry) {
        let gone = {
            let mut s = self.inner.lock();
            let found = s.slots.iter_mut().find(|slot| slot.as_ref().is_some_and(|d| core::ptr::eq(&**d, dentry)));
            found.and_then(Option::take)
        };
        drop(gone);
    }

    /// Drops every kept dentry (`umount`).
    pub(crate) fn clear(&self) {
        let all = core::mem::take(&mut self.inner.lock().slots);
        drop(all);
    }

    /// How many dentries are kept (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().slots.iter().filter(|s| s.is_some()).count()
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
}
