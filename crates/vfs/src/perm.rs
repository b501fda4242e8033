//! Credentials and Linux's discretionary access checks: [`permitted`] (the `rwx` classes with
//! root's overrides) and [`sticky_allows`] (who may remove or rename an entry of a sticky
//! directory).

use alloc::vec::Vec;
use exo_abi::mode::S_ISVTX;

use crate::types::Metadata;

/// The identity file-system checks use (Linux's fsuid, fsgid and supplementary groups).
/// uid 0 stands for the capabilities `CAP_DAC_OVERRIDE`, `CAP_FOWNER` and `CAP_MKNOD`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cred {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

impl Cred {
    /// Root: uid 0, gid 0, no supplementary groups.
    pub fn root() -> Cred {
        Cred::default()
    }

    /// A credential with the given ids.
    pub fn new(uid: u32, gid: u32, groups: Vec<u32>) -> Cred {
        Cred { uid, gid, groups }
    }

    /// Whether this is the superuser.
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// Whether `gid` is the primary or a supplementary group.
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// Requested access: any combination of read, write and execute/search.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Access {
    pub const READ: Access = Access { read: true, write: false, exec: false };
    pub const WRITE: Access = Access { read: false, write: true, exec: false };
    pub const EXEC: Access = Access { read: false, write: false, exec: true };
    /// Write and search: what changing a directory's entries needs.
    pub const WRITE_EXEC: Access = Access { read: false, write: true, exec: true };

    /// Access with the given bits.
    pub const fn new(read: bool, write: bool, exec: bool) -> Access {
        Access { read, write, exec }
    }
}

/// Whether `cred` may access the inode described by `meta` as `want` asks (Linux
/// `generic_permission` without ACLs):
///
/// - root may always read and write, and may execute a directory or any file with at least
///   one execute bit;
/// - otherwise exactly one class applies: owner if `cred.uid == meta.uid`, else group if the
///   file's group is the primary or a supplementary group, else other; every requested bit must
///   be set in that class (a class is not widened by the others, so an owner with `---` is
///   refused even if "other" has `rwx`).
pub fn permitted(meta: &Metadata, cred: &Cred, want: Access) -> bool {
    if cred.is_root() {
        return !want.exec || meta.is_dir() || meta.mode & 0o111 != 0;
    }
    let bits = if meta.uid == cred.uid {
        (meta.mode >> 6) & 7
    } else if cred.in_group(meta.gid) {
        (meta.mode >> 3) & 7
    } else {
        meta.mode & 7
    };
    (!want.read || bits & 4 != 0) && (!want.write || bits & 2 != 0) && (!want.exec || bits & 1 != 0)
}

/// The sticky-bit rule for removing or renaming `victim` out of `dir` (Linux `check_sticky`):
/// when `dir` has `S_ISVTX`, only root, the victim's owner or the directory's owner may.
/// A refusal is `EPERM`.
pub fn sticky_allows(dir: &Metadata, victim: &Metadata, cred: &Cred) -> bool {
    dir.mode & S_ISVTX == 0 || cred.is_root() || cred.uid == victim.uid || cred.uid == dir.uid
}
