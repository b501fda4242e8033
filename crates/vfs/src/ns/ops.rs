//! Namespace operations that add names: `open(O_CREAT)`, `mkdir`, `mknod`, `symlink`, `link`.
//! Each resolves the parent without locks, then, under the namespace's mutation lock, looks the
//! final name up, does Linux's checks in Linux's order, calls the parent inode and updates the
//! dentry cache.

use alloc::sync::Arc;

use exo_abi::mode::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK, S_ISGID};
use exo_abi::Errno;
use exo_sleeplock::MutexGuard;

use super::dentry::optional;
use super::walk::{Last, Parent, Walk};
use super::{Lookup, Namespace, PathRef};
use crate::inode::{Inode, Result};
use crate::perm::{permitted, Access, Cred};
use crate::types::{Metadata, PATH_MAX};

/// Checks that `cred` may add or remove names in `dir`: `EROFS` on a read-only mount, `EACCES`
/// without write and search permission. Returns the directory's metadata.
pub(crate) fn may_change(dir: &PathRef, cred: &Cred) -> Result<Metadata> {
    if dir.is_readonly() {
        return Err(Errno::EROFS);
    }
    let meta = dir.metadata();
    if !permitted(&meta, cred, Access::WRITE_EXEC) {
        return Err(Errno::EACCES);
    }
    Ok(meta)
}

/// Owner group and mode of a new inode in a directory described by `dir` (the setgid
/// directory rules: inherit the group; subdirectories inherit `S_ISGID`; a non-member loses
/// `S_ISGID` on a group-executable file).
fn new_owner(dir: &Metadata, cred: &Cred, ftype: u32, mode: u32) -> (u32, u32) {
    if dir.mode & S_ISGID == 0 {
        return (cred.gid, mode);
    }
    let gid = dir.gid;
    let mode = if ftype == S_IFDIR {
        mode | S_ISGID
    } else if mode & (S_ISGID | 0o010) == (S_ISGID | 0o010) && !cred.is_root() && !cred.in_group(gid) {
        mode & !S_ISGID
    } else {
        mode
    };
    (gid, mode)
}

impl Namespace {
    /// Creates the inode `name` in `dir` (caller holds `mutate` and did the checks) and caches
    /// its dentry.
    fn add(&self, dir: &PathRef, name: &[u8], cred: &Cred, dir_meta: &Metadata, mode: u32, rdev: u64) -> Result<PathRef> {
        let ftype = mode & S_IFMT;
        let (gid, mode) = new_owner(dir_meta, cred, ftype, mode);
        dir.dentry.bump();
        let inode = dir.inode().create(name, mode, cred.uid, gid, rdev);
        let created = self.added(dir, name, inode?);
        super::notify::changed(super::notify::Change::Created { dir: dir.inode(), name, child: created.inode() });
        Ok(created)
    }

    fn added(&self, dir: &PathRef, name: &[u8], inode: Arc<dyn Inode>) -> PathRef {
        let dentry = dir.dentry.add_child(name, inode);
        if dir.dentry.keeps_children() {
            // A file just made is usually looked up again soon (stat, open, unlink).
            self.recent.keep(&dentry);
        }
        PathRef { mount: dir.mount.clone(), dentry }
    }

    /// `open` with `O_CREAT`: returns the file and whether it was created. With `exclusive`
    /// (`O_EXCL`) an existing name is `EEXIST`, even a symlink. Otherwise an existing file is
    /// returned as is (the kernel then checks open permissions and `O_TRUNC`); a final symlink is
    /// followed — creating its target if missing — unless `ctx.follow_final_symlink` is false
    /// (`ELOOP`). A directory, `.`, `..`, `/` or a trailing slash is `EISDIR`. A new file gets
    /// `S_IFREG | (mode & 0o7777)` (the caller applies the umask), the caller's uid and gid.
    pub fn create(&self, ctx: &Lookup, path: &[u8], mode: u32, exclusive: bool) -> Result<(PathRef, bool)> {
        let mut walk = Walk::new(self, ctx, path)?;
        let mut trailing = false;
        loop {
            let (name, slash) = walk.walk_to_last()?.ok_or(Errno::EISDIR)?;
            trailing |= slash;
            if &*name == b"." || &*name == b".." || trailing {
                return Err(Errno::EISDIR);
            }
            let _m = self.mutate.lock();
            let dir = walk.cur.clone();
            match optional(dir.dentry.lookup_child(&name, &self.recent))? {
                Some(found) => {
                    if exclusive {
                        return Err(Errno::EEXIST);
                    }
                    let found = self.cross_mounts(PathRef { mount: dir.mount.clone(), dentry: found });
                    if found.dentry.is_symlink() {
                        if !ctx.follow_final_symlink {
                            return Err(Errno::ELOOP);
                        }
                        drop(_m);
                        walk.follow(&found)?;
                        continue;
                    }
                    if found.dentry.is_dir() {
                        return Err(Errno::EISDIR);
                    }
                    return Ok((found, false));
                }
                None => {
                    let meta = may_change(&dir, &ctx.cred)?;
                    let created = self.add(&dir, &name, &ctx.cred, &meta, S_IFREG | (mode & 0o7777), 0)?;
                    return Ok((created, true));
                }
            }
        }
    }

