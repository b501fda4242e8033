//! Exo-OS's native inter-process communication: Fusion Rings (`fusion`, docs/ipc.md). Linux's
//! own IPC objects (pipes, eventfds, futexes) live with files and processes.

pub mod fusion;
