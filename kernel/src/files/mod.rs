//! File objects, below processes: open file descriptions ([`OpenFile`], with the [`FileOps`]
//! each file kind implements), descriptor tables ([`FdTable`]) and a process's filesystem
//! context ([`FsContext`]). A task holds these; the file kinds themselves and the namespace
//! are the `fs` layer's, above `process`. See docs/vfs.md.

mod context;
pub mod fdtable;
pub mod file;

pub use self::context::FsContext;
pub use self::fdtable::{FdTable, FD_HARD_MAX};
pub use self::file::{FileOps, OpenFile};
