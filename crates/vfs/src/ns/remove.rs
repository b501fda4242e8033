//! Namespace operations that remove or move names: `unlink`, `rmdir`, `rename`/`renameat2`,
//! with Linux's checks (write+search on the directories, the sticky bit, mount points, moving a
//! directory into itself) in Linux's order, and the dentry-cache updates that keep cwds and
//! open paths pointing at the right names.

use alloc::sync::Arc;

use exo_abi::Errno;

use super::dentry::optional;
use super::notify::{changed, Change};
use super::ops::may_change;
use super::walk::Last;
use super::{Lookup, Namespace};
use crate::inode::{Inode, Result};
use crate::perm::{permitted, sticky_allows, Access};
use crate::types::{RENAME_EXCHANGE, RENAME_NOREPLACE};

fn same_inode(a: &Arc<dyn Inode>, b: &Arc<dyn Inode>) -> bool {
    core::ptr::eq(Arc::as_ptr(a) as *const (), Arc::as_ptr(b) as *const ())
}

impl Namespace {
    /// `unlink`: removes a non-directory. `.`, `..`, `/` and directories are `EISDIR`; a
    /// trailing slash is `EISDIR` on a directory and `ENOTDIR` on anything else; the sticky bit
    /// is `EPERM`.
    pub fn unlink(&self, ctx: &Lookup, path: &[u8]) -> Result<()> {
        let p = self.parent_of(ctx, path)?;
        if p.last != Last::Normal {
            return Err(Errno::EISDIR);
        }
        let _m = self.mutate.lock();
        if p.dir.is_readonly() {
            return Err(Errno::EROFS);
        }
        let victim = p.dir.dentry.lookup_child(&p.name, &self.recent)?;
        if p.trailing {
            return Err(if victim.is_dir() { Errno::EISDIR } else { Errno::ENOTDIR });
        }
        let dir_meta = may_change(&p.dir, &ctx.cred)?;
        if !sticky_allows(&dir_meta, &victim.inode().metadata(), &ctx.cred) {
            return Err(Errno::EPERM);
        }
        if victim.is_dir() {
            return Err(Errno::EISDIR);
        }
        if self.is_mountpoint(&p.dir.mount, &victim) {
            return Err(Errno::EBUSY);
        }
        p.dir.dentry.bump();
        p.dir.inode().unlink(&p.name)?;
        p.dir.dentry.remove_child(&p.name, &victim);
        self.recent.forget(&victim);
        changed(Change::Removed { dir: p.dir.inode(), name: &p.name, child: victim.inode() });
        Ok(())
    }

    /// `rmdir`: removes an empty directory. A final `.` is `EINVAL`, `..` `ENOTEMPTY`, `/`
    /// `EBUSY`; a mount point is `EBUSY`; a non-directory `ENOTDIR`.
    pub fn rmdir(&self, ctx: &Lookup, path: &[u8]) -> Result<()> {
        let p = self.parent_of(ctx, path)?;
        match p.last {
            Last::Dot => return Err(Errno::EINVAL),
            Last::DotDot => return Err(Errno::ENOTEMPTY),
            Last::Root => return Err(Errno::EBUSY),
            Last::Normal => {}
        }
        let _m = self.mutate.lock();
        if p.dir.is_readonly() {
            return Err(Errno::EROFS);
        }
        let victim = p.dir.dentry.lookup_child(&p.name, &self.recent)?;
        let dir_meta = may_change(&p.dir, &ctx.cred)?;
        if !sticky_allows(&dir_meta, &victim.inode().metadata(), &ctx.cred) {
            return Err(Errno::EPERM);
        }
        if !victim.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if self.is_mountpoint(&p.dir.mount, &victim) {
            return Err(Errno::EBUSY);
        }
        p.dir.dentry.bump();
        p.dir.inode().rmdir(&p.name)?;
        p.dir.dentry.remove_child(&p.name, &victim);
        self.recent.forget(&victim);
        changed(Change::Removed { dir: p.dir.inode(), name: &p.name, child: victim.inode() });
        Ok(())
    }

