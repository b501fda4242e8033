//! A process's filesystem context: its root and working directory in the namespace, and its
//! umask. Shared by tasks cloned with CLONE_FS, copied otherwise.

use core::sync::atomic::{AtomicU32, Ordering};

use exo_vfs::PathRef;

use crate::spinlock::SpinLock as Mutex;

/// A process's place in the namespace: root, working directory, umask (shared by CLONE_FS).
pub struct FsContext {
    pub root: Mutex<PathRef>,
    pub cwd: Mutex<PathRef>,
    umask: AtomicU32,
}

impl FsContext {
    /// A context with `root` as root and cwd, umask 022 (init's).
    pub fn new(root: PathRef) -> FsContext {
        FsContext { root: Mutex::new(root.clone()), cwd: Mutex::new(root), umask: AtomicU32::new(0o022) }
    }

    /// A copy (fork without CLONE_FS).
    pub fn duplicate(&self) -> FsContext {
        FsContext {
            root: Mutex::new(self.root.lock().clone()),
            cwd: Mutex::new(self.cwd.lock().clone()),
            umask: AtomicU32::new(self.umask()),
        }
    }

    pub fn umask(&self) -> u32 {
        self.umask.load(Ordering::Relaxed)
    }

    /// Sets the umask; returns the old one.
    pub fn swap_umask(&self, mask: u32) -> u32 {
        self.umask.swap(mask & 0o777, Ordering::Relaxed)
    }
}
