//! The per-process part of procfs: the files of `/proc/<pid>/` (`stat`, `status`, `statm`,
//! `cmdline`, `comm`, `maps`, `mounts`, the `cwd` and `root` links) and the targets of the
//! descriptor links in `/proc/<pid>/fd/`, in the formats Linux uses (`ps`, `top` and libc parse
//! them).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use exo_abi::mode::*;
use exo_abi::Errno;
use exo_vfs::{PathRef, Result};
use exo_vma::Kind;

use crate::process::info::{self, ProcInfo};
use crate::process::{Pid, Process};

/// Clock ticks per second of the times in `stat` (Linux's `USER_HZ`).
pub const USER_HZ: u64 = 100;

/// The files of a process directory.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PidFile {
    Stat,
    Status,
    Statm,
    Cmdline,
    Comm,
    Maps,
    Mounts,
    Cwd,
    Root,
    Stack,
    Exe,
    Environ,
    Smaps,
    SmapsRollup,
}

/// Names and kinds, in listing order.
pub(crate) const PID_FILES: &[(&[u8], PidFile)] = &[
    (b"cmdline", PidFile::Cmdline),
    (b"comm", PidFile::Comm),
    (b"cwd", PidFile::Cwd),
    (b"environ", PidFile::Environ),
    (b"exe", PidFile::Exe),
    (b"maps", PidFile::Maps),
    (b"mounts", PidFile::Mounts),
    (b"root", PidFile::Root),
    (b"smaps", PidFile::Smaps),
    (b"smaps_rollup", PidFile::SmapsRollup),
    (b"stack", PidFile::Stack),
    (b"stat", PidFile::Stat),
    (b"statm", PidFile::Statm),
    (b"status", PidFile::Status),
];

impl PidFile {
    /// Type and permission bits.
    pub(crate) fn mode(self) -> u32 {
        match self {
            PidFile::Cwd | PidFile::Root | PidFile::Exe => S_IFLNK | 0o777,
            PidFile::Stack | PidFile::Environ => S_IFREG | 0o400,
            _ => S_IFREG | 0o444,
        }
    }
}

/// Nanoseconds to clock ticks.
pub fn ticks(ns: u64) -> u64 {
    ns / (1_000_000_000 / USER_HZ)
}

/// Open descriptors of the process (of its first thread's table; none for a zombie).
pub(crate) fn open_fds(process: &Process) -> Vec<i32> {
    info::main_task(process).map_or_else(Vec::new, |t| t.files().open_fds())
}

/// Ids of the process's live threads.
pub(crate) fn thread_ids(process: &Process) -> Vec<Pid> {
    process.threads().iter().map(|t| t.tid).collect()
}

/// The reader's root directory (paths in links are shown relative to it).
fn reader_root() -> Result<PathRef> {
    match crate::process::current() {
        Some(me) => Ok(me.fs().root.lock().clone()),
        None => Ok(crate::fs::namespace()?.root()),
    }
}

/// The path of `location` as the reader sees it, " (deleted)" appended if it was removed.
pub(crate) fn path_text_of(location: &PathRef) -> Result<Vec<u8>> {
    path_text(location)
}

fn path_text(location: &PathRef) -> Result<Vec<u8>> {
    let mut path = crate::fs::namespace()?.path_of(location, &reader_root()?);
    if location.is_deleted() {
        path.extend_from_slice(b" (deleted)");
    }
    Ok(path)
}

/// Target of `cwd` / `root`.
pub(crate) fn link_target(process: &Process, file: PidFile) -> Result<Vec<u8>> {
    if file == PidFile::Exe {
        return super::pid_more::exe_target(process);
    }
    let task = info::main_task(process).ok_or(Errno::ENOENT)?;
    let fs = task.fs();
    let location = match file {
        PidFile::Cwd => fs.cwd.lock().clone(),
        PidFile::Root => fs.root.lock().clone(),
        _ => return Err(Errno::EINVAL),
    };
    path_text(&location)
}

/// The name of a character device, as its node in /dev is called.
fn device_name(rdev: u64) -> String {
    match major_minor(rdev) {
        (1, 3) => "/dev/null".into(),
        (1, 5) => "/dev/zero".into(),
        (1, 7) => "/dev/full".into(),
        (1, 8) => "/dev/random".into(),
        (1, 9) => "/dev/urandom".into(),
        (5, 0) => "/dev/tty".into(),
        (5, 1) => "/dev/console".into(),
        (5, 2) => "/dev/ptmx".into(),
        (4, n) if n < 64 => format!("/dev/tty{n}"),
        (4, n) => format!("/dev/ttyS{}", n - 64),
        (136..=143, n) => format!("/dev/pts/{n}"),
        (major, minor) => format!("/dev/char/{major}:{minor}"),
    }
}

