//! `exo-inotify`: one inotify instance as pure logic — its watches (one per watched object,
//! found by an opaque key the kernel chooses, e.g. the inode's address), the masks with
//! `IN_MASK_ADD`, `IN_MASK_CREATE`, `IN_ONESHOT` and `IN_EXCL_UNLINK`, and the bounded event
//! queue with Linux's rules: an event equal to the queue's tail is merged into it, a full queue
//! gets one `IN_Q_OVERFLOW` event (wd -1) and drops the rest, a removed watch queues
//! `IN_IGNORED`. [`Instance::read`] encodes `struct inotify_event` records (the name
//! NUL-padded to a multiple of 16 bytes) and answers `EINVAL` when the buffer cannot hold the
//! next one. The kernel keeps the instances, the index from objects to watchers, the per-user
//! limits and the waiting.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use exo_abi::inotify::*;
use exo_abi::Errno;

/// One watch: its descriptor, the watched object's key, and its mask (event bits plus
/// `IN_ONESHOT` / `IN_EXCL_UNLINK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watch {
    pub wd: i32,
    pub key: u64,
    pub mask: u32,
}

/// One queued event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub wd: i32,
    pub mask: u32,
    pub cookie: u32,
    pub name: Vec<u8>,
}

impl Event {
    /// Bytes of its `struct inotify_event` record.
    pub fn size(&self) -> usize {
        EVENT_HEADER_SIZE + padded_len(self.name.len())
    }
}

/// The `len` field for a name of `n` bytes: 0 without a name, else the name and at least one
/// NUL, rounded up to 16 bytes.
pub fn padded_len(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n + 1).div_ceil(EVENT_HEADER_SIZE) * EVENT_HEADER_SIZE
    }
}

/// The mask checks `inotify_add_watch` makes before anything else: `IN_MASK_ADD` with
/// `IN_MASK_CREATE`, or no known bit at all, is `EINVAL`.
pub fn check_mask(mask: u32) -> Result<(), Errno> {
    if mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0 {
        return Err(Errno::EINVAL);
    }
    if mask & ALL_INOTIFY_BITS == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The bits a watch keeps of an `inotify_add_watch` mask.
const KEPT: u32 = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK;

/// What [`Instance::add_watch`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// A new watch with this descriptor.
    New(i32),
    /// The object was already watched: this descriptor, its mask updated.
    Updated(i32),
}

impl Added {
    pub fn wd(self) -> i32 {
        match self {
            Added::New(wd) | Added::Updated(wd) => wd,
        }
    }
}

/// What [`Instance::deliver`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Something was queued (readers should be woken).
    pub queued: bool,
    /// The watch was removed (`IN_ONESHOT`): the kernel drops it from its index.
    pub removed: bool,
}

/// One inotify instance.
#[derive(Debug)]
pub struct Instance {
    watches: Vec<Watch>,
    queue: VecDeque<Event>,
    /// Bytes the queued events take when read (FIONREAD).
    bytes: usize,
    next_wd: i32,
    max_events: usize,
}

impl Instance {
    /// An empty instance whose queue holds at most `max_events` events (then one overflow
    /// event).
    pub fn new(max_events: usize) -> Instance {
        Instance { watches: Vec::new(), queue: VecDeque::new(), bytes: 0, next_wd: 1, max_events }
    }

    /// The watches.
    pub fn watches(&self) -> &[Watch] {
        &self.watches
    }

    /// The watch on `key`, if any.
    pub fn watch_of(&self, key: u64) -> Option<&Watch> {
        self.watches.iter().find(|w| w.key == key)
    }

    /// Bytes a read of everything queued would return (`FIONREAD`).
    pub fn pending_bytes(&self) -> usize {
        self.bytes
    }

    /// Events queued.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Watches `key` with `mask` (checked by [`check_mask`]): the object's existing watch is
    /// updated (its mask replaced, or extended with `IN_MASK_ADD`; `EEXIST` with
    /// `IN_MASK_CREATE`), else a new watch gets the next free descriptor (from 1, growing;
    /// `ENOMEM` if it cannot be stored). The caller checks the per-user watch limit before
    /// adding a new one.
    pub fn add_watch(&mut self, key: u64, mask: u32) -> Result<Added, Errno> {
        if let Some(w) = self.watches.iter_mut().find(|w| w.key == key) {
            if mask & IN_MASK_CREATE != 0 {
                return Err(Errno::EEXIST);
            }
            w.mask = if mask & IN_MASK_ADD != 0 { w.mask | (mask & KEPT) } else { mask & KEPT };
            return Ok(Added::Updated(w.wd));
        }
        self.watches.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let mut wd = self.next_wd;
        while self.watches.iter().any(|w| w.wd == wd) {
            wd = if wd == i32::MAX { 1 } else { wd + 1 };
        }
        self.next_wd = if wd == i32::MAX { 1 } else { wd + 1 };
        self.watches.push(Watch { wd, key, mask: mask & KEPT });
        Ok(Added::New(wd))
    }

