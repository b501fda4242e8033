//! inotify (`inotify_init1(2)`, `inotify_add_watch(2)`, `inotify(7)`): event bits, watch
//! flags, the event header and the default limits of `/proc/sys/fs/inotify`, Linux's values.

/// File was accessed (read).
pub const IN_ACCESS: u32 = 0x0000_0001;
/// File was modified (written, truncated).
pub const IN_MODIFY: u32 = 0x0000_0002;
/// Metadata changed (permissions, owner, timestamps, link count, extended attributes).
pub const IN_ATTRIB: u32 = 0x0000_0004;
/// A file opened for writing was closed.
pub const IN_CLOSE_WRITE: u32 = 0x0000_0008;
/// A file not opened for writing was closed.
pub const IN_CLOSE_NOWRITE: u32 = 0x0000_0010;
/// File was opened.
pub const IN_OPEN: u32 = 0x0000_0020;
/// A name was moved out of the watched directory.
pub const IN_MOVED_FROM: u32 = 0x0000_0040;
/// A name was moved into the watched directory.
pub const IN_MOVED_TO: u32 = 0x0000_0080;
/// A name was created in the watched directory.
pub const IN_CREATE: u32 = 0x0000_0100;
/// A name was deleted from the watched directory.
pub const IN_DELETE: u32 = 0x0000_0200;
/// The watched file or directory was deleted.
pub const IN_DELETE_SELF: u32 = 0x0000_0400;
/// The watched file or directory was moved.
pub const IN_MOVE_SELF: u32 = 0x0000_0800;
/// The file system holding the watched object was unmounted.
pub const IN_UNMOUNT: u32 = 0x0000_2000;
/// The event queue overflowed (wd is -1).
pub const IN_Q_OVERFLOW: u32 = 0x0000_4000;
/// The watch was removed (explicitly, one-shot, or its object is gone).
pub const IN_IGNORED: u32 = 0x0000_8000;
/// Both close events.
pub const IN_CLOSE: u32 = IN_CLOSE_WRITE | IN_CLOSE_NOWRITE;
/// Both move events.
pub const IN_MOVE: u32 = IN_MOVED_FROM | IN_MOVED_TO;
/// Every event a watch can ask for.
pub const IN_ALL_EVENTS: u32 = 0x0000_0fff;

/// Watch only a directory (`ENOTDIR` otherwise).
pub const IN_ONLYDIR: u32 = 0x0100_0000;
/// Do not follow a final symlink.
pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
/// No events for children after they are unlinked.
pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
/// Fail with `EEXIST` if the inode is already watched.
pub const IN_MASK_CREATE: u32 = 0x1000_0000;
/// Add to the existing watch's mask instead of replacing it.
pub const IN_MASK_ADD: u32 = 0x2000_0000;
/// The subject of the event is a directory.
pub const IN_ISDIR: u32 = 0x4000_0000;
/// Remove the watch after its first event.
pub const IN_ONESHOT: u32 = 0x8000_0000;

/// Every bit `inotify_add_watch` knows (a mask with none of them is `EINVAL`).
pub const ALL_INOTIFY_BITS: u32 = IN_ALL_EVENTS
    | IN_UNMOUNT
    | IN_Q_OVERFLOW
    | IN_IGNORED
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK
    | IN_MASK_CREATE
    | IN_MASK_ADD
    | IN_ISDIR
    | IN_ONESHOT;

/// `inotify_init1` flags (`O_CLOEXEC`, `O_NONBLOCK`).
pub const IN_CLOEXEC: u32 = crate::fcntl::O_CLOEXEC;
pub const IN_NONBLOCK: u32 = crate::fcntl::O_NONBLOCK;

/// Size of `struct inotify_event` without its name: `wd`, `mask`, `cookie`, `len`.
pub const EVENT_HEADER_SIZE: usize = 16;

/// Defaults of `/proc/sys/fs/inotify/{max_user_instances,max_user_watches,max_queued_events}`.
pub const MAX_USER_INSTANCES: usize = 128;
pub const MAX_USER_WATCHES: usize = 8192;
pub const MAX_QUEUED_EVENTS: usize = 16384;
