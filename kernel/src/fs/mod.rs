//! Files for user programs: the system-wide namespace (`exo_vfs`, tmpfs as `/`), the initramfs
//! unpacked into it at boot, and the file kinds the kernel provides (inode files, devices,
//! pipes, FIFOs, eventfd, epoll, inotify, procfs, devfs). Open file descriptions, descriptor
//! tables and the per-process filesystem context are the lower `files` layer's (re-exported
//! here). The syscalls are in `syscall/fs.rs`. See docs/vfs.md.

pub mod blockfile;
pub mod devfs;
pub mod devices;
pub mod disk;
pub mod epoll;
pub mod eventfd;
pub mod timerfd;
pub mod signalfd;
pub mod fifo;
pub mod filemap;
pub mod filemap_io;
pub mod filelock;
pub mod inode_file;
pub mod memfd;
pub mod kmsg;
pub mod inotify;
pub mod pipe;
pub mod procfs;
pub mod sysfs;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::mode::*;
use exo_abi::{Errno, KResult};
use exo_vfs::{permitted, Access, Cred, Lookup, Namespace, PathRef, Time, TmpFs, TmpFsOptions};

pub use crate::files::{file, FileOps, FsContext, OpenFile, FD_HARD_MAX};
use crate::process::Task;

static NAMESPACE: spin::Once<Namespace> = spin::Once::new();
static NEXT_FS_ID: AtomicU64 = AtomicU64::new(1);

/// A new id (`st_dev`) for a file system without a device: `0:N`, as Linux numbers them
/// (disk file systems use their device's number, see `disk`).
pub fn new_fs_id() -> u64 {
    let n = NEXT_FS_ID.fetch_add(1, Ordering::Relaxed);
    makedev(0, u32::try_from(n).unwrap_or(u32::MAX))
}

/// The wall clock as the VFS wants it.
pub fn now() -> Time {
    let ns = crate::time::realtime_ns();
    Time::new((ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as u32)
}

/// Linux's default tmpfs size limit: half of the RAM, in bytes, a whole number of pages (the
/// limit is kept in pages; an odd frame count must not round it up past half).
pub fn tmpfs_default_size() -> u64 {
    (crate::process::oom::total_frames() / 2) as u64 * 4096
}

/// Options for a kernel tmpfs: the kernel's clock, the low-memory gate, `max_bytes` as given
/// (see [`tmpfs_default_size`]), root directory mode `root_mode`.
pub fn tmpfs_options(max_bytes: Option<u64>, root_mode: u32) -> TmpFsOptions {
    TmpFsOptions {
        clock: Arc::new(now),
        max_bytes,
        memory_gate: Some(crate::process::oom::tmpfs_page_allowed),
        root_mode,
        ..TmpFsOptions::default()
    }
}

/// A tmpfs instance with the kernel's clock, limited to half of the RAM (as Linux's).
pub fn new_tmpfs() -> Arc<TmpFs> {
    TmpFs::new(new_fs_id(), tmpfs_options(Some(tmpfs_default_size()), 0o1777))
}

/// `sync`: every dirty page of mapped files, every disk file system, every disk. Everything is
/// tried; the first error is returned.
pub fn sync_all() -> KResult<()> {
    let mapped = filemap::write_back_all();
    let disks = disk::sync_all();
    mapped.and(disks)
}

/// `syncfs` of the file system `fs_id`: mapped pages first (those of every file: a superset),
/// then the file system and its disk (nothing more for memory file systems).
pub fn sync_fs(fs_id: u64) -> KResult<()> {
    let mapped = filemap::write_back_all();
    let disk = disk::sync_fs(fs_id);
    mapped.and(disk)
}

/// Before power-off or reboot: mapped pages written back, every disk file system synced and
/// marked clean, every disk flushed.
pub fn shutdown() {
    if let Err(error) = filemap::write_back_all() {
        log::warn!("shutdown: writing back mapped files: {}", error.name());
    }
    disk::shutdown();
}

/// Dentries (with their inodes) the namespace keeps alive: one per 16 KiB of RAM, between 64
/// and 65,536 (16,384 with 256 MiB). A kept dentry and inode take a few hundred bytes, so the
/// cache uses at most about 3% of the memory, and gives it back under pressure
/// ([`shrink_dentry_cache`]).
fn dentry_cache_capacity() -> usize {
    (crate::process::oom::total_frames() / 4).clamp(64, 65_536)
}

/// The memory layer's shrinker for the dentry cache: lets go of about 8 dentries (with their
/// inodes) per page wanted; returns the pages that roughly frees.
fn shrink_dentry_cache(wanted_pages: usize) -> usize {
    NAMESPACE.get().map_or(0, |ns| ns.shrink_dentry_cache(wanted_pages.saturating_mul(8)) / 8)
}

/// The namespace (after `init`).
pub fn namespace() -> KResult<&'static Namespace> {
    NAMESPACE.get().ok_or(Errno::ENOENT)
}

