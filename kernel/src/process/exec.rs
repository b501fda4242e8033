//! `execve`: replaces the calling process's program. Reads the file through the VFS, follows
//! `#!` interpreters (up to 4 levels, like Linux), loads an ELF64 image — static, static-PIE,
//! or dynamically linked with its `PT_INTERP` loader (glibc's or musl's `ld.so`) placed where
//! Linux puts it — into a fresh memory map (`exo_elf` plans it), builds the initial stack
//! (argv, envp, auxv: AT_BASE, AT_PHDR, AT_ENTRY, AT_EXECFN, AT_RANDOM, AT_SECURE …),
//! and only then — past the point of no return — ends the other threads, swaps the memory,
//! closes close-on-exec files and resets signal handlers.
//!
//! Everything taken from the file is checked before use: malformed headers (including an entry
//! point outside the user half, or one the load bias would overflow) are ENOEXEC; an image
//! whose segments cannot be placed (below the mmap floor, Linux's `mmap_min_addr`, or over the
//! stack area) kills the process with SIGSEGV, which is what Linux's exec does when its mapping
//! fails past the point of no return. Two threads calling `execve` together: the first to
//! reach the point of no return (under the process state lock) ends the others; a thread
//! ended that way just dies (its own exec, if any, is abandoned).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use exo_abi::auxv::*;
use exo_abi::{Errno, KResult};
use exo_elf::{AuxEntry, ElfImage, ImageKind, StackSpec};
use exo_vma::{Kind, Prot, Share, PAGE};

use super::mm::{Mm, MmInner, MMAP_CEILING, MMAP_FLOOR, PIE_BASE, STACK_SIZE, STACK_TOP};
use super::task::Task;
use crate::arch::{self, LegacyFpuState, TrapFrame};

/// Most bytes of argv + envp strings (Linux: a quarter of the stack limit; 2 MiB is common).
pub const ARG_MAX: usize = 2 << 20;
/// Bytes of an ELF64 file header: a shorter interpreter is EIO, as Linux's short read.
const ELF_HEADER_SIZE: usize = 64;
/// Most `#!` indirections.
const MAX_INTERPRETER_DEPTH: usize = 4;

/// Why a program could not be loaded.
enum LoadError {
    /// The exec fails with this error and the caller keeps running its old program.
    Refused(Errno),
    /// The image cannot be placed in the address space: like Linux (whose mapping fails after
    /// the point of no return), the process dies of SIGSEGV.
    Unplaceable,
}

impl From<Errno> for LoadError {
    fn from(errno: Errno) -> LoadError {
        LoadError::Refused(errno)
    }
}

/// A program ready to replace the current one.
struct Loaded {
    mm: Mm,
    entry: u64,
    rsp: u64,
}

