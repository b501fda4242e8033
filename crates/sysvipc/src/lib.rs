//! System V IPC and POSIX message queues, the logic without the kernel: the id/key tables with
//! Linux's `ipc_perm` rules (`perm`, `table`), a message queue with msgrcv's selection rules
//! (`msg`), semaphore sets with atomic `semop` evaluation and undo values (`sem`), and POSIX
//! message queues ordered by priority with their name and attribute checks (`mq`). The kernel
//! (`kernel/src/ipc/sysv_*.rs`, `mqueue.rs`) adds locks, waiting and user memory.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod mq;
pub mod msg;
pub mod perm;
pub mod sem;
pub mod table;

pub use perm::{Cred, Perm};
pub use table::Table;
