//! Exo-OS's own system calls, outside Linux's number range (`exo_abi::fusion`): the Fusion Ring
//! calls. They parse and check user arguments and run the operations of `ipc::fusion`.

use alloc::sync::Arc;

use exo_abi::fcntl::{O_CLOEXEC, O_NONBLOCK};
use exo_abi::fusion::{self as abi, FusionAccepted, FusionGrant, FusionInfo, FusionParams};
use exo_abi::{Errno, KResult};

use super::args::Fd;
use super::fs_rw::file;
use super::{task, Handler};
use crate::files::file::OpenFile;
use crate::ipc::fusion::{self, end::End, Accepted};
use crate::uaccess::UserPtr;

/// The table of the Exo-OS range, by offset from `SYSCALL_BASE`.
pub const fn table() -> [Option<Handler>; abi::SYSCALL_COUNT] {
    use super::args::typed;
    let mut t: [Option<Handler>; abi::SYSCALL_COUNT] = [None; abi::SYSCALL_COUNT];
    t[(abi::NR_CREATE - abi::SYSCALL_BASE) as usize] = typed!(sys_fusion_create);
    t[(abi::NR_MAP - abi::SYSCALL_BASE) as usize] = typed!(sys_fusion_map);
    t[(abi::NR_WAIT - abi::SYSCALL_BASE) as usize] = typed!(sys_fusion_wait);
    t[(abi::NR_WAKE - abi::SYSCALL_BASE) as usize] = typed!(sys_fusion_wake);
    t[(abi::NR_GRANT - abi::SYSCALL_BASE) as usize] = typed!(sys_fusion_grant);
    t[(abi::NR_ACCEPT - abi::SYSCALL_BASE) as usize] = typed!(sys_fusion_accept);
    t[(abi::NR_CTL - abi::SYSCALL_BASE) as usize] = typed!(sys_fusion_ctl);
    t
}

/// Runs `f` with the ring end behind `fd` and its open file (EBADF: not open; EINVAL: not a
/// ring end).
fn with_end<R>(fd: Fd, f: impl FnOnce(&OpenFile, &End) -> KResult<R>) -> KResult<R> {
    let open = file(fd)?;
    let end = fusion::end::of(&open).ok_or(Errno::EINVAL)?;
    f(&open, end)
}

fn install(file: Arc<OpenFile>, cloexec: bool) -> KResult<u64> {
    super::fs::install(&*task()?, file, cloexec)
}

fn sys_fusion_create(params: UserPtr<FusionParams>, fds: UserPtr<[i32; 2]>) -> KResult<u64> {
    let params = params.read()?;
    fds.check(1)?;
    let (a, b) = fusion::create(&params)?;
    super::fs::install_pair(a, b, params.flags & O_CLOEXEC != 0, fds)
}

fn sys_fusion_map(fd: Fd, hint: u64, flags: u32) -> KResult<u64> {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let mm = task()?.mm();
    with_end(fd, |_, end| fusion::map(end, &mm, hint))
}

fn sys_fusion_wait(fd: Fd, ops: u32, expected: u64, timeout_ns: u64) -> KResult<u64> {
    let me = task()?;
    with_end(fd, |open, end| fusion::wait(end, ops, expected, timeout_ns, open.nonblocking(), || me.interrupted()))
}

fn sys_fusion_wake(fd: Fd, ops: u32) -> KResult<u64> {
    if ops & !(abi::WAKE_DATA | abi::WAKE_SPACE) != 0 {
        return Err(Errno::EINVAL);
    }
    with_end(fd, |_, end| fusion::wake(end, ops))
}

fn sys_fusion_grant(fd: Fd, grant: UserPtr<FusionGrant>) -> KResult<u64> {
    let grant = grant.read()?;
    let mm = task()?.mm();
    let id = with_end(fd, |_, end| match grant.kind {
        abi::GRANT_PAGES => fusion::grant_pages(end, &mm, grant.flags, grant.addr, grant.len),
        abi::GRANT_FD if grant.flags == 0 => {
            let sent = i32::try_from(grant.addr).map_err(|_| Errno::EBADF)?;
            fusion::grant_file(end, file(Fd(sent))?, grant.len)
        }
        _ => Err(Errno::EINVAL),
    })?;
    Ok(id as u64)
}

fn sys_fusion_accept(fd: Fd, id: u32, out: UserPtr<FusionAccepted>, flags: u32) -> KResult<u64> {
    if flags & !O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    if !out.is_null() {
        out.check(1)?;
    }
    let me = task()?;
    let mm = me.mm();
    let (accepted, value) = match with_end(fd, |_, end| fusion::accept(end, &mm, id))? {
        Accepted::Pages { addr, len } => (FusionAccepted { kind: abi::GRANT_PAGES, flags: 0, addr, len }, addr),
        Accepted::File(file, rights) => {
            let fd = install(file, flags & O_CLOEXEC != 0)?;
            (FusionAccepted { kind: abi::GRANT_FD, flags: 0, addr: fd, len: rights as u64 }, fd)
        }
    };
    if !out.is_null() {
        // The grant is taken either way (like a received SCM_RIGHTS descriptor): a bad `out`
        // after the check above can only be a racing unmap, and the result still says where.
        let _ = out.write(&accepted);
    }
    Ok(value)
}

fn sys_fusion_ctl(fd: Fd, op: u32, arg: u64, arg2: u64) -> KResult<u64> {
    with_end(fd, |_, end| ctl(end, op, arg, arg2))
}

fn ctl(end: &End, op: u32, arg: u64, arg2: u64) -> KResult<u64> {
    match op {
        abi::CTL_INFO => {
            UserPtr::<FusionInfo>::new(arg).write(&fusion::info(end))?;
            Ok(0)
        }
        abi::CTL_DUP => {
            let flags = u32::try_from(arg2).map_err(|_| Errno::EINVAL)?;
            if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
                return Err(Errno::EINVAL);
            }
            let file = fusion::dup(end, arg, flags & O_NONBLOCK);
            install(file, flags & O_CLOEXEC != 0)
        }
        abi::CTL_SHUTDOWN => fusion::shut_down(end, arg),
        _ => Err(Errno::EINVAL),
    }
}
