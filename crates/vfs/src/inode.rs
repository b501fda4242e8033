//! The two traits a file system implements: [`Inode`] (one file, directory, symlink or special
//! node) and [`FileSystem`] (one mounted instance). Default methods fail with the errno Linux
//! gives for an operation the object does not support.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use exo_abi::mode::{S_IFDIR, S_IFMT};
use exo_abi::Errno;

use crate::types::{DirEntry, DirEntryRef, Metadata, SetAttr, StatFs};

/// Result of every VFS operation.
pub type Result<T> = core::result::Result<T, Errno>;

/// One inode. Object-safe: file systems hand out `Arc<dyn Inode>`.
///
/// Names passed to directory methods are single components: not empty, no `/`, no NUL, at most
/// [`NAME_MAX`](crate::NAME_MAX) bytes. The namespace layer ([`Namespace`](crate::Namespace))
/// checks permissions, handles `.`/`..`, mount points and the dentry cache, then calls these
/// methods; they check only what the file system itself knows (existence, types, emptiness).
///
/// Implementations must never call back into a `Namespace`, and must not block while a caller
/// may hold the namespace's mutation lock (see the crate docs on lock order).
pub trait Inode: Send + Sync {
    /// `stat` data.
    fn metadata(&self) -> Metadata;

    /// Id of the file system the inode belongs to ([`FileSystem::id`]).
    fn fs_id(&self) -> u64;

    /// For downcasts to the concrete type (e.g. a file system's own inode type).
    fn as_any(&self) -> &dyn Any;

    /// The `S_IFMT` bits; never changes over the inode's life. Override if `metadata` is costly.
    fn file_type(&self) -> u32 {
        self.metadata().mode & S_IFMT
    }

    /// Whether this directory's names change only through the namespace operations (never
    /// behind its back, as procfs's per-process directories do). The namespace then keeps
    /// recently looked-up children alive, so repeated lookups hit its dentry cache.
    fn names_stable(&self) -> bool {
        false
    }

    /// Statistics of the file system holding this inode (`fstatfs`).
    fn statfs(&self) -> Result<StatFs> {
        Err(Errno::ENOSYS)
    }

    /// Changes attributes (see [`SetAttr`]); `ctime` becomes now.
    fn set_attr(&self, _attr: &SetAttr) -> Result<()> {
        Err(Errno::EPERM)
    }

