//! File locks from user space: `fcntl`'s record-lock commands (POSIX `F_GETLK`/`F_SETLK`/
//! `F_SETLKW`, open-file-description `F_OFD_*`) and `flock(2)`. The lock table, the waiting
//! and the release rules are `fs::filelock`'s; the range rules are `exo_filelock`'s.

use alloc::sync::Arc;

use exo_abi::fcntl::*;
use exo_abi::{nr, Errno, KResult};
use exo_filelock::{range_of, Kind, RangeError};

use super::args::{typed, Fd};
use super::{task, Handler};
use crate::fs::filelock::{self, List};
use crate::fs::OpenFile;
use crate::process::Task;
use crate::uaccess::UserArg;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: LOCK_SH/LOCK_EX/LOCK_UN with LOCK_NB (EWOULDBLOCK); per open file description, conversions, independent of fcntl locks; EINTR/restart while waiting
    t[nr::FLOCK] = typed!(sys_flock);
}

fn kind_of(l_type: i16) -> KResult<Option<Kind>> {
    match l_type {
        F_RDLCK => Ok(Some(Kind::Read)),
        F_WRLCK => Ok(Some(Kind::Write)),
        F_UNLCK => Ok(None),
        _ => Err(Errno::EINVAL),
    }
}

/// `fcntl(fd, F_GETLK/F_SETLK/F_SETLKW/F_OFD_GETLK/F_OFD_SETLK/F_OFD_SETLKW, struct flock *)`.
pub fn fcntl_lock(me: &Task, file: &Arc<OpenFile>, cmd: u32, arg: UserArg) -> KResult<u64> {
    let ptr = arg.ptr::<Flock>();
    let mut request = ptr.read()?;
    let ofd = matches!(cmd, F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW);
    if file.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    if ofd && request.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let kind = kind_of(request.l_type)?;
    let base = match request.l_whence as u32 {
        SEEK_SET => 0,
        SEEK_CUR => *file.offset.lock(),
        SEEK_END => file.ops.stat()?.st_size.max(0) as u64,
        _ => return Err(Errno::EINVAL),
    };
    let range = range_of(base, request.l_start, request.l_len).map_err(|e| match e {
        RangeError::Invalid => Errno::EINVAL,
        RangeError::Overflow => Errno::EOVERFLOW,
    })?;
    let key = filelock::key_of(file);
    let owner = if ofd { filelock::description_owner(file) } else { me.files().owner_id() };
    match cmd {
        F_GETLK | F_OFD_GETLK => {
            let Some(kind) = kind else { return Err(Errno::EINVAL) };
            match filelock::test_record(key, owner, kind, range) {
                Some(lock) => {
                    request.l_type = if lock.kind == Kind::Write { F_WRLCK } else { F_RDLCK };
                    request.l_whence = SEEK_SET as i16;
                    request.l_start = lock.range.start as i64;
                    request.l_len = lock.flock_len();
                    request.l_pid = lock.pid;
                }
                None => request.l_type = F_UNLCK,
            }
            ptr.write(&request)?;
            Ok(0)
        }
        _ => {
            match kind {
                Some(Kind::Read) if !file.readable() => return Err(Errno::EBADF),
                Some(Kind::Write) if !file.writable() => return Err(Errno::EBADF),
                _ => {}
            }
            let pid = if ofd { -1 } else { me.process.pid as i32 };
            let wait = matches!(cmd, F_SETLKW | F_OFD_SETLKW);
            // F_SETLK reports a conflict as EAGAIN (POSIX also allows EACCES; Linux: EAGAIN).
            filelock::set(key, List::Records { posix: !ofd }, owner, kind, range, pid, wait).map(|()| 0)
        }
    }
}

/// flock(fd, operation).
fn sys_flock(fd: Fd, operation: u32) -> KResult<u64> {
    let file = task()?.files().get(fd.get())?;
    if file.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let kind = match operation & !LOCK_NB {
        LOCK_SH => Some(Kind::Read),
        LOCK_EX => Some(Kind::Write),
        LOCK_UN => None,
        _ => return Err(Errno::EINVAL),
    };
    filelock::flock(&file, kind, operation & LOCK_NB == 0).map(|()| 0)
}