    /// Removes watch `wd` (`EINVAL` if there is none) and queues `IN_IGNORED`; returns its key.
    pub fn rm_watch(&mut self, wd: i32) -> Result<u64, Errno> {
        let i = self.watches.iter().position(|w| w.wd == wd).ok_or(Errno::EINVAL)?;
        let w = self.watches.swap_remove(i);
        self.push(Event { wd, mask: IN_IGNORED, cookie: 0, name: Vec::new() });
        Ok(w.key)
    }

    /// The watched object `key` is gone: its watch is removed with `IN_IGNORED`. Whether there
    /// was one.
    pub fn forget(&mut self, key: u64) -> bool {
        match self.watches.iter().position(|w| w.key == key) {
            Some(i) => {
                let w = self.watches.swap_remove(i);
                self.push(Event { wd: w.wd, mask: IN_IGNORED, cookie: 0, name: Vec::new() });
                true
            }
            None => false,
        }
    }

    /// Event `event` (one `IN_*` bit) happened to the object `key` (`name`: the child's name
    /// when `key` is the directory holding it; `is_dir`: the subject is a directory;
    /// `unlinked_child`: the subject is a child that has been unlinked, which a watch with
    /// `IN_EXCL_UNLINK` ignores). Queued if the watch asks for it; an `IN_ONESHOT` watch is then
    /// removed with `IN_IGNORED`.
    pub fn deliver(&mut self, key: u64, event: u32, is_dir: bool, cookie: u32, name: &[u8], unlinked_child: bool) -> Delivery {
        let Some(i) = self.watches.iter().position(|w| w.key == key) else {
            return Delivery::default();
        };
        let w = self.watches[i];
        if w.mask & event & IN_ALL_EVENTS == 0 || (unlinked_child && w.mask & IN_EXCL_UNLINK != 0) {
            return Delivery::default();
        }
        let mut copy = Vec::new();
        if copy.try_reserve_exact(name.len()).is_err() {
            self.overflow();
            return Delivery { queued: true, removed: false };
        }
        copy.extend_from_slice(name);
        let mask = event | if is_dir { IN_ISDIR } else { 0 };
        self.push(Event { wd: w.wd, mask, cookie, name: copy });
        let removed = w.mask & IN_ONESHOT != 0;
        if removed {
            self.watches.swap_remove(i);
            self.push(Event { wd: w.wd, mask: IN_IGNORED, cookie: 0, name: Vec::new() });
        }
        Delivery { queued: true, removed }
    }

    fn overflow(&mut self) {
        if self.queue.back().is_some_and(|e| e.mask == IN_Q_OVERFLOW) {
            return;
        }
        if self.queue.try_reserve(1).is_err() {
            return;
        }
        let e = Event { wd: -1, mask: IN_Q_OVERFLOW, cookie: 0, name: Vec::new() };
        self.bytes += e.size();
        self.queue.push_back(e);
    }

    /// Queues `event`: merged into an equal tail, replaced by the overflow event when full.
    fn push(&mut self, event: Event) {
        if self.queue.back() == Some(&event) {
            return;
        }
        if self.queue.len() >= self.max_events || self.queue.try_reserve(1).is_err() {
            self.overflow();
            return;
        }
        self.bytes += event.size();
        self.queue.push_back(event);
    }

    /// Moves the queued events that fit in `space` bytes to `out` as `struct inotify_event`
    /// records; returns the bytes appended (0 if nothing is queued). `EINVAL` if the first event
    /// does not fit, `ENOMEM` if `out` cannot grow (nothing is lost).
    pub fn read(&mut self, space: usize, out: &mut Vec<u8>) -> Result<usize, Errno> {
        let start = out.len();
        while let Some(e) = self.queue.front() {
            let size = e.size();
            if out.len() - start + size > space {
                if out.len() == start {
                    return Err(Errno::EINVAL);
                }
                break;
            }
            out.try_reserve(size).map_err(|_| Errno::ENOMEM)?;
            let len = padded_len(e.name.len());
            out.extend_from_slice(&e.wd.to_ne_bytes());
            out.extend_from_slice(&e.mask.to_ne_bytes());
            out.extend_from_slice(&e.cookie.to_ne_bytes());
            out.extend_from_slice(&(len as u32).to_ne_bytes());
            out.extend_from_slice(&e.name);
            out.resize(out.len() + len - e.name.len(), 0);
            self.bytes -= size;
            self.queue.pop_front();
        }
        Ok(out.len() - start)
    }
}

#[cfg(test)]
mod tests;