/// Target of `/proc/<pid>/fd/<fd>`: the path of a file opened by name, `pipe:[ino]`,
/// `socket:[ino]`, the device node of a device, `anon_inode:[…]` otherwise.
pub(crate) fn fd_target(process: &Process, fd: i32) -> Result<Vec<u8>> {
    let task = info::main_task(process).ok_or(Errno::ENOENT)?;
    let file = task.files().get(fd).map_err(|_| Errno::ENOENT)?;
    if let Some(memfd) = crate::fs::memfd::of(&file) {
        return Ok(memfd.link_text());
    }
    if let Some(location) = file.node.get().cloned().or_else(|| file.ops.path()) {
        return path_text(&location);
    }
    let text = match file.ops.stat() {
        Ok(st) => match st.st_mode & S_IFMT {
            S_IFIFO => format!("pipe:[{}]", st.st_ino),
            S_IFSOCK => format!("socket:[{}]", st.st_ino),
            S_IFCHR => device_name(st.st_rdev),
            _ => String::from("anon_inode:[unknown]"),
        },
        Err(_) => String::from("anon_inode:[unknown]"),
    };
    Ok(text.into_bytes())
}

/// `stack`: where each thread of the process is in the kernel (Linux's `/proc/<pid>/stack`,
/// one block per thread here), for finding a task that hangs or will not die.
fn kernel_stacks(process: &Process) -> Vec<u8> {
    let mut text = String::new();
    for task in process.threads() {
        let id = task.thread.load(core::sync::atomic::Ordering::Acquire);
        let thread = u32::try_from(id).ok().and_then(crate::sched::lookup);
        let _ = match &thread {
            Some(thread) => writeln!(text, "thread {} ({:?}):", task.tid, thread.state()),
            None => writeln!(text, "thread {} (not started or gone)", task.tid),
        };
        if let Some(thread) = thread {
            thread.write_kernel_stack(&mut text);
        }
    }
    text.into_bytes()
}

/// Generates the text of a file of `process`.
pub(crate) fn generate(process: &Process, file: PidFile) -> Result<Vec<u8>> {
    Ok(match file {
        PidFile::Stat => stat(process, &info::snapshot(process)).into_bytes(),
        PidFile::Status => status(process, &info::snapshot(process)).into_bytes(),
        PidFile::Statm => {
            let info = info::snapshot(process);
            format!("{} {} 0 0 0 0 0\n", info.vm_bytes / 4096, info.rss_pages).into_bytes()
        }
        PidFile::Cmdline => process.cmdline.lock().clone(),
        PidFile::Comm => {
            let mut comm = process.comm().into_bytes();
            comm.push(b'\n');
            comm
        }
        PidFile::Maps => maps_text(process),
        PidFile::Environ => super::pid_more::environ(process),
        PidFile::Smaps => super::pid_more::smaps(process, false),
        PidFile::SmapsRollup => super::pid_more::smaps(process, true),
        PidFile::Stack => kernel_stacks(process),
        PidFile::Mounts => super::system::generate(super::system::SysFile::Mounts),
        PidFile::Cwd | PidFile::Root | PidFile::Exe => return Err(Errno::EINVAL),
    })
}

/// `/proc/<pid>/stat`: one line, 52 fields (see proc(5)).
fn stat(process: &Process, info: &ProcInfo) -> String {
    let cpu = info::main_task(process).and_then(|t| crate::sched::lookup(t.thread_id())).map_or(0, |t| t.last_cpu());
    let exit_signal = process.exit_signal.load(core::sync::atomic::Ordering::Relaxed);
    // utime/stime split by `process::cputime`; priority and nice from the main task.
    let (utime, _) = crate::process::cputime::process_times(process);
    let stime = info.cpu_ns.saturating_sub(utime);
    let nice = info::main_task(process).map_or(0, |t| t.sched_attr.nice());
    let mut s = String::new();
    let _ = write!(
        s,
        "{} ({}) {} {} {} {} {} -1 4194560 0 0 0 0 {} {} {} {} {} {} {} 0 {} {} {} 18446744073709551615 0 0 0 0 0 0 {} 0 0 0 0 0 {} {} 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
        info.pid,
        info.comm,
        info.state as char,
        info.ppid,
        info.pgid,
        info.sid,
        super::pid_more::tty_nr(process),
        ticks(utime),
        ticks(stime),
        ticks(info.children_ns.0),
        ticks(info.children_ns.1),
        20 + nice,
        nice,
        info.threads,
        ticks(info.start_ns),
        info.vm_bytes,
        info.rss_pages,
        info.sig_blocked,
        exit_signal,
        cpu,
    );
    s
}

fn state_name(state: u8) -> &'static str {
    match state {
        b'R' => "R (running)",
        b'T' => "T (stopped)",
        b'Z' => "Z (zombie)",
        _ => "S (sleeping)",
    }
}

/// Sizes (bytes) of the data (heap and anonymous), stack and executable areas.
fn area_sizes(process: &Process) -> (u64, u64, u64) {
    let Some(task) = info::main_task(process) else { return (0, 0, 0) };
    let (mut data, mut stack, mut exe) = (0, 0, 0);
    for area in task.mm().areas() {
        match area.kind {
            Kind::Stack => stack += area.size(),
            Kind::Heap | Kind::Anonymous => data += area.size(),
            Kind::File if area.prot.exec => exe += area.size(),
            Kind::File => data += area.size(),
            Kind::Vdso | Kind::Vvar | Kind::Fusion | Kind::Sealed => {}
        }
    }
    (data, stack, exe)
}

