//! The plain types of the area map: protections, sharing modes, kinds, backings, areas,
//! resize outcomes and errors.

use alloc::vec::Vec;
use core::fmt;

/// Access rights of an area (`PROT_READ`, `PROT_WRITE`, `PROT_EXEC`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    /// `PROT_NONE`.
    pub const NONE: Prot = Prot {
        read: false,
        write: false,
        exec: false,
    };
    /// `PROT_READ`.
    pub const READ: Prot = Prot {
        read: true,
        write: false,
        exec: false,
    };
    /// `PROT_READ | PROT_WRITE`.
    pub const READ_WRITE: Prot = Prot {
        read: true,
        write: true,
        exec: false,
    };
    /// `PROT_READ | PROT_EXEC`.
    pub const READ_EXEC: Prot = Prot {
        read: true,
        write: false,
        exec: true,
    };
}

/// Whether writes are private to the process (`MAP_PRIVATE`, copy-on-write for files) or
/// shared with every other mapping of the same object (`MAP_SHARED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Share {
    Private,
    Shared,
}

/// What an area is for. Areas of different kinds never merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Anonymous memory from `mmap`.
    Anonymous,
    /// A stack: grows down on faults just below it ([`crate::AreaMap::grow_stack`]).
    Stack,
    /// The `brk` heap ([`crate::AreaMap::set_brk`]).
    Heap,
    /// A file mapping (its backing says which file and where).
    File,
    /// The vDSO's code (`[vdso]` in /proc/<pid>/maps): kernel pages mapped read+exec.
    Vdso,
    /// The vDSO's data page (`[vvar]`): a kernel page mapped read-only.
    Vvar,
    /// Writable shared pages of a kernel object (a Fusion Ring's, `[fusion]`): populated when
    /// mapped, never grown.
    Fusion,
    /// Read-only shared pages of a kernel object or of a read-only grant: `mprotect` never
    /// makes them writable (EACCES).
    Sealed,
}

/// What backs an area. Generic so that the kernel can store a file handle; it must say how
/// it splits and when two backings are one continuous run.
pub trait Backing: Clone {
    /// The backing of the part starting `offset` bytes into an area backed by `self`.
    fn advanced(&self, offset: u64) -> Self;
    /// Whether `self` followed (after `len` bytes) by `next` is one continuous backing (so
    /// that the two areas may merge).
    fn continues(&self, len: u64, next: &Self) -> bool;
}

/// The trivial backing, for tests and anonymous-only users: always continuous.
impl Backing for () {
    fn advanced(&self, _offset: u64) -> Self {}

    fn continues(&self, _len: u64, _next: &Self) -> bool {
        true
    }
}

/// One virtual memory area: the page-aligned range `[start, end)` with uniform attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Area<B> {
    pub start: u64,
    pub end: u64,
    pub prot: Prot,
    pub share: Share,
    pub kind: Kind,
    /// `None` for anonymous memory; for a file mapping, the file and the offset of `start`.
    pub backing: Option<B>,
}

impl<B> Area<B> {
    /// Size in bytes (`end - start`, zero if the fields are inconsistent).
    pub fn size(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether `addr` lies in `[start, end)`.
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }
}

impl<B: Backing> Area<B> {
    /// The part `[from, to)` of this area (the caller keeps it inside `[start, end)`), with
    /// the backing advanced to `from`.
    pub(crate) fn piece(&self, from: u64, to: u64) -> Self {
        let offset = from.saturating_sub(self.start);
        Area {
            start: from,
            end: to,
            prot: self.prot,
            share: self.share,
            kind: self.kind,
            backing: match &self.backing {
                Some(b) if offset != 0 => Some(b.advanced(offset)),
                other => other.clone(),
            },
        }
    }

    /// Whether `next` directly follows `self` and may merge with it.
    pub(crate) fn merges_with(&self, next: &Self) -> bool {
        self.end == next.start
            && self.prot == next.prot
            && self.share == next.share
            && self.kind == next.kind
            && match (&self.backing, &next.backing) {
                (None, None) => true,
                (Some(a), Some(b)) => a.continues(self.size(), b),
                _ => false,
            }
    }
}

/// What [`crate::AreaMap::resize`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResizeOutcome<B> {
    /// Old and new size are the same number of pages: nothing to do.
    Unchanged,
    /// Shrunk in place; the kernel unmaps the pages of these removed pieces (ascending).
    Shrunk(Vec<Area<B>>),
    /// Grown in place: the area now also covers `[start + old_len, start + new_len)`.
    Grown,
}

/// Why an operation was refused. A refused operation changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmaError {
    /// An address that must be page-aligned is not (Linux `EINVAL`).
    Unaligned,
    /// A length or range is empty (Linux `EINVAL`; note `mprotect` with length 0 succeeds).
    Empty,
    /// The range reaches past [`crate::USER_END`] (Linux `EINVAL` or `ENOMEM`).
    OutOfRange,
    /// The range overlaps an existing area (`MAP_FIXED_NOREPLACE`'s `EEXIST`; a failing
    /// `brk`).
    Exists,
    /// Part of the range is not mapped (`mprotect`'s `ENOMEM`, `mremap`'s `EFAULT`), or there
    /// is no stack to grow.
    Unmapped,
    /// The area cannot grow in place (the kernel may move it, or fail with `ENOMEM`).
    NoRoom,
    /// `start + len`, or rounding a length up to pages, overflows (Linux `EINVAL`/`ENOMEM`).
    Overflow,
}

impl fmt::Display for VmaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unaligned => "address not page-aligned",
            Self::Empty => "empty range",
            Self::OutOfRange => "range beyond user space",
            Self::Exists => "range overlaps an existing area",
            Self::Unmapped => "range not mapped",
            Self::NoRoom => "no room to grow in place",
            Self::Overflow => "address arithmetic overflows",
        })
    }
}
