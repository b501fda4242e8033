//! tmpfs `rename`/`renameat2`: moves or exchanges directory entries with Linux's rules, keeps
//! link counts, parent pointers and timestamps right, and refuses to create directory cycles.

use alloc::sync::Arc;

use exo_abi::Errno;

use super::dir::{check_component, is_dots};
use super::node::TmpNode;
use crate::inode::{Inode, Result};
use crate::types::{RENAME_EXCHANGE, RENAME_NOREPLACE};

fn check_rename_name(name: &[u8]) -> Result<()> {
    check_component(name)?;
    if is_dots(name) {
        return Err(Errno::EBUSY);
    }
    Ok(())
}

impl TmpNode {
    pub(crate) fn rename_entry(&self, old_name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8], flags: u32) -> Result<()> {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0 || flags == RENAME_NOREPLACE | RENAME_EXCHANGE {
            return Err(Errno::EINVAL);
        }
        let exchange = flags & RENAME_EXCHANGE != 0;
        let old_lock = self.dir()?;
        let nd = self.same_fs(new_dir)?;
        let new_lock = nd.dir()?;
        check_rename_name(old_name)?;
        check_rename_name(new_name)?;

        let _tree = self.fs.tree.lock();
        let src = old_lock.read().get(old_name).cloned().ok_or(Errno::ENOENT)?;
        let (victim, new_removed) = {
            let d = new_lock.read();
            (d.get(new_name).cloned(), d.removed)
        };
        if new_removed {
            return Err(Errno::ENOENT);
        }
        if flags & RENAME_NOREPLACE != 0 && victim.is_some() {
            return Err(Errno::EEXIST);
        }
        if exchange && victim.is_none() {
            return Err(Errno::ENOENT);
        }
        if let Some(v) = &victim {
            if Arc::ptr_eq(v, &src) {
                return Ok(());
            }
        }
        let same_dir = core::ptr::eq(self, nd);
        // No directory may end up inside itself.
        if src.is_dir() && !same_dir && nd.is_within(&src) {
            return Err(Errno::EINVAL);
        }
        if let Some(v) = &victim {
            if exchange {
                if v.is_dir() && !same_dir && self.is_within(v) {
                    return Err(Errno::EINVAL);
                }
            } else {
                match (src.is_dir(), v.is_dir()) {
                    (true, false) => return Err(Errno::ENOTDIR),
                    (false, true) => return Err(Errno::EISDIR),
                    // A directory containing the source (e.g. an ancestor) is never empty.
                    (true, true) if v.dir()?.read().len() != 0 => return Err(Errno::ENOTEMPTY),
                    _ => {}
                }
            }
        }

        // Move the entries.
        if same_dir {
            let mut d = old_lock.write();
            d.remove(old_name);
            if victim.is_some() {
                d.remove(new_name);
            }
            d.insert(new_name, src.clone());
            if let (true, Some(v)) = (exchange, &victim) {
                d.insert(old_name, v.clone());
            }
        } else {
            let mut a = old_lock.write();
            let mut b = new_lock.write();
            a.remove(old_name);
            if victim.is_some() {
                b.remove(new_name);
            }
            b.insert(new_name, src.clone());
            if let (true, Some(v)) = (exchange, &victim) {
                a.insert(old_name, v.clone());
            }
        }

        // Fix link counts and parent pointers.
        let now = self.fs.now();
        if src.is_dir() && !same_dir {
            self.add_links(-1);
            nd.add_links(1);
            *src.parent.lock() = nd.me.clone();
        }
        if let Some(v) = &victim {
            if exchange {
                if v.is_dir() && !same_dir {
                    nd.add_links(-1);
                    self.add_links(1);
                    *v.parent.lock() = self.me.clone();
                }
            } else if v.is_dir() {
                v.dir()?.write().removed = true;
                v.meta.lock().nlink = 0;
                nd.add_links(-1);
            } else {
                v.add_links(-1);
            }
            v.touch_changed(now);
        }
        src.touch_changed(now);
        self.touch_modified(now);
        if !same_dir {
            nd.touch_modified(now);
        }
        Ok(())
    }
}
