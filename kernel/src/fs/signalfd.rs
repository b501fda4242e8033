//! signalfd: the pending signals of a mask read through a descriptor. A read takes pending
//! signals of the mask from the reading thread (thread-directed first, then the process's),
//! each as a 128-byte `struct signalfd_siginfo` (EINVAL for a buffer shorter than one; EAGAIN
//! when none is pending and the descriptor is non-blocking; otherwise it waits). Readable
//! (poll/select/epoll) while a signal of the mask is pending for the polling thread.
//!
//! Sending a signal calls [`signal_sent`] (registered with `process::signal::on_send`), which
//! wakes the readers and pollers of every open signalfd; the list holds weak references and is
//! pruned as signalfds close.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::poll::POLLIN;
use exo_abi::sched_time::SignalfdSiginfo;
use exo_abi::signal::*;
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};

use super::file::{FileOps, OpenFile, PollBits};
use crate::process::signal;
use crate::sched::pollwait::{PollQueue, PollTable};
use crate::sched::wait::{WaitOutcome, WaitQueue};
use crate::spinlock::SpinLock;

/// A signalfd object.
pub struct SignalFd {
    mask: SpinLock<SigSet>,
    changed: WaitQueue,
    events: AtomicU64,
    pollers: Arc<PollQueue>,
}

static OPEN: SpinLock<Vec<Weak<SignalFd>>> = SpinLock::new(Vec::new());

/// Creates a signalfd for `mask` (SIGKILL and SIGSTOP are dropped from it, as Linux does);
/// `flags` are the O_* bits kept on the file (O_NONBLOCK). ENOMEM if it cannot be listed.
pub fn new(mask: SigSet, flags: u32) -> KResult<Arc<OpenFile>> {
    static HOOKED: spin::Once<()> = spin::Once::new();
    HOOKED.call_once(|| signal::on_send(signal_sent));
    let ops = Arc::new(SignalFd {
        mask: SpinLock::new(mask.difference(SigSet::UNBLOCKABLE)),
        changed: WaitQueue::new(),
        events: AtomicU64::new(0),
        pollers: Arc::new(PollQueue::new()),
    });
    {
        let mut open = OPEN.lock();
        open.retain(|w| w.strong_count() > 0);
        open.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        open.push(Arc::downgrade(&ops));
    }
    Ok(OpenFile::new(ops, exo_abi::fcntl::O_RDWR | flags))
}

/// The signalfd behind `file` (EINVAL if it is not one).
pub fn of(file: &OpenFile) -> KResult<&SignalFd> {
    file.ops.as_any().and_then(|a| a.downcast_ref::<SignalFd>()).ok_or(Errno::EINVAL)
}

/// A signal was sent somewhere: every signalfd re-checks (wakes its readers and pollers).
fn signal_sent() {
    let open: Vec<Arc<SignalFd>> = OPEN.lock().iter().filter_map(Weak::upgrade).collect();
    for fd in open {
        fd.events.fetch_add(1, Ordering::SeqCst);
        fd.changed.wake_all();
        fd.pollers.notify();
    }
}

impl SignalFd {
    /// Replaces the mask (signalfd on an existing descriptor).
    pub fn set_mask(&self, mask: SigSet) {
        *self.mask.lock() = mask.difference(SigSet::UNBLOCKABLE);
        self.events.fetch_add(1, Ordering::SeqCst);
        self.changed.wake_all();
        self.pollers.notify();
    }

    fn mask(&self) -> SigSet {
        *self.mask.lock()
    }
}

/// A siginfo as `struct signalfd_siginfo`, its union read the way its si_code says.
fn to_signalfd(sig: u32, info: &SigInfo) -> SignalfdSiginfo {
    let mut out: SignalfdSiginfo = bytemuck::Zeroable::zeroed();
    out.ssi_signo = sig;
    out.ssi_errno = info.si_errno;
    out.ssi_code = info.si_code;
    let code = info.si_code;
    if code == SI_TIMER {
        out.ssi_tid = info.pid() as u32;
        out.ssi_overrun = info.uid();
        out.ssi_ptr = info.value();
        out.ssi_int = info.value() as i32;
    } else if code > 0 && sig == SIGCHLD {
        out.ssi_pid = info.pid() as u32;
        out.ssi_uid = info.uid();
        out.ssi_status = info.status();
        out.ssi_utime = info.utime() as u64;
        out.ssi_stime = info.stime() as u64;
    } else if code > 0 && matches!(sig, SIGSEGV | SIGBUS | SIGILL | SIGFPE | SIGTRAP) {
        out.ssi_addr = info.addr();
    } else if code > 0 && sig == SIGIO {
        out.ssi_band = info.band() as u32;
        out.ssi_fd = info.fd();
    } else {
        out.ssi_pid = info.pid() as u32;
        out.ssi_uid = info.uid();
        if code == SI_QUEUE || code < 0 {
            out.ssi_ptr = info.value();
            out.ssi_int = info.value() as i32;
        }
    }
    out
}

const RECORD: usize = core::mem::size_of::<SignalfdSiginfo>();

impl FileOps for SignalFd {
    fn read(&self, file: &OpenFile, buf: &mut [u8]) -> KResult<usize> {
        if buf.len() < RECORD {
            return Err(Errno::EINVAL);
        }
        let me = crate::process::current().ok_or(Errno::EINVAL)?;
        loop {
            let not_wanted = SigSet::full().difference(self.mask());
            let mut done = 0;
            while done + RECORD <= buf.len() {
                let Some((sig, info)) = signal::dequeue_from(&me, not_wanted) else { break };
                let record = to_signalfd(sig, &info);
                buf[done..done + RECORD].copy_from_slice(bytemuck::bytes_of(&record));
                done += RECORD;
            }
            if done > 0 {
                return Ok(done);
            }
            if file.nonblocking() {
                return Err(Errno::EAGAIN);
            }
            let outcome = self.changed.wait_interruptible(
                || !signal::pending(&me).intersection(self.mask()).is_empty(),
                crate::sched::signal_check(),
                None,
            );
            if outcome == WaitOutcome::Interrupted {
                return Err(Errno::ERESTARTSYS);
            }
        }
    }

    fn write(&self, _file: &OpenFile, _buf: &[u8]) -> KResult<usize> {
        Err(Errno::EINVAL)
    }

    fn stat(&self) -> KResult<Stat> {
        Ok(Stat { st_mode: 0o600, st_nlink: 1, st_blksize: 4096, ..Stat::default() })
    }

    fn poll(&self) -> PollBits {
        let Some(me) = crate::process::current() else { return 0 };
        if signal::pending(&me).intersection(self.mask()).is_empty() {
            0
        } else {
            POLLIN as u32
        }
    }

    fn poll_register(&self, table: &mut PollTable) -> KResult<()> {
        table.add_shared(&self.pollers).map(|_| ())
    }

    fn poll_events(&self) -> u64 {
        self.events.load(Ordering::SeqCst)
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}
