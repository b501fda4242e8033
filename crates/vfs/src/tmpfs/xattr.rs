//! tmpfs extended attributes: `user.*`, `trusted.*` and `security.*` in a per-inode
//! [`XattrSet`](crate::xattr::XattrSet) capped at [`DEFAULT_INODE_CAP`] bytes, whose bytes
//! are charged to the instance's size budget in whole pages (`ENOSPC` when the budget is
//! spent), so attributes cannot exhaust memory a size limit protects.

use alloc::vec::Vec;

use exo_abi::Errno;

use super::node::TmpNode;
use super::PAGE_SIZE;
use crate::inode::Result;
use crate::xattr::{namespace_of, DEFAULT_INODE_CAP};

/// Pages charged for `bytes` of attributes.
pub(crate) fn pages_for(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(PAGE_SIZE)
}

impl TmpNode {
    pub(crate) fn xattr_get(&self, name: &[u8]) -> Result<Vec<u8>> {
        namespace_of(name)?;
        let set = self.xattrs.lock();
        let value = set.get(name)?;
        let mut out = Vec::new();
        out.try_reserve_exact(value.len()).map_err(|_| Errno::ENOMEM)?;
        out.extend_from_slice(value);
        Ok(out)
    }

    /// Sets (`value` given) or removes `name`; `ctime` becomes now.
    pub(crate) fn xattr_set(&self, name: &[u8], value: Option<&[u8]>, flags: u32) -> Result<()> {
        namespace_of(name)?;
        let mut set = self.xattrs.lock();
        let old_pages = pages_for(set.bytes());
        match value {
            Some(value) => {
                let new_pages = pages_for(set.bytes_after_set(name, value, flags, DEFAULT_INODE_CAP)?);
                if new_pages > old_pages && !self.fs.reserve_pages(new_pages - old_pages) {
                    return Err(Errno::ENOSPC);
                }
                if let Err(e) = set.set(name, value, flags, DEFAULT_INODE_CAP) {
                    if new_pages > old_pages {
                        self.fs.release_pages(new_pages - old_pages);
                    }
                    return Err(e);
                }
                if new_pages < old_pages {
                    self.fs.release_pages(old_pages - new_pages);
                }
            }
            None => {
                set.remove(name)?;
                self.fs.release_pages(old_pages - pages_for(set.bytes()));
            }
        }
        drop(set);
        self.touch_changed(self.fs.now());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use exo_abi::mode::{S_IFLNK, S_IFREG};
    use exo_abi::xattr::{XATTR_CREATE, XATTR_SIZE_MAX};
    use exo_abi::Errno;

    use crate::{FileSystem, TmpFs, TmpFsOptions};

    #[test]
    fn store_and_budget() {
        let fs = TmpFs::new(1, TmpFsOptions { max_bytes: Some(4 * 4096), ..TmpFsOptions::default() });
        let root = fs.root();
        let f = root.create(b"f", S_IFREG | 0o644, 0, 0, 0).unwrap();
        f.set_xattr(b"user.a", b"v", XATTR_CREATE).unwrap();
        assert_eq!(f.get_xattr(b"user.a").unwrap(), b"v");
        assert_eq!(f.get_xattr(b"user.b"), Err(Errno::ENODATA));
        assert_eq!(f.get_xattr(b"system.posix_acl_access"), Err(Errno::EOPNOTSUPP));
        assert_eq!(f.set_xattr(b"user.", b"v", 0), Err(Errno::EINVAL));
        assert_eq!(fs.used_bytes(), 4096);
        // A 64 KiB value does not fit in a 16 KiB tmpfs.
        assert_eq!(f.set_xattr(b"user.big", &vec![0; XATTR_SIZE_MAX], 0), Err(Errno::ENOSPC));
        assert_eq!(fs.used_bytes(), 4096);
        let mut l = vec![];
        f.list_xattr(&mut l).unwrap();
        assert_eq!(l, b"user.a\0");
        f.remove_xattr(b"user.a").unwrap();
        assert_eq!(fs.used_bytes(), 0);
        f.set_xattr(b"trusted.t", &[1; 5000], 0).unwrap();
        assert_eq!(fs.used_bytes(), 2 * 4096);
        drop(f);
        root.unlink(b"f").unwrap();
        assert_eq!(fs.used_bytes(), 0);
        let l = root.symlink(b"l", b"t", 0, 0).unwrap();
        assert_eq!(l.file_type(), S_IFLNK);
        l.set_xattr(b"trusted.x", b"", 0).unwrap();
    }
}
