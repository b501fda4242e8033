//! Intrusive LIFO list of free objects: the first word of each free object points to the next.
//!
//! Used by the per-CPU caches of tier 1 and as the batch that moves objects between tiers.

use core::ptr::{self, NonNull};

/// A singly linked LIFO list of free objects, with its length.
///
/// Invariant: `head` is null or the first of exactly `len` free objects, each at least
/// [`LINK_BYTES`](crate::poison::LINK_BYTES) long, pointer-aligned, exclusively owned by the
/// list, whose first word holds the next object (null for the last one).
pub(crate) struct FreeList {
    head: *mut u8,
    len: usize,
}

impl FreeList {
    /// An empty list.
    pub(crate) const fn new() -> Self {
        Self {
            head: ptr::null_mut(),
            len: 0,
        }
    }

    /// Number of objects in the list.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// Adds `obj` at the front.
    ///
    /// # Safety
    /// `obj` must be a free object that the caller owns and hands over to the list: at least
    /// one word long, pointer-aligned, writable, and not in any list.
    #[inline]
    pub(crate) unsafe fn push(&mut self, obj: NonNull<u8>) {
        // SAFETY: the caller guarantees `obj` is an owned, aligned, writable word.
        unsafe { obj.as_ptr().cast::<*mut u8>().write(self.head) };
        self.head = obj.as_ptr();
        self.len += 1;
    }

    /// Removes and returns the front object (the most recently pushed one).
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<NonNull<u8>> {
        let obj = NonNull::new(self.head)?;
        // SAFETY: by the list invariant `obj` is a free object owned by the list whose first
        // word holds the next object.
        self.head = unsafe { obj.as_ptr().cast::<*mut u8>().read() };
        self.len -= 1;
        Some(obj)
    }

    /// Splits the list after its first `keep` objects and returns the rest (empty if the list
    /// has at most `keep` objects). The most recently pushed, cache-hot objects stay.
    #[cold]
    #[inline(never)]
    pub(crate) fn split_off(&mut self, keep: usize) -> FreeList {
        if self.len <= keep {
            return FreeList::new();
        }
        if keep == 0 {
            return core::mem::replace(self, FreeList::new());
        }
        let mut last = self.head;
        for _ in 1..keep {
            // SAFETY: `last` is one of the first `keep - 1 < len` objects, so it is a valid
            // free object of the list whose link word holds the next one.
            last = unsafe { last.cast::<*mut u8>().read() };
        }
        // SAFETY: `last` is the `keep`-th object (valid, owned by the list); its link is the
        // head of the rest, which we detach by storing null.
        let rest = unsafe { last.cast::<*mut u8>().replace(ptr::null_mut()) };
        let rest_len = self.len - keep;
        self.len = keep;
        FreeList {
            head: rest,
            len: rest_len,
        }
    }

    /// Moves every object of `other` to the front of `self`.
    pub(crate) fn append(&mut self, other: &mut FreeList) {
        while let Some(obj) = other.pop() {
            // SAFETY: `obj` was just removed from `other`, so it is a free object owned by
            // nobody else, meeting the list invariant.
            unsafe { self.push(obj) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn objs(n: usize) -> Vec<[usize; 2]> {
        std::vec![[0usize; 2]; n]
    }

    fn list_of(store: &mut [[usize; 2]]) -> FreeList {
        let mut l = FreeList::new();
        for o in store.iter_mut() {
            // SAFETY: each element is a distinct, aligned, two-word buffer owned by the test.
            unsafe { l.push(NonNull::from(o).cast()) };
        }
        l
    }

    #[test]
    fn lifo_order_and_len() {
        let mut store = objs(3);
        let addrs: Vec<*mut u8> = store
            .iter_mut()
            .map(|o| (o as *mut [usize; 2]).cast())
            .collect();
        let mut l = list_of(&mut store);
        assert_eq!(l.len(), 3);
        assert_eq!(l.pop().unwrap().as_ptr(), addrs[2]);
        assert_eq!(l.pop().unwrap().as_ptr(), addrs[1]);
        assert_eq!(l.pop().unwrap().as_ptr(), addrs[0]);
        assert!(l.pop().is_none());
        assert!(l.is_empty());
    }

    #[test]
    fn split_off_keeps_the_front() {
        for keep in 0..6 {
            let mut store = objs(5);
            let mut l = list_of(&mut store);
            let mut rest = l.split_off(keep);
            assert_eq!(l.len(), keep.min(5));
            assert_eq!(rest.len(), 5 - keep.min(5));
            let mut n = 0;
            while l.pop().is_some() {
                n += 1;
            }
            while rest.pop().is_some() {
                n += 1;
            }
            assert_eq!(n, 5);
        }
    }

    #[test]
    fn append_moves_everything() {
        let mut a_store = objs(2);
        let mut b_store = objs(3);
        let mut a = list_of(&mut a_store);
        let mut b = list_of(&mut b_store);
        a.append(&mut b);
        assert_eq!((a.len(), b.len()), (5, 0));
        assert!(b.is_empty());
    }
}
