//! procfs: the `proc` file system (`mount -t proc proc /proc`). Every inode is a [`ProcNode`]
//! naming what it shows (a system file, a process directory, one of its files, a descriptor
//! link); contents are generated when read — at offset 0 a fresh text is made and kept, reads
//! further in are served from that snapshot so a reader in several chunks sees one consistent
//! text. Directories list the live processes and descriptors when read. Everything is
//! read-only: writes fail with `EACCES`, creating names with `EPERM`. A process's private
//! state — `maps` (at open, [`check_open`]), the `cwd`, `root` and `fd/<n>` links — is shown
//! only to readers with ptrace read access to it (same user ids, or root), else `EACCES`, as
//! Linux does; the `fd` directory is mode 0500, owned by the process's effective ids.
//!
//! Submodules: `pid` (`/proc/<pid>/…`), `system` (`meminfo`, `cpuinfo`, `stat`, `mounts`, …).

mod pid;
mod system;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use exo_abi::mode::*;
use exo_abi::Errno;
use exo_vfs::{DirEntry, FileSystem, Inode, Metadata, Result, StatFs, NAME_MAX};
use crate::spinlock::SpinLock as Mutex;

use self::pid::{PidFile, PID_FILES};
use self::system::{SysFile, SYS_FILES};
use crate::process::Pid;

/// `statfs.f_type` of procfs (Linux `PROC_SUPER_MAGIC`).
pub const PROC_SUPER_MAGIC: u64 = 0x9fa0;

/// Mount sources (`mount`'s first argument) by file-system id, for `/proc/mounts`.
static SOURCES: Mutex<BTreeMap<u64, String>> = Mutex::new(BTreeMap::new());

/// Records the source a file system was mounted from (`mount`); `None` forgets it (`umount`).
pub fn set_mount_source(fs_id: u64, source: Option<&[u8]>) {
    let mut sources = SOURCES.lock();
    match source {
        Some(s) => {
            sources.insert(fs_id, String::from_utf8_lossy(s).into_owned());
        }
        None => {
            sources.remove(&fs_id);
        }
    }
}

fn mount_source(fs_id: u64) -> Option<String> {
    SOURCES.lock().get(&fs_id).cloned()
}

/// One procfs instance.
pub struct ProcFs {
    id: u64,
    root: Arc<ProcNode>,
}

impl ProcFs {
    /// A new instance with a fresh file-system id.
    pub fn new() -> Arc<ProcFs> {
        let id = super::new_fs_id();
        Arc::new(ProcFs { id, root: ProcNode::new(id, Node::Root) })
    }
}

impl FileSystem for ProcFs {
    fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }
    fn name(&self) -> &str {
        "proc"
    }
    fn magic(&self) -> u64 {
        PROC_SUPER_MAGIC
    }
    fn id(&self) -> u64 {
        self.id
    }
    fn statfs(&self) -> StatFs {
        statfs(self.id)
    }
}

fn statfs(id: u64) -> StatFs {
    StatFs { fs_type: PROC_SUPER_MAGIC, bsize: 4096, fsid: id, namelen: NAME_MAX as u64, frsize: 4096, ..StatFs::default() }
}

/// What a procfs inode shows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node {
    Root,
    /// `/proc/sys`, `/proc/sys/kernel`.
    SysDir,
    KernelDir,
    /// `/proc/bus` and `/proc/bus/pci`.
    BusDir,
    BusPciDir,
    /// `/proc/self`: a link to the reader's pid.
    SelfLink,
    /// `/proc/thread-self`: a link to `<pid>/task/<tid>`.
    ThreadSelfLink,
    /// A generated system-wide file.
    Sys(SysFile),
    /// `/proc/<pid>`.
    Pid(Pid),
    /// `/proc/<pid>/task/<tid>`: the process's files again, without `task`.
    Thread(Pid),
    /// `/proc/<pid>/task`.
    TaskDir(Pid),
    PidFile(Pid, PidFile),
    FdDir(Pid),
    Fd(Pid, i32),
}

/// A procfs inode.
pub struct ProcNode {
    fs_id: u64,
    node: Node,
    /// The text of the last read at offset 0.
    snapshot: Mutex<Option<Arc<Vec<u8>>>>,
}

