//! Extended attributes: Linux's rules as pure logic. [`check_name`] and [`check_flags`] are the
//! argument checks of the `setxattr` family, [`check_access`] is the VFS's permission rule
//! (`xattr_permission` plus the capability check on `security.*`), [`namespace_of`] resolves a
//! name to the namespace a file system stores (`EOPNOTSUPP` for an unknown prefix, `EINVAL` for
//! a bare prefix), and [`XattrSet`] is one inode's bounded set of attributes, what tmpfs keeps.
//! [`filter_list`] drops the names a caller may not see from a `listxattr` result.

use alloc::vec::Vec;

use exo_abi::mode::{S_IFDIR, S_IFMT, S_IFREG, S_ISVTX};
use exo_abi::xattr::*;
use exo_abi::Errno;

use crate::inode::Result;
use crate::perm::{permitted, Access, Cred};
use crate::types::Metadata;

/// Bytes an entry costs in an [`XattrSet`] beyond its name and value (bookkeeping), so that
/// many empty attributes still reach the cap.
pub const ENTRY_OVERHEAD: usize = 32;
/// Default cap of one inode's attributes (names + values + overhead): room for one maximal
/// value and more.
pub const DEFAULT_INODE_CAP: usize = 128 * 1024;

/// The namespaces Exo-OS stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XattrNamespace {
    User,
    Trusted,
    Security,
}

