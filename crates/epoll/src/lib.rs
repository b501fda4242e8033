//! `exo-epoll`: the pure rules of Linux's epoll that the kernel's epoll instances apply
//! (`kernel/src/fs/epoll.rs` keeps the files, the locks, the polling of each file and the
//! waiting; `kernel/src/syscall/poll.rs` the user copies):
//!
//! - [`check_flags`]: which event masks `epoll_ctl` refuses up front (the EPOLLEXCLUSIVE rules).
//! - [`InterestList`]: the watched (descriptor, file) items of one instance with their masks
//!   and cookies. [`InterestList::control`] is EPOLL_CTL_ADD/MOD/DEL and their errors (EEXIST,
//!   ENOENT, EINVAL for an unknown operation); [`InterestList::collect`] is one scan for
//!   `epoll_wait`: which items report which events given each file's readiness now and what
//!   the item saw at the previous scan (level-triggered, EPOLLET, EPOLLONESHOT), at most
//!   `maxevents` of them, level-triggered items that reported moving to the back of the list.
//! - [`check_nesting`]: whether watching one instance from another would close a cycle or
//!   nest instances too deep (ELOOP).
//!
//! The list is generic over the handle `H` by which an item refers to its file (the kernel
//! uses a weak reference); every question about a file (is it still open, which events is it
//! ready for, how far has its event counter moved) is a closure the caller passes.
//!
//! # Reporting rules
//!
//! An item asks for its requested events plus EPOLLERR and EPOLLHUP ([`ALWAYS`]); it reports the
//! intersection of that with the file's readiness.
//! - Level-triggered: whenever that intersection is not empty.
//! - EPOLLET: when it is not empty and either a bit rose since the item's previous scan or the
//!   file's event counter moved (new data arrived though the bits stayed up).
//! - EPOLLONESHOT: after reporting once, the item asks for nothing until EPOLL_CTL_MOD re-arms
//!   it (it stays in the list: ADD gives EEXIST).
//!
//! EPOLL_CTL_MOD makes an item report its current readiness again (its previous bits are
//! forgotten, not its event counter).

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod nest;
#[cfg(test)]
mod tests;

pub use nest::{check_nesting, MAX_NESTS};

use alloc::vec::Vec;

use exo_abi::epoll::*;
use exo_abi::Errno;

/// Event bits epoll always reports.
pub const ALWAYS: u32 = EPOLLERR | EPOLLHUP;

/// The flags of an item's mask that are not events.
const MODES: u32 = EPOLLET | EPOLLONESHOT;

/// The flags a fired one-shot item keeps (it asks for no event any more).
const KEPT: u32 = EPOLLET | EPOLLONESHOT | EPOLLWAKEUP;

/// A file's readiness in epoll's terms: its poll bits plus the RDNORM/WRNORM aliases of
/// EPOLLIN/EPOLLOUT.
#[inline]
pub fn with_aliases(bits: u32) -> u32 {
    let mut bits = bits;
    if bits & EPOLLIN != 0 {
        bits |= EPOLLRDNORM;
    }
    if bits & EPOLLOUT != 0 {
        bits |= EPOLLWRNORM;
    }
    bits
}

/// EINVAL for an EPOLLEXCLUSIVE that `epoll_ctl` refuses: with EPOLL_CTL_MOD, with an event
/// bit outside the allowed ones (EPOLLONESHOT among others), or when the watched file is
/// itself an epoll instance (`target_is_epoll`). Nothing is checked for EPOLL_CTL_DEL.
pub fn check_flags(op: u32, events: u32, target_is_epoll: bool) -> Result<(), Errno> {
    if op != EPOLL_CTL_DEL && events & EPOLLEXCLUSIVE != 0 {
        let allowed = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE
            | EPOLLRDNORM | EPOLLWRNORM | EPOLLRDBAND | EPOLLWRBAND | EPOLLPRI | EPOLLMSG | EPOLLRDHUP;
        if op == EPOLL_CTL_MOD || events & !allowed != 0 || target_is_epoll {
            return Err(Errno::EINVAL);
        }
    }
    Ok(())
}

/// What a file says when an item is scanned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    /// Its readiness bits ([`with_aliases`] applied).
    pub bits: u32,
    /// Its event counter: moves whenever something happened that an edge-triggered watcher
    /// should hear about again.
    pub events: u64,
}

/// One watched (descriptor, file).
#[derive(Debug)]
struct Item<H> {
    fd: i32,
    file: H,
    /// Requested events plus EPOLLET/EPOLLONESHOT; only [`KEPT`] flags once a one-shot fired.
    events: u32,
    data: u64,
    /// What the last scan saw (edge detection).
    last_bits: u32,
    last_events: u64,
    /// Reported by this scan while level-triggered: goes to the back of the list.
    rotate: bool,
}

impl<H> Item<H> {
    /// Whether the item asks for some event (not a fired one-shot, not an empty mask).
    fn armed(&self) -> bool {
        self.events & !KEPT != 0
    }

    /// The events it reports when the file has them.
    fn wanted(&self) -> u32 {
        (self.events & !MODES) | ALWAYS
    }
}

/// The interest list of an epoll instance, in scan order.
#[derive(Debug)]
pub struct InterestList<H> {
    items: Vec<Item<H>>,
}

