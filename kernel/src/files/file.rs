//! Open file descriptions: what a file descriptor refers to. One `OpenFile` is shared by every
//! descriptor `dup`ed or inherited from it (offset and status flags included, as POSIX says);
//! what it reads and writes is a [`FileOps`] implementation (an inode, the console, a pipe end,
//! a device). Also the kernel-buffer copy between two files behind sendfile/copy_file_range.
//! Readiness waits (poll/select/epoll) register on each polled object's own queue
//! (`FileOps::poll_register`, `sched::pollwait`).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use exo_abi::fcntl::*;
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use crate::sched::pollwait::PollTable;
use crate::sched::sync::Mutex;
use crate::uaccess::UserSlice;

/// Readiness bits for poll (POLLIN, POLLOUT, ...).
pub type PollBits = u32;

/// Whether the current task is being killed (SIGKILL, a fatal signal, exit_group): a transfer
/// that can run long (a 2 GiB write, sendfile, reading /dev/zero) checks it between chunks and
/// stops with what it moved, so a killed task is gone within milliseconds.
pub fn fatal_signal_pending() -> bool {
    crate::sched::fatal_signal_pending()
}

/// The operations of one kind of open file. Defaults give the errno Linux gives for an
/// operation the kind does not support.
pub trait FileOps: Send + Sync {
    /// Reads at the file's offset (advancing it) or from a stream.
    fn read(&self, _file: &OpenFile, _buf: &mut [u8]) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    /// Writes at the file's offset (or its end with O_APPEND) or to a stream.
    fn write(&self, _file: &OpenFile, _buf: &[u8]) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    /// Whether read(2)/write(2) go through [`read_user`](Self::read_user) and
    /// [`write_user`](Self::write_user) (asked once, when the file is opened: `OpenFile::direct`)
    /// instead of a kernel bounce buffer and [`read`](Self::read)/[`write`](Self::write).
    fn direct_user_io(&self) -> bool {
        false
    }

    /// read(2) straight into user memory, for kinds whose [`direct_user_io`](Self::direct_user_io)
    /// is true. It must not copy with a spin lock held (the copy may fault and sleep).
    fn read_user(&self, _file: &OpenFile, _buf: UserSlice<u8>) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    /// write(2) straight from user memory (see [`read_user`](Self::read_user)).
    fn write_user(&self, _file: &OpenFile, _buf: UserSlice<u8>) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    /// Reads at `offset` without moving the file offset.
    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> KResult<usize> {
        Err(Errno::ESPIPE)
    }

    /// Writes at `offset` without moving the file offset.
    fn write_at(&self, _buf: &[u8], _offset: u64) -> KResult<usize> {
        Err(Errno::ESPIPE)
    }

    /// Moves the offset (`whence` is SEEK_SET/CUR/END); returns the new offset.
    fn seek(&self, _file: &OpenFile, _offset: i64, _whence: u32) -> KResult<u64> {
        Err(Errno::ESPIPE)
    }

    /// The file's status.
    fn stat(&self) -> KResult<Stat>;

    /// A device-specific request.
    fn ioctl(&self, _file: &OpenFile, _request: u32, _arg: crate::uaccess::UserArg) -> KResult<u64> {
        Err(Errno::ENOTTY)
    }

    /// Directory entries from the file's position, appended to `out` as `linux_dirent64`
    /// records while they fit in `space` bytes.
    fn read_dir(&self, _file: &OpenFile, _out: &mut Vec<u8>, _space: usize) -> KResult<()> {
        Err(Errno::ENOTDIR)
    }

    /// Readiness for poll/select.
    fn poll(&self) -> PollBits {
        exo_abi::poll::POLLIN as u32 | exo_abi::poll::POLLOUT as u32
    }

    /// Registers `table`'s poller on the queue(s) on which this file announces readiness
    /// changes (`PollQueue::notify`), so that poll/select/epoll_wait sleep until one of them
    /// changes. The default registers nothing: right for files whose readiness never changes
    /// (always ready). A kind whose `poll` can change MUST register, or its pollers sleep on.
    fn poll_register(&self, _table: &mut PollTable) -> KResult<()> {
        Ok(())
    }

    /// A counter that moves whenever something happens that a poller of this file would be
    /// woken for (data arriving, space appearing, an end closing), even when the readiness bits
    /// stay the same: edge-triggered epoll reports an event when it moves. The default (never
    /// moves) makes epoll report only rising readiness bits.
    fn poll_events(&self) -> u64 {
        0
    }