/// `/proc/<pid>/status`: "Key:\tvalue" lines.
fn status(process: &Process, info: &ProcInfo) -> String {
    let c = &info.creds;
    let task = info::main_task(process);
    let umask = task.as_ref().map_or(0o022, |t| t.fs().umask());
    let fd_size = task.as_ref().map_or(0, |t| t.files().open_fds().last().map_or(0, |&fd| fd + 1)).max(64);
    let (data, stack, exe) = area_sizes(process);
    let groups: String = c.groups.iter().map(|g| format!("{g} ")).collect();
    let kb = |bytes: u64| bytes / 1024;
    let caps = if c.euid == 0 { "000001ffffffffff" } else { "0000000000000000" };
    let (pnd, shd, ign, cgt) = super::pid_more::signal_sets(process);
    let sig_queued = process.pending.lock().queued();
    let sig_limit = process.rlimits.lock()[exo_abi::resource::RLIMIT_SIGPENDING as usize].rlim_cur;
    let cpus = crate::sched::online().count().max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        "Name:\t{}\nUmask:\t{:04o}\nState:\t{}\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\nTracerPid:\t0\n\
         Uid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nFDSize:\t{}\nGroups:\t{}\n\
         VmPeak:\t{:8} kB\nVmSize:\t{:8} kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\nVmHWM:\t{:8} kB\nVmRSS:\t{:8} kB\n\
         VmData:\t{:8} kB\nVmStk:\t{:8} kB\nVmExe:\t{:8} kB\nVmLib:\t       0 kB\nVmSwap:\t       0 kB\n\
         Threads:\t{}\nSigQ:\t{}/{}\nSigPnd:\t{:016x}\nShdPnd:\t{:016x}\nSigBlk:\t{:016x}\nSigIgn:\t{:016x}\nSigCgt:\t{:016x}\n\
         CapInh:\t0000000000000000\nCapPrm:\t{caps}\nCapEff:\t{caps}\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n\
         NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\nSpeculation_Store_Bypass:\tnot vulnerable\n\
         Cpus_allowed:\t{:x}\nCpus_allowed_list:\t0-{}\nMems_allowed:\t1\nMems_allowed_list:\t0\n\
         voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n",
        info.comm,
        umask,
        state_name(info.state),
        info.pid,
        info.pid,
        info.ppid,
        c.uid,
        c.euid,
        c.suid,
        c.fsuid,
        c.gid,
        c.egid,
        c.sgid,
        c.fsgid,
        fd_size,
        groups,
        kb(info.vm_bytes),
        kb(info.vm_bytes),
        info.rss_pages * 4,
        info.rss_pages * 4,
        kb(data),
        kb(stack),
        kb(exe),
        info.threads,
        sig_queued,
        sig_limit,
        pnd,
        shd,
        info.sig_blocked,
        ign,
        cgt,
        (1u64 << cpus.min(63)) - 1,
        cpus.saturating_sub(1),
    );
    s
}

/// `/proc/<pid>/maps`: "start-end perms offset dev inode path" per area.
pub(crate) fn maps_text(process: &Process) -> Vec<u8> {
    let Some(task) = info::main_task(process) else { return Vec::new() };
    let mut s = String::new();
    for area in task.mm().areas() {
        let p = area.prot;
        let perms = [
            if p.read { 'r' } else { '-' },
            if p.write { 'w' } else { '-' },
            if p.exec { 'x' } else { '-' },
            if area.share == exo_vma::Share::Shared { 's' } else { 'p' },
        ];
        let name = match area.kind {
            Kind::Stack => "[stack]",
            Kind::Heap => "[heap]",
            Kind::Vdso => "[vdso]",
            Kind::Vvar => "[vvar]",
            Kind::Fusion | Kind::Sealed => "[fusion]",
            _ => "",
        };
        // A file mapping: its offset, the file's device (major:minor in hex) and inode, path.
        let (offset, (major, minor), ino, path) = match &area.backing {
            Some(file) => {
                let (dev, ino) = file.file.identity();
                (file.offset, exo_abi::mode::major_minor(dev), ino, file.file.path_for_maps())
            }
            None => (0, (0, 0), 0, Vec::new()),
        };
        let line = format!(
            "{:08x}-{:08x} {}{}{}{} {offset:08x} {major:02x}:{minor:02x} {ino}",
            area.start, area.end, perms[0], perms[1], perms[2], perms[3]
        );
        if !path.is_empty() {
            let _ = writeln!(s, "{line:<72} {}", String::from_utf8_lossy(&path));
        } else if name.is_empty() {
            let _ = writeln!(s, "{line}");
        } else {
            let _ = writeln!(s, "{line:<72} {name}");
        }
    }
    s.into_bytes()
}
