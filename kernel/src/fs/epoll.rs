//! epoll instances: an interest list of (descriptor, open file) items with their event masks
//! and cookies. Readiness is asked of each file (`FileOps::poll`) when the instance is waited
//! on; the waiting itself (the global readiness queue) is in `syscall/poll.rs`. Items refer to
//! their open file weakly: closing the last descriptor of a file drops its items, as on Linux.
//! Edge-triggered items report when the file's event counter (`FileOps::poll_events`) moved
//! or a readiness bit rose since the last report; one-shot items are disabled once reported.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use exo_abi::epoll::*;
use exo_abi::types::Stat;
use exo_abi::{Errno, KResult};
use crate::spinlock::SpinLock as Mutex;

use super::file::{FileOps, OpenFile, PollBits};

/// How deep epoll instances may watch each other (Linux's EP_MAX_NESTS).
const MAX_NESTS: usize = 4;

/// Held while an epoll instance is added to another (Linux's epnested_mutex). A sleeping lock:
/// the check walks every instance below the added one, and others wait for it without spinning.
static NESTING: crate::sched::sync::Mutex<()> = crate::sched::sync::Mutex::new(());

/// Event bits epoll always reports.
const ALWAYS: u32 = EPOLLERR | EPOLLHUP;

/// One watched (descriptor, file).
struct Item {
    fd: i32,
    file: Weak<OpenFile>,
    /// Requested events plus EPOLLET/EPOLLONESHOT; 0 (but for the flags) once a one-shot fired.
    events: u32,
    data: u64,
    /// What the last scan saw (edge detection).
    last_bits: u32,
    last_events: u64,
}

impl Item {
    fn same(&self, fd: i32, file: &Arc<OpenFile>) -> bool {
        self.fd == fd && core::ptr::eq(self.file.as_ptr(), Arc::as_ptr(file))
    }
}

/// An epoll instance.
#[derive(Default)]
pub struct Epoll {
    items: Mutex<Vec<Item>>,
}

/// Creates an epoll instance as an open file.
pub fn new() -> Arc<OpenFile> {
    OpenFile::new(Arc::new(Epoll::default()), exo_abi::fcntl::O_RDWR)
}

/// The readiness of a file in epoll's terms: poll bits plus their RDNORM/WRNORM aliases.
pub fn readiness(file: &OpenFile) -> u32 {
    let mut bits = file.ops.poll();
    if bits & EPOLLIN != 0 {
        bits |= EPOLLRDNORM;
    }
    if bits & EPOLLOUT != 0 {
        bits |= EPOLLWRNORM;
    }
    bits
}

impl Epoll {
    /// EPOLL_CTL_ADD/MOD/DEL of `fd` (whose open file is `file`). `this` is the instance's own
    /// open file (loop checks); `event` is ignored for DEL.
    pub fn control(&self, this: &Arc<OpenFile>, op: u32, fd: i32, file: &Arc<OpenFile>, event: EpollEvent) -> KResult<()> {
        let events = event.events();
        if Arc::ptr_eq(this, file) {
            return Err(Errno::EINVAL);
        }
        if !file.ops.pollable() {
            return Err(Errno::EPERM);
        }
        if op != EPOLL_CTL_DEL && events & EPOLLEXCLUSIVE != 0 {
            let allowed = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE
                | EPOLLRDNORM | EPOLLWRNORM | EPOLLRDBAND | EPOLLWRBAND | EPOLLPRI | EPOLLMSG | EPOLLRDHUP;
            if op == EPOLL_CTL_MOD || events & !allowed != 0 || of(file).is_some() {
                return Err(Errno::EINVAL);
            }
        }
        // Adding an epoll to an epoll: the loop check and the insertion are one step for the
        // whole system, so two crossed additions cannot make a cycle.
        let _nesting = match (op, of(file)) {
            (EPOLL_CTL_ADD, Some(inner)) => {
                let guard = NESTING.lock();
                inner.check_nesting(self, 1)?;
                Some(guard)
            }
            _ => None,
        };
        let mut items = self.items.lock();
        items.retain(|item| item.file.strong_count() > 0);
        let index = items.iter().position(|item| item.same(fd, file));
        match (op, index) {
            (EPOLL_CTL_ADD, Some(_)) => Err(Errno::EEXIST),
            (EPOLL_CTL_ADD, None) => {
                items.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                let last_events = file.ops.poll_events();
                items.push(Item { fd, file: Arc::downgrade(file), events: events & !EPOLLEXCLUSIVE, data: event.data(), last_bits: 0, last_events });
                Ok(())
            }
            (EPOLL_CTL_MOD, Some(i)) => {
                let item = &mut items[i];
                item.events = events;
                item.data = event.data();
                // A modified item reports its current readiness again, as on Linux.
                item.last_bits = 0;
                Ok(())
            }
            (EPOLL_CTL_DEL, Some(i)) => {
                items.remove(i);
                Ok(())
            }
            (EPOLL_CTL_MOD | EPOLL_CTL_DEL, None) => Err(Errno::ENOENT),
            _ => Err(Errno::EINVAL),
        }
    }