impl<H> Default for InterestList<H> {
    fn default() -> Self {
        InterestList::new()
    }
}

impl<H> InterestList<H> {
    pub const fn new() -> Self {
        InterestList { items: Vec::new() }
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Drops the items whose file `keep` refuses (files closed since they were added).
    pub fn retain(&mut self, mut keep: impl FnMut(&H) -> bool) {
        self.items.retain(|item| keep(&item.file));
    }

    /// The files of the items, in scan order.
    pub fn files(&self) -> impl Iterator<Item = &H> {
        self.items.iter().map(|item| &item.file)
    }

    /// The items that ask for some event, each with the events it would report: what the
    /// instance's own readiness is made of.
    pub fn armed(&self) -> impl Iterator<Item = (&H, u32)> {
        self.items.iter().filter(|item| item.armed()).map(|item| (&item.file, item.wanted()))
    }

    /// EPOLL_CTL_ADD/MOD/DEL of descriptor `fd`, whose file is the one `same` accepts (an
    /// item is keyed by both). ADD takes the handle and the file's current event counter from
    /// `add` (called only when the item is made) and drops EPOLLEXCLUSIVE from the mask; MOD
    /// replaces mask and cookie; `event` is ignored for DEL. Errors: EEXIST (ADD of a watched
    /// pair), ENOENT (MOD/DEL of one not watched), EINVAL (another `op`), ENOMEM.
    pub fn control(
        &mut self,
        op: u32,
        fd: i32,
        event: EpollEvent,
        same: impl Fn(&H) -> bool,
        add: impl FnOnce() -> (H, u64),
    ) -> Result<(), Errno> {
        let events = event.events();
        let index = self.items.iter().position(|item| item.fd == fd && same(&item.file));
        match (op, index) {
            (EPOLL_CTL_ADD, Some(_)) => Err(Errno::EEXIST),
            (EPOLL_CTL_ADD, None) => {
                self.items.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                let (file, last_events) = add();
                self.items.push(Item {
                    fd,
                    file,
                    events: events & !EPOLLEXCLUSIVE,
                    data: event.data(),
                    last_bits: 0,
                    last_events,
                    rotate: false,
                });
                Ok(())
            }
            (EPOLL_CTL_MOD, Some(i)) => {
                let item = &mut self.items[i];
                item.events = events;
                item.data = event.data();
                // A modified item reports its current readiness again, as on Linux.
                item.last_bits = 0;
                Ok(())
            }
            (EPOLL_CTL_DEL, Some(i)) => {
                self.items.remove(i);
                Ok(())
            }
            (EPOLL_CTL_MOD | EPOLL_CTL_DEL, None) => Err(Errno::ENOENT),
            _ => Err(Errno::EINVAL),
        }
    }

    /// One scan: takes up to `max` events that are ready now, asking `probe` for the
    /// readiness of each armed item's file (`None`: the file is gone, the item is skipped).
    /// Every item scanned remembers what it saw (edges); edge-triggered and one-shot items
    /// that report are consumed; level-triggered ones that report go to the back of the list
    /// (in their order), so that a small `max` lets every ready item have its turn. The scan
    /// stops at `max` events (later items are not looked at) or when the result cannot grow.
    pub fn collect(&mut self, max: usize, mut probe: impl FnMut(&H) -> Option<Readiness>) -> Vec<EpollEvent> {
        let mut out = Vec::new();
        let mut rotated = 0;
        for item in self.items.iter_mut() {
            if out.len() >= max {
                break;
            }
            if !item.armed() {
                continue; // a one-shot item that fired, or one asking for nothing
            }
            let Some(now) = probe(&item.file) else { continue };
            let bits = now.bits & item.wanted();
            let fire = if item.events & EPOLLET != 0 {
                bits != 0 && (bits & !item.last_bits != 0 || now.events != item.last_events)
            } else {
                bits != 0
            };
            item.last_bits = bits;
            item.last_events = now.events;
            if !fire {
                continue;
            }
            if out.try_reserve(1).is_err() {
                break;
            }
            out.push(EpollEvent::new(bits, item.data));
            if item.events & EPOLLONESHOT != 0 {
                item.events &= KEPT;
            } else if item.events & EPOLLET == 0 {
                item.rotate = true;
                rotated += 1;
            }
        }
        if rotated > 0 {
            self.rotate_reported(rotated < self.items.len());
        }
        out
    }

    /// Moves the items marked `rotate` to the back, keeping the order within both groups
    /// (if `reorder`), and clears the marks. In place, without allocating.
    fn rotate_reported(&mut self, reorder: bool) {
        let mut tail = self.items.len();
        for i in (0..self.items.len()).rev() {
            if !self.items[i].rotate {
                continue;
            }
            self.items[i].rotate = false;
            if reorder {
                // Items i+1..tail are unmarked: shift them down and put item i before the
                // marked ones already moved, which came after it.
                self.items[i..tail].rotate_left(1);
                tail -= 1;
            }
        }
    }

    /// The (descriptor, cookie, mask) of every item in scan order (tests, diagnostics).
    pub fn entries(&self) -> impl Iterator<Item = (i32, u64, u32)> + '_ {
        self.items.iter().map(|item| (item.fd, item.data, item.events))
    }
}
