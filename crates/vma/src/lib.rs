//! `exo-vma`: the map of a process's virtual memory areas, the data structure behind the
//! kernel's `mmap`, `munmap`, `mprotect`, `mremap` and `brk`, and the page-fault handler's
//! "is this address mapped, and how?" question. It is pure bookkeeping: the kernel does the
//! page-table work, using the pieces this crate hands back (removed areas, changed ranges).
//!
//! # Model
//!
//! An [`AreaMap`] holds [`Area`]s: page-aligned, non-empty, non-overlapping ranges
//! `[start, end)` below [`USER_END`], each with a protection ([`Prot`]), a sharing mode
//! ([`Share`]), a [`Kind`] and an optional backing `B` (for example a file handle plus an
//! offset). The backing type implements [`Backing`], which says how a backing splits
//! ([`Backing::advanced`]) and when two backings are one continuous run
//! ([`Backing::continues`]); `()` implements it for anonymous-only users.
//!
//! The map is always *maximally merged*: two adjacent areas (`a.end == b.start`) are never
//! both of the same prot, share and kind with backings that are both `None` or where
//! `a.backing` continues into `b.backing`. Every operation splits areas where a range
//! starts or ends inside them (the right part's backing is `advanced` by the split offset)
//! and merges again around what it changed. [`AreaMap::check_invariants`] verifies all this.
//!
//! # Operations
//!
//! - `mmap`: [`AreaMap::find_free`] (hint, then top-down) and [`AreaMap::insert`]
//!   (`replace` for `MAP_FIXED`, returning what it displaced);
//! - `munmap`: [`AreaMap::remove`]; `mprotect`: [`AreaMap::protect`];
//! - `mremap`: [`AreaMap::resize`] in place, else [`AreaMap::take_range`] + `insert`;
//! - `brk`: [`AreaMap::set_brk`]; stack faults: [`AreaMap::grow_stack`];
//! - page faults and `/proc/self/maps`: [`AreaMap::find`], [`AreaMap::iter`].
//!
//! # Arguments
//!
//! Addresses and lengths come straight from user space, so nothing here panics and all
//! arithmetic is checked. Range arguments `(start, len)` follow Linux: `start` must be
//! page-aligned ([`VmaError::Unaligned`]), `len` must be non-zero ([`VmaError::Empty`]) and
//! is rounded up to whole pages, `start + len` must not overflow ([`VmaError::Overflow`])
//! and must not exceed [`USER_END`] ([`VmaError::OutOfRange`]). A refused call changes
//! nothing.
//!
//! # Example
//!
//! (Kept in sync with the unit test `tests::crate_doc_example`.)
//!
//! ```
//! use exo_vma::{Area, AreaMap, Kind, Prot, Share, PAGE};
//!
//! let mut map: AreaMap<()> = AreaMap::new();
//! let rw = Prot { read: true, write: true, exec: false };
//! let at = map.find_free(4 * PAGE, None, 0x1_0000, 0x4000_0000).unwrap();
//! assert_eq!(at, 0x4000_0000 - 4 * PAGE);
//! let area = Area { start: at, end: at + 4 * PAGE, prot: rw, share: Share::Private,
//!                   kind: Kind::Anonymous, backing: None };
//! assert!(map.insert(area, false).unwrap().is_empty());
//!
//! // mprotect the second page read-only: the area splits in three.
//! let changed = map.protect(at + PAGE, PAGE, Prot { write: false, ..rw }).unwrap();
//! assert_eq!(changed, [(at + PAGE, at + 2 * PAGE, rw)]);
//! assert_eq!(map.len(), 3);
//! // ... and back: the three pieces merge again.
//! map.protect(at, 4 * PAGE, rw).unwrap();
//! assert_eq!(map.len(), 1);
//!
//! // munmap the middle two pages: the kernel unmaps the pages of the returned pieces.
//! let removed = map.remove(at + PAGE, 2 * PAGE).unwrap();
//! assert_eq!((removed[0].start, removed[0].end), (at + PAGE, at + 3 * PAGE));
//! assert_eq!(map.total_size(), 2 * PAGE);
//! assert!(map.check_invariants().is_ok());
//! ```

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod fault;
mod grow;
mod invariants;
mod map;
mod range;
mod search;
#[cfg(test)]
mod tests;
mod types;

pub use map::AreaMap;
pub use types::{Area, Backing, Kind, Prot, ResizeOutcome, Share, VmaError};

/// The page size: every area starts and ends on a multiple of it (the ABI's).
pub const PAGE: u64 = exo_abi::mman::PAGE_SIZE;

/// Exclusive end of the mappable user addresses (the ABI's `USER_END`, Linux's `TASK_SIZE`).
pub use exo_abi::mman::USER_END;
