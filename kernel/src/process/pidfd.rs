//! pidfd: a descriptor naming a process (`pidfd_open`). It is readable (POLLIN) once the
//! process has exited; reads are EINVAL. Every pidfd poller waits on one queue, notified at
//! each process exit (`exited`), and then looks at its own process again.

use alloc::sync::Arc;

use exo_abi::poll::POLLIN;
use exo_abi::types::Stat;
use exo_abi::KResult;

use super::Process;
use crate::files::file::PollBits;
use crate::files::{FileOps, OpenFile};
use crate::sched::pollwait::{PollQueue, PollTable};

/// The pidfd file kind.
pub struct PidFd {
    pub process: Arc<Process>,
}

static EXITS: spin::Once<Arc<PollQueue>> = spin::Once::new();

fn exits() -> &'static Arc<PollQueue> {
    EXITS.call_once(|| Arc::new(PollQueue::new()))
}

/// A new pidfd for `process`; `nonblock` is PIDFD_NONBLOCK.
pub fn open(process: Arc<Process>, nonblock: bool) -> Arc<OpenFile> {
    let flags = exo_abi::fcntl::O_RDWR | if nonblock { exo_abi::fcntl::O_NONBLOCK } else { 0 };
    OpenFile::new(Arc::new(PidFd { process }), flags)
}

/// The process a descriptor's file names, if it is a pidfd.
pub fn of(file: &OpenFile) -> Option<Arc<Process>> {
    file.ops.as_any().and_then(|any| any.downcast_ref::<PidFd>()).map(|p| p.process.clone())
}

/// Whether `process` has exited (a zombie, or reaped).
pub fn has_exited(process: &Process) -> bool {
    let state = process.state.lock();
    state.zombie || state.threads.is_empty()
}

/// A process exited: pidfd pollers look again.
pub fn exited() {
    if let Some(queue) = EXITS.get() {
        queue.notify();
    }
}

impl FileOps for PidFd {
    fn stat(&self) -> KResult<Stat> {
        Ok(Stat { st_mode: 0o600, st_nlink: 1, st_blksize: 4096, ..Stat::default() })
    }

    fn poll(&self) -> PollBits {
        if has_exited(&self.process) {
            POLLIN as u32
        } else {
            0
        }
    }

    fn poll_register(&self, table: &mut PollTable) -> KResult<()> {
        table.add_shared(exits()).map(|_| ())
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}