/// Builds `/` (a tmpfs) and unpacks the initramfs (a newc cpio archive) into it.
pub fn init(initramfs: Option<&[u8]>) {
    crate::process::exec::set_program_reader(read_executable);
    let mut key = [0u8; 16];
    crate::random::fill(&mut key);
    let half = |b: &[u8]| b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x));
    exo_vfs::set_name_hash_key(half(&key[..8]), half(&key[8..]));
    let ns = NAMESPACE.call_once(|| Namespace::new(new_tmpfs()));
    ns.set_dentry_cache_capacity(dentry_cache_capacity());
    crate::memory::reclaim::register(shrink_dentry_cache);
    let ctx = Lookup::new(ns.root(), ns.root(), Cred::root());
    let (mut files, mut bytes, mut errors) = (0usize, 0usize, 0usize);
    if let Some(archive) = initramfs {
        for entry in exo_cpio::entries(archive) {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    log::error!("initramfs: malformed archive ({error:?}); the rest is ignored");
                    break;
                }
            };
            let Some(name) = entry.normalized_name() else { continue };
            let mut path = Vec::with_capacity(name.len() + 1);
            path.push(b'/');
            path.extend_from_slice(name);
            if unpack_entry(ns, &ctx, &path, entry.mode, entry.data, entry.rdev_major, entry.rdev_minor).is_err() {
                errors += 1;
            } else {
                files += 1;
                bytes += entry.data.len();
            }
        }
    }
    for dir in [&b"/dev"[..], b"/proc", b"/tmp"] {
        let _ = ns.mkdir(&ctx, dir, if dir == b"/tmp" { 0o1777 } else { 0o755 });
    }
    let _ = ns.mknod(&ctx, b"/dev/console", S_IFCHR | 0o600, makedev(5, 1));
    log::info!("vfs: tmpfs root, initramfs {files} entries ({} KiB){}", bytes / 1024,
        if errors > 0 { alloc::format!(", {errors} entries could not be created") } else { alloc::string::String::new() });
}

fn unpack_entry(ns: &Namespace, ctx: &Lookup, path: &[u8], mode: u32, data: &[u8], major: u32, minor: u32) -> KResult<()> {
    let perms = mode & S_IALLUGO;
    match mode & S_IFMT {
        S_IFDIR => match ns.mkdir(ctx, path, perms) {
            Ok(_) | Err(Errno::EEXIST) => Ok(()),
            Err(error) => Err(error),
        },
        S_IFREG => {
            let (file, _) = ns.create(ctx, path, perms, false)?;
            file.inode().truncate(0)?;
            let mut done = 0;
            while done < data.len() {
                done += file.inode().write_at(done as u64, &data[done..])?;
            }
            Ok(())
        }
        S_IFLNK => ns.symlink(ctx, data, path).map(|_| ()),
        S_IFCHR | S_IFBLK | S_IFIFO | S_IFSOCK => match ns.mknod(ctx, path, mode, makedev(major, minor)) {
            Ok(_) | Err(Errno::EEXIST) => Ok(()),
            Err(error) => Err(error),
        },
        _ => Err(Errno::EINVAL),
    }
}

/// The filesystem context of init when the root file system is the disk `root` names (mounted
/// on top of `/`): its root as root and cwd, umask 022.
pub fn root_context(root: &str, fstype: Option<&str>, flags: &str, read_only: bool) -> KResult<FsContext> {
    let ns = namespace()?;
    Ok(FsContext::new(disk::mount_root(ns, root, fstype, flags, read_only)?))
}

/// The filesystem context of init: `/` as root and cwd, umask 022.
pub fn initial_context() -> KResult<FsContext> {
    Ok(FsContext::new(namespace()?.root()))
}

/// The VFS credentials of a task (its filesystem ids).
pub fn cred_of(task: &Task) -> Cred {
    let creds = task.process.creds.lock();
    Cred::new(creds.fsuid, creds.fsgid, creds.groups.clone())
}

/// A lookup context for `task` starting at its cwd (or at `base` for *at calls).
pub fn lookup_ctx(task: &Task, base: Option<PathRef>) -> Lookup {
    let fs = task.fs();
    let root = fs.root.lock().clone();
    let cwd = base.unwrap_or_else(|| fs.cwd.lock().clone());
    Lookup::new(root, cwd, cred_of(task))
}

/// Reads a program for execve: must be a regular file the task may execute, on a mount
/// without `noexec`; its set-id bits count unless the mount is `nosuid`.
pub fn read_executable(task: &Task, program: crate::process::exec::ProgramFile<'_>) -> KResult<crate::process::exec::ProgramBytes> {
    let ctx = lookup_ctx(task, None);
    let file = match program {
        crate::process::exec::ProgramFile::Path(path) => namespace()?.resolve(&ctx, path)?,
        crate::process::exec::ProgramFile::Resolved(file) => file.clone(),
    };
    let meta = file.metadata();
    if !meta.is_regular() {
        return Err(Errno::EACCES);
    }
    let mount_flags = file.mount_flags();
    if mount_flags & exo_vfs::MS_NOEXEC != 0 {
        return Err(Errno::EACCES);
    }
    if meta.mode & 0o111 == 0 || !permitted(&meta, &ctx.cred, Access { read: false, write: false, exec: true }) {
        return Err(Errno::EACCES);
    }
    let set_ids = mount_flags & exo_vfs::MS_NOSUID == 0;
    // Set-group-ID without group execute is mandatory locking's mark on Linux, not set-id.
    let set_uid = (set_ids && meta.mode & S_ISUID != 0).then_some(meta.uid);
    let set_gid = (set_ids && meta.mode & S_ISGID != 0 && meta.mode & 0o010 != 0).then_some(meta.gid);
    let size = usize::try_from(meta.size).map_err(|_| Errno::ENOMEM)?;
    let mut data = Vec::new();
    data.try_reserve_exact(size).map_err(|_| Errno::ENOMEM)?;
    data.resize(size, 0);
    let mut done = 0;
    while done < size {
        let n = file.inode().read_at(done as u64, &mut data[done..])?;
        if n == 0 {
            break;
        }
        done += n;
    }
    data.truncate(done);
    Ok(crate::process::exec::ProgramBytes { bytes: data, set_uid, set_gid })
}

/// Converts VFS metadata to `struct stat` (kept by the files layer: `fstat` of a device
/// opened through its node uses it too).
pub use crate::files::file::stat_of;