/// Inode numbers: fixed ones below 0x1000; per-process ones carry the pid in the high half.
fn ino_of(node: Node) -> u64 {
    match node {
        Node::Root => 1,
        Node::SysDir => 2,
        Node::KernelDir => 3,
        Node::SelfLink => 4,
        Node::ThreadSelfLink => 5,
        Node::BusDir => 6,
        Node::BusPciDir => 7,
        Node::Sys(f) => 0x100 + f as u64,
        Node::Pid(p) => (u64::from(p) << 32) | 1,
        Node::TaskDir(p) => (u64::from(p) << 32) | 2,
        Node::FdDir(p) => (u64::from(p) << 32) | 3,
        Node::Thread(p) => (u64::from(p) << 32) | 4,
        Node::PidFile(p, f) => (u64::from(p) << 32) | (0x10 + f as u64),
        Node::Fd(p, fd) => (u64::from(p) << 32) | (1 << 24) | (fd as u32 as u64 & 0xff_ffff),
    }
}

/// Type and permission bits.
fn mode_of(node: Node) -> u32 {
    match node {
        Node::Root | Node::SysDir | Node::KernelDir | Node::BusDir | Node::BusPciDir | Node::Pid(_) | Node::Thread(_) | Node::TaskDir(_) => S_IFDIR | 0o555,
        Node::FdDir(_) => S_IFDIR | 0o500,
        Node::SelfLink | Node::ThreadSelfLink => S_IFLNK | 0o777,
        Node::Fd(..) => S_IFLNK | 0o700,
        Node::PidFile(_, f) => f.mode(),
        Node::Sys(_) => S_IFREG | 0o444,
    }
}

/// The pid a per-process node belongs to.
fn pid_of(node: Node) -> Option<Pid> {
    match node {
        Node::Pid(p) | Node::Thread(p) | Node::TaskDir(p) | Node::PidFile(p, _) | Node::FdDir(p) | Node::Fd(p, _) => Some(p),
        _ => None,
    }
}

/// A directory entry for `node` called `name`.
fn entry(node: Node, name: &[u8], next_cursor: u64) -> DirEntry {
    DirEntry { ino: ino_of(node), kind: dirent_type(mode_of(node)), name: name.to_vec(), next_cursor }
}

