//! Mount syscalls: `mount` (new mounts of tmpfs, proc and devtmpfs, and of ext2/3/4 and vfat
//! from block devices; `MS_REMOUNT` to change a mount's flags and a tmpfs's `size=`; `MS_MOVE`;
//! propagation-only calls accepted and ignored) and `umount2` (with `MNT_DETACH` also
//! unmounting the mounts below; a disk file system is synced and marked clean). Root only. See
//! docs/vfs.md and docs/storage.md.

use alloc::sync::Arc;
use alloc::vec::Vec;

use exo_abi::mount::*;
use exo_abi::{nr, Errno, KResult};
use exo_vfs::{FileSystem, Namespace, PathRef, TmpFs};

use super::args::typed;
use super::{task, Handler};
use crate::fs::{self, procfs};
use crate::process::Task;
use crate::uaccess::UserCStr;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // partial: tmpfs, proc, devtmpfs; ext2/ext3/ext4 and vfat/msdos from block devices (ENOTBLK, EBUSY, EINVAL, ENODEV; [storage.md](storage.md)); MS_RDONLY/NOSUID/NODEV/NOEXEC (RDONLY enforced; NOSUID and NOEXEC by execve; NODEV recorded only), MS_REMOUNT, MS_MOVE; MS_BIND EINVAL; root only
    t[nr::MOUNT] = typed!(sys_mount);
    // full: MNT_FORCE, MNT_DETACH (also unmounts the mounts below); EINVAL for a non-mount-point; a disk file system is synced and marked clean
    t[nr::UMOUNT2] = typed!(sys_umount2);
}

/// The mount flags a mount records (the others are accepted and ignored).
const RECORDED: u64 = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
/// Propagation changes (`mount --make-private` …): accepted, there is nothing to propagate.
const PROPAGATION: u64 = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;
/// Longest string argument read (a page, as Linux copies).
const ARG_MAX: usize = 4096;

