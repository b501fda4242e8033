//! inotify syscalls: `inotify_init`, `inotify_init1`, `inotify_add_watch`, `inotify_rm_watch`.
//! The instances, the events and the limits are `fs::inotify`'s.

use exo_abi::inotify::*;
use exo_abi::{nr, Errno, KResult};
use exo_vfs::{permitted, Access};

use super::args::{typed, Fd};
use super::{task, Handler};
use crate::fs;
use crate::uaccess::UserCStr;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: 128 instances per user (EMFILE)
    t[nr::INOTIFY_INIT] = typed!(sys_inotify_init);
    // full: IN_NONBLOCK, IN_CLOEXEC
    t[nr::INOTIFY_INIT1] = typed!(sys_inotify_init1);
    // partial: every event and flag, 8192 watches per user, 16384 queued events; events come from namespace changes, inode files and attribute calls (not mmap writes, not IN_UNMOUNT)
    t[nr::INOTIFY_ADD_WATCH] = typed!(sys_inotify_add_watch);
    // full
    t[nr::INOTIFY_RM_WATCH] = typed!(sys_inotify_rm_watch);
}

fn init(flags: u32) -> KResult<u64> {
    if flags & !(IN_CLOEXEC | IN_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let uid = me.process.creds.lock().uid;
    let file = fs::inotify::create(uid, flags)?;
    super::fs::install(&me, file, flags & IN_CLOEXEC != 0)
}

fn sys_inotify_init() -> KResult<u64> {
    init(0)
}

fn sys_inotify_init1(flags: u32) -> KResult<u64> {
    init(flags)
}

/// Linux's order: mask checks (EINVAL), the descriptor (EBADF, EINVAL if not inotify), the
/// path (IN_DONT_FOLLOW, IN_ONLYDIR → ENOTDIR), read permission (EACCES), then the watch
/// (EEXIST with IN_MASK_CREATE, ENOSPC past the user's watches).
fn sys_inotify_add_watch(fd: Fd, pathname: UserCStr, mask: u32) -> KResult<u64> {
    exo_inotify::check_mask(mask)?;
    let me = task()?;
    let file = me.files().get(fd.get())?;
    if file.ops.as_any().and_then(|a| a.downcast_ref::<fs::inotify::Inotify>()).is_none() {
        return Err(Errno::EINVAL);
    }
    let path = pathname.read_path()?;
    let ctx = fs::lookup_ctx(&me, None).follow(mask & IN_DONT_FOLLOW == 0).directory(mask & IN_ONLYDIR != 0);
    let target = fs::namespace()?.resolve(&ctx, &path)?;
    if !permitted(&target.metadata(), &fs::cred_of(&me), Access::READ) {
        return Err(Errno::EACCES);
    }
    fs::inotify::add_watch(&file, &target, mask).map(|wd| wd as u64)
}

fn sys_inotify_rm_watch(fd: Fd, wd: i32) -> KResult<u64> {
    let me = task()?;
    let file = me.files().get(fd.get())?;
    fs::inotify::rm_watch(&file, wd).map(|_| 0)
}
