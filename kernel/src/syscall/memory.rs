//! Memory syscalls: mmap, munmap, mprotect, mremap, madvise, brk, msync, mincore.

use exo_abi::mman::*;
use exo_abi::{nr, Errno, KResult};

use super::args::{typed, Fd};
use super::{task, Handler};
use crate::process::mm::prot_from_bits;
use crate::uaccess::UserAddr;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // full: anonymous private/shared; regular files MAP_SHARED (stores reach the file: page cache, write-back) and MAP_PRIVATE (copy-on-write), filled on demand; offset not page-aligned EINVAL; MAP_SHARED+PROT_WRITE of a file not open for writing EACCES; non-regular files and procfs ENODEV; access past EOF SIGBUS (BUS_ADRERR); MAP_FIXED, MAP_FIXED_NOREPLACE, PROT_NONE, MAP_SHARED_VALIDATE; MAP_HUGETLB EINVAL (docs/memory.md, "File mappings")
    t[nr::MMAP] = typed!(sys_mmap);
    // full: partial, splits areas
    t[nr::MUNMAP] = typed!(sys_munmap);
    // full: splits areas; ENOMEM over holes; PROT_WRITE on a shared mapping of a file not open for writing EACCES
    t[nr::MPROTECT] = typed!(sys_mprotect);
    // full: shrink, grow in place, MREMAP_MAYMOVE, MREMAP_FIXED
    t[nr::MREMAP] = typed!(sys_mremap);
    // full: DONTNEED/FREE drop private pages; other known advice accepted
    t[nr::MADVISE] = typed!(sys_madvise);
    // full: heap area grown/shrunk page-wise
    t[nr::BRK] = typed!(sys_brk);
    // full: MS_SYNC writes the range's shared file pages back and syncs the files; MS_ASYNC wakes the flusher; MS_INVALIDATE accepted (pages are always coherent); EINVAL for an unaligned address, unknown flags or MS_ASYNC\|MS_SYNC; ENOMEM when part of the range is unmapped
    t[nr::MSYNC] = typed!(sys_msync);
}

/// mmap flags Exo-OS understands (others: EINVAL with MAP_SHARED_VALIDATE, ignored otherwise,
/// as Linux does).
const KNOWN: u32 = MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_DENYWRITE | MAP_EXECUTABLE
    | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_FIXED_NOREPLACE;

fn sys_mmap(addr: UserAddr, len: u64, prot: u32, flags: u32, fd: Fd, offset: u64) -> KResult<u64> {
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
        return mm.mmap(addr.get(), len, prot, flags, None);
    }
    // A file mapping: the file's page cache, filled on demand (fs::filemap).
    let file = me.files().get(fd.get())?;
    if !file.readable() {
        return Err(Errno::EACCES);
    }
    let shared = kind != MAP_PRIVATE;
    if shared && prot.write && !file.writable() {
        return Err(Errno::EACCES);
    }
    let stat = file.ops.stat()?;
    if stat.st_mode & exo_abi::mode::S_IFMT != exo_abi::mode::S_IFREG {
        return Err(Errno::ENODEV);
    }
    let location = file.ops.path().ok_or(Errno::ENODEV)?;
    let cache = crate::fs::filemap::cache_for_mmap(&location)?;
    // Registered before the area exists: a write-back always visits every map that has pages.
    let backing: alloc::sync::Arc<dyn crate::process::mm_file::FileBacking> = cache;
    backing.add_mapper(alloc::sync::Arc::downgrade(&mm))?;
    let file_ref = crate::process::mm_file::FileRef { file: backing, offset, may_write: file.writable() };
    mm.mmap(addr.get(), len, prot, flags, Some(file_ref))
}

fn sys_munmap(addr: UserAddr, len: u64) -> KResult<u64> {
    task()?.mm().munmap(addr.get(), len).map(|_| 0)
}

pub(super) fn sys_mprotect(addr: UserAddr, len: u64, prot: u32) -> KResult<u64> {
    if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP) != 0 {
        return Err(Errno::EINVAL);
    }
    task()?.mm().mprotect(addr.get(), len, prot_from_bits(prot)).map(|_| 0)
}

fn sys_mremap(old: UserAddr, old_len: u64, new_len: u64, flags: u32, new_addr: UserAddr) -> KResult<u64> {
    task()?.mm().mremap(old.get(), old_len, new_len, flags, new_addr.get())
}

fn sys_madvise(addr: UserAddr, len: u64, advice: u32) -> KResult<u64> {
    task()?.mm().madvise(addr.get(), len, advice).map(|_| 0)
}

fn sys_brk(end: UserAddr) -> KResult<u64> {
    Ok(task()?.mm().brk(end.get()))
}

/// msync: the shared file mappings in the range are written back (MS_SYNC: now, and the
/// files synced; MS_ASYNC: the flusher is woken). EINVAL for an unaligned address or bad
/// flags, ENOMEM if part of the range is not mapped.
fn sys_msync(addr: UserAddr, len: u64, flags: u32) -> KResult<u64> {
    if addr.get() & 0xfff != 0 || flags & !(MS_ASYNC | MS_SYNC | MS_INVALIDATE) != 0 || (flags & MS_ASYNC != 0 && flags & MS_SYNC != 0) {
        return Err(Errno::EINVAL);
    }
    let len = len.checked_add(0xfff).ok_or(Errno::ENOMEM)? & !0xfff;
    if len == 0 {
        return Ok(0);
    }
    let files = task()?.mm().shared_files_in(addr.get(), len)?;
    for file in files {
        file.sync(flags & MS_SYNC != 0)?;
    }
    Ok(0)
}
