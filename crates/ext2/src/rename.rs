//! `rename`/`renameat2` with Linux's rules: replacing, `RENAME_NOREPLACE`, `RENAME_EXCHANGE`,
//! moves across directories (the moved directory's `..` and both link counts follow), and the
//! refusal to move a directory into itself (checked by walking `..` upwards, bounded, so a
//! corrupted image with a loop gives `EUCLEAN`).

use alloc::sync::Arc;

use exo_abi::Errno;
use exo_vfs::{Inode, RENAME_EXCHANGE, RENAME_NOREPLACE};

use crate::dinode::{FL_IMMUTABLE, FL_PINNED};
use crate::dir::ftype_code;
use crate::fs::{corrupt, ROOT_INO};
use crate::inode::Ext2Inode;
use crate::ops::{check_component, is_dots, LINK_MAX};
use crate::Result;

/// Longest `..` chain followed before calling the tree corrupted.
const MAX_DEPTH: u32 = 4096;

fn check_rename_name(name: &[u8]) -> Result<()> {
    check_component(name)?;
    if is_dots(name) {
        return Err(Errno::EBUSY);
    }
    Ok(())
}

impl Ext2Inode {
    /// Whether directory `dir` is `anc` or lies below it (walking `..`; tree lock held).
    fn is_within(&self, dir: u32, anc: u32) -> Result<bool> {
        let mut cur = dir;
        for _ in 0..MAX_DEPTH {
            if cur == anc {
                return Ok(true);
            }
            if cur == ROOT_INO {
                return Ok(false);
            }
            let node = self.vol.get_inode(cur)?;
            let parent = {
                let mut st = node.lock();
                let img = st.dir(&self.vol, cur)?;
                let off = img.dotdot.ok_or_else(|| corrupt(cur, "no '..' entry"))?;
                crate::bytes::r32(&img.data, off as usize)
            };
            if parent == cur {
                return Err(corrupt(cur, "'..' refers to the directory itself"));
            }
            cur = parent;
        }
        Err(corrupt(dir, "directory loop"))
    }

