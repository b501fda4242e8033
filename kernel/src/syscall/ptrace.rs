//! `ptrace`: tracing a thread for a debugger or an strace-like tool — attaching
//! (TRACEME/ATTACH/SEIZE, ptrace-access permission), reading and writing the stopped
//! tracee's memory and registers, resuming it (CONT/SYSCALL with a signal), killing and
//! detaching it. The stops and the register hand-over are `process::ptrace`'s.

use exo_abi::ptrace::*;
use exo_abi::signal::{SigInfo, SIGSTOP, SI_USER};
use exo_abi::{nr, Errno, KResult};

use super::args::typed;
use super::{task, Handler};
use crate::process::ptrace as pt;
use crate::process::remote_mem::{self, Access};
use crate::process::{self, Pid};
use crate::uaccess::UserPtr;

pub const fn register(t: &mut [Option<Handler>; nr::COUNT]) {
    // partial: TRACEME, ATTACH, SEIZE, DETACH, PEEK/POKE TEXT/DATA/USER, GETREGS, SETREGS (validated), GETFPREGS (zeros), SYSCALL, CONT, KILL, SETOPTIONS (TRACESYSGOOD, TRACEEXEC, EXITKILL; fork/clone/exit events accepted, not reported), GETEVENTMSG, GET/SETSIGINFO, INTERRUPT; no SINGLESTEP, no fork/clone following; group-stops of tracees are reported as for a parent
    t[nr::PTRACE] = typed!(sys_ptrace);
}

/// ptrace(request, pid, addr, data).
fn sys_ptrace(request: i64, pid: i32, addr: u64, data: u64) -> KResult<u64> {
    let me = task()?;
    let my_pid = me.process.pid;
    match request {
        PTRACE_TRACEME => {
            let parent = me.process.ppid();
            if parent == 0 {
                return Err(Errno::EPERM);
            }
            pt::attach(parent, &me, 0).map(|_| 0)
        }
        PTRACE_ATTACH | PTRACE_SEIZE => {
            if request == PTRACE_SEIZE && (addr != 0 || data & !PTRACE_O_MASK != 0) {
                return Err(Errno::EIO);
            }
            if pid <= 0 {
                return Err(Errno::ESRCH);
            }
            let target = process::task(pid as Pid).ok_or(Errno::ESRCH)?;
            if !pt::may_attach(&me.process, &target.process) {
                return Err(Errno::EPERM);
            }
            let options = if request == PTRACE_SEIZE { data } else { 0 };
            pt::attach(my_pid, &target, options)?;
            if request == PTRACE_ATTACH {
                let info = SigInfo::user(SIGSTOP, SI_USER, my_pid as i32, me.process.creds.lock().uid);
                process::signal::send_to_task(&target, SIGSTOP, info);
            }
            Ok(0)
        }
        PTRACE_KILL => {
            let (target, _) = pt::traced_by(my_pid, tid(pid)?, false)?;
            pt::kill(&target);
            Ok(0)
        }
        PTRACE_INTERRUPT => {
            let (target, _) = pt::traced_by(my_pid, tid(pid)?, false)?;
            target.notify();
            Ok(0)
        }
        _ => stopped_request(my_pid, request, tid(pid)?, addr, data),
    }
}

fn tid(pid: i32) -> KResult<Pid> {
    if pid <= 0 {
        return Err(Errno::ESRCH);
    }
    Ok(pid as Pid)
}

/// The signal argument of CONT/SYSCALL/DETACH (EIO for an invalid one, as Linux).
fn resume_signal(data: u64) -> KResult<u32> {
    match u32::try_from(data) {
        Ok(0) => Ok(0),
        Ok(sig) if process::signal::valid(sig) => Ok(sig),
        _ => Err(Errno::EIO),
    }
}

/// Requests on a tracee in a ptrace-stop (ESRCH otherwise).
fn stopped_request(me: Pid, request: i64, tid: Pid, addr: u64, data: u64) -> KResult<u64> {
    let (target, tracee) = pt::traced_by(me, tid, true)?;
    match request {
        PTRACE_PEEKTEXT | PTRACE_PEEKDATA => {
            let mut word = [0u8; 8];
            let mm = target.mm();
            let n = remote_mem::access(&mm, addr, Access::Read(&mut word)).map_err(|_| Errno::EIO)?;
            if n != word.len() {
                return Err(Errno::EIO);
            }
            UserPtr::<u64>::new(data).write(&u64::from_ne_bytes(word))?;
            Ok(0)
        }
        PTRACE_POKETEXT | PTRACE_POKEDATA => {
            let mm = target.mm();
            let n = remote_mem::access(&mm, addr, Access::Write(&data.to_ne_bytes())).map_err(|_| Errno::EIO)?;
            if n != 8 {
                return Err(Errno::EIO);
            }
            Ok(0)
        }
        PTRACE_PEEKUSER => {
            let word = tracee.peek_user(addr)?;
            UserPtr::<u64>::new(data).write(&word)?;
            Ok(0)
        }
        PTRACE_POKEUSER => tracee.poke_user(addr, data).map(|_| 0),
        PTRACE_GETREGS => {
            let regs = tracee.regs()?;
            UserPtr::<UserRegs>::new(data).write(&regs)?;
            Ok(0)
        }
        PTRACE_SETREGS => {
            let regs = UserPtr::<UserRegs>::new(data).read()?;
            tracee.set_regs(&regs).map(|_| 0)
        }
        PTRACE_GETFPREGS => {
            // struct user_fpregs_struct (512 bytes): the default FPU state (FCW 0x37f, MXCSR
            // 0x1f80); the tracee's live FPU registers are not exported.
            let mut area = [0u64; 64];
            area[0] = 0x37f;
            area[3] = 0x1f80 | (0xffff << 32);
            UserPtr::<[u64; 64]>::new(data).write(&area)?;
            Ok(0)
        }
        PTRACE_SETOPTIONS => tracee.set_options(data).map(|_| 0),
        PTRACE_GETEVENTMSG => {
            let msg = tracee.event_msg()?;
            UserPtr::<u64>::new(data).write(&msg)?;
            Ok(0)
        }
        PTRACE_GETSIGINFO => {
            let info = tracee.siginfo()?;
            UserPtr::<SigInfo>::new(data).write(&info)?;
            Ok(0)
        }
        PTRACE_SETSIGINFO => {
            let info = UserPtr::<SigInfo>::new(data).read()?;
            tracee.set_siginfo(info).map(|_| 0)
        }
        PTRACE_CONT | PTRACE_SYSCALL => {
            let sig = resume_signal(data)?;
            tracee.resume(&target, sig, request == PTRACE_SYSCALL).map(|_| 0)
        }
        PTRACE_DETACH => {
            let sig = resume_signal(data)?;
            pt::detach(&target, sig);
            Ok(0)
        }
        PTRACE_SINGLESTEP | PTRACE_SETFPREGS | PTRACE_LISTEN => Err(Errno::EIO),
        _ => Err(Errno::EIO),
    }
}

