//! Small calls newer or rarer than their classic counterparts, answered the way Linux answers
//! them on the machine Exo-OS presents: `fchmodat2` (fchmodat with flags), and memory
//! protection keys as Linux answers on a CPU without them (OSPKE off: the kernel cannot set a
//! key's rights) — `pkey_alloc` and `pkey_free` are EINVAL, `pkey_mprotect` with key -1 is
//! `mprotect` and with any other key EINVAL.

use exo_abi::fcntl::{AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW};
use exo_abi::{nr, Errno, KResult};

use super::args::typed;
use super::{task, Handler};
use crate::uaccess::{UserAddr, UserCStr};

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: AT_SYMLINK_NOFOLLOW (EOPNOTSUPP on a symlink, as Linux), AT_EMPTY_PATH; EINVAL for other flags
    t[nr::FCHMODAT2] = typed!(sys_fchmodat2);
    // full: as Linux on a CPU without protection keys: EINVAL
    t[nr::PKEY_ALLOC] = typed!(sys_pkey_alloc);
    // full: as Linux on a CPU without protection keys: no key is allocated (EINVAL)
    t[nr::PKEY_FREE] = typed!(sys_pkey_free);
    // full: key -1 is mprotect; any other key EINVAL (none can be allocated)
    t[nr::PKEY_MPROTECT] = typed!(sys_pkey_mprotect);
}

fn sys_fchmodat2(dirfd: i32, pathname: UserCStr, mode: u32, flags: u32) -> KResult<u64> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let location = super::fs_attr::locate(&me, dirfd, pathname, flags)?;
    if location.metadata().is_symlink() {
        // Linux has no way to change a symlink's mode.
        return Err(Errno::EOPNOTSUPP);
    }
    super::fs_attr::chmod(&me, &location, mode)
}

fn sys_pkey_alloc(_flags: u64, _init_rights: u64) -> KResult<u64> {
    // Bad flags or rights are EINVAL too: every answer is.
    Err(Errno::EINVAL)
}

fn sys_pkey_free(_pkey: i32) -> KResult<u64> {
    Err(Errno::EINVAL)
}

fn sys_pkey_mprotect(addr: UserAddr, len: u64, prot: u32, pkey: i32) -> KResult<u64> {
    if pkey != -1 {
        return Err(Errno::EINVAL);
    }
    super::memory::sys_mprotect(addr, len, prot)
}