    /// ELOOP if watching `self` from `outer` would close a cycle or make the chain of instances
    /// deeper than [`MAX_NESTS`] (Linux gives ELOOP for both). Linear in the instances and
    /// items below `self`: each instance is walked once (its height below is remembered),
    /// however many paths lead to it, and the walk never goes deeper than the limit.
    fn check_nesting(&self, outer: &Epoll, depth: usize) -> KResult<()> {
        let mut heights = Vec::new();
        let height = self.height_below(outer, depth, &mut heights)?;
        if depth + height > MAX_NESTS {
            return Err(Errno::ELOOP);
        }
        Ok(())
    }

    /// How many epoll levels are below `self` (0: it watches no epoll instance), with `self`
    /// at `depth`; `seen` remembers the instances already measured (address, height), sorted.
    fn height_below(&self, outer: &Epoll, depth: usize, seen: &mut Vec<(usize, usize)>) -> KResult<usize> {
        if core::ptr::eq(self, outer) {
            return Err(Errno::ELOOP);
        }
        if depth > MAX_NESTS {
            return Err(Errno::ELOOP);
        }
        let me = self as *const Epoll as usize;
        if let Ok(found) = seen.binary_search_by_key(&me, |&(addr, _)| addr) {
            return Ok(seen[found].1);
        }
        let inner: Vec<Arc<OpenFile>> =
            self.items.lock().iter().filter_map(|item| item.file.upgrade()).filter(|f| of(f).is_some()).collect();
        let mut height = 0;
        for file in inner {
            if let Some(epoll) = of(&file) {
                let below = epoll.height_below(outer, depth + 1, seen)?;
                height = height.max(below + 1);
                if depth + height > MAX_NESTS {
                    return Err(Errno::ELOOP);
                }
            }
        }
        seen.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        // Instances measured below were inserted meanwhile: find the place again.
        let slot = seen.binary_search_by_key(&me, |&(addr, _)| addr).unwrap_or_else(|slot| slot);
        seen.insert(slot, (me, height));
        Ok(height)
    }

    /// Takes up to `max` events that are ready now (edge-triggered and one-shot items are
    /// consumed); level-triggered items reported go to the back of the list, so that a small
    /// `max` lets every ready item have its turn.
    pub fn collect(&self, max: usize) -> Vec<EpollEvent> {
        let mut out = Vec::new();
        let mut items = self.items.lock();
        items.retain(|item| item.file.strong_count() > 0);
        let mut reported = Vec::new();
        for (index, item) in items.iter_mut().enumerate() {
            if out.len() >= max {
                break;
            }
            let Some(file) = item.file.upgrade() else { continue };
            let wanted = (item.events & !(EPOLLET | EPOLLONESHOT)) | ALWAYS;
            if item.events & !(EPOLLET | EPOLLONESHOT | EPOLLWAKEUP) == 0 {
                continue; // a one-shot item that fired, or one asking for nothing
            }
            let bits = readiness(&file) & wanted;
            let counter = file.ops.poll_events();
            let fire = if item.events & EPOLLET != 0 {
                bits != 0 && (bits & !item.last_bits != 0 || counter != item.last_events)
            } else {
                bits != 0
            };
            item.last_bits = bits;
            item.last_events = counter;
            if !fire {
                continue;
            }
            if out.try_reserve(1).is_err() {
                break;
            }
            out.push(EpollEvent::new(bits, item.data));
            if item.events & EPOLLONESHOT != 0 {
                item.events &= EPOLLET | EPOLLONESHOT | EPOLLWAKEUP;
            } else if item.events & EPOLLET == 0 {
                reported.push(index);
            }
        }
        // Rotate the reported level-triggered items to the back.
        if !reported.is_empty() && reported.len() < items.len() {
            let mut moved = Vec::new();
            for &index in reported.iter().rev() {
                moved.push(items.remove(index));
            }
            items.extend(moved.into_iter().rev());
        }
        out
    }

    /// Whether some item is ready (without consuming edges): the instance's own readiness.
    fn any_ready(&self) -> bool {
        let files: Vec<(Arc<OpenFile>, u32)> = self
            .items
            .lock()
            .iter()
            .filter(|item| item.events & !(EPOLLET | EPOLLONESHOT | EPOLLWAKEUP) != 0)
            .filter_map(|item| item.file.upgrade().map(|f| (f, (item.events & !(EPOLLET | EPOLLONESHOT)) | ALWAYS)))
            .collect();
        files.iter().any(|(file, wanted)| readiness(file) & wanted != 0)
    }
}

impl FileOps for Epoll {
    fn stat(&self) -> KResult<Stat> {
        Ok(Stat { st_mode: 0o600, st_nlink: 1, st_blksize: 4096, ..Stat::default() })
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
