//! Slabs: naturally aligned 64 KiB blocks from the page source, cut into objects of one class.
//!
//! ```text
//!  base (aligned to SLAB_SIZE)
//!  | SlabHeader | pad to class size | obj 0 | obj 1 | ... | obj capacity-1 |  (SLAB_SIZE bytes)
//! ```
//!
//! The header of the slab holding any object is `obj & !(SLAB_SIZE - 1)`. Objects start at
//! `max(HEADER_SIZE, class size)` and are aligned to the class size. Objects are carved lazily:
//! `carved` counts those ever handed out; the others have never been touched. A returned object
//! goes on the slab's free list (link in its first word).
//!
//! Concurrency: the mutable fields of a header belong to the tier-2 state of the owning CPU and
//! are only touched under that CPU's tier-2 lock. `owner`, `class` and `magic` are written once
//! before the slab is published and only read afterwards (any CPU holding one of the slab's
//! objects may read them without the lock). All accesses go through raw pointers, field by
//! field: no `&`/`&mut` to a whole header is ever created, so a reader of `owner` on another
//! CPU never aliases a reference held by the owner.

use core::ptr::{self, NonNull};

use crate::class::{class_size, PAGE_SIZE};
use crate::poison;

/// Page order of a slab: `PAGE_SIZE << SLAB_ORDER` bytes.
pub const SLAB_ORDER: u32 = 4;
/// Size (and alignment) of a slab in bytes: 64 KiB.
pub const SLAB_SIZE: usize = PAGE_SIZE << SLAB_ORDER;
/// Bytes reserved for the header at the start of a slab.
pub const HEADER_SIZE: usize = 64;
/// Value of [`SlabHeader::magic`] in a live slab (checked by debug assertions).
const MAGIC: usize = 0x5EAB_5EAB_0E40_0000;

/// The header at the start of every slab.
#[repr(C)]
pub(crate) struct SlabHeader {
    /// [`MAGIC`] while the slab is live; cleared before the slab goes back to the page source.
    magic: usize,
    /// Next slab in the list this slab is on (null at the end).
    next: *mut SlabHeader,
    /// Previous slab in the list (null at the front).
    prev: *mut SlabHeader,
    /// Free list of returned objects.
    free: *mut u8,
    /// Index of the CPU whose tier-2 state owns the slab. Immutable.
    owner: usize,
    /// Size class index. Immutable.
    class: u32,
    /// Objects currently handed out (to callers or to a tier-1 cache).
    in_use: u32,
    /// Objects carved so far (the next never-used object is `carved`).
    carved: u32,
    /// Number of objects in the slab.
    capacity: u32,
    /// Kind of the list the slab is on ([`ON_NO_LIST`] if none); checked by debug assertions.
    list: u8,
}

/// [`SlabHeader::list`] of a slab on no list.
const ON_NO_LIST: u8 = 0;
/// Kinds of slab lists (what [`SlabList::new`] takes).
pub(crate) const PARTIAL: u8 = 1;
/// See [`PARTIAL`].
pub(crate) const FULL: u8 = 2;
/// See [`PARTIAL`].
pub(crate) const EMPTY: u8 = 3;

const _: () = assert!(core::mem::size_of::<SlabHeader>() <= HEADER_SIZE);

/// Offset of object 0 of class `class` from the slab base.
#[inline]
const fn first_offset(class: usize) -> usize {
    let size = class_size(class);
    if size > HEADER_SIZE {
        size
    } else {
        HEADER_SIZE
    }
}

/// Number of objects of class `class` in a slab.
pub const fn capacity(class: usize) -> usize {
    (SLAB_SIZE - first_offset(class)) / class_size(class)
}

/// Header of the slab holding `obj` (pure address arithmetic; keeps `obj`'s provenance, which
/// covers the whole slab since objects are derived from the slab's base pointer).
#[inline]
pub(crate) fn header_of(obj: NonNull<u8>) -> *mut SlabHeader {
    obj.as_ptr().map_addr(|a| a & !(SLAB_SIZE - 1)).cast()
}