    pub(crate) fn rename_entry(&self, old_name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8], flags: u32) -> Result<()> {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0 || flags == RENAME_NOREPLACE | RENAME_EXCHANGE {
            return Err(Errno::EINVAL);
        }
        let exchange = flags & RENAME_EXCHANGE != 0;
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let nd = self.same_vol(new_dir)?;
        if !nd.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        check_rename_name(old_name)?;
        check_rename_name(new_name)?;
        let vol = self.vol.clone();
        vol.check_writable()?;
        let _tree = vol.tree.lock();
        vol.reap_orphans()?;
        let same_dir = nd.ino == self.ino;

        // Look the names up (stable while `tree` is held).
        let src_rec = {
            let mut st = self.lock();
            if st.d.links == 0 {
                return Err(Errno::ENOENT);
            }
            st.dir(&vol, self.ino)?.find(old_name).ok_or(Errno::ENOENT)?
        };
        let victim_rec = {
            let mut st = nd.lock();
            if st.d.links == 0 {
                return Err(Errno::ENOENT);
            }
            st.dir(&vol, nd.ino)?.find(new_name)
        };
        if flags & RENAME_NOREPLACE != 0 && victim_rec.is_some() {
            return Err(Errno::EEXIST);
        }
        if exchange && victim_rec.is_none() {
            return Err(Errno::ENOENT);
        }
        if let Some(v) = &victim_rec {
            if v.ino == src_rec.ino {
                return Ok(());
            }
        }
        for ino in [Some(src_rec.ino), victim_rec.map(|v| v.ino)].into_iter().flatten() {
            if ino == self.ino || ino == nd.ino {
                return Err(corrupt(self.ino, "directory entry refers to its own directory"));
            }
        }
        let src = vol.get_inode(src_rec.ino)?;
        let victim = match &victim_rec {
            Some(v) => Some(vol.get_inode(v.ino)?),
            None => None,
        };
        if src.is_dir() && !same_dir && self.is_within(nd.ino, src.ino)? {
            return Err(Errno::EINVAL);
        }
        if let Some(v) = &victim {
            if exchange {
                if v.is_dir() && !same_dir && self.is_within(self.ino, v.ino)? {
                    return Err(Errno::EINVAL);
                }
            } else {
                match (src.is_dir(), v.is_dir()) {
                    (true, false) => return Err(Errno::ENOTDIR),
                    (false, true) => return Err(Errno::EISDIR),
                    (true, true) => {
                        if v.lock().dir(&vol, v.ino)?.count != 0 {
                            return Err(Errno::ENOTEMPTY);
                        }
                    }
                    _ => {}
                }
            }
        }

        // Lock everything: the directories, then the source, then the victim.
        let mut a = self.lock();
        let mut b = if same_dir { None } else { Some(nd.lock()) };
        let mut s = src.lock();
        let mut vs = victim.as_ref().map(|v| v.lock());
        // Nothing immutable or append-only may lose a name (nor an immutable directory gain one).
        let pinned = a.d.flags | s.d.flags | vs.as_ref().map_or(0, |g| g.d.flags) | b.as_ref().map_or(0, |g| if victim_rec.is_some() { g.d.flags } else { g.d.flags & FL_IMMUTABLE });
        if pinned & FL_PINNED != 0 {
            return Err(Errno::EPERM);
        }
        let ft = vol.geo.has_filetype();
        let code = |mode: u16| if ft { ftype_code(u32::from(mode)) } else { 0 };
        let now = vol.now();
        let moves_dir_in = src.is_dir() && !same_dir && !victim.as_ref().is_some_and(|v| v.is_dir() && !exchange);
        if moves_dir_in {
            let links = b.as_ref().map_or(0, |g| g.d.links);
            if links >= LINK_MAX {
                return Err(Errno::EMLINK);
            }
        }
        let src_code = code(s.d.mode);
        {
            // The new name first (the only step that can fail for lack of space).
            let bs = match b.as_mut() {
                Some(g) => &mut **g,
                None => &mut *a,
            };
            match &victim_rec {
                Some(vr) => {
                    let img = bs.dir.as_mut().ok_or(Errno::EIO)?;
                    let r = img.retarget(vr.off, src.ino, src_code);
                    bs.write_dir_range(&vol, nd.ino, r)?;
                }
                None => nd.add_entry(bs, new_name, src.ino, src_code)?,
            }
        }
        // The old name: pointed at the victim (exchange) or removed. Re-find it: adding the
        // new name in the same directory may have moved nothing, but offsets stay valid.
        let img = a.dir.as_mut().ok_or(Errno::EIO)?;
        let cur = img.find(old_name).ok_or(Errno::EIO)?;
        let r = match (&victim, &vs, exchange) {
            (Some(v), Some(g), true) => img.retarget(cur.off, v.ino, code(g.d.mode)),
            _ => img.remove(&cur),
        };
        a.write_dir_range(&vol, self.ino, r)?;

        // `..` of moved directories and the link counts.
        if !same_dir {
            let (old_dir_ino, new_dir_ino) = (self.ino, nd.ino);
            if src.is_dir() {
                set_dotdot(&vol, &src, &mut s, new_dir_ino)?;
            }
            if let (Some(v), Some(g), true) = (&victim, vs.as_mut(), exchange) {
                if v.is_dir() {
                    set_dotdot(&vol, v, g, old_dir_ino)?;
                }
            }
        }
        let bl = |a: &mut crate::inode::State, delta: i32| {
            a.d.links = (i32::from(a.d.links) + delta).clamp(0, i32::from(u16::MAX)) as u16;
        };
        if let (Some(v), Some(g)) = (&victim, vs.as_mut()) {
            if exchange {
                if !same_dir && src.is_dir() != v.is_dir() {
                    let (from_old, to_old) = if src.is_dir() { (-1, 1) } else { (1, -1) };
                    bl(&mut a, from_old);
                    if let Some(bg) = b.as_mut() {
                        bl(bg, to_old);
                    }
                }
            } else if v.is_dir() {
                g.d.links = 0;
                // The victim's `..` no longer counts in the new directory.
                match b.as_mut() {
                    Some(bg) => bl(bg, -1),
                    None => bl(&mut a, -1),
                }
            } else {
                g.d.links = g.d.links.saturating_sub(1);
            }
            g.d.ctime = now;
            vol.write_dinode(v.ino, &mut g.d)?;
            if g.d.links == 0 {
                vol.add_orphan(v.ino);
            }
        }
        if src.is_dir() && !same_dir && !exchange {
            bl(&mut a, -1);
            if let Some(bg) = b.as_mut() {
                bl(bg, 1);
            }
        }
        s.d.ctime = now;
        vol.write_dinode(src.ino, &mut s.d)?;
        a.dir_modified(&vol, self.ino)?;
        if let Some(bg) = b.as_mut() {
            bg.dir_modified(&vol, nd.ino)?;
        }
        Ok(())
    }
}

/// Points directory `node`'s `..` at `parent`.
fn set_dotdot(vol: &crate::fs::Vol, node: &Ext2Inode, st: &mut crate::inode::State, parent: u32) -> Result<()> {
    let img = st.dir(vol, node.ino)?;
    let off = img.dotdot.ok_or_else(|| corrupt(node.ino, "no '..' entry"))?;
    let code = if vol.geo.has_filetype() { 2 } else { 0 };
    let r = img.retarget(off, parent, code);
    st.write_dir_range(vol, node.ino, r)?;
    st.d.flags &= !crate::dinode::FL_INDEX;
    Ok(())
}