    /// Whether epoll may watch the file (EPERM otherwise; Linux refuses regular files and
    /// directories).
    fn pollable(&self) -> bool {
        true
    }

    /// The file kind as `Any`, for a kind whose layer needs its own type back (epoll's nesting
    /// and loop checks: `fs::epoll::of`); `None` for the others.
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        None
    }

    /// The file's place in the namespace, for files opened by path.
    fn path(&self) -> Option<exo_vfs::PathRef> {
        None
    }

    /// Truncates or extends (ftruncate).
    /// `fsync` (`datasync`: `fdatasync`): makes what was written durable. Pipes, sockets and
    /// other streams: `EINVAL`, as Linux.
    fn fsync(&self, _datasync: bool) -> KResult<()> {
        Err(Errno::EINVAL)
    }

    fn truncate(&self, _len: u64) -> KResult<()> {
        Err(Errno::EINVAL)
    }

    /// Called when the last descriptor of this open file is closed.
    fn release(&self) {}

    /// The file kind as `Any`, for kinds that hold no other descriptors (pipes, memfds): their
    /// layer finds its type back (`F_SETPIPE_SZ`, seals) without the kind counting as a
    /// possible carrier of descriptors, which [`as_any`](Self::as_any) implies (Fusion refuses
    /// to grant those).
    fn as_plain_any(&self) -> Option<&dyn core::any::Any> {
        None
    }
}

/// An open file description.
pub struct OpenFile {
    pub ops: Arc<dyn FileOps>,
    /// O_ACCMODE, O_APPEND, O_NONBLOCK, ... (the status flags F_GETFL reports).
    pub flags: AtomicU32,
    /// The file offset.
    pub offset: Mutex<u64>,
    /// `ops.direct_user_io()`, asked once: read(2)/write(2) take the direct path.
    pub direct: bool,
    /// fcntl settings stored with the description (F_SETOWN(_EX), F_SETSIG, F_SETLEASE).
    pub fcntl: FcntlState,
    /// The device node a device was opened through (set once, by open): `fstat` reports the
    /// node, as Linux does (glibc's `ttyname` compares it with the node's path), and
    /// `/proc/<pid>/fd/N` names it.
    pub node: spin::Once<exo_vfs::PathRef>,
}

/// What `fcntl` stores in an open file description besides its flags: the owner signals for
/// `O_ASYNC` go to, the signal (`F_SETSIG`, 0 = SIGIO) and the lease type.
#[derive(Default)]
pub struct FcntlState {
    /// `f_owner_ex.type << 32 | pid` (0: no owner).
    pub owner: AtomicU64,
    pub signal: AtomicU32,
    /// `F_RDLCK`/`F_WRLCK` as u32, or `F_UNLCK` (2); 0 is read as "none" too.
    pub lease: AtomicU32,
}

