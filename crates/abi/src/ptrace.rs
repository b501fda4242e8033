//! `ptrace` requests, options, events and `struct user_regs_struct` (Linux x86-64,
//! `asm/ptrace-abi.h`, `linux/ptrace.h`, `sys/user.h`).

use bytemuck::{Pod, Zeroable};

pub const PTRACE_TRACEME: i64 = 0;
pub const PTRACE_PEEKTEXT: i64 = 1;
pub const PTRACE_PEEKDATA: i64 = 2;
pub const PTRACE_PEEKUSER: i64 = 3;
pub const PTRACE_POKETEXT: i64 = 4;
pub const PTRACE_POKEDATA: i64 = 5;
pub const PTRACE_POKEUSER: i64 = 6;
pub const PTRACE_CONT: i64 = 7;
pub const PTRACE_KILL: i64 = 8;
pub const PTRACE_SINGLESTEP: i64 = 9;
pub const PTRACE_GETREGS: i64 = 12;
pub const PTRACE_SETREGS: i64 = 13;
pub const PTRACE_GETFPREGS: i64 = 14;
pub const PTRACE_SETFPREGS: i64 = 15;
pub const PTRACE_ATTACH: i64 = 16;
pub const PTRACE_DETACH: i64 = 17;
pub const PTRACE_SYSCALL: i64 = 24;
pub const PTRACE_SETOPTIONS: i64 = 0x4200;
pub const PTRACE_GETEVENTMSG: i64 = 0x4201;
pub const PTRACE_GETSIGINFO: i64 = 0x4202;
pub const PTRACE_SETSIGINFO: i64 = 0x4203;
pub const PTRACE_SEIZE: i64 = 0x4206;
pub const PTRACE_INTERRUPT: i64 = 0x4207;
pub const PTRACE_LISTEN: i64 = 0x4208;

pub const PTRACE_O_TRACESYSGOOD: u64 = 1;
pub const PTRACE_O_TRACEFORK: u64 = 1 << 1;
pub const PTRACE_O_TRACEVFORK: u64 = 1 << 2;
pub const PTRACE_O_TRACECLONE: u64 = 1 << 3;
pub const PTRACE_O_TRACEEXEC: u64 = 1 << 4;
pub const PTRACE_O_TRACEVFORKDONE: u64 = 1 << 5;
pub const PTRACE_O_TRACEEXIT: u64 = 1 << 6;
pub const PTRACE_O_TRACESECCOMP: u64 = 1 << 7;
pub const PTRACE_O_EXITKILL: u64 = 1 << 20;
pub const PTRACE_O_SUSPEND_SECCOMP: u64 = 1 << 21;
/// Every option Linux knows (others: EINVAL).
pub const PTRACE_O_MASK: u64 = 0xff | PTRACE_O_EXITKILL | PTRACE_O_SUSPEND_SECCOMP;

pub const PTRACE_EVENT_FORK: u32 = 1;
pub const PTRACE_EVENT_VFORK: u32 = 2;
pub const PTRACE_EVENT_CLONE: u32 = 3;
pub const PTRACE_EVENT_EXEC: u32 = 4;
pub const PTRACE_EVENT_VFORK_DONE: u32 = 5;
pub const PTRACE_EVENT_EXIT: u32 = 6;
pub const PTRACE_EVENT_STOP: u32 = 128;

/// `struct user_regs_struct` (`sys/user.h`): what PTRACE_GETREGS/SETREGS copy, and the first
/// bytes of `struct user` (PTRACE_PEEKUSER offsets).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct UserRegs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}

/// Size of `struct user_regs_struct`.
pub const USER_REGS_SIZE: usize = 27 * 8;
/// Offset of `u_debugreg` in `struct user` (PEEKUSER there reads 0).
pub const USER_DEBUGREG_OFFSET: usize = 848;
/// Size of `struct user` (PEEKUSER offsets at or past it: EIO).
pub const USER_SIZE: usize = 912;

const _: () = assert!(core::mem::size_of::<UserRegs>() == USER_REGS_SIZE);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_linux() {
        assert_eq!(core::mem::offset_of!(UserRegs, orig_rax), 120);
        assert_eq!(core::mem::offset_of!(UserRegs, rip), 128);
        assert_eq!(core::mem::offset_of!(UserRegs, rsp), 152);
        assert_eq!(core::mem::offset_of!(UserRegs, fs_base), 168);
        assert_eq!((PTRACE_SEIZE, PTRACE_GETSIGINFO, PTRACE_O_EXITKILL), (0x4206, 0x4202, 0x100000));
    }
}