/// Which file exec reads: a path (resolved from the task's cwd and root), or a file
/// `execveat` already resolved (relative to a directory descriptor, or the descriptor itself).
pub enum ProgramFile<'a> {
    Path(&'a [u8]),
    Resolved(&'a exo_vfs::PathRef),
}

/// A program file as exec read it: its bytes, and the ids a set-user-ID / set-group-ID file
/// gives the process (`None` without the bit, or on a `nosuid` mount).
pub struct ProgramBytes {
    pub bytes: Vec<u8>,
    pub set_uid: Option<u32>,
    pub set_gid: Option<u32>,
}

/// How exec reads a program file: (the calling task, the file) to the file's contents, with
/// the permission checks of `execve` (ENOENT, EACCES — also on a `noexec` mount —, ENOEXEC …).
/// The file layer registers it at boot (`fs::init`), so that `process` does not name the layer
/// above it.
pub type ProgramReader = fn(&Task, ProgramFile<'_>) -> KResult<ProgramBytes>;

static PROGRAM_READER: spin::Once<ProgramReader> = spin::Once::new();

/// Registers the function that reads program files (once, by `fs::init`).
pub fn set_program_reader(reader: ProgramReader) {
    PROGRAM_READER.call_once(|| reader);
}

/// Reads the program at `path` (or the already resolved `first` file, which `path` names),
/// following `#!` lines; rewrites argv as Linux does (interpreter, its optional argument, the
/// script path, then the original argv[1..]).
/// The set-id bits that count are the final binary's (a script's are ignored, as on Linux).
fn read_program(task: &Task, mut first: Option<exo_vfs::PathRef>, mut path: Vec<u8>, mut argv: Vec<Vec<u8>>) -> KResult<(ProgramBytes, Vec<u8>, Vec<Vec<u8>>)> {
    for _ in 0..=MAX_INTERPRETER_DEPTH {
        let read = PROGRAM_READER.get().ok_or(Errno::ENOENT)?;
        let program = match first.take() {
            Some(file) => read(task, ProgramFile::Resolved(&file))?,
            None => read(task, ProgramFile::Path(&path))?,
        };
        match exo_elf::parse_shebang(&program.bytes) {
            None => return Ok((program, path, argv)),
            Some(Err(_)) => return Err(Errno::ENOEXEC),
            Some(Ok(shebang)) => {
                let mut new_argv = Vec::new();
                new_argv.push(shebang.interpreter.clone());
                if let Some(argument) = shebang.argument {
                    new_argv.push(argument);
                }
                new_argv.push(path.clone());
                new_argv.extend(argv.into_iter().skip(1));
                argv = new_argv;
                path = shebang.interpreter;
            }
        }
    }
    Err(Errno::ELOOP)
}

/// Writes `data` at user address `addr` of a map that is not the active one, allocating pages
/// as needed, page by page (above the OOM reserve).
fn populate(inner: &mut MmInner, addr: u64, data: &[u8], prot: Prot) -> KResult<()> {
    let mut done = 0usize;
    while done < data.len() {
        let at = addr + done as u64;
        let page = at & !(PAGE - 1);
        let offset = (at - page) as usize;
        let n = (PAGE as usize - offset).min(data.len() - done);
        let frame = match inner.space.translate(page) {
            Some((phys, _, _)) => phys & !(PAGE - 1),
            None => {
                let frame = super::mm::user_frame()?;
                if inner.space.map_frame(page, frame, page_flags_for(prot)).is_err() {
                    let _ = crate::memory::frames::free_frame(frame);
                    return Err(Errno::ENOMEM);
                }
                frame
            }
        };
        crate::memory::frames::write_frame(frame, offset, &data[done..done + n]);
        done += n;
    }
    Ok(())
}

fn page_flags_for(prot: Prot) -> exo_paging::PageFlags {
    use exo_paging::PageFlags;
    let mut flags = PageFlags::PRESENT | PageFlags::USER;
    if prot.write {
        flags |= PageFlags::WRITABLE;
    }
    if !prot.exec && arch::mmu::has_nx() {
        flags |= PageFlags::NO_EXECUTE;
    }
    flags
}

fn load_segments(inner: &mut MmInner, image: &ElfImage, file: &[u8], bias: u64) -> KResult<u64> {
    let mut end = 0;
    for segment in &image.segments {
        let prot = Prot { read: segment.perms.read, write: segment.perms.write, exec: segment.perms.exec };
        // `ElfImage::fits` checked the biased image against the user half; the additions are
        // checked all the same (a file is hostile).
        let vaddr = bias.checked_add(segment.vaddr).ok_or(Errno::ENOEXEC)?;
        let start = vaddr & !(PAGE - 1);
        let seg_end = bias
            .checked_add(segment.end())
            .and_then(|end| end.checked_add(PAGE - 1))
            .ok_or(Errno::ENOEXEC)?
            & !(PAGE - 1);
        // A first page shared with the previous segment keeps its area, with the union of
        // both segments' permissions.
        let shared_first = inner.areas.find(start).map(|area| area.prot);
        let area_start = if shared_first.is_some() { start.saturating_add(PAGE) } else { start };
        if area_start < seg_end {
            Mm::map_area(inner, area_start, seg_end - area_start, prot, Share::Private, Kind::File, false, None)?;
        }
        if let Some(previous) = shared_first {
            let merged = Prot { read: prot.read || previous.read, write: prot.write || previous.write, exec: prot.exec || previous.exec };
            inner.areas.protect(start, PAGE, merged).map_err(|_| Errno::ENOEXEC)?;
            if inner.space.translate(start).is_some() {
                let _ = inner.space.protect(start, page_flags_for(merged));
            }
        }
        let data_start = usize::try_from(segment.file_offset).map_err(|_| Errno::ENOEXEC)?;
        let data_len = usize::try_from(segment.file_size).map_err(|_| Errno::ENOEXEC)?;
        let data = data_start
            .checked_add(data_len)
            .and_then(|data_end| file.get(data_start..data_end))
            .ok_or(Errno::ENOEXEC)?;
        populate(inner, vaddr, data, prot)?;
        // Every page of the segment exists from the start (zero-filled bss included).
        let mut page = area_start;
        while page < seg_end {
            if inner.space.translate(page).is_none() {
                let frame = super::mm::user_frame()?;
                if inner.space.map_frame(page, frame, page_flags_for(prot)).is_err() {
                    let _ = crate::memory::frames::free_frame(frame);
                    return Err(Errno::ENOMEM);
                }
            }
            page += PAGE;
        }
        end = end.max(seg_end);
    }
    Ok(end)
}

/// Where the program's interpreter went: its load bias and its entry point.
struct Interpreter {
    bias: u64,
    entry: u64,
}

/// Reads, checks and loads the dynamic loader a program names in `PT_INTERP`, as Linux does:
/// the file must be a valid ELF image without an interpreter of its own (else ELIBBAD), read
/// with execve's permission checks (a missing loader is ENOENT, as on Linux), and it goes
/// where the first `mmap` would put it (top-down below the stack, Linux's `mmap_base`).
fn load_interpreter(task: &Task, inner: &mut MmInner, path: &[u8]) -> Result<Interpreter, LoadError> {
    let read = PROGRAM_READER.get().ok_or(Errno::ENOENT)?;
    let file = read(task, ProgramFile::Path(path))?.bytes;
    if file.len() < ELF_HEADER_SIZE {
        // Linux's read of the header comes up short.
        return Err(Errno::EIO.into());
    }
    let image = exo_elf::parse(&file).map_err(|_| Errno::ELIBBAD)?;
    if image.interpreter.is_some() {
        return Err(Errno::ELIBBAD.into());
    }
    let bias = match image.kind {
        ImageKind::Executable => 0,
        ImageKind::PositionIndependent => {
            let at = inner.areas.find_free(image.span(), None, MMAP_FLOOR, MMAP_CEILING).ok_or(LoadError::Unplaceable)?;
            at.checked_sub(image.lowest_vaddr).ok_or(LoadError::Unplaceable)?
        }
    };
    let entry = image.entry_at(bias).map_err(|_| Errno::ELIBBAD)?;
    if !image.fits(bias, MMAP_FLOOR, STACK_TOP - STACK_SIZE) {
        return Err(LoadError::Unplaceable);
    }
    if !inner.areas.is_free(image.lowest_vaddr.saturating_add(bias), image.span()) {
        // A fixed-address loader over the program itself: Linux's mapping fails the same way.
        return Err(LoadError::Unplaceable);
    }
    load_segments(inner, &image, &file, bias)?;
    Ok(Interpreter { bias, entry })
}

/// The credentials after exec, as Linux computes them without capabilities: a set-user-ID
/// file makes its owner the effective (and filesystem) user, a set-group-ID file likewise its
/// group; then the saved ids take the effective ones.
fn creds_after_exec(old: &super::Creds, program: &ProgramBytes) -> super::Creds {
    let mut new = old.clone();
    if let Some(uid) = program.set_uid {
        new.euid = uid;
        new.fsuid = uid;
    }
    if let Some(gid) = program.set_gid {
        new.egid = gid;
        new.fsgid = gid;
    }
    new.suid = new.euid;
    new.sgid = new.egid;
    new
}

/// Builds the new memory map with the program, its interpreter if it has one, and its stack;
/// `creds` are the ids the program will run with.
fn load(task: &Task, file: &[u8], path: &[u8], argv: &[Vec<u8>], envp: &[Vec<u8>], creds: &super::Creds) -> Result<Loaded, LoadError> {
    let image = exo_elf::parse(file).map_err(|_| Errno::ENOEXEC)?;
    let bias = match image.kind {
        ImageKind::Executable => 0,
        ImageKind::PositionIndependent => PIE_BASE,
    };
    let entry = image.entry_at(bias).map_err(|_| Errno::ENOEXEC)?;
    let phdr = match image.phdr_vaddr {
        Some(p) => p.checked_add(bias).ok_or(Errno::ENOEXEC)?,
        None => 0,
    };
    if !image.fits(bias, MMAP_FLOOR, STACK_TOP - STACK_SIZE) {
        return Err(LoadError::Unplaceable);
    }
    let mm = Mm::new()?;
    let mut inner = mm.lock();
    let image_end = load_segments(&mut inner, &image, file, bias)?;
    let stack_prot = Prot { read: true, write: true, exec: image.stack_executable };
    Mm::map_area(&mut inner, STACK_TOP - STACK_SIZE, STACK_SIZE, stack_prot, Share::Private, Kind::Stack, false, None)?;
    // The vDSO (and its data page) below the stack's gap; a program without it just makes
    // system calls.
    let vdso = super::vdso::map_into(&mut inner);
    // A dynamically linked program starts in its loader, which finds the program through
    // AT_PHDR/AT_ENTRY and itself through AT_BASE.
    let interpreter = match &image.interpreter {
        Some(interp_path) => Some(load_interpreter(task, &mut inner, interp_path)?),
        None => None,
    };
    let start = interpreter.as_ref().map_or(entry, |i| i.entry);

    let hwcap = u64::from(arch::cpu_features_edx());
    // AT_SECURE as Linux sets it without capabilities: the ids differ (a set-id program).
    let secure = creds.uid != creds.euid || creds.gid != creds.egid;
    let auxv = [
        AuxEntry { key: AT_PHDR, value: phdr },
        AuxEntry { key: AT_PHENT, value: u64::from(image.phent) },
        AuxEntry { key: AT_PHNUM, value: u64::from(image.phnum) },
        AuxEntry { key: AT_PAGESZ, value: PAGE },
        AuxEntry { key: AT_BASE, value: interpreter.as_ref().map_or(0, |i| i.bias) },
        AuxEntry { key: AT_FLAGS, value: 0 },
        AuxEntry { key: AT_ENTRY, value: entry },
        AuxEntry { key: AT_UID, value: u64::from(creds.uid) },
        AuxEntry { key: AT_EUID, value: u64::from(creds.euid) },
        AuxEntry { key: AT_GID, value: u64::from(creds.gid) },
        AuxEntry { key: AT_EGID, value: u64::from(creds.egid) },
        AuxEntry { key: AT_SECURE, value: u64::from(secure) },
        AuxEntry { key: AT_HWCAP, value: hwcap },
        AuxEntry { key: AT_HWCAP2, value: 0 },
        AuxEntry { key: AT_CLKTCK, value: 100 },
        // Last: a zero value is dropped below (no vDSO).
        AuxEntry { key: AT_SYSINFO_EHDR, value: vdso.unwrap_or(0) },
    ];
    let auxv = if vdso.is_some() { &auxv[..] } else { &auxv[..auxv.len() - 1] };
    let argv_refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    let envp_refs: Vec<&[u8]> = envp.iter().map(|e| e.as_slice()).collect();
    let mut random = [0u8; 16];
    crate::random::fill(&mut random);
    let spec = StackSpec {
        stack_top: STACK_TOP,
        argv: &argv_refs,
        envp: &envp_refs,
        execfn: path,
        platform: b"x86_64",
        random,
        auxv,
        max_size: ARG_MAX + 64 * 1024,
    };
    let stack = exo_elf::build_stack(&spec).map_err(|_| Errno::E2BIG)?;
    populate(&mut inner, stack.start, &stack.bytes, stack_prot)?;
    drop(inner);
    mm.set_brk_start(image_end);
    Ok(Loaded { mm, entry: start, rsp: stack.rsp })
}

/// Passes the point of no return: claims the exec for this thread and ends every other thread
/// of the process, waiting until they are gone. Returns false — this thread lost, it has been
/// (or is being) killed and must just return to die — if another thread's exec or a group exit
/// got there first. The claim is made under the process state lock, so of two threads calling
/// this together exactly one wins.
fn end_other_threads(task: &Arc<Task>) -> bool {
    let mut others: Vec<Arc<Task>>;
    {
        let state = task.process.state.lock();
        if state.group_exit.is_some() || task.killed.load(Ordering::SeqCst) {
            return false;
        }
        others = state.threads.iter().filter(|t| !Arc::ptr_eq(t, task)).cloned().collect();
        for other in &others {
            other.killed.store(true, Ordering::SeqCst);
        }
    }
    if others.is_empty() {
        // The common case, a single-threaded process: nothing to wait for.
        return true;
    }
    loop {
        for other in &others {
            other.notify();
        }
        crate::sched::sleep_ns(1_000_000);
        let state = task.process.state.lock();
        if state.group_exit.is_some() {
            // An exit_group or fatal signal arrived meanwhile: the whole process goes.
            return false;
        }
        if state.threads.len() <= 1 {
            return true;
        }
        // Threads a dying thread cloned meanwhile are ended too.
        others = state.threads.iter().filter(|t| !Arc::ptr_eq(t, task)).cloned().collect();
        for other in &others {
            other.killed.store(true, Ordering::SeqCst);
        }
    }
}

/// The execve system call; on success `frame` starts the new program.
pub fn execve(path: Vec<u8>, argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>, frame: &mut TrapFrame) -> KResult<u64> {
    execve_file(None, path, argv, envp, frame)
}

/// execve of `file` when the caller already resolved it (`execveat`), else of `path`; `path`
/// is the name the program gets (AT_EXECFN, the script argument of a `#!` interpreter).
pub fn execve_file(file: Option<exo_vfs::PathRef>, path: Vec<u8>, argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>, frame: &mut TrapFrame) -> KResult<u64> {
    let task = super::current().ok_or(Errno::EINVAL)?;
    let (program, path, argv) = read_program(&task, file, path, argv)?;
    let creds = creds_after_exec(&task.process.creds.lock(), &program);
    let file = program.bytes;
    let loaded = match load(&task, &file, &path, &argv, &envp, &creds) {
        Ok(loaded) => loaded,
        Err(LoadError::Refused(errno)) => return Err(errno),
        Err(LoadError::Unplaceable) => {
            // Linux fails here past the point of no return: the process dies of SIGSEGV.
            super::signal::kill_process(&task.process, exo_abi::wait::signaled_status(exo_abi::signal::SIGSEGV, true));
            return Err(Errno::ENOEXEC);
        }
    };
    drop(file);

    // Point of no return.
    if !end_other_threads(&task) {
        // Another thread's exec (or an exit) won: this thread dies on its way out.
        return Err(Errno::EAGAIN);
    }
    // Robust locks held by the exec'ing thread, while the old memory is still mapped (Linux's
    // exec_mm_release); the other threads released theirs as they exited.
    super::futex_ops::release_robust_list(&task);
    let mm = Arc::new(loaded.mm);
    mm.enter();
    let old = core::mem::replace(&mut *task.mm.lock(), mm);
    drop(old);
    if let Some(done) = task.vfork_done.lock().take() {
        done.complete();
    }
    {
        let mut files = task.files.lock();
        if Arc::strong_count(&files) > 1 {
            if let Ok(copy) = files.duplicate() {
                *files = Arc::new(copy);
            }
        }
        files.close_on_exec();
    }
    {
        let mut sighand = task.sighand.lock();
        if Arc::strong_count(&sighand) > 1 {
            *sighand = Arc::new(sighand.duplicate());
        }
        sighand.reset_for_exec();
    }
    {
        let mut signals = task.signals.lock();
        signals.altstack = exo_abi::signal::StackT { ss_sp: 0, ss_flags: exo_abi::signal::SS_DISABLE, _pad: 0, ss_size: 0 };
        signals.saved_mask = None;
    }
    task.fs_base.store(0, Ordering::Relaxed);
    task.gs_base.store(0, Ordering::Relaxed);
    task.clear_child_tid.store(0, Ordering::Relaxed);
    task.switch_in();
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(&path);
    task.process.set_comm(name);
    let mut cmdline = alloc::vec::Vec::new();
    let length = argv.iter().map(|a| a.len() + 1).sum();
    if cmdline.try_reserve_exact(length).is_ok() {
        for arg in argv.iter() {
            cmdline.extend_from_slice(arg);
            cmdline.push(0);
        }
    }
    *task.process.cmdline.lock() = cmdline;
    task.process.did_exec.store(true, Ordering::Relaxed);
    let same_ids = creds.uid == creds.euid && creds.gid == creds.egid;
    *task.process.creds.lock() = creds;
    task.process.dumpable.store(same_ids, Ordering::Relaxed);
    let mut fpu = LegacyFpuState([0; 512]);
    fpu.0[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
    fpu.0[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    fpu.load();
    *frame = arch::new_user_frame(loaded.entry, loaded.rsp);
    Ok(0)
}
