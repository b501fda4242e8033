//! Change notification: every namespace operation that adds, removes or moves a name reports
//! it, after it succeeded, to one hook the kernel registers ([`set_change_hook`]; inotify).
//! The hook runs with the namespace's mutation lock held: it must not call back into the
//! namespace and must not sleep for long.

use alloc::sync::Arc;

use crate::inode::Inode;

/// One change of a name.
pub enum Change<'a> {
    /// `name` was created in `dir` (create, mkdir, mknod, symlink).
    Created { dir: &'a Arc<dyn Inode>, name: &'a [u8], child: &'a Arc<dyn Inode> },
    /// `name` in `dir` is a new hard link to `child`.
    Linked { dir: &'a Arc<dyn Inode>, name: &'a [u8], child: &'a Arc<dyn Inode> },
    /// `name` (a file, or with rmdir a directory) was removed from `dir`; `child`'s link count
    /// tells whether it is gone.
    Removed { dir: &'a Arc<dyn Inode>, name: &'a [u8], child: &'a Arc<dyn Inode> },
    /// `child` moved from `from_dir`/`from_name` to `to_dir`/`to_name`, replacing `replaced`.
    /// An exchange is reported as two moves without `replaced`.
    Moved {
        from_dir: &'a Arc<dyn Inode>,
        from_name: &'a [u8],
        to_dir: &'a Arc<dyn Inode>,
        to_name: &'a [u8],
        child: &'a Arc<dyn Inode>,
        replaced: Option<&'a Arc<dyn Inode>>,
    },
}

static HOOK: spin::Once<fn(&Change<'_>)> = spin::Once::new();

/// Registers the function told about every change (once; later calls are ignored).
pub fn set_change_hook(hook: fn(&Change<'_>)) {
    HOOK.call_once(|| hook);
}

/// Reports `change` to the hook, if one is registered.
pub(crate) fn changed(change: Change<'_>) {
    if let Some(hook) = HOOK.get() {
        hook(&change);
    }
}
