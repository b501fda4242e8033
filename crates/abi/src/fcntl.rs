//! File-descriptor and path constants: `open` flags, `fcntl` commands, the `*at` family's
//! `AT_*` values, `renameat2`, `lseek`, `access`, `flock`, and the `struct flock` and
//! `struct open_how` records.

use bytemuck::{Pod, Zeroable};

pub const O_RDONLY: u32 = 0;
pub const O_WRONLY: u32 = 0o1;
pub const O_RDWR: u32 = 0o2;
/// Mask of the access mode (`O_RDONLY`, `O_WRONLY`, `O_RDWR`; 3 is Linux's "no access").
pub const O_ACCMODE: u32 = 0o3;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_NOCTTY: u32 = 0o400;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_NDELAY: u32 = O_NONBLOCK;
pub const O_DSYNC: u32 = 0o10000;
/// Signal-driven I/O (`O_ASYNC`).
pub const FASYNC: u32 = 0o20000;
pub const O_ASYNC: u32 = FASYNC;
pub const O_DIRECT: u32 = 0o40000;
pub const O_LARGEFILE: u32 = 0o100000;
pub const O_DIRECTORY: u32 = 0o200000;
pub const O_NOFOLLOW: u32 = 0o400000;
pub const O_NOATIME: u32 = 0o1000000;
pub const O_CLOEXEC: u32 = 0o2000000;
/// The bit that, with `O_DSYNC`, makes `O_SYNC`.
pub const __O_SYNC: u32 = 0o4000000;
pub const O_SYNC: u32 = __O_SYNC | O_DSYNC;
pub const O_RSYNC: u32 = O_SYNC;
pub const O_PATH: u32 = 0o10000000;
/// The bit that, with `O_DIRECTORY`, makes `O_TMPFILE`.
pub const __O_TMPFILE: u32 = 0o20000000;
pub const O_TMPFILE: u32 = __O_TMPFILE | O_DIRECTORY;

/// Whether an open file's flags allow reading.
pub const fn can_read(flags: u32) -> bool {
    flags & O_PATH == 0 && matches!(flags & O_ACCMODE, O_RDONLY | O_RDWR)
}

/// Whether an open file's flags allow writing.
pub const fn can_write(flags: u32) -> bool {
    flags & O_PATH == 0 && matches!(flags & O_ACCMODE, O_WRONLY | O_RDWR)
}

pub const F_DUPFD: u32 = 0;
pub const F_GETFD: u32 = 1;
pub const F_SETFD: u32 = 2;
pub const F_GETFL: u32 = 3;
pub const F_SETFL: u32 = 4;
pub const F_GETLK: u32 = 5;
pub const F_SETLK: u32 = 6;
pub const F_SETLKW: u32 = 7;
pub const F_SETOWN: u32 = 8;
pub const F_GETOWN: u32 = 9;
pub const F_SETSIG: u32 = 10;
pub const F_GETSIG: u32 = 11;
pub const F_SETOWN_EX: u32 = 15;
pub const F_GETOWN_EX: u32 = 16;
pub const F_GETOWNER_UIDS: u32 = 17;
pub const F_OFD_GETLK: u32 = 36;
pub const F_OFD_SETLK: u32 = 37;
pub const F_OFD_SETLKW: u32 = 38;
/// Base of the Linux-specific commands.
pub const F_LINUX_SPECIFIC_BASE: u32 = 1024;
pub const F_SETLEASE: u32 = 1024;
pub const F_GETLEASE: u32 = 1025;
pub const F_NOTIFY: u32 = 1026;
pub const F_DUPFD_QUERY: u32 = 1027;
pub const F_CREATED_QUERY: u32 = 1028;
pub const F_CANCELLK: u32 = 1029;
pub const F_DUPFD_CLOEXEC: u32 = 1030;
pub const F_SETPIPE_SZ: u32 = 1031;
pub const F_GETPIPE_SZ: u32 = 1032;
pub const F_ADD_SEALS: u32 = 1033;
pub const F_GET_SEALS: u32 = 1034;
pub const F_GET_RW_HINT: u32 = 1035;
pub const F_SET_RW_HINT: u32 = 1036;
pub const F_GET_FILE_RW_HINT: u32 = 1037;
pub const F_SET_FILE_RW_HINT: u32 = 1038;

/// The only descriptor flag (`F_GETFD`/`F_SETFD`).
pub const FD_CLOEXEC: u32 = 1;

/// `l_type` values of `struct flock`.
pub const F_RDLCK: i16 = 0;
pub const F_WRLCK: i16 = 1;
pub const F_UNLCK: i16 = 2;

/// Memfd seals (`F_ADD_SEALS`).
pub const F_SEAL_SEAL: u32 = 0x01;
pub const F_SEAL_SHRINK: u32 = 0x02;
pub const F_SEAL_GROW: u32 = 0x04;
pub const F_SEAL_WRITE: u32 = 0x08;
pub const F_SEAL_FUTURE_WRITE: u32 = 0x10;
pub const F_SEAL_EXEC: u32 = 0x20;