    /// `renameat2(old, new, flags)`, each path resolved with its own context. Errors, in
    /// Linux's order: bad flags `EINVAL`; different mounts `EXDEV`; a final `.`, `..` or `/`
    /// `EBUSY`; read-only mount `EROFS`; no source `ENOENT`; `RENAME_NOREPLACE` and a target
    /// `EEXIST`; `RENAME_EXCHANGE` without target `ENOENT`; a trailing slash on a non-directory
    /// `ENOTDIR`; the source is an ancestor of the new parent `EINVAL`; the target is an
    /// ancestor of the old parent `ENOTEMPTY` (`EINVAL` for an exchange); same inode: success,
    /// nothing done; permissions `EACCES`/`EPERM` (sticky); directory over non-directory
    /// `ENOTDIR`, the reverse `EISDIR`; a mount point `EBUSY`; a non-empty target directory
    /// `ENOTEMPTY`.
    pub fn rename(&self, old_ctx: &Lookup, old: &[u8], new_ctx: &Lookup, new: &[u8], flags: u32) -> Result<()> {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0 || flags == RENAME_NOREPLACE | RENAME_EXCHANGE {
            return Err(Errno::EINVAL);
        }
        let exchange = flags & RENAME_EXCHANGE != 0;
        let po = self.parent_of(old_ctx, old)?;
        let pn = self.parent_of(new_ctx, new)?;
        if !Arc::ptr_eq(&po.dir.mount, &pn.dir.mount) {
            return Err(Errno::EXDEV);
        }
        if po.last != Last::Normal || pn.last != Last::Normal {
            return Err(Errno::EBUSY);
        }
        let _m = self.mutate.lock();
        if po.dir.is_readonly() {
            return Err(Errno::EROFS);
        }
        let src = po.dir.dentry.lookup_child(&po.name, &self.recent)?;
        let tgt = optional(pn.dir.dentry.lookup_child(&pn.name, &self.recent))?;
        if flags & RENAME_NOREPLACE != 0 && tgt.is_some() {
            return Err(Errno::EEXIST);
        }
        match &tgt {
            None if exchange => return Err(Errno::ENOENT),
            Some(t) if exchange => {
                if (po.trailing && !src.is_dir()) || (pn.trailing && !t.is_dir()) {
                    return Err(Errno::ENOTDIR);
                }
            }
            _ => {
                if !src.is_dir() && (po.trailing || pn.trailing) {
                    return Err(Errno::ENOTDIR);
                }
            }
        }
        if pn.dir.dentry.is_within(&src) {
            return Err(Errno::EINVAL);
        }
        if let Some(t) = &tgt {
            if po.dir.dentry.is_within(t) {
                return Err(if exchange { Errno::EINVAL } else { Errno::ENOTEMPTY });
            }
            if same_inode(src.inode(), t.inode()) {
                return Ok(());
            }
        }

        let cred = &new_ctx.cred;
        let old_meta = may_change(&po.dir, &old_ctx.cred)?;
        let src_meta = src.inode().metadata();
        if !sticky_allows(&old_meta, &src_meta, &old_ctx.cred) {
            return Err(Errno::EPERM);
        }
        let new_meta = may_change(&pn.dir, cred)?;
        let mut tgt_meta = None;
        if let Some(t) = &tgt {
            let tm = t.inode().metadata();
            if !sticky_allows(&new_meta, &tm, cred) {
                return Err(Errno::EPERM);
            }
            if !exchange {
                match (src.is_dir(), t.is_dir()) {
                    (true, false) => return Err(Errno::ENOTDIR),
                    (false, true) => return Err(Errno::EISDIR),
                    _ => {}
                }
            }
            tgt_meta = Some(tm);
        }
        if !Arc::ptr_eq(&po.dir.dentry, &pn.dir.dentry) {
            if src.is_dir() && !permitted(&src_meta, &old_ctx.cred, Access::WRITE) {
                return Err(Errno::EACCES);
            }
            if let (true, Some(tm)) = (exchange, &tgt_meta) {
                if tm.is_dir() && !permitted(tm, cred, Access::WRITE) {
                    return Err(Errno::EACCES);
                }
            }
        }
        if self.is_mountpoint(&po.dir.mount, &src) || tgt.as_ref().is_some_and(|t| self.is_mountpoint(&pn.dir.mount, t)) {
            return Err(Errno::EBUSY);
        }

        po.dir.dentry.bump();
        pn.dir.dentry.bump();
        po.dir.inode().rename(&po.name, pn.dir.inode(), &pn.name, flags)?;
        match (&tgt, exchange) {
            (Some(t), true) => {
                po.dir.dentry.move_child(&po.name, &src, &pn.dir.dentry, &pn.name);
                pn.dir.dentry.move_child(&pn.name, t, &po.dir.dentry, &po.name);
                let (from_dir, to_dir) = (po.dir.inode(), pn.dir.inode());
                changed(Change::Moved { from_dir, from_name: &po.name, to_dir, to_name: &pn.name, child: src.inode(), replaced: None });
                changed(Change::Moved { from_dir: to_dir, from_name: &pn.name, to_dir: from_dir, to_name: &po.name, child: t.inode(), replaced: None });
            }
            _ => {
                if let Some(t) = &tgt {
                    pn.dir.dentry.remove_child(&pn.name, t);
                    self.recent.forget(t);
                }
                po.dir.dentry.move_child(&po.name, &src, &pn.dir.dentry, &pn.name);
                let replaced = tgt.as_ref().map(|t| t.inode());
                changed(Change::Moved { from_dir: po.dir.inode(), from_name: &po.name, to_dir: pn.dir.inode(), to_name: &pn.name, child: src.inode(), replaced });
            }
        }
        Ok(())
    }
}