    /// Reads at `offset`; returns the bytes read, 0 at or past the end of file.
    fn read_at(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize> {
        Err(if is_dir(self) { Errno::EISDIR } else { Errno::EINVAL })
    }

    /// Writes at `offset`, extending the file (a gap reads as zeros); updates `mtime`/`ctime`.
    /// May write less than `buf.len()` (e.g. when the file system is nearly full).
    fn write_at(&self, _offset: u64, _buf: &[u8]) -> Result<usize> {
        Err(if is_dir(self) { Errno::EISDIR } else { Errno::EINVAL })
    }

    /// Makes the file's data durable and, unless `datasync`, its metadata too (`fsync`,
    /// `fdatasync`): when it returns `Ok`, a crash keeps what was written before the call. Memory
    /// file systems have nothing to do (the default). `EIO` if a write-back failed.
    fn fsync(&self, _datasync: bool) -> Result<()> {
        Ok(())
    }

    /// Sets the size, dropping data past `len` or extending with zeros.
    fn truncate(&self, _len: u64) -> Result<()> {
        Err(if is_dir(self) { Errno::EISDIR } else { Errno::EINVAL })
    }

    /// The child called `name` (`.` is the directory itself, `..` its parent).
    fn lookup(&self, _name: &[u8]) -> Result<Arc<dyn Inode>> {
        Err(if is_dir(self) { Errno::ENOENT } else { Errno::ENOTDIR })
    }

    /// Creates the child `name`. `mode` holds the type (`S_IFREG`, `S_IFDIR`, `S_IFIFO`,
    /// `S_IFCHR`, `S_IFBLK` or `S_IFSOCK`) and the permission bits (umask already applied);
    /// `rdev` matters for device nodes only. `EEXIST` if the name exists.
    fn create(&self, _name: &[u8], _mode: u32, _uid: u32, _gid: u32, _rdev: u64) -> Result<Arc<dyn Inode>> {
        Err(dir_op_error(self))
    }

    /// Creates the symbolic link `name` pointing at `target`.
    fn symlink(&self, _name: &[u8], _target: &[u8], _uid: u32, _gid: u32) -> Result<Arc<dyn Inode>> {
        Err(dir_op_error(self))
    }

    /// Adds `name` as a new hard link to `target` (`EPERM` for a directory, `EXDEV` for an
    /// inode of another file system).
    fn link(&self, _name: &[u8], _target: &Arc<dyn Inode>) -> Result<()> {
        Err(dir_op_error(self))
    }

    /// Removes the non-directory `name` (`EISDIR` for a directory).
    fn unlink(&self, _name: &[u8]) -> Result<()> {
        Err(dir_op_error(self))
    }

    /// Removes the empty directory `name` (`ENOTDIR`, `ENOTEMPTY`).
    fn rmdir(&self, _name: &[u8]) -> Result<()> {
        Err(dir_op_error(self))
    }

    /// Moves `old_name` of this directory to `new_name` of `new_dir` with Linux's rules (see
    /// [`RENAME_NOREPLACE`](crate::RENAME_NOREPLACE), [`RENAME_EXCHANGE`](crate::RENAME_EXCHANGE)).
    fn rename(&self, _old_name: &[u8], _new_dir: &Arc<dyn Inode>, _new_name: &[u8], _flags: u32) -> Result<()> {
        Err(dir_op_error(self))
    }

    /// The target of a symbolic link (`EINVAL` for anything else).
    fn readlink(&self) -> Result<Vec<u8>> {
        Err(Errno::EINVAL)
    }

    /// Lists the directory from `cursor` (0 = start; otherwise a `next_cursor` this directory
    /// returned earlier), `.` and `..` included. Calls `emit` once per entry, in order, with no
    /// lock held; `emit` returns `false` when it did *not* consume the entry (buffer full), which
    /// ends the listing — the caller resumes from the last consumed entry's `next_cursor`. An
    /// entry that exists during the whole listing is emitted exactly once; entries added or
    /// removed meanwhile may or may not be.
    fn read_dir(&self, _cursor: u64, _emit: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        if is_dir(self) {
            Ok(())
        } else {
            Err(Errno::ENOTDIR)
        }
    }

    /// [`Inode::read_dir`] with borrowed entries (the same contract: in order, no lock held
    /// while `emit` runs). The default adapts `read_dir`; a file system overrides it to list
    /// without allocating per entry (getdents64 uses this one).
    fn read_dir_ref(&self, cursor: u64, emit: &mut dyn FnMut(DirEntryRef<'_>) -> bool) -> Result<()> {
        self.read_dir(cursor, &mut |entry| emit(entry.as_ref()))
    }

    /// Appends `linux_dirent64` records (`d_off` = the entry's `next_cursor`) to `out` from
    /// `cursor` while `out` stays within `space` bytes. Returns the cursor after the last
    /// appended entry (`cursor` if none) and whether the listing stopped at an entry whose
    /// record did not fit. `ENOMEM` only if nothing could be appended. The default builds on
    /// [`Inode::read_dir_ref`]; tmpfs fills the buffer straight from its entry table.
    fn read_dirents(&self, cursor: u64, out: &mut Vec<u8>, space: usize) -> Result<(u64, bool)> {
        let start = out.len();
        let (mut next, mut full, mut error) = (cursor, false, None);
        self.read_dir_ref(cursor, &mut |e| match crate::dirents::push_dirent64(out, space, e.ino, e.kind, e.name, e.next_cursor) {
            Ok(true) => {
                next = e.next_cursor;
                true
            }
            Ok(false) => {
                full = true;
                false
            }
            Err(err) => {
                error = Some(err);
                false
            }
        })?;
        match error {
            Some(err) if out.len() == start => Err(err),
            _ => Ok((next, full)),
        }
    }

    // --- Extended attributes (the `setxattr` family; see `crate::xattr`). The namespace and
    // permission checks are the caller's (`xattr::check_access`); these store and fetch. ---

    /// The value of attribute `name` (`ENODATA` if absent). Default: no attributes
    /// (`EOPNOTSUPP`, Linux's answer for a file system without them).
    fn get_xattr(&self, _name: &[u8]) -> Result<Vec<u8>> {
        Err(Errno::EOPNOTSUPP)
    }

    /// Sets attribute `name` (`flags`: `XATTR_CREATE` → `EEXIST` if present, `XATTR_REPLACE`
    /// → `ENODATA` if absent); `ctime` becomes now. `EOPNOTSUPP` for a namespace the file
    /// system does not store, `ENOSPC` past its limits.
    fn set_xattr(&self, _name: &[u8], _value: &[u8], _flags: u32) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }

    /// Appends every attribute name, NUL-terminated, to `out`. Default: none (Linux lists
    /// nothing, successfully, for a file system without attributes).
    fn list_xattr(&self, _out: &mut Vec<u8>) -> Result<()> {
        Ok(())
    }

    /// Removes attribute `name` (`ENODATA` if absent); `ctime` becomes now.
    fn remove_xattr(&self, _name: &[u8]) -> Result<()> {
        Err(Errno::EOPNOTSUPP)
    }
}

/// One instance of a file system (one `mount` source).
pub trait FileSystem: Send + Sync {
    /// The root directory.
    fn root(&self) -> Arc<dyn Inode>;
    /// Type name as `/proc/mounts` shows it, e.g. `"tmpfs"`.
    fn name(&self) -> &str;
    /// Magic number (`statfs.f_type`).
    fn magic(&self) -> u64;
    /// Identifier, unique among live file systems (`st_dev`); the kernel assigns it.
    fn id(&self) -> u64;
    /// Statistics (`statfs`).
    fn statfs(&self) -> StatFs;
    /// Writes every change of the instance to stable storage (`sync`, `syncfs`, and before
    /// the last unmount). Memory file systems have nothing to do (the default).
    fn sync(&self) -> Result<()> {
        Ok(())
    }
    /// Whether the instance refuses every change (mounted read-only, or its on-disk features
    /// allow reading only). The namespace answers `EROFS` for such a mount.
    fn read_only(&self) -> bool {
        false
    }
    /// The tmpfs instance behind this file system, if it is one (to change its size limit on
    /// remount).
    fn tmpfs(&self) -> Option<&crate::tmpfs::TmpFs> {
        None
    }
}

fn is_dir<I: Inode + ?Sized>(inode: &I) -> bool {
    inode.file_type() == S_IFDIR
}

/// `EPERM` for a directory that does not support the operation, `ENOTDIR` for anything else.
fn dir_op_error<I: Inode + ?Sized>(inode: &I) -> Errno {
    if is_dir(inode) {
        Errno::EPERM
    } else {
        Errno::ENOTDIR
    }
}
