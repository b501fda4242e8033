//! Memory-mapping constants: `mmap` protections and flags, `mremap`, `madvise`, `msync`,
//! `mlock`. All are `u32`, like the C constants: every value fits in 32 bits, so the kernel
//! truncates (after rejecting or ignoring high bits as Linux does) before testing them.

/// The page size of x86-64 Linux: every mapping starts and ends on a multiple of it.
pub const PAGE_SIZE: u64 = 4096;
/// Exclusive end of the addresses a user program can use (Linux's `TASK_SIZE`: the lower
/// canonical half without its last page). Every user-address check of the kernel and its
/// crates (copies, mappings, ELF segments, signal handlers) uses this one value.
pub const USER_END: u64 = 0x0000_7fff_ffff_f000;

pub const PROT_NONE: u32 = 0x0;
pub const PROT_READ: u32 = 0x1;
pub const PROT_WRITE: u32 = 0x2;
pub const PROT_EXEC: u32 = 0x4;
pub const PROT_SEM: u32 = 0x8;
/// `mprotect`: extend the change down to the start of a grows-down mapping.
pub const PROT_GROWSDOWN: u32 = 0x0100_0000;
pub const PROT_GROWSUP: u32 = 0x0200_0000;

pub const MAP_SHARED: u32 = 0x01;
pub const MAP_PRIVATE: u32 = 0x02;
/// Like `MAP_SHARED`, but unknown flags are an error (`EOPNOTSUPP`) instead of ignored.
pub const MAP_SHARED_VALIDATE: u32 = 0x03;
/// Mask of the mapping type (`MAP_SHARED`, `MAP_PRIVATE`, `MAP_SHARED_VALIDATE`).
pub const MAP_TYPE: u32 = 0x0f;
pub const MAP_FIXED: u32 = 0x10;
pub const MAP_ANONYMOUS: u32 = 0x20;
pub const MAP_ANON: u32 = MAP_ANONYMOUS;
/// x86-64 only: map in the low 2 GiB.
pub const MAP_32BIT: u32 = 0x40;
pub const MAP_GROWSDOWN: u32 = 0x0100;
/// Ignored by Linux.
pub const MAP_DENYWRITE: u32 = 0x0800;
/// Ignored by Linux.
pub const MAP_EXECUTABLE: u32 = 0x1000;
pub const MAP_LOCKED: u32 = 0x2000;
pub const MAP_NORESERVE: u32 = 0x4000;
pub const MAP_POPULATE: u32 = 0x8000;
pub const MAP_NONBLOCK: u32 = 0x1_0000;
pub const MAP_STACK: u32 = 0x2_0000;
pub const MAP_HUGETLB: u32 = 0x4_0000;
pub const MAP_SYNC: u32 = 0x8_0000;
pub const MAP_FIXED_NOREPLACE: u32 = 0x10_0000;
pub const MAP_UNINITIALIZED: u32 = 0x400_0000;
/// Shift of the huge-page size (log2) encoded in the flags with `MAP_HUGETLB`.
pub const MAP_HUGE_SHIFT: u32 = 26;
pub const MAP_HUGE_MASK: u32 = 0x3f;

pub const MREMAP_MAYMOVE: u32 = 1;
pub const MREMAP_FIXED: u32 = 2;
pub const MREMAP_DONTUNMAP: u32 = 4;

pub const MADV_NORMAL: u32 = 0;
pub const MADV_RANDOM: u32 = 1;
pub const MADV_SEQUENTIAL: u32 = 2;
pub const MADV_WILLNEED: u32 = 3;
pub const MADV_DONTNEED: u32 = 4;
pub const MADV_FREE: u32 = 8;
pub const MADV_REMOVE: u32 = 9;
pub const MADV_DONTFORK: u32 = 10;
pub const MADV_DOFORK: u32 = 11;
pub const MADV_MERGEABLE: u32 = 12;
pub const MADV_UNMERGEABLE: u32 = 13;
pub const MADV_HUGEPAGE: u32 = 14;
pub const MADV_NOHUGEPAGE: u32 = 15;
pub const MADV_DONTDUMP: u32 = 16;
pub const MADV_DODUMP: u32 = 17;
pub const MADV_WIPEONFORK: u32 = 18;
pub const MADV_KEEPONFORK: u32 = 19;
pub const MADV_COLD: u32 = 20;
pub const MADV_PAGEOUT: u32 = 21;
pub const MADV_POPULATE_READ: u32 = 22;
pub const MADV_POPULATE_WRITE: u32 = 23;
pub const MADV_DONTNEED_LOCKED: u32 = 24;
pub const MADV_COLLAPSE: u32 = 25;
pub const MADV_HWPOISON: u32 = 100;
pub const MADV_SOFT_OFFLINE: u32 = 101;

pub const MS_ASYNC: u32 = 1;
pub const MS_INVALIDATE: u32 = 2;
pub const MS_SYNC: u32 = 4;

/// `mlockall` flags.
pub const MCL_CURRENT: u32 = 1;
pub const MCL_FUTURE: u32 = 2;
pub const MCL_ONFAULT: u32 = 4;
/// `mlock2` flag.
pub const MLOCK_ONFAULT: u32 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_linux() {
        assert_eq!((PROT_READ | PROT_WRITE | PROT_EXEC), 7);
        assert_eq!(
            (MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS),
            (1, 2, 0x10, 0x20)
        );
        assert_eq!(
            (MAP_NORESERVE, MAP_POPULATE, MAP_STACK),
            (0x4000, 0x8000, 0x20000)
        );
        assert_eq!(MAP_FIXED_NOREPLACE, 0x100000);
        assert_eq!((MADV_DONTNEED, MADV_FREE, MADV_COLLAPSE), (4, 8, 25));
        assert_eq!((MS_ASYNC, MS_INVALIDATE, MS_SYNC), (1, 2, 4));
        assert_eq!(MAP_SHARED_VALIDATE & MAP_TYPE, 3);
    }
}
