//! Typed system-call arguments. A handler is an ordinary function whose parameters say what each
//! register is — `fn sys_read(fd: Fd, buf: UserPtr<u8>, len: usize)` — and the table stores it
//! through [`typed!`] (or [`with_frame!`] for the few calls that rewrite or copy the user's CPU
//! state), which converts the registers rdi, rsi, rdx, r10, r8, r9 in order with [`SyscallArg`].
//! No handler sees a raw register: user addresses arrive as `uaccess` types, descriptors as
//! [`Fd`], C `int`s truncated as Linux does, and arguments whose meaning depends on another
//! argument as [`UserArg`]. The conversions are inlined: a typed handler costs what a
//! register-reading one did.

use exo_abi::KResult;

use crate::arch::TrapFrame;
use crate::uaccess::{UserAddr, UserArg, UserCStr, UserCStrArray, UserPtr};

/// The six argument registers of a frame, in the ABI's order.
pub fn registers(frame: &TrapFrame) -> [u64; 6] {
    [frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9]
}

/// A value a handler can take as a parameter: made from one argument register.
pub trait SyscallArg: Sized {
    fn from_register(value: u64) -> Self;
}

/// A file descriptor argument (a C `int`: the upper 32 bits are ignored, as Linux does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fd(pub i32);

impl Fd {
    pub const fn get(self) -> i32 {
        self.0
    }
}

impl SyscallArg for Fd {
    #[inline(always)]
    fn from_register(value: u64) -> Self {
        Fd(value as u32 as i32)
    }
}

/// A C `int` or `pid_t` or signal number: the low 32 bits, as Linux reads them.
impl SyscallArg for i32 {
    #[inline(always)]
    fn from_register(value: u64) -> Self {
        value as u32 as i32
    }
}

/// A C `unsigned int` (flags, modes): the low 32 bits.
impl SyscallArg for u32 {
    #[inline(always)]
    fn from_register(value: u64) -> Self {
        value as u32
    }
}

/// A C `unsigned long` or `size_t`.
impl SyscallArg for u64 {
    #[inline(always)]
    fn from_register(value: u64) -> Self {
        value
    }
}

/// A `size_t` used as a count.
impl SyscallArg for usize {
    #[inline(always)]
    fn from_register(value: u64) -> Self {
        value as usize
    }
}

/// A C `long` or `off_t`.
impl SyscallArg for i64 {
    #[inline(always)]
    fn from_register(value: u64) -> Self {
        value as i64
    }
}

impl<T> SyscallArg for UserPtr<T> {
    #[inline(always)]
    fn from_register(value: u64) -> Self {
        UserPtr::new(value)
    }
}

impl SyscallArg for UserCStr {
    #[inline(always)]
    fn from_register(value: u64) -> Self {
        UserCStr::new(UserPtr::new(value))
    }
}

impl SyscallArg for UserCStrArray {
    #[inline(always)]
    fn from_register(value: u64) -> Self {
        UserCStrArray::new(UserPtr::new(value))
    }
}

impl SyscallArg for UserAddr {
    #[inline(always)]
    fn from_register(value: u64) -> Self {
        UserAddr::new(value)
    }
}

impl SyscallArg for UserArg {
    #[inline(always)]
    fn from_register(value: u64) -> Self {
        UserArg::new(value)
    }
}

/// A handler taking up to six typed arguments; `Args` is the tuple of their types (it only
/// tells the implementations apart). It gets the six argument registers in the ABI's order.
pub trait Invoke<Args> {
    fn invoke(self, registers: [u64; 6]) -> KResult<u64>;
}

/// A handler taking the user's frame first (to rewrite or copy it), then typed arguments.
pub trait InvokeWithFrame<Args> {
    fn invoke_with_frame(self, frame: &mut TrapFrame) -> KResult<u64>;
}

macro_rules! impl_invoke {
    ($($arg:ident $index:tt),*) => {
        impl<F, $($arg: SyscallArg),*> Invoke<($($arg,)*)> for F
        where
            F: FnOnce($($arg),*) -> KResult<u64>,
        {
            #[inline(always)]
            #[allow(unused_variables)]
            fn invoke(self, registers: [u64; 6]) -> KResult<u64> {
                self($($arg::from_register(registers[$index])),*)
            }
        }

        impl<F, $($arg: SyscallArg),*> InvokeWithFrame<($($arg,)*)> for F
        where
            F: FnOnce(&mut TrapFrame, $($arg),*) -> KResult<u64>,
        {
            #[inline(always)]
            #[allow(unused_variables)]
            fn invoke_with_frame(self, frame: &mut TrapFrame) -> KResult<u64> {
                let registers = registers(frame);
                self(frame, $($arg::from_register(registers[$index])),*)
            }
        }
    };
}

impl_invoke!();
impl_invoke!(A 0);
impl_invoke!(A 0, B 1);
impl_invoke!(A 0, B 1, C 2);
impl_invoke!(A 0, B 1, C 2, D 3);
impl_invoke!(A 0, B 1, C 2, D 3, E 4);
impl_invoke!(A 0, B 1, C 2, D 3, E 4, G 5);

/// The table entry of a handler with typed arguments (its `KResult` encoded for rax): `t[nr::READ] = typed!(sys_read);`.
/// The entry's fast path calls it with the argument registers (r10 moved to the C
/// convention's fourth, rcx); the handler is inlined into it.
macro_rules! typed {
    ($handler:path) => {{
        extern "C" fn entry(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64) -> u64 {
            $crate::syscall::encode($crate::syscall::args::Invoke::invoke($handler, [a, b, c, d, e, f]))
        }
        Some($crate::syscall::Handler::Fast(entry))
    }};
}

/// The table entry of a handler that takes the frame first: `t[nr::EXECVE] = with_frame!(sys_execve);`.
macro_rules! with_frame {
    ($handler:path) => {{
        fn entry(frame: &mut $crate::arch::TrapFrame) -> u64 {
            $crate::syscall::encode($crate::syscall::args::InvokeWithFrame::invoke_with_frame($handler, frame))
        }
        Some($crate::syscall::Handler::Frame(entry))
    }};
}

pub(crate) use {typed, with_frame};