impl OpenFile {
    /// lseek of a file with a size (regular files, block devices): `SEEK_SET`, `SEEK_CUR` and
    /// `SEEK_END` (from `size()`), and `SEEK_DATA`/`SEEK_HOLE` when `holes` (the whole file is
    /// data: `ENXIO` at or past the end). `EINVAL` for another `whence` or a negative result,
    /// `EOVERFLOW` past `i64`.
    pub fn seek_sized(&self, offset: i64, whence: u32, holes: bool, size: impl FnOnce() -> u64) -> KResult<u64> {
        let mut position = self.offset.lock();
        let base = match whence {
            SEEK_SET => 0,
            SEEK_CUR => *position as i64,
            SEEK_END => size() as i64,
            SEEK_DATA | SEEK_HOLE if holes => {
                let size = size() as i64;
                if offset < 0 || offset >= size {
                    return Err(Errno::ENXIO);
                }
                let new = if whence == SEEK_DATA { offset } else { size };
                *position = new as u64;
                return Ok(new as u64);
            }
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(offset).ok_or(Errno::EOVERFLOW)?;
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        *position = new as u64;
        Ok(new as u64)
    }

    pub fn new(ops: Arc<dyn FileOps>, flags: u32) -> Arc<OpenFile> {
        let direct = ops.direct_user_io();
        Arc::new(OpenFile { ops, flags: AtomicU32::new(flags), offset: Mutex::new(0), direct, fcntl: FcntlState::default(), node: spin::Once::new() })
    }

    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// The file's status for `fstat`: its device node's when it was opened through one.
    pub fn stat(&self) -> KResult<exo_abi::types::Stat> {
        match self.node.get() {
            Some(node) => Ok(stat_of(&node.metadata())),
            None => self.ops.stat(),
        }
    }

    /// Open for reading (never an O_PATH descriptor).
    pub fn readable(&self) -> bool {
        let flags = self.flags();
        flags & O_PATH == 0 && matches!(flags & O_ACCMODE, O_RDONLY | O_RDWR)
    }

    /// Open for writing (never an O_PATH descriptor).
    pub fn writable(&self) -> bool {
        let flags = self.flags();
        flags & O_PATH == 0 && matches!(flags & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    pub fn nonblocking(&self) -> bool {
        self.flags() & O_NONBLOCK != 0
    }

    /// Reads (EBADF unless open for reading).
    pub fn read(&self, buf: &mut [u8]) -> KResult<usize> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        self.ops.read(self, buf)
    }

    /// Writes (EBADF unless open for writing).
    pub fn write(&self, buf: &[u8]) -> KResult<usize> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        self.ops.write(self, buf)
    }
}

/// Run when an open file description goes (its last reference dropped): the locks it owns
/// (open-file-description record locks, `flock`) are released (`fs::filelock` registers it).
static ON_RELEASE: spin::Once<fn(&OpenFile)> = spin::Once::new();

/// Registers the hook run when an open file description goes (once, at boot).
pub fn on_release(hook: fn(&OpenFile)) {
    ON_RELEASE.call_once(|| hook);
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        if let Some(hook) = ON_RELEASE.get() {
            hook(self);
        }
        self.ops.release();
    }
}

/// Copies up to `len` bytes from `input` to `output` through a kernel buffer. `in_pos`/`out_pos`:
/// positional transfer at that offset (advanced as bytes go), else at the file offset / stream.
/// Stops at end of input or a short write; an error after some bytes moved ends the copy with
/// what moved.
pub fn copy_between(input: &OpenFile, in_pos: &mut Option<u64>, output: &OpenFile, out_pos: &mut Option<u64>, len: u64) -> KResult<u64> {
    let len = len.min(0x7fff_f000);
    let size = (64 * 1024).min(len as usize).max(1);
    let mut chunk = Vec::new();
    chunk.try_reserve_exact(size).map_err(|_| Errno::ENOMEM)?;
    chunk.resize(size, 0);
    let mut done = 0u64;
    while done < len {
        if fatal_signal_pending() {
            return if done > 0 { Ok(done) } else { Err(Errno::EINTR) };
        }
        let want = ((len - done) as usize).min(size);
        let read = match in_pos {
            Some(pos) => input.ops.read_at(&mut chunk[..want], *pos),
            None => input.read(&mut chunk[..want]),
        };
        let n = match read {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        };
        let mut written = 0;
        while written < n {
            let result = match out_pos {
                Some(pos) => output.ops.write_at(&chunk[written..n], *pos + written as u64),
                None => output.write(&chunk[written..n]),
            };
            match result {
                Ok(0) => break,
                Ok(m) => written += m,
                Err(_) if done + written as u64 > 0 => break,
                Err(e) => return Err(e),
            }
        }
        if let Some(pos) = in_pos {
            *pos += written as u64;
        }
        if let Some(pos) = out_pos {
            *pos += written as u64;
        }
        done += written as u64;
        if written < n || n < want {
            break;
        }
    }
    Ok(done)
}

/// Converts VFS metadata to `struct stat`.
pub fn stat_of(meta: &exo_vfs::Metadata) -> exo_abi::types::Stat {
    exo_abi::types::Stat {
        st_dev: meta.dev,
        st_ino: meta.ino,
        st_nlink: meta.nlink,
        st_mode: meta.mode,
        st_uid: meta.uid,
        st_gid: meta.gid,
        st_rdev: meta.rdev,
        st_size: meta.size as i64,
        st_blksize: meta.blksize as i64,
        st_blocks: meta.blocks as i64,
        st_atime: meta.atime.sec,
        st_atime_nsec: i64::from(meta.atime.nsec),
        st_mtime: meta.mtime.sec,
        st_mtime_nsec: i64::from(meta.mtime.nsec),
        st_ctime: meta.ctime.sec,
        st_ctime_nsec: i64::from(meta.ctime.nsec),
        ..Default::default()
    }
}
