//! `clone`/`clone3` flags and `struct clone_args`.
//!
//! On x86-64 the legacy call is `clone(flags, stack, parent_tid, child_tid, tls)` (note: child
//! before tls, unlike some other architectures). The low byte of `flags` (`CSIGNAL`) is the
//! signal sent to the parent when the child exits.

use bytemuck::{Pod, Zeroable};

/// Mask of the exit signal in the legacy `clone` flags.
pub const CSIGNAL: u64 = 0x0000_00ff;
/// New time namespace (shares the low byte's space: only valid with `clone3`/`unshare`).
pub const CLONE_NEWTIME: u64 = 0x0000_0080;
pub const CLONE_VM: u64 = 0x0000_0100;
pub const CLONE_FS: u64 = 0x0000_0200;
pub const CLONE_FILES: u64 = 0x0000_0400;
pub const CLONE_SIGHAND: u64 = 0x0000_0800;
pub const CLONE_PIDFD: u64 = 0x0000_1000;
pub const CLONE_PTRACE: u64 = 0x0000_2000;
pub const CLONE_VFORK: u64 = 0x0000_4000;
pub const CLONE_PARENT: u64 = 0x0000_8000;
pub const CLONE_THREAD: u64 = 0x0001_0000;
pub const CLONE_NEWNS: u64 = 0x0002_0000;
pub const CLONE_SYSVSEM: u64 = 0x0004_0000;
pub const CLONE_SETTLS: u64 = 0x0008_0000;
pub const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;
/// Ignored by Linux (historical).
pub const CLONE_DETACHED: u64 = 0x0040_0000;
pub const CLONE_UNTRACED: u64 = 0x0080_0000;
pub const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
pub const CLONE_NEWCGROUP: u64 = 0x0200_0000;
pub const CLONE_NEWUTS: u64 = 0x0400_0000;
pub const CLONE_NEWIPC: u64 = 0x0800_0000;
pub const CLONE_NEWUSER: u64 = 0x1000_0000;
pub const CLONE_NEWPID: u64 = 0x2000_0000;
pub const CLONE_NEWNET: u64 = 0x4000_0000;
pub const CLONE_IO: u64 = 0x8000_0000;
/// `clone3` only: reset all signal handlers to their default in the child.
pub const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
/// `clone3` only: place the child in the cgroup given by `cgroup`.
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Every namespace flag.
pub const CLONE_NEW_MASK: u64 = CLONE_NEWNS
    | CLONE_NEWCGROUP
    | CLONE_NEWUTS
    | CLONE_NEWIPC
    | CLONE_NEWUSER
    | CLONE_NEWPID
    | CLONE_NEWNET
    | CLONE_NEWTIME;

/// `struct clone_args` for `clone3` (88 bytes in its latest version). User space passes its
/// size, at least 64 (`CLONE_ARGS_SIZE_VER0`): fields past that size read as zero, and bytes
/// past 88 in a larger struct must be zero (else `E2BIG`).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct CloneArgs {
    pub flags: u64,
    /// Where to store the pidfd (`CLONE_PIDFD`).
    pub pidfd: u64,
    /// Where to store the child's TID in the child (`CLONE_CHILD_SETTID`/`CLEARTID`).
    pub child_tid: u64,
    /// Where to store the child's TID in the parent (`CLONE_PARENT_SETTID`).
    pub parent_tid: u64,
    /// Signal to the parent when the child exits (not in `flags` for `clone3`).
    pub exit_signal: u64,
    /// Lowest address of the child's stack (`clone3` takes the base, not the top).
    pub stack: u64,
    pub stack_size: u64,
    /// New FS base (`CLONE_SETTLS`).
    pub tls: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
}

/// Size of the first `clone_args` version (up to `tls`).
pub const CLONE_ARGS_SIZE_VER0: usize = 64;
/// Size with `set_tid` and `set_tid_size`.
pub const CLONE_ARGS_SIZE_VER1: usize = 80;
/// Size with `cgroup`.
pub const CLONE_ARGS_SIZE_VER2: usize = 88;

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn flags_match_linux() {
        assert_eq!(
            (CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND),
            (0x100, 0x200, 0x400, 0x800)
        );
        assert_eq!(
            (CLONE_VFORK, CLONE_THREAD, CLONE_SETTLS),
            (0x4000, 0x10000, 0x80000)
        );
        assert_eq!(
            (CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID),
            (0x100000, 0x200000)
        );
        assert_eq!(
            (CLONE_CHILD_SETTID, CLONE_NEWPID, CLONE_IO),
            (0x1000000, 0x20000000, 0x80000000)
        );
        // Every flag bit is distinct from the others and from CSIGNAL (CLONE_NEWTIME aside).
        let flags = [
            CLONE_VM,
            CLONE_FS,
            CLONE_FILES,
            CLONE_SIGHAND,
            CLONE_PIDFD,
            CLONE_PTRACE,
            CLONE_VFORK,
            CLONE_PARENT,
            CLONE_THREAD,
            CLONE_NEWNS,
            CLONE_SYSVSEM,
            CLONE_SETTLS,
            CLONE_PARENT_SETTID,
            CLONE_CHILD_CLEARTID,
            CLONE_DETACHED,
            CLONE_UNTRACED,
            CLONE_CHILD_SETTID,
            CLONE_NEWCGROUP,
            CLONE_NEWUTS,
            CLONE_NEWIPC,
            CLONE_NEWUSER,
            CLONE_NEWPID,
            CLONE_NEWNET,
            CLONE_IO,
            CLONE_CLEAR_SIGHAND,
            CLONE_INTO_CGROUP,
        ];
        let mut seen = CSIGNAL;
        for flag in flags {
            assert_eq!(flag.count_ones(), 1);
            assert_eq!(seen & flag, 0, "{flag:#x}");
            seen |= flag;
        }
    }

    #[test]
    fn clone_args_layout() {
        assert_eq!(size_of::<CloneArgs>(), CLONE_ARGS_SIZE_VER2);
        assert_eq!(offset_of!(CloneArgs, exit_signal), 32);
        assert_eq!(offset_of!(CloneArgs, tls), 56);
        assert_eq!(offset_of!(CloneArgs, set_tid), CLONE_ARGS_SIZE_VER0);
        assert_eq!(offset_of!(CloneArgs, cgroup), CLONE_ARGS_SIZE_VER1);
    }
}
