//! inotify: instances (a file kind: read, poll, FIONREAD), the system-wide index from watched
//! inodes to their watchers, the per-user limits of `/proc/sys/fs/inotify`
//! (`max_user_instances` 128 → EMFILE, `max_user_watches` 8192 → ENOSPC, `max_queued_events`
//! 16384 per instance → IN_Q_OVERFLOW) and the event sources: the namespace's change hook
//! (`exo_vfs::set_change_hook`: create, link, unlink, rmdir, rename), inode files (open, read,
//! write, truncate, close: `inode_file.rs`) and attribute changes (the syscalls call
//! [`attrib_changed`]). One instance's watches and queue are the host-tested crate
//! `exo-inotify`.
//!
//! A watched object is keyed by its inode's address; the index keeps the inode alive while
//! watched, so the key cannot be reused. Locks: the index spin lock, then an instance's state
//! lock (a leaf); wake-ups run under the index lock only (never under a state lock). With no
//! watch anywhere, an event costs one atomic load.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use exo_abi::inotify::*;
use exo_abi::poll::POLLIN;
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use exo_inotify::{Added, Instance};
use exo_vfs::{Change, Inode, PathRef};

use super::file::{FileOps, OpenFile, PollBits};
use crate::sched::pollwait::{PollQueue, PollTable};
use crate::sched::wait::{WaitOutcome, WaitQueue};
use crate::spinlock::SpinLock;
use crate::uaccess::UserSlice;

/// One inotify instance (the open file's operations).
pub struct Inotify {
    shared: Arc<Shared>,
}

/// The instance's state, also reached from the index.
struct Shared {
    state: SpinLock<Instance>,
    /// The real uid charged for the instance and its watches.
    uid: u32,
    /// Woken when an event is queued.
    changed: WaitQueue,
    events: AtomicU64,
    pollers: Arc<PollQueue>,
}

/// A watch in the index.
struct Entry {
    key: u64,
    /// Keeps the inode (hence its key) alive while watched.
    _inode: Arc<dyn Inode>,
    owner: Weak<Shared>,
}

/// Per-user counts.
struct UserCount {
    uid: u32,
    instances: usize,
    watches: usize,
}

struct Index {
    /// Sorted by key.
    entries: Vec<Entry>,
    users: Vec<UserCount>,
    /// Inodes of removed watches, dropped once the lock is released (dropping a disk inode
    /// may do I/O).
    dead: Vec<Arc<dyn Inode>>,
}

static INDEX: SpinLock<Index> = SpinLock::new(Index { entries: Vec::new(), users: Vec::new(), dead: Vec::new() });
/// Watches in the index (the events' fast path: nothing to do when 0).
static WATCHES: AtomicUsize = AtomicUsize::new(0);
/// Cookies tying IN_MOVED_FROM to IN_MOVED_TO.
static COOKIE: AtomicU32 = AtomicU32::new(1);

fn key_of(inode: &Arc<dyn Inode>) -> u64 {
    Arc::as_ptr(inode) as *const () as usize as u64
}

impl Index {
    fn user(&mut self, uid: u32) -> KResult<&mut UserCount> {
        let i = match self.users.iter().position(|u| u.uid == uid) {
            Some(i) => i,
            None => {
                self.users.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                self.users.push(UserCount { uid, instances: 0, watches: 0 });
                self.users.len() - 1
            }
        };
        Ok(&mut self.users[i])
    }

    fn range(&self, key: u64) -> core::ops::Range<usize> {
        let start = self.entries.partition_point(|e| e.key < key);
        let end = start + self.entries[start..].partition_point(|e| e.key == key);
        start..end
    }

    /// Removes entry `i`, keeping its inode for [`Index::take_dead`] (dropped in place only if
    /// that list cannot grow).
    fn bury(&mut self, i: usize) {
        let entry = self.entries.remove(i);
        if self.dead.try_reserve(1).is_ok() {
            self.dead.push(entry._inode);
        }
    }

    /// The inodes to drop after the lock is released.
    fn take_dead(&mut self) -> Vec<Arc<dyn Inode>> {
        core::mem::take(&mut self.dead)
    }

    /// Drops the index entry of `owner`'s watch on `key` and its charge.
    fn unlink(&mut self, key: u64, owner: &Shared) {
        let range = self.range(key);
        if let Some(i) = range.clone().find(|&i| core::ptr::eq(self.entries[i].owner.as_ptr(), owner)) {
            self.bury(i);
            WATCHES.fetch_sub(1, Ordering::SeqCst);
            if let Ok(user) = self.user(owner.uid) {
                user.watches = user.watches.saturating_sub(1);
            }
        }
    }
}

impl Shared {
    fn wake(&self) {
        self.events.fetch_add(1, Ordering::SeqCst);
        self.changed.wake_all();
        self.pollers.notify();
    }

    fn has_events(&self) -> bool {
        self.state.lock().queued() != 0
    }
}