/// The argument check on a name: `ERANGE` if empty or longer than `XATTR_NAME_MAX` (what
/// Linux answers when copying the name from the caller).
pub fn check_name(name: &[u8]) -> Result<()> {
    if name.is_empty() || name.len() > XATTR_NAME_MAX {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

/// `setxattr` flags: only `XATTR_CREATE` and `XATTR_REPLACE` (`EINVAL`).
pub fn check_flags(flags: u32) -> Result<()> {
    if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The namespace of `name` for a file system that stores `user.`, `trusted.` and `security.`:
/// `EINVAL` for a prefix with nothing after it, `EOPNOTSUPP` for any other prefix (`system.`
/// included: no ACLs).
pub fn namespace_of(name: &[u8]) -> Result<XattrNamespace> {
    for (prefix, ns) in [
        (XATTR_USER_PREFIX, XattrNamespace::User),
        (XATTR_TRUSTED_PREFIX, XattrNamespace::Trusted),
        (XATTR_SECURITY_PREFIX, XattrNamespace::Security),
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return if rest.is_empty() { Err(Errno::EINVAL) } else { Ok(ns) };
        }
    }
    Err(Errno::EOPNOTSUPP)
}

/// Whether `cred` may read (`write == false`) or change the attribute `name` of the inode
/// `meta` describes (Linux `xattr_permission`, then `cap_inode_setxattr`):
///
/// - `security.*` / `system.*`: reading is free; changing `security.*` needs root (`EPERM`);
/// - `trusted.*`: root only (`EPERM` to change, `ENODATA` to read);
/// - `user.*`: regular files and directories only (`EPERM` to change, `ENODATA` to read); a
///   sticky directory's only for its owner or root (`EPERM`); then the file's read or write
///   permission (`EACCES`);
/// - any other name: read or write permission (the file system then says `EOPNOTSUPP`).
pub fn check_access(meta: &Metadata, cred: &Cred, name: &[u8], write: bool) -> Result<()> {
    if name.starts_with(XATTR_SECURITY_PREFIX) {
        return if write && !cred.is_root() { Err(Errno::EPERM) } else { Ok(()) };
    }
    if name.starts_with(XATTR_SYSTEM_PREFIX) {
        return Ok(());
    }
    if name.starts_with(XATTR_TRUSTED_PREFIX) {
        return match (cred.is_root(), write) {
            (true, _) => Ok(()),
            (false, true) => Err(Errno::EPERM),
            (false, false) => Err(Errno::ENODATA),
        };
    }
    if name.starts_with(XATTR_USER_PREFIX) {
        let ftype = meta.mode & S_IFMT;
        if ftype != S_IFREG && ftype != S_IFDIR {
            return Err(if write { Errno::EPERM } else { Errno::ENODATA });
        }
        if ftype == S_IFDIR && meta.mode & S_ISVTX != 0 && write && !cred.is_root() && cred.uid != meta.uid {
            return Err(Errno::EPERM);
        }
    }
    let want = if write { Access::WRITE } else { Access::READ };
    if permitted(meta, cred, want) {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// Removes from `list` (NUL-terminated names) the `trusted.*` names unless `root` (Linux lists
/// them only to a privileged caller).
pub fn filter_list(list: &mut Vec<u8>, root: bool) {
    if root {
        return;
    }
    let mut out = 0;
    let mut start = 0;
    while start < list.len() {
        let end = list[start..].iter().position(|&b| b == 0).map_or(list.len(), |p| start + p + 1);
        if !list[start..end].starts_with(XATTR_TRUSTED_PREFIX) {
            list.copy_within(start..end, out);
            out += end - start;
        }
        start = end;
    }
    list.truncate(out);
}

/// One inode's attributes, in creation order, with a byte cap (names + values + a fixed
/// overhead per entry). Every allocation is fallible (`ENOMEM`).
#[derive(Debug, Default)]
pub struct XattrSet {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    bytes: usize,
}

fn cost(name: &[u8], value: &[u8]) -> usize {
    name.len() + value.len() + ENTRY_OVERHEAD
}

fn copy(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(bytes.len()).map_err(|_| Errno::ENOMEM)?;
    v.extend_from_slice(bytes);
    Ok(v)
}

impl XattrSet {
    pub const fn new() -> XattrSet {
        XattrSet { entries: Vec::new(), bytes: 0 }
    }

    /// Bytes accounted (see [`ENTRY_OVERHEAD`]).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn index(&self, name: &[u8]) -> Option<usize> {
        self.entries.iter().position(|(n, _)| n == name)
    }

    /// The value of `name` (`ENODATA` if absent).
    pub fn get(&self, name: &[u8]) -> Result<&[u8]> {
        self.index(name).map(|i| self.entries[i].1.as_slice()).ok_or(Errno::ENODATA)
    }

    /// The accounted size after setting `name` to `value` (for a caller that reserves space
    /// first), with the `XATTR_CREATE`/`XATTR_REPLACE` rules checked: `EEXIST`, `ENODATA`;
    /// `ENOSPC` past `cap`.
    pub fn bytes_after_set(&self, name: &[u8], value: &[u8], flags: u32, cap: usize) -> Result<usize> {
        let old = match self.index(name) {
            Some(_) if flags & XATTR_CREATE != 0 => return Err(Errno::EEXIST),
            None if flags & XATTR_REPLACE != 0 => return Err(Errno::ENODATA),
            Some(i) => cost(name, &self.entries[i].1),
            None => 0,
        };
        let new = (self.bytes - old).checked_add(cost(name, value)).ok_or(Errno::ENOSPC)?;
        if new > cap {
            return Err(Errno::ENOSPC);
        }
        Ok(new)
    }

    /// Sets `name` to `value` with the rules of [`bytes_after_set`](Self::bytes_after_set).
    pub fn set(&mut self, name: &[u8], value: &[u8], flags: u32, cap: usize) -> Result<()> {
        let new_bytes = self.bytes_after_set(name, value, flags, cap)?;
        let value = copy(value)?;
        match self.index(name) {
            Some(i) => self.entries[i].1 = value,
            None => {
                let name = copy(name)?;
                self.entries.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                self.entries.push((name, value));
            }
        }
        self.bytes = new_bytes;
        Ok(())
    }

    /// Removes `name` (`ENODATA` if absent).
    pub fn remove(&mut self, name: &[u8]) -> Result<()> {
        let i = self.index(name).ok_or(Errno::ENODATA)?;
        let (n, v) = self.entries.remove(i);
        self.bytes -= cost(&n, &v);
        Ok(())
    }

    /// Appends every name, NUL-terminated, to `out`.
    pub fn list(&self, out: &mut Vec<u8>) -> Result<()> {
        for (name, _) in &self.entries {
            out.try_reserve(name.len() + 1).map_err(|_| Errno::ENOMEM)?;
            out.extend_from_slice(name);
            out.push(0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn meta(mode: u32, uid: u32) -> Metadata {
        Metadata { mode, uid, gid: uid, ..Metadata::default() }
    }

    #[test]
    fn names_and_flags() {
        assert_eq!(check_name(b""), Err(Errno::ERANGE));
        assert_eq!(check_name(&[b'a'; 256]), Err(Errno::ERANGE));
        assert!(check_name(&[b'a'; 255]).is_ok());
        assert_eq!(check_flags(4), Err(Errno::EINVAL));
        assert!(check_flags(XATTR_CREATE | XATTR_REPLACE).is_ok());
        assert_eq!(namespace_of(b"user.x"), Ok(XattrNamespace::User));
        assert_eq!(namespace_of(b"trusted.x"), Ok(XattrNamespace::Trusted));
        assert_eq!(namespace_of(b"security.x"), Ok(XattrNamespace::Security));
        assert_eq!(namespace_of(b"user."), Err(Errno::EINVAL));
        assert_eq!(namespace_of(b"system.posix_acl_access"), Err(Errno::EOPNOTSUPP));
        assert_eq!(namespace_of(b"foo.bar"), Err(Errno::EOPNOTSUPP));
        assert_eq!(namespace_of(b"user"), Err(Errno::EOPNOTSUPP));
    }

    #[test]
    fn access_rules() {
        let user = Cred::new(1000, 1000, vec![]);
        let other = Cred::new(1001, 1001, vec![]);
        let root = Cred::root();
        let file = meta(S_IFREG | 0o644, 1000);
        assert!(check_access(&file, &user, b"user.a", true).is_ok());
        assert!(check_access(&file, &other, b"user.a", false).is_ok());
        assert_eq!(check_access(&file, &other, b"user.a", true), Err(Errno::EACCES));
        assert_eq!(check_access(&meta(S_IFREG, 1000), &user, b"user.a", false), Err(Errno::EACCES));
        let link = meta(exo_abi::mode::S_IFLNK | 0o777, 1000);
        assert_eq!(check_access(&link, &user, b"user.a", true), Err(Errno::EPERM));
        assert_eq!(check_access(&link, &user, b"user.a", false), Err(Errno::ENODATA));
        assert_eq!(check_access(&file, &user, b"trusted.a", true), Err(Errno::EPERM));
        assert_eq!(check_access(&file, &user, b"trusted.a", false), Err(Errno::ENODATA));
        assert!(check_access(&file, &root, b"trusted.a", true).is_ok());
        assert_eq!(check_access(&file, &user, b"security.a", true), Err(Errno::EPERM));
        assert!(check_access(&file, &other, b"security.a", false).is_ok());
        let sticky = meta(S_IFDIR | 0o1777, 0);
        assert_eq!(check_access(&sticky, &user, b"user.a", true), Err(Errno::EPERM));
        assert!(check_access(&sticky, &root, b"user.a", true).is_ok());
        assert_eq!(check_access(&file, &other, b"foo.a", true), Err(Errno::EACCES));
    }

    #[test]
    fn set_get_remove_list() {
        let mut s = XattrSet::new();
        assert_eq!(s.get(b"user.a"), Err(Errno::ENODATA));
        assert_eq!(s.set(b"user.a", b"1", XATTR_REPLACE, DEFAULT_INODE_CAP), Err(Errno::ENODATA));
        s.set(b"user.a", b"1", XATTR_CREATE, DEFAULT_INODE_CAP).unwrap();
        assert_eq!(s.set(b"user.a", b"2", XATTR_CREATE, DEFAULT_INODE_CAP), Err(Errno::EEXIST));
        s.set(b"user.a", b"22", XATTR_REPLACE, DEFAULT_INODE_CAP).unwrap();
        s.set(b"trusted.b", b"", 0, DEFAULT_INODE_CAP).unwrap();
        assert_eq!(s.get(b"user.a"), Ok(&b"22"[..]));
        assert_eq!(s.bytes(), 6 + 2 + 9 + 2 * ENTRY_OVERHEAD);
        let mut l = Vec::new();
        s.list(&mut l).unwrap();
        assert_eq!(l, b"user.a\0trusted.b\0");
        filter_list(&mut l, false);
        assert_eq!(l, b"user.a\0");
        s.remove(b"user.a").unwrap();
        assert_eq!(s.remove(b"user.a"), Err(Errno::ENODATA));
        assert_eq!(s.bytes(), 9 + ENTRY_OVERHEAD);
        s.remove(b"trusted.b").unwrap();
        assert_eq!(s.bytes(), 0);
        assert!(s.is_empty());
    }

    #[test]
    fn cap_is_enforced() {
        let mut s = XattrSet::new();
        let big = vec![7u8; XATTR_SIZE_MAX];
        s.set(b"user.a", &big, 0, DEFAULT_INODE_CAP).unwrap();
        assert_eq!(s.set(b"user.b", &big, 0, DEFAULT_INODE_CAP), Err(Errno::ENOSPC));
        // Replacing within the cap works (the old value's cost is given back).
        s.set(b"user.a", &big, 0, DEFAULT_INODE_CAP).unwrap();
        let mut n = 0;
        while s.set(alloc::format!("user.{n}").as_bytes(), b"", 0, DEFAULT_INODE_CAP).is_ok() {
            n += 1;
        }
        assert!(s.bytes() <= DEFAULT_INODE_CAP);
        assert!(n > 100);
    }

    proptest::proptest! {
        #[test]
        fn accounting_matches(ops in proptest::collection::vec((0u8..6, 0usize..300, proptest::bool::ANY), 0..200)) {
            let mut s = XattrSet::new();
            for (k, len, remove) in ops {
                let name = alloc::format!("user.{k}");
                if remove {
                    let _ = s.remove(name.as_bytes());
                } else {
                    let _ = s.set(name.as_bytes(), &vec![1u8; len], 0, 1000);
                }
                let mut sum = 0;
                let mut l = Vec::new();
                s.list(&mut l).unwrap();
                for n in l.split(|&b| b == 0).filter(|n| !n.is_empty()) {
                    sum += n.len() + s.get(n).unwrap().len() + ENTRY_OVERHEAD;
                }
                proptest::prop_assert_eq!(sum, s.bytes());
                proptest::prop_assert!(s.bytes() <= 1000);
            }
        }
    }
}