/// `flock(2)` operations.
pub const LOCK_SH: u32 = 1;
pub const LOCK_EX: u32 = 2;
pub const LOCK_NB: u32 = 4;
pub const LOCK_UN: u32 = 8;

/// `dirfd` meaning "the current directory".
pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
/// `faccessat`: check with the effective IDs (same bit as `AT_REMOVEDIR`).
pub const AT_EACCESS: u32 = 0x200;
/// `unlinkat`: remove a directory.
pub const AT_REMOVEDIR: u32 = 0x200;
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
pub const AT_NO_AUTOMOUNT: u32 = 0x800;
pub const AT_EMPTY_PATH: u32 = 0x1000;
/// `statx` synchronisation mask and values.
pub const AT_STATX_SYNC_TYPE: u32 = 0x6000;
pub const AT_STATX_SYNC_AS_STAT: u32 = 0x0000;
pub const AT_STATX_FORCE_SYNC: u32 = 0x2000;
pub const AT_STATX_DONT_SYNC: u32 = 0x4000;
pub const AT_RECURSIVE: u32 = 0x8000;

/// `renameat2` flags.
pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;
pub const RENAME_WHITEOUT: u32 = 4;

/// `lseek` whence values.
pub const SEEK_SET: u32 = 0;
pub const SEEK_CUR: u32 = 1;
pub const SEEK_END: u32 = 2;
pub const SEEK_DATA: u32 = 3;
pub const SEEK_HOLE: u32 = 4;

/// `access` modes.
pub const F_OK: u32 = 0;
pub const X_OK: u32 = 1;
pub const W_OK: u32 = 2;
pub const R_OK: u32 = 4;

/// `close_range` flags.
pub const CLOSE_RANGE_UNSHARE: u32 = 1 << 1;
pub const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

/// `openat2` `resolve` flags.
pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;
pub const RESOLVE_CACHED: u64 = 0x20;

/// `struct flock` (32 bytes) for `F_GETLK`/`F_SETLK`/`F_SETLKW`.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Flock {
    pub l_type: i16,
    pub l_whence: i16,
    pub _pad0: u32,
    pub l_start: i64,
    pub l_len: i64,
    pub l_pid: i32,
    pub _pad1: u32,
}

/// `struct open_how` (24 bytes) for `openat2`.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct OpenHow {
    pub flags: u64,
    pub mode: u64,
    pub resolve: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn open_flags_match_linux() {
        assert_eq!(
            (O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC),
            (0x40, 0x80, 0x100, 0x200)
        );
        assert_eq!(
            (O_APPEND, O_NONBLOCK, O_DIRECTORY, O_NOFOLLOW),
            (0x400, 0x800, 0x10000, 0x20000)
        );
        assert_eq!(
            (O_CLOEXEC, O_SYNC, O_PATH, O_TMPFILE),
            (0x80000, 0x101000, 0x200000, 0x410000)
        );
        assert_eq!(
            (O_LARGEFILE, O_DIRECT, O_NOATIME),
            (0x8000, 0x4000, 0x40000)
        );
    }

    #[test]
    fn access_mode_helpers() {
        assert!(can_read(O_RDONLY) && !can_write(O_RDONLY));
        assert!(!can_read(O_WRONLY | O_APPEND) && can_write(O_WRONLY | O_APPEND));
        assert!(can_read(O_RDWR) && can_write(O_RDWR | O_CLOEXEC));
        assert!(!can_read(O_ACCMODE) && !can_write(O_ACCMODE));
        assert!(!can_read(O_PATH) && !can_write(O_PATH | O_RDWR));
    }

    #[test]
    fn commands_and_at_flags() {
        assert_eq!(
            (F_GETFL, F_SETFL, F_GETLK, F_SETLKW, F_GETOWN),
            (3, 4, 5, 7, 9)
        );
        assert_eq!(
            (F_DUPFD_CLOEXEC, F_SETPIPE_SZ, F_GETPIPE_SZ),
            (1030, 1031, 1032)
        );
        assert_eq!(
            (AT_FDCWD, AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_EMPTY_PATH),
            (-100, 0x100, 0x200, 0x1000)
        );
        assert_eq!((SEEK_DATA, SEEK_HOLE, R_OK, W_OK, X_OK), (3, 4, 4, 2, 1));
    }

    #[test]
    fn struct_layouts() {
        assert_eq!(size_of::<Flock>(), 32);
        assert_eq!(offset_of!(Flock, l_whence), 2);
        assert_eq!(offset_of!(Flock, l_start), 8);
        assert_eq!(offset_of!(Flock, l_len), 16);
        assert_eq!(offset_of!(Flock, l_pid), 24);
        assert_eq!(size_of::<OpenHow>(), 24);
        assert_eq!(offset_of!(OpenHow, resolve), 16);
    }
}

/// `splice`/`tee`/`vmsplice` flags (`SPLICE_F_*`, Linux's values).
pub const SPLICE_F_MOVE: u32 = 1;
pub const SPLICE_F_NONBLOCK: u32 = 2;
pub const SPLICE_F_MORE: u32 = 4;
pub const SPLICE_F_GIFT: u32 = 8;
/// Every known flag (others are EINVAL).
pub const SPLICE_F_ALL: u32 = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;
