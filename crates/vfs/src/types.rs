//! Plain data shared by every part of the VFS: timestamps and the clock, inode metadata,
//! attribute changes, directory entries, file-system statistics, and the limits and flag values
//! of path resolution, `rename` and `mount`.

use alloc::vec::Vec;
use exo_abi::mode::{S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};

/// Longest file-name component, in bytes (Linux `NAME_MAX`).
pub const NAME_MAX: usize = 255;

/// Checks one name component as every file system's directory methods must: `ENOENT` if
/// empty, `ENAMETOOLONG` past [`NAME_MAX`], `EINVAL` for `/` or NUL.
pub fn check_component(name: &[u8]) -> core::result::Result<(), exo_abi::Errno> {
    if name.is_empty() {
        return Err(exo_abi::Errno::ENOENT);
    }
    if name.len() > NAME_MAX {
        return Err(exo_abi::Errno::ENAMETOOLONG);
    }
    if name.iter().any(|&b| b == b'/' || b == 0) {
        return Err(exo_abi::Errno::EINVAL);
    }
    Ok(())
}

/// Whether `name` is `.` or `..`.
pub fn is_dots(name: &[u8]) -> bool {
    name == b"." || name == b".."
}
/// Size of the path buffer including its NUL (Linux `PATH_MAX`): a path or symlink target must
/// be at most `PATH_MAX - 1` bytes long.
pub const PATH_MAX: usize = 4096;
/// Symbolic links followed in one resolution before it fails with `ELOOP` (Linux `MAXSYMLINKS`).
pub const MAX_SYMLINKS: u32 = 40;
/// Largest file size and largest `offset + len` of a write (Linux `MAX_LFS_FILESIZE`).
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// `renameat2` flag: fail with `EEXIST` instead of replacing the target.
pub const RENAME_NOREPLACE: u32 = 1;
/// `renameat2` flag: atomically exchange source and target (both must exist).
pub const RENAME_EXCHANGE: u32 = 2;
/// `renameat2` flag: leave a whiteout (overlayfs); not supported here (`EINVAL`).
pub const RENAME_WHITEOUT: u32 = 4;

/// Mount flag (Linux `MS_RDONLY`): the namespace refuses changes under this mount (`EROFS`).
pub const MS_RDONLY: u64 = 1;
/// Mount flag (Linux `MS_NOSUID`): the kernel's `execve` ignores set-id bits there.
pub const MS_NOSUID: u64 = 2;
/// Mount flag (Linux `MS_NODEV`): recorded for the kernel's `open`; not enforced here.
pub const MS_NODEV: u64 = 4;
/// Mount flag (Linux `MS_NOEXEC`): the kernel's `execve` refuses programs there (EACCES).
pub const MS_NOEXEC: u64 = 8;

/// A point in time: seconds and nanoseconds since the Unix epoch (`struct timespec`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time {
    pub sec: i64,
    /// Always below 1_000_000_000.
    pub nsec: u32,
}

impl Time {
    /// The epoch.
    pub const ZERO: Time = Time { sec: 0, nsec: 0 };

    /// A time of `sec` seconds and `nsec` nanoseconds.
    pub const fn new(sec: i64, nsec: u32) -> Time {
        Time { sec, nsec }
    }
}

/// The wall clock a file system stamps inodes with. The kernel implements it over its own
/// clock; any `Fn() -> Time + Send + Sync` (a `fn` pointer, a closure) is a `Clock`. It is
/// called with file-system locks held, so it must not block or call into the VFS.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Time;
}

impl<F: Fn() -> Time + Send + Sync> Clock for F {
    fn now(&self) -> Time {
        self()
    }
}

/// What `stat` reports about an inode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Inode number, unique within the file system.
    pub ino: u64,
    /// File type (`S_IFMT` bits) and permission bits (including setuid/setgid/sticky).
    pub mode: u32,
    /// Hard links; for a directory 2 + its subdirectories; 0 once removed.
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    /// Bytes (file data, symlink target length; directories report a nominal size).
    pub size: u64,
    /// Device number of a character or block device node (see `exo_abi::mode::makedev`).
    pub rdev: u64,
    /// Preferred I/O size.
    pub blksize: u64,
    /// Allocated storage in 512-byte units.
    pub blocks: u64,
    pub atime: Time,
    pub mtime: Time,
    pub ctime: Time,
    /// Identifier of the file system (`st_dev`): [`FileSystem::id`](crate::FileSystem::id).
    pub dev: u64,
}

impl Metadata {
    /// The file-type bits (`mode & S_IFMT`).
    pub fn file_type(&self) -> u32 {
        self.mode & S_IFMT
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == S_IFDIR
    }

    /// Whether this is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.file_type() == S_IFLNK
    }

    /// Whether this is a regular file.
    pub fn is_regular(&self) -> bool {
        self.file_type() == S_IFREG
    }
}

/// Attribute changes for [`Inode::set_attr`](crate::Inode::set_attr) (`chmod`, `chown`,
/// `utimensat`, `truncate`); `None` fields are left alone. Any change sets `ctime` to now.
/// Permission to make the change (owner or root, `CAP_FOWNER` rules) is the caller's check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// New permission bits (`mode & 0o7777`); the file type never changes.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub atime: Option<Time>,
    pub mtime: Option<Time>,
    /// New size (as `truncate`); also sets `mtime` to now unless `mtime` is given.
    pub size: Option<u64>,
}

/// One entry produced by [`Inode::read_dir`](crate::Inode::read_dir).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub ino: u64,
    /// `d_type`: one of `exo_abi::mode::DT_*`.
    pub kind: u8,
    pub name: Vec<u8>,
    /// Cursor that resumes the listing just after this entry (`d_off`, the new file offset).
    pub next_cursor: u64,
}

/// A borrowed [`DirEntry`], produced by [`Inode::read_dir_ref`](crate::Inode::read_dir_ref)
/// (listing without an allocation per entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntryRef<'a> {
    pub ino: u64,
    /// `d_type`: one of `exo_abi::mode::DT_*`.
    pub kind: u8,
    pub name: &'a [u8],
    /// Cursor that resumes the listing just after this entry (`d_off`, the new file offset).
    pub next_cursor: u64,
}

impl DirEntryRef<'_> {
    /// The owned entry.
    pub fn to_owned(&self) -> DirEntry {
        DirEntry { ino: self.ino, kind: self.kind, name: self.name.to_vec(), next_cursor: self.next_cursor }
    }
}

impl DirEntry {
    /// The borrowed entry.
    pub fn as_ref(&self) -> DirEntryRef<'_> {
        DirEntryRef { ino: self.ino, kind: self.kind, name: &self.name, next_cursor: self.next_cursor }
    }
}

/// File-system statistics (`statfs`), in the units `struct statfs` uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatFs {
    /// Magic number (`f_type`), e.g. `TMPFS_MAGIC`.
    pub fs_type: u64,
    /// Block size (`f_bsize`).
    pub bsize: u64,
    /// Total blocks; 0 when unlimited.
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    /// Total inodes; 0 when unlimited.
    pub files: u64,
    pub ffree: u64,
    /// File-system id (`f_fsid`).
    pub fsid: u64,
    /// Longest name (`f_namelen`).
    pub namelen: u64,
    /// Fragment size (`f_frsize`).
    pub frsize: u64,
}
