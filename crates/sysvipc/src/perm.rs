//! `ipc_perm`: owner, creator and mode of an IPC object, and Linux's `ipcperms` check.

use exo_abi::ipc::IpcPerm;

/// The credentials a check uses: effective ids and supplementary groups.
#[derive(Clone, Copy, Debug)]
pub struct Cred<'a> {
    pub euid: u32,
    pub egid: u32,
    pub groups: &'a [u32],
}

impl Cred<'_> {
    /// Root (euid 0) passes every check, as CAP_IPC_OWNER does on Linux.
    pub fn is_root(&self) -> bool {
        self.euid == 0
    }

    fn in_group(&self, gid: u32) -> bool {
        self.egid == gid || self.groups.contains(&gid)
    }
}

/// Read permission bits of a request (`S_IRUGO` style, folded to 0o4).
pub const READ: u32 = 0o444;
/// Write (alter) permission bits of a request.
pub const WRITE: u32 = 0o222;

/// An object's permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    /// The low 9 bits are the access mode; kernel flags (SHM_DEST, SHM_LOCKED) above.
    pub mode: u32,
    pub seq: u16,
}

impl Perm {
    /// A new object's permissions: owner and creator are the caller, mode the low 9 bits.
    pub fn new(key: i32, flags: u32, cred: &Cred) -> Perm {
        Perm { key, uid: cred.euid, gid: cred.egid, cuid: cred.euid, cgid: cred.egid, mode: flags & 0o777, seq: 0 }
    }

    /// Linux's `ipcperms`: whether `cred` is granted every access in `flags`' mode bits (any of
    /// the owner/group/other triplets asks for that access).
    pub fn permits(&self, cred: &Cred, flags: u32) -> bool {
        let requested = ((flags >> 6) | (flags >> 3) | flags) & 0o7;
        let granted = if cred.euid == self.cuid || cred.euid == self.uid {
            self.mode >> 6
        } else if cred.in_group(self.cgid) || cred.in_group(self.gid) {
            self.mode >> 3
        } else {
            self.mode
        };
        requested & !granted & 0o7 == 0 || cred.is_root()
    }

    /// IPC_SET and IPC_RMID: allowed to the owner, the creator and root.
    pub fn may_change(&self, cred: &Cred) -> bool {
        cred.euid == self.uid || cred.euid == self.cuid || cred.is_root()
    }

    /// IPC_SET: new owner and mode (the kernel flag bits above 0o777 are kept).
    pub fn set(&mut self, uid: u32, gid: u32, mode: u32) {
        self.uid = uid;
        self.gid = gid;
        self.mode = (self.mode & !0o777) | (mode & 0o777);
    }

    /// The user-visible record.
    pub fn to_abi(&self) -> IpcPerm {
        IpcPerm { key: self.key, uid: self.uid, gid: self.gid, cuid: self.cuid, cgid: self.cgid, mode: self.mode, seq: self.seq, ..IpcPerm::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: Cred = Cred { euid: 1000, egid: 100, groups: &[] };
    const OTHER: Cred = Cred { euid: 2000, egid: 200, groups: &[100] };
    const STRANGER: Cred = Cred { euid: 3000, egid: 300, groups: &[] };
    const ROOT: Cred = Cred { euid: 0, egid: 0, groups: &[] };

    #[test]
    fn owner_group_other_triplets() {
        let perm = Perm::new(1, 0o640, &USER);
        assert!(perm.permits(&USER, READ) && perm.permits(&USER, WRITE));
        assert!(perm.permits(&OTHER, READ) && !perm.permits(&OTHER, WRITE));
        assert!(!perm.permits(&STRANGER, READ));
        assert!(perm.permits(&ROOT, READ | WRITE));
        // get with mode 0 asks for nothing.
        assert!(perm.permits(&STRANGER, 0));
        // get's flags fold: 0o600 asks for read and write.
        assert!(!perm.permits(&OTHER, 0o600));
    }

    #[test]
    fn creator_keeps_owner_rights_after_chown() {
        let mut perm = Perm::new(1, 0o600, &USER);
        perm.set(STRANGER.euid, STRANGER.egid, 0o600 | 0o1000);
        assert_eq!(perm.mode, 0o600);
        assert!(perm.permits(&USER, READ));
        assert!(perm.may_change(&USER) && perm.may_change(&STRANGER) && !perm.may_change(&OTHER));
    }
}