/// Creates an instance for real uid `uid` (EMFILE past `max_user_instances`); `flags` are
/// IN_NONBLOCK (IN_CLOEXEC is the caller's).
pub fn create(uid: u32, flags: u32) -> KResult<Arc<OpenFile>> {
    exo_vfs::set_change_hook(on_change);
    {
        let mut index = INDEX.lock();
        let user = index.user(uid)?;
        if user.instances >= MAX_USER_INSTANCES {
            return Err(Errno::EMFILE);
        }
        user.instances += 1;
    }
    let shared = Arc::new(Shared {
        state: SpinLock::new(Instance::new(MAX_QUEUED_EVENTS)),
        uid,
        changed: WaitQueue::new(),
        events: AtomicU64::new(0),
        pollers: Arc::new(PollQueue::new()),
    });
    let ops = Inotify { shared };
    Ok(OpenFile::new(Arc::new(ops), exo_abi::fcntl::O_RDONLY | (flags & IN_NONBLOCK)))
}

/// The instance behind `file` (EINVAL for any other file, as Linux).
fn of(file: &OpenFile) -> KResult<Arc<Shared>> {
    let me = file.ops.as_any().and_then(|a| a.downcast_ref::<Inotify>()).ok_or(Errno::EINVAL)?;
    Ok(me.shared.clone())
}

/// `inotify_add_watch` on the resolved `target` (the caller checked the mask with
/// `exo_inotify::check_mask`, IN_ONLYDIR and read permission): the watch descriptor.
pub fn add_watch(file: &OpenFile, target: &PathRef, mask: u32) -> KResult<i32> {
    let me = of(file)?;
    let inode = target.inode().clone();
    let key = key_of(&inode);
    let mut index = INDEX.lock();
    let exists = me.state.lock().watch_of(key).is_some();
    if !exists {
        let user = index.user(me.uid)?;
        if user.watches >= MAX_USER_WATCHES {
            return Err(Errno::ENOSPC);
        }
        index.entries.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    }
    let added = me.state.lock().add_watch(key, mask)?;
    if let Added::New(_) = added {
        let at = index.entries.partition_point(|e| e.key <= key);
        index.entries.insert(at, Entry { key, _inode: inode, owner: Arc::downgrade(&me) });
        WATCHES.fetch_add(1, Ordering::SeqCst);
        if let Ok(user) = index.user(me.uid) {
            user.watches += 1;
        }
    }
    Ok(added.wd())
}

/// `inotify_rm_watch`: EINVAL for a descriptor that is not a watch of this instance.
pub fn rm_watch(file: &OpenFile, wd: i32) -> KResult<()> {
    let me = of(file)?;
    let mut index = INDEX.lock();
    let key = me.state.lock().rm_watch(wd)?;
    index.unlink(key, &me);
    me.wake();
    let dead = index.take_dead();
    drop(index);
    drop(dead);
    Ok(())
}

/// Delivers `event` on `inode` to its watchers (`name`: the child's name when `inode` is its
/// directory). `forget`: the object is gone, its watches end with IN_IGNORED.
fn deliver(inode: &Arc<dyn Inode>, event: u32, is_dir: bool, cookie: u32, name: &[u8], unlinked: bool, forget: bool) {
    if WATCHES.load(Ordering::SeqCst) == 0 {
        return;
    }
    let key = key_of(inode);
    let mut index = INDEX.lock();
    let mut i = index.range(key).start;
    while i < index.entries.len() && index.entries[i].key == key {
        let Some(owner) = index.entries[i].owner.upgrade() else {
            i += 1;
            continue;
        };
        let (queued, removed) = {
            let mut state = owner.state.lock();
            let d = state.deliver(key, event, is_dir, cookie, name, unlinked);
            let forgotten = forget && state.forget(key);
            (d.queued || forgotten, d.removed || forgotten)
        };
        if removed {
            index.unlink(key, &owner);
        } else {
            i += 1;
        }
        if queued {
            owner.wake();
        }
    }
    let dead = index.take_dead();
    drop(index);
    drop(dead);
}

fn is_dir(inode: &Arc<dyn Inode>) -> bool {
    inode.file_type() == exo_abi::mode::S_IFDIR
}

/// `event` on the file at `path`: to the watchers of the file, then to those of its directory
/// with its name (not to IN_EXCL_UNLINK watchers once it is unlinked).
pub fn path_event(path: &PathRef, event: u32) {
    if WATCHES.load(Ordering::SeqCst) == 0 {
        return;
    }
    let inode = path.inode();
    let dir = is_dir(inode);
    deliver(inode, event, dir, 0, b"", false, false);
    if let Some(parent) = path.dentry.parent() {
        if !path.is_mount_root() {
            let name = path.dentry.name();
            deliver(parent.inode(), event, dir, 0, &name, path.is_deleted(), false);
        }
    }
}