    /// `mkdir`: `EEXIST` if the name exists or is `.`, `..` or `/`; trailing slashes are fine.
    /// The new directory gets `mode & 0o1777` (umask applied by the caller).
    pub fn mkdir(&self, ctx: &Lookup, path: &[u8], mode: u32) -> Result<PathRef> {
        let p = self.parent_of(ctx, path)?;
        if p.last != Last::Normal {
            return Err(Errno::EEXIST);
        }
        let _m = self.mutate.lock();
        if optional(p.dir.dentry.lookup_child(&p.name, &self.recent))?.is_some() {
            return Err(Errno::EEXIST);
        }
        let meta = may_change(&p.dir, &ctx.cred)?;
        self.add(&p.dir, &p.name, &ctx.cred, &meta, S_IFDIR | (mode & 0o1777), 0)
    }

    /// `mknod`: `mode`'s type is `S_IFREG` (or 0), `S_IFIFO`, `S_IFSOCK`, `S_IFCHR` or `S_IFBLK`
    /// (device nodes need root: `EPERM`); `S_IFDIR` is `EPERM`, anything else `EINVAL`.
    pub fn mknod(&self, ctx: &Lookup, path: &[u8], mode: u32, rdev: u64) -> Result<PathRef> {
        let ftype = match mode & S_IFMT {
            0 => S_IFREG,
            t @ (S_IFREG | S_IFIFO | S_IFSOCK | S_IFCHR | S_IFBLK) => t,
            S_IFDIR => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        };
        let (p, _m) = self.new_name(ctx, path)?;
        let meta = may_change(&p.dir, &ctx.cred)?;
        if (ftype == S_IFCHR || ftype == S_IFBLK) && !ctx.cred.is_root() {
            return Err(Errno::EPERM);
        }
        self.add(&p.dir, &p.name, &ctx.cred, &meta, ftype | (mode & 0o7777), rdev)
    }

    /// `symlink`: creates `path` pointing at `target` (`ENOENT` if empty, `ENAMETOOLONG` if
    /// `PATH_MAX` bytes or more; the target is not resolved).
    pub fn symlink(&self, ctx: &Lookup, target: &[u8], path: &[u8]) -> Result<PathRef> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let (p, _m) = self.new_name(ctx, path)?;
        let meta = may_change(&p.dir, &ctx.cred)?;
        let (gid, _) = new_owner(&meta, &ctx.cred, 0, 0);
        p.dir.dentry.bump();
        let inode = p.dir.inode().symlink(&p.name, target, ctx.cred.uid, gid)?;
        let created = self.added(&p.dir, &p.name, inode);
        super::notify::changed(super::notify::Change::Created { dir: p.dir.inode(), name: &p.name, child: created.inode() });
        Ok(created)
    }

    /// `linkat`: adds `new` as a hard link to `old` (resolved with `old_ctx`; its
    /// `follow_final_symlink` is `AT_SYMLINK_FOLLOW`). `EEXIST` if `new` exists or is `.`, `..`,
    /// `/`; `EXDEV` across mounts; `EPERM` for a directory.
    pub fn link(&self, old_ctx: &Lookup, old: &[u8], new_ctx: &Lookup, new: &[u8]) -> Result<()> {
        let src = self.resolve(old_ctx, old)?;
        let (p, _m) = self.new_name(new_ctx, new)?;
        if !Arc::ptr_eq(&src.mount, &p.dir.mount) {
            return Err(Errno::EXDEV);
        }
        may_change(&p.dir, &new_ctx.cred)?;
        if src.dentry.is_dir() {
            return Err(Errno::EPERM);
        }
        p.dir.dentry.bump();
        p.dir.inode().link(&p.name, src.inode())?;
        self.added(&p.dir, &p.name, src.inode().clone());
        super::notify::changed(super::notify::Change::Linked { dir: p.dir.inode(), name: &p.name, child: src.inode() });
        Ok(())
    }

    /// Common start of `mknod`, `symlink` and `link` (Linux `filename_create`): resolves the
    /// parent, takes the mutation lock and refuses an existing name (`EEXIST`, also for `.`,
    /// `..`, `/`) or a missing one followed by a slash (`ENOENT`).
    fn new_name(&self, ctx: &Lookup, path: &[u8]) -> Result<(Parent, MutexGuard<'_, ()>)> {
        let p = self.parent_of(ctx, path)?;
        if p.last != Last::Normal {
            return Err(Errno::EEXIST);
        }
        let guard = self.mutate.lock();
        if optional(p.dir.dentry.lookup_child(&p.name, &self.recent))?.is_some() {
            return Err(Errno::EEXIST);
        }
        if p.trailing {
            return Err(Errno::ENOENT);
        }
        Ok((p, guard))
    }
}
