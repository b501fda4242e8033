//! The Linux x86-64 user ABI as Exo-OS implements it: everything a user program and the kernel
//! must agree on, in one place. Values and layouts are Linux's (see `man 2 syscall`,
//! `asm-generic/errno*.h`, `asm/stat.h`); host tests pin the struct sizes and field offsets.
#![no_std]
#![forbid(unsafe_code)]

pub mod errno;
pub mod mode;

pub use errno::Errno;