/// Metadata of the file at `path` changed (chmod, chown, utimes, xattrs): IN_ATTRIB.
pub fn attrib_changed(path: &PathRef) {
    path_event(path, IN_ATTRIB);
}

/// `inode` lost a name: IN_ATTRIB (link count) for a non-directory; IN_DELETE_SELF and the end
/// of its watches if it is gone.
fn lost_name(inode: &Arc<dyn Inode>) {
    let dir = is_dir(inode);
    if !dir {
        deliver(inode, IN_ATTRIB, false, 0, b"", false, false);
    }
    if dir || inode.metadata().nlink == 0 {
        deliver(inode, IN_DELETE_SELF, dir, 0, b"", false, true);
    }
}

/// The namespace's change hook.
fn on_change(change: &Change<'_>) {
    if WATCHES.load(Ordering::SeqCst) == 0 {
        return;
    }
    match *change {
        Change::Created { dir, name, child } => deliver(dir, IN_CREATE, is_dir(child), 0, name, false, false),
        Change::Linked { dir, name, child } => {
            deliver(child, IN_ATTRIB, false, 0, b"", false, false);
            deliver(dir, IN_CREATE, false, 0, name, false, false);
        }
        Change::Removed { dir, name, child } => {
            let child_dir = is_dir(child);
            if !child_dir {
                deliver(child, IN_ATTRIB, false, 0, b"", false, false);
            }
            deliver(dir, IN_DELETE, child_dir, 0, name, false, false);
            if child_dir || child.metadata().nlink == 0 {
                deliver(child, IN_DELETE_SELF, child_dir, 0, b"", false, true);
            }
        }
        Change::Moved { from_dir, from_name, to_dir, to_name, child, replaced } => {
            let cookie = COOKIE.fetch_add(1, Ordering::Relaxed).max(1);
            let child_dir = is_dir(child);
            deliver(from_dir, IN_MOVED_FROM, child_dir, cookie, from_name, false, false);
            deliver(to_dir, IN_MOVED_TO, child_dir, cookie, to_name, false, false);
            deliver(child, IN_MOVE_SELF, child_dir, 0, b"", false, false);
            if let Some(replaced) = replaced {
                lost_name(replaced);
            }
        }
    }
}

impl FileOps for Inotify {
    fn direct_user_io(&self) -> bool {
        true
    }

    /// Whole events only: EINVAL if the next one does not fit; waits (interruptibly) while the
    /// queue is empty, EAGAIN with O_NONBLOCK.
    fn read_user(&self, file: &OpenFile, buf: UserSlice<u8>) -> KResult<usize> {
        let mut out = Vec::new();
        out.try_reserve(buf.len().min(4096)).map_err(|_| Errno::ENOMEM)?;
        loop {
            let n = self.shared.state.lock().read(buf.len(), &mut out)?;
            if n > 0 {
                buf.write_from(&out)?;
                return Ok(n);
            }
            if file.nonblocking() {
                return Err(Errno::EAGAIN);
            }
            let outcome = self.shared.changed.wait_interruptible(|| self.shared.has_events(), crate::sched::signal_check(), None);
            if outcome == WaitOutcome::Interrupted {
                return Err(Errno::ERESTARTSYS);
            }
        }
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(Stat { st_mode: 0o600, st_nlink: 1, st_blksize: 4096, ..Stat::default() })
    }

    fn ioctl(&self, _file: &OpenFile, request: u32, arg: crate::uaccess::UserArg) -> KResult<u64> {
        if request == exo_abi::ioctl::FIONREAD {
            let n = self.shared.state.lock().pending_bytes().min(i32::MAX as usize) as i32;
            arg.ptr::<i32>().write(&n)?;
            return Ok(0);
        }
        Err(Errno::ENOTTY)
    }

    fn poll(&self) -> PollBits {
        if self.shared.has_events() {
            POLLIN as u32
        } else {
            0
        }
    }

    fn poll_register(&self, table: &mut PollTable) -> KResult<()> {
        table.add_shared(&self.shared.pollers).map(|_| ())
    }

    fn poll_events(&self) -> u64 {
        self.shared.events.load(Ordering::SeqCst)
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    /// Every watch goes, and the instance's charge.
    fn release(&self) {
        let mut index = INDEX.lock();
        let me = Arc::as_ptr(&self.shared);
        let mut gone = 0;
        let mut i = 0;
        while i < index.entries.len() {
            if core::ptr::eq(index.entries[i].owner.as_ptr(), me) {
                index.bury(i);
                gone += 1;
            } else {
                i += 1;
            }
        }
        WATCHES.fetch_sub(gone, Ordering::SeqCst);
        if let Ok(user) = index.user(self.shared.uid) {
            user.watches = user.watches.saturating_sub(gone);
            user.instances = user.instances.saturating_sub(1);
        }
        let dead = index.take_dead();
        drop(index);
        drop(dead);
    }
}
