//! Constants and records of the less common file calls: `fcntl` owners (`F_SETOWN_EX`),
//! the pipe size limit, `memfd_create` flags, `fallocate` modes, `fadvise64` advice,
//! `sync_file_range` flags and the legacy `getdents` record.

use bytemuck::{Pod, Zeroable};

/// `struct f_owner_ex` types.
pub const F_OWNER_TID: i32 = 0;
pub const F_OWNER_PID: i32 = 1;
pub const F_OWNER_PGRP: i32 = 2;

/// `struct f_owner_ex` (`F_SETOWN_EX`/`F_GETOWN_EX`).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct FOwnerEx {
    pub kind: i32,
    pub pid: i32,
}

/// `/proc/sys/fs/pipe-max-size`: the largest `F_SETPIPE_SZ` a non-root user may ask for.
pub const PIPE_MAX_SIZE: usize = 1 << 20;

/// `memfd_create` flags.
pub const MFD_CLOEXEC: u32 = 0x0001;
pub const MFD_ALLOW_SEALING: u32 = 0x0002;
pub const MFD_HUGETLB: u32 = 0x0004;
pub const MFD_NOEXEC_SEAL: u32 = 0x0008;
pub const MFD_EXEC: u32 = 0x0010;
/// The longest `memfd_create` name (`NAME_MAX` minus the `memfd:` prefix).
pub const MFD_NAME_MAX: usize = 249;

/// `fallocate` modes.
pub const FALLOC_FL_KEEP_SIZE: u32 = 0x01;
pub const FALLOC_FL_PUNCH_HOLE: u32 = 0x02;
pub const FALLOC_FL_NO_HIDE_STALE: u32 = 0x04;
pub const FALLOC_FL_COLLAPSE_RANGE: u32 = 0x08;
pub const FALLOC_FL_ZERO_RANGE: u32 = 0x10;
pub const FALLOC_FL_INSERT_RANGE: u32 = 0x20;
pub const FALLOC_FL_UNSHARE_RANGE: u32 = 0x40;

/// `fadvise64` advice.
pub const POSIX_FADV_NORMAL: u32 = 0;
pub const POSIX_FADV_RANDOM: u32 = 1;
pub const POSIX_FADV_SEQUENTIAL: u32 = 2;
pub const POSIX_FADV_WILLNEED: u32 = 3;
pub const POSIX_FADV_DONTNEED: u32 = 4;
pub const POSIX_FADV_NOREUSE: u32 = 5;

/// `sync_file_range` flags.
pub const SYNC_FILE_RANGE_WAIT_BEFORE: u32 = 1;
pub const SYNC_FILE_RANGE_WRITE: u32 = 2;
pub const SYNC_FILE_RANGE_WAIT_AFTER: u32 = 4;

/// The fixed part of the legacy `struct linux_dirent` (`getdents`): `d_ino`, `d_off`,
/// `d_reclen`, then the name, a NUL, padding and `d_type` in the record's last byte.
pub const LINUX_DIRENT_HEADER: usize = 18;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_linux() {
        assert_eq!(core::mem::size_of::<FOwnerEx>(), 8);
        assert_eq!((MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB), (1, 2, 4));
        assert_eq!((FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE), (1, 2, 16));
        assert_eq!((POSIX_FADV_WILLNEED, POSIX_FADV_NOREUSE), (3, 5));
    }
}
