//! Debug poisoning of slab objects (only with `cfg(debug_assertions)`; no-ops otherwise).
//!
//! - A freed object is filled with [`FREED`] except its first word, which holds the free-list
//!   link. When it is handed out again the fill is checked: a mismatch means someone wrote to
//!   the object after freeing it, and the heap panics with the object's address.
//! - A newly carved object (never handed out before) is filled with [`FRESH`], so code that
//!   reads memory it never initialized sees an unmistakable pattern.

/// Fill byte of freed objects (all bytes but the free-list link word).
pub const FREED: u8 = 0xDE;
/// Fill byte of newly carved slab objects.
pub const FRESH: u8 = 0xA5;
/// Bytes at the start of a free object that hold the free-list link and are not poisoned.
pub const LINK_BYTES: usize = core::mem::size_of::<usize>();

/// Fills a freshly carved object of `size` bytes with [`FRESH`].
///
/// # Safety
/// `obj` must be valid for writes of `size` bytes and owned by the caller.
#[inline]
pub unsafe fn fresh(obj: *mut u8, size: usize) {
    if cfg!(debug_assertions) {
        // SAFETY: the caller guarantees `obj..obj + size` is writable and exclusively owned.
        unsafe { obj.write_bytes(FRESH, size) };
    }
}

/// Fills a freed object of `size` bytes with [`FREED`], leaving the link word alone.
///
/// # Safety
/// `obj` must be valid for writes of `size >= LINK_BYTES` bytes and owned by the caller.
#[inline]
pub unsafe fn freed(obj: *mut u8, size: usize) {
    if cfg!(debug_assertions) {
        // SAFETY: `LINK_BYTES <= size` and the caller guarantees the object is writable.
        unsafe { obj.add(LINK_BYTES).write_bytes(FREED, size - LINK_BYTES) };
    }
}

/// Checks, before a free object of `size` bytes is handed out again, that the bytes after its
/// link word still hold one of the two poison patterns; panics (debug builds only) if not.
///
/// # Safety
/// `obj` must be valid for reads of `size >= LINK_BYTES` bytes, initialized (every free object
/// was poisoned) and owned by the caller.
#[inline]
pub unsafe fn check(obj: *mut u8, size: usize) {
    if cfg!(debug_assertions) {
        // SAFETY: the caller guarantees the bytes are readable, initialized and not aliased
        // mutably elsewhere while the slice lives.
        let body = unsafe { core::slice::from_raw_parts(obj.add(LINK_BYTES), size - LINK_BYTES) };
        let first = body.first().copied().unwrap_or(FREED);
        if (first != FREED && first != FRESH) || body.iter().any(|&b| b != first) {
            panic!("exo-heap: free object at {obj:p} ({size} bytes) was written after free");
        }
    }
}
