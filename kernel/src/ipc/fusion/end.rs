//! A ring end as an open file: what a Fusion descriptor refers to (its ring, side and rights),
//! its poll readiness, and the closing of the end when its last description goes.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::fusion as abi;
use exo_abi::poll::{POLLERR, POLLHUP, POLLIN, POLLOUT};
use exo_abi::types::Stat;
use exo_abi::KResult;

use crate::files::file::{FileOps, OpenFile, PollBits};
use crate::sched::pollwait::PollTable;

use super::ring::{Ring, Side};

/// One open description of a ring end.
pub struct End {
    pub ring: Arc<Ring>,
    pub side: Side,
    pub rights: u32,
    /// Multicast subscribers: the `POST` value this description last waited from (its
    /// position, as far as the kernel knows; poll reports POLLIN once `POST` moved past it).
    pub seen: AtomicU64,
}

impl End {
    /// A new open file for `side` of `ring` with `rights` (counted as an open description
    /// of that end until it is released).
    pub fn open(ring: &Arc<Ring>, side: Side, rights: u32, flags: u32) -> Arc<OpenFile> {
        ring.end_opened(side);
        let seen = AtomicU64::new(ring.post(side.rx()));
        // Open for reading and writing, so that read(2) and write(2) reach the end's own
        // answer (EINVAL: messages go through the mapping) rather than EBADF.
        let status = (flags & !exo_abi::fcntl::O_ACCMODE) | exo_abi::fcntl::O_RDWR;
        OpenFile::new(Arc::new(End { ring: ring.clone(), side, rights, seen }), status)
    }

    pub fn has(&self, right: u32) -> bool {
        self.rights & right == right
    }

    /// Whether this end is a multicast subscriber.
    pub fn subscriber(&self) -> bool {
        self.ring.kind == abi::KIND_MULTICAST && self.side == Side::B
    }
}

impl FileOps for End {
    fn stat(&self) -> KResult<Stat> {
        Ok(Stat { st_mode: 0o600, st_nlink: 1, st_blksize: 4096, st_ino: self.ring.id, ..Stat::default() })
    }

    fn poll(&self) -> PollBits {
        let ring = &self.ring;
        let (tx, rx) = (self.side.tx(), self.side.rx());
        let mut bits = 0;
        if self.has(abi::RIGHT_RECV) && ring.lanes(rx) > 0 {
            let waiting = if self.subscriber() {
                ring.post(rx) != self.seen.load(Ordering::Relaxed)
            } else {
                ring.post(rx) != ring.taken(rx)
            };
            if waiting {
                bits |= POLLIN as u32;
            }
        }
        if self.has(abi::RIGHT_SEND) && ring.lanes(tx) > 0 {
            let (used, capacity) = ring.occupancy(tx);
            if ring.kind == abi::KIND_MULTICAST || used < capacity {
                bits |= POLLOUT as u32;
            }
        }
        let state = ring.state();
        if state & abi::STATE_SHUTDOWN != 0 {
            bits |= POLLERR as u32 | POLLHUP as u32;
        } else if ring.cut_off(self.side) {
            bits |= POLLHUP as u32;
        }
        bits
    }

    fn poll_register(&self, table: &mut PollTable) -> KResult<()> {
        table.add_shared(&self.ring.pollers[self.side.index()]).map(|_| ())
    }

    fn poll_events(&self) -> u64 {
        let ring = &self.ring;
        ring.post(self.side.rx()).wrapping_add(ring.taken(self.side.tx())).wrapping_add(ring.state())
    }

    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }

    fn release(&self) {
        self.ring.end_closed(self.side);
    }
}

/// The ring end a descriptor's open file is, if it is one.
pub fn of(file: &OpenFile) -> Option<&End> {
    file.ops.as_any()?.downcast_ref::<End>()
}