/// `EACCES` unless the reader may inspect `process` (Linux's PTRACE_MODE_READ_FSCREDS rule,
/// `process::info::may_inspect`). The kernel itself may always.
fn check_access(process: &crate::process::Process) -> Result<()> {
    let Some(me) = crate::process::current() else { return Ok(()) };
    if crate::process::info::may_inspect(&me.process, process, crate::process::info::CredMode::Fs) {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// The open(2) check of procfs files that Linux makes at open time: `/proc/<pid>/maps` of a
/// process the opener may not inspect is `EACCES`, and `/proc/<pid>/stack` is root's only
/// (Linux: CAP_SYS_ADMIN). Other inodes pass.
pub fn check_open(inode: &dyn Inode) -> Result<()> {
    match inode.as_any().downcast_ref::<ProcNode>().map(|n| n.node) {
        Some(Node::PidFile(pid, PidFile::Maps)) => check_access(&*process(pid)?),
        Some(Node::PidFile(_, PidFile::Stack)) => match crate::process::current() {
            Some(me) if me.process.creds.lock().euid != 0 => Err(Errno::EACCES),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The process with `pid`, `ENOENT` once it is gone.
fn process(pid: Pid) -> Result<Arc<crate::process::Process>> {
    crate::process::process(pid).ok_or(Errno::ENOENT)
}

/// Parses a decimal number without sign or leading zeros.
fn parse_number(name: &[u8]) -> Option<u32> {
    if name.is_empty() || name.len() > 10 || (name[0] == b'0' && name.len() > 1) || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    core::str::from_utf8(name).ok()?.parse().ok()
}

/// Emits `.` and `..` for cursors 0 and 1; returns false if `emit` stopped.
fn emit_dots(this: Node, parent: Node, cursor: u64, emit: &mut dyn FnMut(DirEntry) -> bool) -> bool {
    if cursor < 1 && !emit(entry(this, b".", 1)) {
        return false;
    }
    cursor >= 2 || emit(entry(parent, b"..", 2))
}

/// Emits fixed entries (cursor 2 + index) and then numbered ones (cursor `NUMBERED` + n + 1).
const NUMBERED: u64 = 1 << 32;

fn emit_listing(
    cursor: u64,
    fixed: &[(&[u8], Node)],
    numbered: &[(u32, Node)],
    emit: &mut dyn FnMut(DirEntry) -> bool,
) -> Result<()> {
    let start = cursor.max(2);
    for (i, (name, node)) in fixed.iter().enumerate() {
        let next = 3 + i as u64;
        if next > start && !emit(entry(*node, name, next)) {
            return Ok(());
        }
    }
    for &(n, node) in numbered {
        let next = NUMBERED + u64::from(n) + 1;
        if next > start && !emit(entry(node, alloc::format!("{n}").as_bytes(), next)) {
            return Ok(());
        }
    }
    Ok(())
}

impl ProcNode {
    fn new(fs_id: u64, node: Node) -> Arc<ProcNode> {
        Arc::new(ProcNode { fs_id, node, snapshot: Mutex::new(None) })
    }

    fn child(&self, node: Node) -> Arc<dyn Inode> {
        ProcNode::new(self.fs_id, node)
    }

    /// The fixed entries of a directory.
    fn fixed_entries(&self) -> Vec<(&'static [u8], Node)> {
        match self.node {
            Node::Root => {
                let mut v: Vec<(&'static [u8], Node)> = alloc::vec![(b"self", Node::SelfLink), (b"thread-self", Node::ThreadSelfLink), (b"sys", Node::SysDir), (b"bus", Node::BusDir)];
                v.extend(SYS_FILES.iter().filter(|(_, f)| !f.in_kernel_dir() && !f.in_bus_pci_dir()).map(|&(name, f)| (name, Node::Sys(f))));
                v
            }
            Node::SysDir => alloc::vec![(b"kernel", Node::KernelDir)],
            Node::BusDir => alloc::vec![(b"pci", Node::BusPciDir)],
            Node::BusPciDir => SYS_FILES.iter().filter(|(_, f)| f.in_bus_pci_dir()).map(|&(name, f)| (name, Node::Sys(f))).collect(),
            Node::KernelDir => SYS_FILES.iter().filter(|(_, f)| f.in_kernel_dir()).map(|&(name, f)| (name, Node::Sys(f))).collect(),
            Node::Pid(pid) | Node::Thread(pid) => {
                let mut v: Vec<(&'static [u8], Node)> = alloc::vec![(b"fd", Node::FdDir(pid))];
                if matches!(self.node, Node::Pid(_)) {
                    v.push((b"task", Node::TaskDir(pid)));
                }
                v.extend(PID_FILES.iter().map(|&(name, f)| (name, Node::PidFile(pid, f))));
                v
            }
            _ => Vec::new(),
        }
    }

    /// The numbered entries of a directory (pids, descriptor numbers), ascending.
    fn numbered_entries(&self) -> Result<Vec<(u32, Node)>> {
        Ok(match self.node {
            Node::Root => crate::process::all_processes().iter().map(|p| (p.pid, Node::Pid(p.pid))).collect(),
            Node::FdDir(pid) => pid::open_fds(&*process(pid)?).into_iter().map(|fd| (fd as u32, Node::Fd(pid, fd))).collect(),
            Node::TaskDir(pid) => pid::thread_ids(&*process(pid)?).into_iter().map(|tid| (tid, Node::Thread(pid))).collect(),
            _ => Vec::new(),
        })
    }

    fn parent(&self) -> Node {
        match self.node {
            Node::KernelDir => Node::SysDir,
            Node::BusPciDir => Node::BusDir,
            Node::FdDir(p) | Node::TaskDir(p) => Node::Pid(p),
            _ => Node::Root,
        }
    }

    /// Generates the text of a file.
    fn generate(&self) -> Result<Vec<u8>> {
        match self.node {
            Node::Sys(f) => Ok(system::generate(f)),
            Node::PidFile(pid, f) => pid::generate(&*process(pid)?, f),
            _ => Err(Errno::EINVAL),
        }
    }
}

impl Inode for ProcNode {
    fn metadata(&self) -> Metadata {
        let mode = mode_of(self.node);
        let (uid, gid) = pid_of(self.node)
            .and_then(crate::process::process)
            .map(|p| {
                let creds = p.creds.lock();
                (creds.euid, creds.egid)
            })
            .unwrap_or((0, 0));
        let time = crate::fs::now();
        Metadata {
            ino: ino_of(self.node),
            mode,
            nlink: if mode & S_IFMT == S_IFDIR { 2 } else { 1 },
            uid,
            gid,
            size: 0,
            blksize: 1024,
            atime: time,
            mtime: time,
            ctime: time,
            dev: self.fs_id,
            ..Metadata::default()
        }
    }

    fn fs_id(&self) -> u64 {
        self.fs_id
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn file_type(&self) -> u32 {
        mode_of(self.node) & S_IFMT
    }

    fn statfs(&self) -> Result<StatFs> {
        Ok(statfs(self.fs_id))
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if self.file_type() != S_IFREG {
            return Err(if self.file_type() == S_IFDIR { Errno::EISDIR } else { Errno::EINVAL });
        }
        let text = {
            let cached = if offset == 0 { None } else { self.snapshot.lock().clone() };
            match cached {
                Some(text) => text,
                None => {
                    let text = Arc::new(self.generate()?);
                    *self.snapshot.lock() = Some(text.clone());
                    text
                }
            }
        };
        let Ok(start) = usize::try_from(offset) else { return Ok(0) };
        let Some(rest) = text.get(start..) else { return Ok(0) };
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }

    fn write_at(&self, _offset: u64, _buf: &[u8]) -> Result<usize> {
        Err(if self.file_type() == S_IFDIR { Errno::EISDIR } else { Errno::EACCES })
    }

    fn truncate(&self, _len: u64) -> Result<()> {
        Err(if self.file_type() == S_IFDIR { Errno::EISDIR } else { Errno::EACCES })
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        if self.file_type() != S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        if let Some(p) = pid_of(self.node) {
            process(p)?;
        }
        if let Some((_, node)) = self.fixed_entries().into_iter().find(|(n, _)| *n == name) {
            return Ok(self.child(node));
        }
        let number = parse_number(name).ok_or(Errno::ENOENT)?;
        match self.node {
            Node::Root => {
                process(number)?;
                Ok(self.child(Node::Pid(number)))
            }
            Node::FdDir(pid) => {
                let fd = i32::try_from(number).map_err(|_| Errno::ENOENT)?;
                if !pid::open_fds(&*process(pid)?).contains(&fd) {
                    return Err(Errno::ENOENT);
                }
                Ok(self.child(Node::Fd(pid, fd)))
            }
            Node::TaskDir(pid) => {
                if !pid::thread_ids(&*process(pid)?).contains(&number) {
                    return Err(Errno::ENOENT);
                }
                Ok(self.child(Node::Thread(pid)))
            }
            _ => Err(Errno::ENOENT),
        }
    }

    fn read_dir(&self, cursor: u64, emit: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        if self.file_type() != S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let numbered = self.numbered_entries()?;
        if !emit_dots(self.node, self.parent(), cursor, emit) {
            return Ok(());
        }
        emit_listing(cursor, &self.fixed_entries(), &numbered, emit)
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        let me = crate::process::current();
        match self.node {
            Node::SelfLink => {
                let me = me.ok_or(Errno::ENOENT)?;
                Ok(alloc::format!("{}", me.process.pid).into_bytes())
            }
            Node::ThreadSelfLink => {
                let me = me.ok_or(Errno::ENOENT)?;
                Ok(alloc::format!("{}/task/{}", me.process.pid, me.tid).into_bytes())
            }
            Node::PidFile(pid, f) => {
                let target = process(pid)?;
                check_access(&target)?;
                pid::link_target(&target, f)
            }
            Node::Fd(pid, fd) => {
                let target = process(pid)?;
                check_access(&target)?;
                pid::fd_target(&target, fd)
            }
            _ => Err(Errno::EINVAL),
        }
    }
}