fn require_root(me: &Task) -> KResult<()> {
    if me.process.creds.lock().euid != 0 {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// An optional string argument: `None` for NULL, EFAULT for a bad pointer.
fn read_string(string: UserCStr) -> KResult<Option<Vec<u8>>> {
    if string.is_null() {
        return Ok(None);
    }
    match string.read(ARG_MAX) {
        Ok(s) => Ok(Some(s)),
        Err(Errno::ENAMETOOLONG) => Err(Errno::EINVAL),
        Err(e) => Err(e),
    }
}

/// Resolves the target directory (following symlinks unless `follow` is false).
fn resolve_target(me: &Task, target: UserCStr, follow: bool) -> KResult<PathRef> {
    let path = target.read_path()?;
    let ctx = fs::lookup_ctx(me, None).follow(follow);
    fs::namespace()?.resolve(&ctx, &path)
}

/// Parses a tmpfs `size=` value: a number with an optional k/m/g suffix, or a percentage of
/// the RAM ("50%"). `Some(None)` is 0, no limit; `None` is malformed.
fn parse_size(value: &[u8]) -> Option<Option<u64>> {
    let (digits, shift, percent) = match value.last()? {
        b'k' | b'K' => (&value[..value.len() - 1], 10, false),
        b'm' | b'M' => (&value[..value.len() - 1], 20, false),
        b'g' | b'G' => (&value[..value.len() - 1], 30, false),
        b'%' => (&value[..value.len() - 1], 0, true),
        _ => (value, 0, false),
    };
    let n: u64 = core::str::from_utf8(digits).ok()?.parse().ok()?;
    let size = if percent {
        let ram = crate::process::oom::total_frames() as u64 * 4096;
        ram.checked_mul(n)? / 100
    } else {
        n.checked_mul(1 << shift)?
    };
    Some((size > 0).then_some(size))
}

/// The tmpfs options in mount data ("mode=1777,size=16m"; unknown options ignored): the root
/// mode and the size limit, each `None` when not given.
fn tmpfs_data(data: Option<&[u8]>) -> KResult<(Option<u32>, Option<Option<u64>>)> {
    let (mut mode, mut size) = (None, None);
    for option in data.unwrap_or_default().split(|&b| b == b',') {
        let (key, value) = match option.iter().position(|&b| b == b'=') {
            Some(eq) => (&option[..eq], &option[eq + 1..]),
            None => (option, &b""[..]),
        };
        match key {
            b"mode" => {
                let text = core::str::from_utf8(value).map_err(|_| Errno::EINVAL)?;
                mode = Some(u32::from_str_radix(text, 8).map_err(|_| Errno::EINVAL)? & 0o7777);
            }
            b"size" => size = Some(parse_size(value).ok_or(Errno::EINVAL)?),
            _ => {}
        }
    }
    Ok((mode, size))
}

/// A tmpfs configured by the mount data. As on Linux, its size is limited to half of the
/// memory unless `size=` says otherwise (0: no limit).
fn tmpfs_from(data: Option<&[u8]>) -> KResult<Arc<TmpFs>> {
    let (mode, size) = tmpfs_data(data)?;
    let options = fs::tmpfs_options(size.unwrap_or(Some(fs::tmpfs_default_size())), mode.unwrap_or(0o1777));
    Ok(TmpFs::new(fs::new_fs_id(), options))
}

/// `MS_REMOUNT` of the mount whose root is `at`: a tmpfs takes a new `size=` from the data
/// (`EINVAL` below what it stores), then the recorded flags change.
fn remount(ns: &Namespace, at: &PathRef, flags: u64, data: Option<&[u8]>) -> KResult<()> {
    if !at.is_mount_root() {
        return Err(Errno::EINVAL);
    }
    let fs = at.mount.fs();
    if let Some(tmpfs) = fs.tmpfs() {
        if let (_, Some(size)) = tmpfs_data(data)? {
            tmpfs.set_max_bytes(size)?;
        }
    }
    ns.remount(at, flags & RECORDED)
}

/// mount(source, target, filesystemtype, mountflags, data): `data` is read as a string of
/// comma-separated options (every file system Exo-OS mounts takes text options).
fn sys_mount(source: UserCStr, target: UserCStr, filesystemtype: UserCStr, mountflags: u64, data: UserCStr) -> KResult<u64> {
    let me = task()?;
    require_root(&me)?;
    let mut flags = mountflags;
    if flags & MS_MGC_MSK == MS_MGC_VAL {
        flags &= !MS_MGC_MSK;
    }
    // Linux copies the strings before looking at the target: EFAULT comes first.
    let fstype = if flags & (MS_REMOUNT | MS_BIND | MS_MOVE | PROPAGATION) == 0 { read_string(filesystemtype)? } else { None };
    let source = read_string(source)?;
    let data = read_string(data)?;
    let at = resolve_target(&me, target, true)?;
    let ns = fs::namespace()?;
    if flags & MS_REMOUNT != 0 {
        if flags & MS_BIND != 0 && !at.is_mount_root() {
            return Err(Errno::EINVAL);
        }
        remount(ns, &at, flags, data.as_deref())?;
        return Ok(0);
    }
    if flags & MS_MOVE != 0 {
        // `mount --move source target` (busybox `switch_root`: `mount(".", "/", MS_MOVE)`).
        let path = source.ok_or(Errno::EFAULT)?;
        let from = ns.resolve(&fs::lookup_ctx(&me, None), &path)?;
        ns.move_mount(&from, &at)?;
        return Ok(0);
    }
    if flags & MS_BIND != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & PROPAGATION != 0 {
        return Ok(0);
    }
    let fstype = fstype.ok_or(Errno::EINVAL)?;
    let recorded = flags & RECORDED;
    let fs_id = match fstype.as_slice() {
        b"tmpfs" => mount_new(ns, &at, tmpfs_from(data.as_deref())?, recorded)?,
        b"proc" => mount_new(ns, &at, procfs::ProcFs::new(), recorded)?,
        b"devtmpfs" => fs::devfs::mount_at(ns, &at, recorded)?,
        disk if fs::disk::is_disk_type(disk) => {
            let path = source.as_deref().ok_or(Errno::EFAULT)?;
            let rdev = fs::disk::source_device(ns, &fs::lookup_ctx(&me, None), path)?;
            let fs = fs::disk::mount_device(rdev, Some(disk), flags & MS_RDONLY != 0, data.as_deref().unwrap_or_default())?;
            let fs_id = fs.id();
            if let Err(error) = ns.mount(&at, fs, recorded) {
                let _ = fs::disk::unmounted(fs_id);
                return Err(error);
            }
            fs_id
        }
        _ => return Err(Errno::ENODEV),
    };
    procfs::set_mount_source(fs_id, Some(source.as_deref().unwrap_or(b"none")));
    Ok(0)
}

/// Mounts `fs` on `at`; returns its id.
fn mount_new(ns: &Namespace, at: &PathRef, fs: Arc<dyn FileSystem>, flags: u64) -> KResult<u64> {
    let id = fs.id();
    ns.mount(at, fs, flags)?;
    Ok(id)
}

/// Unmounts the mount whose root is `at`; with `detach`, first every mount below it (deepest
/// first).
fn umount(ns: &Namespace, at: &PathRef, detach: bool) -> KResult<()> {
    if !at.is_mount_root() {
        return Err(Errno::EINVAL);
    }
    if detach {
        let root = ns.root();
        let ctx = exo_vfs::Lookup::new(root.clone(), root.clone(), exo_vfs::Cred::root()).follow(false);
        let mut prefix = ns.path_of(at, &root);
        if prefix.last() != Some(&b'/') {
            prefix.push(b'/');
        }
        let below: Vec<_> = ns.mounts().into_iter().filter(|m| m.path.starts_with(&prefix) && m.path.len() > prefix.len()).collect();
        for m in below.iter().rev() {
            if let Ok(location) = ns.resolve(&ctx, &m.path) {
                if location.mount.id() == m.mount_id && ns.umount(&location).is_ok() {
                    procfs::set_mount_source(m.fs_id, None);
                    let _ = fs::disk::unmounted(m.fs_id);
                }
            }
        }
    }
    let fs_id = at.mount.fs().id();
    ns.umount(at)?;
    procfs::set_mount_source(fs_id, None);
    // A disk file system writes its last changes and marks its device clean.
    fs::disk::unmounted(fs_id)
}

fn sys_umount2(target: UserCStr, flags: u32) -> KResult<u64> {
    let me = task()?;
    require_root(&me)?;
    if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MNT_EXPIRE != 0 && flags & (MNT_FORCE | MNT_DETACH) != 0 {
        return Err(Errno::EINVAL);
    }
    let at = resolve_target(&me, target, flags & UMOUNT_NOFOLLOW == 0)?;
    umount(fs::namespace()?, &at, flags & MNT_DETACH != 0)?;
    Ok(0)
}
