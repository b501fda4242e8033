//! epoll instances: an interest list of (descriptor, open file) items with their event masks
//! and cookies. Readiness is asked of each file (`FileOps::poll`) when the instance is waited
//! on. A waiter (epoll_wait, or poll/select/another epoll's waiter on this instance's fd)
//! registers for the time of its wait on the instance's own poll queue (notified when
//! epoll_ctl adds or re-arms an item) and, through `poll_register`, on the queue of every armed
//! item's file, nested instances included (at most 5 levels: the nesting check). So an
//! instance wakes its waiters exactly when one of its files (or its list) changes, and nothing
//! stays registered between waits: EPOLL_CTL_DEL and closing a file or the instance need no
//! clean-up. The waiting itself is in `syscall/poll.rs` and `sched/pollwait.rs`. Items refer to
//! their open file weakly: closing the last descriptor of a file drops its items, as on Linux.
//! Edge-triggered items report when the file's event counter (`FileOps::poll_events`) moved
//! or a readiness bit rose since the last report; one-shot items are disabled once reported.
//! Those rules, the epoll_ctl errors and the nesting check's walk are the host-tested crate
//! `exo-epoll`; this file keeps the files, the locks and the polling.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use exo_abi::epoll::*;
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use exo_epoll::{InterestList, Readiness};
use crate::spinlock::SpinLock as Mutex;

use super::file::{FileOps, OpenFile, PollBits};
use crate::sched::pollwait::{PollQueue, PollTable};

/// Held while an epoll instance is added to another (Linux's epnested_mutex). A sleeping lock:
/// the check walks every instance below the added one, and others wait for it without spinning.
static NESTING: crate::sched::sync::Mutex<()> = crate::sched::sync::Mutex::new(());

/// An epoll instance: its items refer to their files weakly.
#[derive(Default)]
pub struct Epoll {
    items: Mutex<InterestList<Weak<OpenFile>>>,
    /// The instance's waiters, notified when an item is added or re-armed (EPOLL_CTL_ADD/MOD).
    pollers: Arc<PollQueue>,
}

/// Creates an epoll instance as an open file.
pub fn new() -> Arc<OpenFile> {
    OpenFile::new(Arc::new(Epoll::default()), exo_abi::fcntl::O_RDWR)
}

/// The readiness of a file in epoll's terms: poll bits plus their RDNORM/WRNORM aliases.
pub fn readiness(file: &OpenFile) -> u32 {
    exo_epoll::with_aliases(file.ops.poll())
}

impl Epoll {
    /// EPOLL_CTL_ADD/MOD/DEL of `fd` (whose open file is `file`). `this` is the instance's own
    /// open file (loop checks); `event` is ignored for DEL.
    pub fn control(&self, this: &Arc<OpenFile>, op: u32, fd: i32, file: &Arc<OpenFile>, event: EpollEvent) -> KResult<()> {
        if Arc::ptr_eq(this, file) {
            return Err(Errno::EINVAL);
        }
        if !file.ops.pollable() {
            return Err(Errno::EPERM);
        }
        exo_epoll::check_flags(op, event.events(), of(file).is_some())?;
        // Adding an epoll to an epoll: the loop check and the insertion are one step for the
        // whole system, so two crossed additions cannot make a cycle.
        let _nesting = match (op, of(file)) {
            (EPOLL_CTL_ADD, Some(_)) => {
                let guard = NESTING.lock();
                let outer = self as *const Epoll as usize;
                exo_epoll::check_nesting(file.clone(), outer, instance_id, watched_instances)?;
                Some(guard)
            }
            _ => None,
        };
        let mut items = self.items.lock();
        items.retain(|item| item.strong_count() > 0);
        let same = |item: &Weak<OpenFile>| core::ptr::eq(item.as_ptr(), Arc::as_ptr(file));
        items.control(op, fd, event, same, || (Arc::downgrade(file), file.ops.poll_events()))?;
        drop(items);
        if op != EPOLL_CTL_DEL {
            // A waiter registered before this item existed (or was re-armed) must look again.
            self.pollers.notify();
        }
        Ok(())
    }

    /// The files of the armed items, listed under the list's lock (ENOMEM if the list cannot
    /// be copied).
    fn armed_files(&self) -> KResult<Vec<(Arc<OpenFile>, u32)>> {
        let items = self.items.lock();
        let mut files = Vec::new();
        for (file, wanted) in items.armed().filter_map(|(item, wanted)| item.upgrade().map(|f| (f, wanted))) {
            files.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            files.push((file, wanted));
        }
        Ok(files)
    }

    /// Takes up to `max` events that are ready now (edge-triggered and one-shot items are
    /// consumed); level-triggered items reported go to the back of the list, so that a small
    /// `max` lets every ready item have its turn.
    pub fn collect(&self, max: usize) -> Vec<EpollEvent> {
        let mut items = self.items.lock();
        items.retain(|item| item.strong_count() > 0);
        items.collect(max, |item| {
            let file = item.upgrade()?;
            Some(Readiness { bits: readiness(&file), events: file.ops.poll_events() })
        })
    }

    /// Whether some item is ready (without consuming edges): the instance's own readiness.
    /// The files are polled after the list's lock is dropped.
    fn any_ready(&self) -> bool {
        // Without memory for the list: report ready (a poller then looks at the instance with
        // epoll_wait, which needs none), rather than sleeping through a ready item.
        let Ok(files) = self.armed_files() else { return true };
        files.iter().any(|(file, wanted)| readiness(file) & wanted != 0)
    }
}

/// The identity of the epoll instance behind `file` in the nesting check (0 for a file that
/// is not one, which the check never meets).
fn instance_id(file: &Arc<OpenFile>) -> usize {
    of(file).map_or(0, |epoll| epoll as *const Epoll as usize)
}

/// The epoll instances that the instance behind `file` watches. Its lock is held only while
/// they are listed.
fn watched_instances(file: &Arc<OpenFile>) -> KResult<Vec<Arc<OpenFile>>> {
    let Some(epoll) = of(file) else { return Ok(Vec::new()) };
    let items = epoll.items.lock();
    let mut inner = Vec::new();
    for watched in items.files().filter_map(Weak::upgrade).filter(|f| of(f).is_some()) {
        inner.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        inner.push(watched);
    }
    Ok(inner)
}

impl FileOps for Epoll {
    fn stat(&self) -> KResult<Stat> {
        Ok(Stat { st_mode: 0o600, st_nlink: 1, st_blksize: 4096, ..Stat::default() })
    }

    /// The instance's own queue, then every armed item's file (nested instances recurse: the
    /// nesting check bounds the depth; an instance the table met already is skipped, so each
    /// distinct object is registered once). The files are registered after the list's lock is
    /// dropped.
    fn poll_register(&self, table: &mut PollTable) -> KResult<()> {
        if !table.add_shared(&self.pollers)? {
            return Ok(());
        }
        for (file, _) in self.armed_files()? {
            file.ops.poll_register(table)?;
        }
        Ok(())
    }

    fn poll(&self) -> PollBits {
        if self.any_ready() {
            exo_abi::poll::POLLIN as u32
        } else {
            0
        }
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}

/// The epoll instance behind `file`, if it is one.
pub fn of(file: &OpenFile) -> Option<&Epoll> {
    file.ops.as_any()?.downcast_ref::<Epoll>()
}
