//! Exo-OS's native inter-process communication: Fusion Rings (`fusion`, docs/ipc.md), and
//! Linux's System V IPC (`sysv_msg`, `sysv_sem`, `sysv_shm` with `shm_segment`; shared parts
//! in `sysv`) and POSIX message queues (`mqueue`). Linux's other IPC objects (pipes, eventfds,
//! futexes) live with files and processes.

pub mod fusion;
pub mod mqueue;
pub mod shm_segment;
pub mod sysv;
pub mod sysv_msg;
pub mod sysv_sem;
pub mod sysv_shm;
