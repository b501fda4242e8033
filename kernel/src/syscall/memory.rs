//! Memory syscalls: mmap, munmap, mprotect, mremap, madvise, brk, msync, mincore.

use exo_abi::mman::*;
use exo_abi::{nr, Errno, KResult};

use super::{args, int, task, Handler};
use crate::arch::TrapFrame;
use crate::process::mm::prot_from_bits;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    t[nr::MMAP] = Some(sys_mmap);
    t[nr::MUNMAP] = Some(sys_munmap);
    t[nr::MPROTECT] = Some(sys_mprotect);
    t[nr::MREMAP] = Some(sys_mremap);
    t[nr::MADVISE] = Some(sys_madvise);
    t[nr::BRK] = Some(sys_brk);
    t[nr::MSYNC] = Some(sys_msync);
}

/// mmap flags Exo-OS understands (others: EINVAL with MAP_SHARED_VALIDATE, ignored otherwise,
/// as Linux does).
const KNOWN: u32 = MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_DENYWRITE | MAP_EXECUTABLE
    | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_FIXED_NOREPLACE;

fn sys_mmap(frame: &mut TrapFrame) -> KResult<u64> {
    let [addr, len, prot, flags, fd, offset] = args(frame);
    let prot = prot as u32;
    let flags = flags as u32;
    if len == 0 || prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP) != 0 {
        return Err(Errno::EINVAL);
    }
    let kind = flags & MAP_TYPE;
    if kind != MAP_SHARED && kind != MAP_PRIVATE && kind != MAP_SHARED_VALIDATE {
        return Err(Errno::EINVAL);
    }
    if kind == MAP_SHARED_VALIDATE && flags & !KNOWN != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if flags & MAP_HUGETLB != 0 {
        return Err(Errno::EINVAL);
    }
    if offset & 0xfff != 0 {
        return Err(Errno::EINVAL);
    }
    let me = task()?;
    let mm = me.mm();
    let prot = prot_from_bits(prot);
    if flags & MAP_ANONYMOUS != 0 {
        if kind == MAP_SHARED_VALIDATE {
            return Err(Errno::EINVAL);
        }
        return mm.mmap(addr, len, prot, flags, None);
    }
    // A file mapping: its contents are copied in now (private mappings, and shared read-only
    // ones, which look the same as long as the file does not change).
    let file = me.files().get(int(fd))?;
    if !file.readable() {
        return Err(Errno::EACCES);
    }
    if kind != MAP_PRIVATE && prot.write {
        if !file.writable() {
            return Err(Errno::EACCES);
        }
        return Err(Errno::ENODEV);
    }
    let stat = file.ops.stat()?;
    if stat.st_mode & exo_abi::mode::S_IFMT != exo_abi::mode::S_IFREG {
        return Err(Errno::ENODEV);
    }
    let ops = file.ops.clone();
    let fill = move |at: u64, page: &mut [u8]| {
        if let Some(position) = offset.checked_add(at) {
            let _ = ops.read_at(page, position);
        }
    };
    mm.mmap(addr, len, prot, (flags & !MAP_TYPE) | MAP_PRIVATE, Some(&fill))
}

fn sys_munmap(frame: &mut TrapFrame) -> KResult<u64> {
    task()?.mm().munmap(frame.rdi, frame.rsi).map(|_| 0)
}

fn sys_mprotect(frame: &mut TrapFrame) -> KResult<u64> {
    let prot = frame.rdx as u32;
    if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP) != 0 {
        return Err(Errno::EINVAL);
    }
    task()?.mm().mprotect(frame.rdi, frame.rsi, prot_from_bits(prot)).map(|_| 0)
}

fn sys_mremap(frame: &mut TrapFrame) -> KResult<u64> {
    let [old, old_len, new_len, flags, new_addr, _] = args(frame);
    task()?.mm().mremap(old, old_len, new_len, flags as u32, new_addr)
}

fn sys_madvise(frame: &mut TrapFrame) -> KResult<u64> {
    task()?.mm().madvise(frame.rdi, frame.rsi, frame.rdx as u32).map(|_| 0)
}

fn sys_brk(frame: &mut TrapFrame) -> KResult<u64> {
    Ok(task()?.mm().brk(frame.rdi))
}

fn sys_msync(frame: &mut TrapFrame) -> KResult<u64> {
    let flags = frame.rdx as u32;
    if frame.rdi & 0xfff != 0 || flags & !(MS_ASYNC | MS_SYNC | MS_INVALIDATE) != 0 || (flags & MS_ASYNC != 0 && flags & MS_SYNC != 0) {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}