/// Turns a fresh block of `SLAB_SIZE` bytes into an empty slab of class `class` owned by CPU
/// `owner`, and returns its header.
///
/// # Safety
/// `base` must be aligned to `SLAB_SIZE`, valid for writes of `SLAB_SIZE` bytes and exclusively
/// owned by the caller, who hands it over to the slab.
pub(crate) unsafe fn init(base: NonNull<u8>, class: usize, owner: usize) -> *mut SlabHeader {
    debug_assert_eq!(base.as_ptr() as usize % SLAB_SIZE, 0);
    let header = base.as_ptr().cast::<SlabHeader>();
    // SAFETY: `base` is writable, owned and aligned to SLAB_SIZE, which satisfies the header's
    // alignment; the header fits in the first HEADER_SIZE bytes.
    unsafe {
        header.write(SlabHeader {
            magic: MAGIC,
            next: ptr::null_mut(),
            prev: ptr::null_mut(),
            free: ptr::null_mut(),
            owner,
            class: class as u32,
            in_use: 0,
            carved: 0,
            capacity: capacity(class) as u32,
            list: ON_NO_LIST,
        })
    };
    header
}

/// Marks a slab dead (debug aid) and returns its base for the page source.
///
/// # Safety
/// `slab` must be a live slab with no object in use, on no list, whose owner's lock is held.
pub(crate) unsafe fn retire(slab: *mut SlabHeader) -> NonNull<u8> {
    // SAFETY: the caller guarantees `slab` is a live header under the owner's lock.
    unsafe {
        debug_assert_eq!((*slab).in_use, 0);
        (*slab).magic = 0;
    }
    // SAFETY: a slab header is never null (it is the base of a block from the page source).
    unsafe { NonNull::new_unchecked(slab.cast()) }
}

/// Owner CPU of a live slab.
///
/// # Safety
/// `slab` must be the header of a live slab (e.g. the caller holds one of its objects).
#[inline]
pub(crate) unsafe fn owner(slab: *mut SlabHeader) -> usize {
    // SAFETY: `owner` and `magic` are immutable while the slab is live, so reading them
    // without the owner's lock races with no write.
    unsafe {
        debug_assert_eq!((*slab).magic, MAGIC, "exo-heap: pointer not in a live slab");
        (*slab).owner
    }
}

/// Class of a live slab.
///
/// # Safety
/// As for [`owner`].
#[inline]
pub(crate) unsafe fn class(slab: *mut SlabHeader) -> usize {
    // SAFETY: `class` is immutable while the slab is live.
    unsafe { (*slab).class as usize }
}

/// Objects of the slab currently in use.
///
/// # Safety
/// `slab` must be live and its owner's tier-2 lock held by the caller.
#[inline]
pub(crate) unsafe fn in_use(slab: *mut SlabHeader) -> usize {
    // SAFETY: guaranteed by the caller.
    unsafe { (*slab).in_use as usize }
}

/// Whether every object of the slab is in use.
///
/// # Safety
/// As for [`in_use`].
#[inline]
pub(crate) unsafe fn is_full(slab: *mut SlabHeader) -> bool {
    // SAFETY: guaranteed by the caller.
    unsafe { (*slab).in_use == (*slab).capacity }
}

/// Takes one object from the slab: from its free list, else by carving a new one. Returns
/// `None` if the slab is full.
///
/// # Safety
/// `slab` must be live and its owner's tier-2 lock held by the caller.
pub(crate) unsafe fn take(slab: *mut SlabHeader) -> Option<NonNull<u8>> {
    // SAFETY: the caller holds the owner's lock, so every mutable field is ours to use; the
    // free list only holds free objects of this slab (each `size` bytes, poisoned).
    unsafe {
        debug_assert_eq!((*slab).magic, MAGIC);
        let size = class_size((*slab).class as usize);
        let obj = if let Some(obj) = NonNull::new((*slab).free) {
            poison::check(obj.as_ptr(), size);
            (*slab).free = obj.as_ptr().cast::<*mut u8>().read();
            obj
        } else if (*slab).carved < (*slab).capacity {
            let offset = first_offset((*slab).class as usize) + (*slab).carved as usize * size;
            // Derived from the slab base, so it keeps the whole block's provenance.
            let obj = slab.cast::<u8>().add(offset);
            (*slab).carved += 1;
            poison::fresh(obj, size);
            NonNull::new_unchecked(obj)
        } else {
            return None;
        };
        (*slab).in_use += 1;
        Some(obj)
    }
}

