//! `exo-vfs`: the virtual file system core of Exo-OS — the [`Inode`] and [`FileSystem`]
//! traits, a dentry cache, the mount table, Linux path resolution and permission checks — and
//! [`TmpFs`], an in-memory file system. It is hardware-independent (`no_std` + `alloc`, spin
//! locks only) and host-tested; the kernel wraps it with file descriptors, devices, pipes and
//! the syscalls. Every error is an [`exo_abi::Errno`] with the value Linux returns in the same
//! situation, and no input a user program controls (paths, names, offsets, sizes) can panic.
//!
//! # Layers
//!
//! - **Inodes** ([`Inode`], `Arc<dyn Inode>`): what a file system implements — metadata, data
//!   I/O, and directory operations on single names. They know nothing of paths, mounts or
//!   credentials; unsupported operations fail like Linux (`ENOTDIR`, `EISDIR`, `EINVAL`,
//!   `EPERM`). [`FileSystem`] is one instance: root inode, name, magic, id, `statfs`.
//! - **Namespace** ([`Namespace`]): mounts ([`Mount`]), dentries ([`Dentry`]: name, parent,
//!   child cache), and locations ([`PathRef`] = mount + dentry). It resolves paths
//!   ([`Namespace::resolve`], [`Namespace::resolve_parent`]) for a [`Lookup`] context (process
//!   root, starting directory, symlink and directory flags, [`Cred`]) and performs every
//!   operation that adds, removes or moves names ([`Namespace::create`], `mkdir`, `mknod`,
//!   `symlink`, `link`, `unlink`, `rmdir`, `rename`) with the permission, sticky-bit, mount and
//!   ancestry checks, keeping the dentry cache coherent.
//! - **Permissions**: [`permitted`] (owner/group/other classes, supplementary groups, root's
//!   overrides) and [`sticky_allows`].
//!
//! # How the kernel uses it
//!
//! - **Boot**: `let ns = Namespace::new(TmpFs::new(id, TmpFsOptions { clock, .. }))`; the
//!   kernel supplies the [`Clock`] (any `Fn() -> Time + Send + Sync`) and unique fs ids
//!   (`st_dev`). Each process keeps `root` and `cwd` [`PathRef`]s and its credentials; a syscall
//!   builds a [`Lookup`] from them (for `*at` calls, `cwd` = the dirfd's `PathRef`; `AT_FDCWD`
//!   keeps the cwd).
//! - **Names**: the `*at` syscalls map onto the namespace operations one to one;
//!   `AT_SYMLINK_NOFOLLOW` / `O_NOFOLLOW` clear [`Lookup::follow_final_symlink`], `O_DIRECTORY`
//!   and `chdir` set [`Lookup::must_be_dir`]. Empty paths (`AT_EMPTY_PATH`) are the kernel's:
//!   the VFS answers `ENOENT`.
//! - **open**: without `O_CREAT`, `resolve`; with it, [`Namespace::create`], which returns
//!   whether it created the file. For an existing file the kernel checks the access mode with
//!   [`permitted`] (`EACCES`), refuses writing a directory (`EISDIR`) or on a read-only mount
//!   ([`PathRef::is_readonly`], `EROFS`), applies `O_TRUNC` with [`Inode::truncate`], and
//!   returns `ELOOP` for a symlink opened with `O_NOFOLLOW` (unless `O_PATH`). The kernel applies
//!   the umask to every mode before calling the VFS.
//! - **File descriptions** hold the `PathRef` (for `fchdir`, `/proc/self/fd`, `*at`) and call
//!   the inode: `read_at`/`write_at` with the file offset (`O_APPEND`: offset = current size),
//!   `truncate`, `metadata` (`fstat`), `set_attr` (`fchmod`, `fchown`, `futimens` — the kernel
//!   checks owner/root rules and clears setuid/setgid bits where Linux does), `statfs`.
//! - **getdents64**: [`Inode::read_dirents`] from the file offset appends `linux_dirent64`
//!   records to a kernel buffer until the user's count is reached and returns the new offset
//!   (the last appended entry's `next_cursor`); tmpfs serves it from a per-directory listing
//!   image. [`Inode::read_dir`] (owned entries) and [`Inode::read_dir_ref`] (borrowed) list
//!   entry by entry. Cursors stay valid while entries come and go.
//! - **Devices, FIFOs, sockets**: [`TmpFs`] stores them as metadata only (`S_IFCHR`/`S_IFBLK`
//!   with `rdev`, `S_IFIFO`, `S_IFSOCK`; `read_at` says `EINVAL`). The kernel's open looks at
//!   the file type and dispatches to its device table by `rdev`, or to the pipe object it keys
//!   by the inode (e.g. `(fs_id, ino)`).
//! - **getcwd**: [`Namespace::path_of`]`(cwd, root)`; `ENOENT` if [`PathRef::is_deleted`].
//! - **mount / umount / `/proc/mounts`**: [`Namespace::mount`], [`Namespace::umount`],
//!   [`Namespace::remount`], [`Namespace::mounts`]. Only `MS_RDONLY` is enforced here (`EROFS`
//!   from the namespace operations); `MS_NOSUID`, `MS_NODEV`, `MS_NOEXEC` are recorded for the
//!   kernel to check.
//!
//! Changing names by calling inode methods directly bypasses the dentry cache; the kernel must
//! use the namespace operations. A file system instance belongs to at most one namespace.
//!
//! # Resolution rules (Linux's)
//!
//! Empty path `ENOENT`; a path of `PATH_MAX` (4096) bytes or more, or a component over 255
//! bytes, `ENAMETOOLONG`. `/` starts at `Lookup::root`, anything else at `Lookup::cwd`; repeated
//! slashes count as one. Before each component the current location must be a directory
//! (`ENOTDIR`) with search permission (`EACCES`). `..` at the process root stays there; at the
//! root of a mount it climbs to the mount point first. Entering a mount point enters the mounted
//! file system. Symlinks are followed in every non-final component, and in the final one if
//! `follow_final_symlink` or a trailing slash asks; an absolute target restarts at the process
//! root, a relative one at the link's directory; more than 40 links in one resolution is
//! `ELOOP`. A trailing slash requires a directory.
//!
//! # Mounts
//!
//! Mounting on a path that already is a mount point stacks the new mount on top (as Linux):
//! the resolved path is the top mount's root, so the new mount covers it, and unmounting
//! reveals the one below. A file system may be mounted only once per namespace (`EBUSY`).
//! `umount` needs the root of a mount (`EINVAL`) without mounts below it (`EBUSY`); open files
//! are not tracked, so it never fails for them (lazy-unmount semantics: paths held into the
//! unmounted file system keep working, `..` stops at its root, `path_of` calls it
//! unreachable). `rmdir`, `unlink` and
//! `rename` of a mount point are `EBUSY`; `rename` and `link` across mounts are `EXDEV`.
//!
//! # Locks
//!
//! From outermost to innermost:
//!
//! 1. `Namespace` mutation mutex: held by every namespace operation that changes names or
//!    mounts, across the inode calls it makes. Path walks and lookups do not take it. A
//!    sleeping lock (`exo_sleeplock`): a disk file system's inode calls wait for the disk. The
//!    other locks below are spin locks.
//! 2. `Namespace` mount table (`RwLock`): held briefly; never while calling an inode.
//! 3. File-system locks, taken inside inode methods. tmpfs: its per-instance `tree` mutex
//!    (structure changes), then directory/file body `RwLock`s, then leaf locks (metadata,
//!    parent pointer) — see [`tmpfs`](crate::tmpfs).
//! 4. `Dentry` state mutexes: leaves, held only to read or update a dentry; no inode is ever
//!    called and no other lock is taken while one is held. The namespace's set of kept-alive
//!    recent dentries has a leaf mutex too (taken after a lookup's dentry lock is released;
//!    evicted dentries are dropped after it is released).
//!
//! Inode methods must not call into the namespace. Since (1) is held across inode calls and is
//! a sleeping lock, a file system's operations may block (disk I/O). Lookups
//! race with changes safely: each change bumps the directory dentry's generation before and
//! after the inode call, and a lookup caches its result only if the generation did not move.
//! Dropping an inode or a dentry never takes a lock.
//!
//! # Not implemented
//!
//! ACLs (extended attributes: `user.`, `trusted.`, `security.` on tmpfs only, see [`xattr`]), `O_TMPFILE`, whiteouts (`RENAME_WHITEOUT` is `EINVAL`),
//! bind mounts and mount propagation, per-process namespaces, file locks, `atime` options other
//! than `relatime`, and the "protected hardlinks/symlinks" sysctls.
//!
//! # Example
//!
//! ```ignore
//! use exo_vfs::*;
//! let ns = Namespace::new(TmpFs::new(1, TmpFsOptions::default()));
//! let ctx = Lookup::new(ns.root(), ns.root(), Cred::root());
//! ns.mkdir(&ctx, b"/tmp", 0o1777)?;
//! let (file, created) = ns.create(&ctx, b"/tmp/hello", 0o644, true)?;
//! assert!(created);
//! file.inode().write_at(0, b"hi")?;
//! assert_eq!(ns.resolve(&ctx, b"/tmp/../tmp/hello")?.metadata().size, 2);
//! ```
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod dirents;
mod inode;
mod ns;
mod perm;
pub mod tmpfs;
mod types;
pub mod xattr;

pub use inode::{FileSystem, Inode, Result};
pub use ns::{set_change_hook, set_name_hash_key, Change, Dentry, Lookup, Mount, MountInfo, Namespace, PathRef};
pub use perm::{permitted, sticky_allows, Access, Cred};
pub use tmpfs::{TmpFs, TmpFsOptions, TmpNode, TMPFS_MAGIC};
pub use types::*;

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// The crate-level example, run as a unit test (doctests are off).
    #[test]
    fn crate_doc_example() -> Result<()> {
        let ns = Namespace::new(TmpFs::new(1, TmpFsOptions::default()));
        let ctx = Lookup::new(ns.root(), ns.root(), Cred::root());
        ns.mkdir(&ctx, b"/tmp", 0o1777)?;
        let (file, created) = ns.create(&ctx, b"/tmp/hello", 0o644, true)?;
        assert!(created);
        file.inode().write_at(0, b"hi")?;
        assert_eq!(ns.resolve(&ctx, b"/tmp/../tmp/hello")?.metadata().size, 2);
        let mut buf = vec![0u8; 4];
        assert_eq!(file.inode().read_at(0, &mut buf)?, 2);
        Ok(())
    }
}