/// Returns `obj` to its slab's free list.
///
/// # Safety
/// `slab` must be live, its owner's tier-2 lock held by the caller, and `obj` an object of this
/// slab that is in use and that the caller hands back (poisoned already if wanted).
pub(crate) unsafe fn give_back(slab: *mut SlabHeader, obj: NonNull<u8>) {
    // SAFETY: guaranteed by the caller; the object is at least one word and aligned.
    unsafe {
        debug_assert_eq!((*slab).magic, MAGIC);
        debug_assert!((*slab).in_use > 0, "exo-heap: double free at {obj:p}");
        obj.as_ptr().cast::<*mut u8>().write((*slab).free);
        (*slab).free = obj.as_ptr();
        (*slab).in_use -= 1;
    }
}

/// A doubly linked list of slabs (through their headers), with its length.
///
/// Invariant: every slab on the list is live, belongs to the tier-2 state holding the list and
/// is on no other list (its `list` field is this list's `kind`); `prev`/`next` links are
/// consistent.
pub(crate) struct SlabList {
    head: *mut SlabHeader,
    len: usize,
    kind: u8,
}

impl SlabList {
    /// An empty list of kind `kind` ([`PARTIAL`], [`FULL`] or [`EMPTY`]).
    pub(crate) const fn new(kind: u8) -> Self {
        Self {
            head: ptr::null_mut(),
            len: 0,
            kind,
        }
    }

    /// Number of slabs on the list.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// First slab, or null.
    pub(crate) fn first(&self) -> *mut SlabHeader {
        self.head
    }

    /// Adds `slab` at the front.
    ///
    /// # Safety
    /// `slab` must be live, owned by this list's tier-2 state (lock held) and on no list.
    pub(crate) unsafe fn push_front(&mut self, slab: *mut SlabHeader) {
        // SAFETY: `slab` and the current head (if any) are live headers under our lock.
        unsafe {
            debug_assert_eq!((*slab).list, ON_NO_LIST, "exo-heap: slab already on a list");
            (*slab).list = self.kind;
            (*slab).prev = ptr::null_mut();
            (*slab).next = self.head;
            if !self.head.is_null() {
                (*self.head).prev = slab;
            }
        }
        self.head = slab;
        self.len += 1;
    }

    /// Unlinks `slab`.
    ///
    /// # Safety
    /// `slab` must be on this list (lock held).
    pub(crate) unsafe fn remove(&mut self, slab: *mut SlabHeader) {
        // SAFETY: `slab` and its neighbours are live headers on this list, under our lock.
        unsafe {
            debug_assert_eq!((*slab).list, self.kind, "exo-heap: slab not on this list");
            (*slab).list = ON_NO_LIST;
            let (prev, next) = ((*slab).prev, (*slab).next);
            if prev.is_null() {
                debug_assert_eq!(self.head, slab);
                self.head = next;
            } else {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
            (*slab).prev = ptr::null_mut();
            (*slab).next = ptr::null_mut();
        }
        self.len -= 1;
    }

    /// Unlinks and returns the first slab, or null if the list is empty.
    pub(crate) fn pop_front(&mut self) -> *mut SlabHeader {
        let slab = self.head;
        if !slab.is_null() {
            // SAFETY: `slab` is the head of this list.
            unsafe { self.remove(slab) };
        }
        slab
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class::CLASS_COUNT;

    #[test]
    fn capacities() {
        assert_eq!(capacity(0), (SLAB_SIZE - 64) / 16);
        assert_eq!(capacity(2), 1023);
        assert_eq!(capacity(4), 255);
        assert_eq!(capacity(8), 15);
        for class in 0..CLASS_COUNT {
            let end = first_offset(class) + capacity(class) * class_size(class);
            assert!(end <= SLAB_SIZE && SLAB_SIZE - end < class_size(class));
            assert_eq!(first_offset(class) % class_size(class), 0);
        }
    }
}
