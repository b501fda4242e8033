//! The ring object: its memory (frames the kernel owns, mapped into the ends' processes), its
//! state, its waiters and pollers, and its pending grants. See docs/ipc.md.
//!
//! The kernel reads ring memory only at fixed word offsets, with atomic loads (`POST`, `TAKEN`,
//! heads and tails for waits, poll and /proc/fusion); it writes only the kernel page. Nothing a
//! peer stores there can make the kernel index out of bounds or trust a length.
//!
//! Lock rule: `grants` (a sleeping mutex per direction) is a leaf for ring code; the wait
//! queues and poll queues are the scheduler's (leaves). Nothing here is taken under the
//! memory map's lock except frame references.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::fusion::{self as abi, cons, kpage, prod, Layout};
use exo_abi::{Errno, KResult};

use crate::memory::frames;
use crate::sched::pollwait::{CountMirror, PollQueue};
use crate::sched::wait::WaitQueue;
use crate::sched::sync::Mutex;

use super::budget::Charge;
use super::grant::{Flight, Grant};

/// Words of one 4 KiB page, through the kernel's direct map.
pub type Page = [AtomicU64; 512];

/// A direction of a ring: A→B or B→A.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    AtoB,
    BtoA,
}

impl Dir {
    pub fn index(self) -> usize {
        self as usize
    }
}

/// An end of a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

impl Side {
    /// The direction this end sends on, and the one it receives on.
    pub fn tx(self) -> Dir {
        match self {
            Side::A => Dir::AtoB,
            Side::B => Dir::BtoA,
        }
    }
    pub fn rx(self) -> Dir {
        match self {
            Side::A => Dir::BtoA,
            Side::B => Dir::AtoB,
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn peer(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
    fn closed_bit(self) -> u64 {
        match self {
            Side::A => abi::STATE_A_CLOSED,
            Side::B => abi::STATE_B_CLOSED,
        }
    }
}

/// One ring.
pub struct Ring {
    pub id: u64,
    pub layout: Layout,
    pub kind: u8,
    /// The mapping's frames, page by page; the ring holds one reference on each.
    frames: Vec<u64>,
    /// The kernel page, read-only to user space.
    kpage: &'static Page,
    /// The control pages (producer and consumer page of each direction).
    prod: [&'static Page; 2],
    cons: [&'static Page; 2],
    /// Threads waiting for data on a direction (its readers), and for space (its writer).
    data_waiters: [WaitQueue; 2],
    space_waiters: [WaitQueue; 2],
    /// poll/select/epoll of each end (their counts mirrored in the kernel page).
    pub pollers: [Arc<PollQueue>; 2],
    /// Grants waiting to be accepted by the receiver of each direction.
    pub grants: [Mutex<Vec<Grant>>; 2],
    /// Next grant id.
    pub next_grant: AtomicU64,
    /// Descriptor-flight counters (cycle prevention, `grant`).
    pub flight: Arc<Flight>,
    /// The ring's pages, charged to the Fusion budget.
    _charge: Charge,
}

/// The words of a frame through the direct map.
fn page_words(frame: u64) -> Option<&'static Page> {
    let virt = crate::memory::phys_to_virt(frame)?;
    // SAFETY: `frame` is a page-aligned 4 KiB frame the ring owns a reference on for its whole
    // life (`Ring::drop` releases it after the last use of these references, which never
    // escape a `Ring`); the direct map maps it writable; atomics tolerate the concurrent
    // user-space accesses through other mappings, and any bit pattern is a valid u64.
    Some(unsafe { &*(virt as *const Page) })
}

/// The poller count of an end, stored into the kernel page (user space reads it to know that
/// somebody polls the end and must be woken).
struct PollerWord {
    frame: u64,
    word: usize,
    /// Keeps the kernel page's frame alive as long as the poll queue (a poll table may hold
    /// the queue after the ring is gone).
    _hold: FrameHold,
}

impl CountMirror for PollerWord {
    fn store(&self, count: usize) {
        if let Some(words) = page_words(self.frame) {
            words[self.word].store(count as u64, Ordering::SeqCst);
        }
    }
}

/// One extra reference on a frame, dropped with this.
struct FrameHold(u64);

impl FrameHold {
    fn new(frame: u64) -> FrameHold {
        frames::adjust_refcount(frame, 1);
        FrameHold(frame)
    }
}

impl Drop for FrameHold {
    fn drop(&mut self) {
        frames::release_many(&[self.0]);
    }
}

impl Ring {
    /// A new ring: zeroed memory, the kernel page filled in. ENOMEM when memory runs short
    /// (nothing kept).
    pub fn new(id: u64, layout: Layout, kind: u8) -> KResult<Arc<Ring>> {
        let count = usize::try_from(layout.pages()).map_err(|_| Errno::ENOMEM)?;
        let charge = Charge::take(count)?;
        let mut owned = Vec::new();
        owned.try_reserve_exact(count).map_err(|_| Errno::ENOMEM)?;
        let mut taken = OwnedFrames(owned);
        for _ in 0..count {
            taken.0.push(crate::process::mm::user_frame()?);
        }
        let words = |page: u64| page_words(taken.0[page as usize]).ok_or(Errno::ENOMEM);
        let kpage = words(abi::PAGE_KERNEL)?;
        let prod = [words(abi::PAGE_PROD_AB)?, words(abi::PAGE_PROD_BA)?];
        let cons = [words(abi::PAGE_CONS_AB)?, words(abi::PAGE_CONS_BA)?];
        let kframe = taken.0[abi::PAGE_KERNEL as usize];
        let poller = |word| -> KResult<Arc<PollQueue>> {
            let mirror: Arc<dyn CountMirror> = Arc::new(PollerWord { frame: kframe, word, _hold: FrameHold::new(kframe) });
            Ok(Arc::new(PollQueue::mirrored(mirror)))
        };
        let pollers = [poller(kpage::POLLERS_A)?, poller(kpage::POLLERS_B)?];
        kpage[kpage::MAGIC].store(abi::MAGIC, Ordering::Relaxed);
        let geometry = layout.slots as u64 | (layout.lanes_ab as u64) << 32 | (layout.lanes_ba as u64) << 40 | (kind as u64) << 48;
        kpage[kpage::GEOMETRY].store(geometry, Ordering::Relaxed);
        let frames = core::mem::take(&mut taken.0);
        Ok(Arc::new(Ring {
            id,
            layout,
            kind,
            frames,
            kpage,
            prod,
            cons,
            data_waiters: [WaitQueue::new(), WaitQueue::new()],
            space_waiters: [WaitQueue::new(), WaitQueue::new()],
            pollers,
            grants: [Mutex::new(Vec::new()), Mutex::new(Vec::new())],
            next_grant: AtomicU64::new(1),
            flight: Arc::new(Flight::default()),
            _charge: charge,
        }))
    }

    /// The frames of the mapping, page by page.
    pub fn frames(&self) -> &[u64] {
        &self.frames
    }

    pub fn state(&self) -> u64 {
        self.kpage[kpage::STATE].load(Ordering::SeqCst)
    }

    /// Whether waits of `side` end with EPIPE: its peer is closed or the ring shut down.
    pub fn cut_off(&self, side: Side) -> bool {
        self.state() & (side.peer().closed_bit() | abi::STATE_SHUTDOWN) != 0
    }

    /// Counts an open description of `side` (a new descriptor, DUP, an accepted grant).
    pub fn end_opened(&self, side: Side) {
        self.kpage[kpage::ENDS_A + side.index()].fetch_add(1, Ordering::SeqCst);
    }

    /// The last descriptor of one description of `side` closed: when it was the end's last,
    /// the end is closed; the peer's waits and pollers wake (EPIPE, POLLHUP) and the grants
    /// only this end could take are freed.
    pub fn end_closed(&self, side: Side) {
        let word = &self.kpage[kpage::ENDS_A + side.index()];
        if word.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        self.kpage[kpage::STATE].fetch_or(side.closed_bit(), Ordering::SeqCst);
        let stale = core::mem::take(&mut *self.grants[side.rx().index()].lock());
        drop(stale);
        self.wake_everyone();
    }

    /// Shuts the ring down for both ends (CTL_SHUTDOWN).
    pub fn shut_down(&self, reason: u64) {
        self.kpage[kpage::SHUTDOWN_REASON].store(reason, Ordering::SeqCst);
        self.kpage[kpage::STATE].fetch_or(abi::STATE_SHUTDOWN, Ordering::SeqCst);
        self.wake_everyone();
    }

    fn wake_everyone(&self) {
        for queue in self.data_waiters.iter().chain(self.space_waiters.iter()) {
            queue.wake_all();
        }
        for pollers in &self.pollers {
            pollers.notify();
        }
    }

    /// The word a `WAIT_DATA` of direction `dir` watches (`POST`), and a `WAIT_SPACE`'s
    /// (`TAKEN`).
    pub fn post(&self, dir: Dir) -> u64 {
        self.prod[dir.index()][prod::POST].load(Ordering::SeqCst)
    }
    pub fn taken(&self, dir: Dir) -> u64 {
        self.cons[dir.index()][cons::TAKEN].load(Ordering::SeqCst)
    }

    /// Lanes of a direction.
    pub fn lanes(&self, dir: Dir) -> usize {
        match dir {
            Dir::AtoB => self.layout.lanes_ab as usize,
            Dir::BtoA => self.layout.lanes_ba as usize,
        }
    }

    /// Slots in flight on a direction (heads minus tails, each lane clamped to its size: the
    /// words are untrusted), and the direction's capacity in slots.
    pub fn occupancy(&self, dir: Dir) -> (u64, u64) {
        let slots = self.layout.slots as u64;
        let mut used = 0;
        for lane in 0..self.lanes(dir).min(abi::LANES_MAX as usize) {
            let head = self.prod[dir.index()][prod::HEAD + lane].load(Ordering::Relaxed);
            let tail = self.cons[dir.index()][cons::TAIL + lane].load(Ordering::Relaxed);
            used += head.wrapping_sub(tail).min(slots);
        }
        (used, slots * self.lanes(dir) as u64)
    }

    /// The latency histogram of a direction, as its reader stored it (untrusted numbers).
    pub fn histogram(&self, dir: Dir) -> [u64; cons::HIST_BUCKETS] {
        core::array::from_fn(|b| self.cons[dir.index()][cons::HIST + b].load(Ordering::Relaxed))
    }

    /// Payload bytes published and consumed on a direction (untrusted numbers).
    pub fn bytes(&self, dir: Dir) -> (u64, u64) {
        (self.prod[dir.index()][prod::BYTES].load(Ordering::Relaxed), self.cons[dir.index()][cons::BYTES].load(Ordering::Relaxed))
    }

    /// Waiter and poller counts, from the kernel page.
    pub fn kword(&self, word: usize) -> u64 {
        self.kpage.get(word).map_or(0, |w| w.load(Ordering::Relaxed))
    }

    /// Wakes the readers of `dir` (`WAKE_DATA`) and the pollers of its receiving end; returns
    /// how many threads woke.
    pub fn wake_data(&self, dir: Dir) -> usize {
        self.pollers[receiver(dir).index()].notify();
        self.data_waiters[dir.index()].wake_all()
    }

    /// Wakes the writer of `dir` (`WAKE_SPACE`) and the pollers of its sending end.
    pub fn wake_space(&self, dir: Dir) -> usize {
        self.pollers[sender(dir).index()].notify();
        self.space_waiters[dir.index()].wake_all()
    }

    /// For a hand-off: notifies the pollers of `dir`'s receiving end and takes one reader of
    /// `dir` out of its queue without waking it (the caller switches to it or wakes it).
    pub fn take_reader(&self, dir: Dir) -> Option<Arc<crate::sched::Thread>> {
        self.pollers[receiver(dir).index()].notify();
        let first = self.data_waiters[dir.index()].take_one();
        // Only a multicast ring has other readers (its subscribers): they wake the ordinary way.
        if self.kind == abi::KIND_MULTICAST {
            self.data_waiters[dir.index()].wake_all();
        }
        first
    }

    /// Sleeps while `dir`'s POST (`data`) or TAKEN (space) equals `expected`, the ring is open
    /// for `side`, no signal is pending and the deadline has not passed, handing the CPU to
    /// `handoff` if given. The waiter count in the kernel page covers the whole wait (see
    /// docs/ipc.md for why no wake-up is lost).
    pub fn wait(
        &self,
        side: Side,
        dir: Dir,
        data: bool,
        expected: u64,
        deadline: Option<u64>,
        interrupted: impl Fn() -> bool,
        handoff: Option<Arc<crate::sched::Thread>>,
    ) -> KResult<()> {
        let (queue, word) = if data {
            (&self.data_waiters[dir.index()], data_waiters_word(dir))
        } else {
            (&self.space_waiters[dir.index()], data_waiters_word(dir) + 1)
        };
        let watched = || if data { self.post(dir) } else { self.taken(dir) };
        self.kpage[word].fetch_add(1, Ordering::SeqCst);
        let outcome = queue.wait_handing_off(|| watched() != expected || self.cut_off(side), interrupted, deadline, handoff);
        self.kpage[word].fetch_sub(1, Ordering::SeqCst);
        if watched() != expected {
            return Ok(());
        }
        match outcome {
            _ if self.cut_off(side) => Err(Errno::EPIPE),
            crate::sched::wait::WaitOutcome::Ready => Ok(()),
            crate::sched::wait::WaitOutcome::TimedOut => Err(Errno::ETIMEDOUT),
            crate::sched::wait::WaitOutcome::Interrupted => Err(Errno::EINTR),
        }
    }
}

/// The kernel-page word counting the readers waiting on `dir` (the writer's is the next one).
fn data_waiters_word(dir: Dir) -> usize {
    match dir {
        Dir::AtoB => kpage::DATA_WAITERS_AB,
        Dir::BtoA => kpage::DATA_WAITERS_BA,
    }
}

/// The end that receives on `dir`, and the one that sends on it.
pub fn receiver(dir: Dir) -> Side {
    match dir {
        Dir::AtoB => Side::B,
        Dir::BtoA => Side::A,
    }
}
pub fn sender(dir: Dir) -> Side {
    receiver(dir).peer()
}

impl Drop for Ring {
    fn drop(&mut self) {
        // Pending grants first (their pages and descriptors), then the ring's own frames.
        for grants in &self.grants {
            let pending = core::mem::take(&mut *grants.lock());
            drop(pending);
        }
        frames::release_many(&self.frames);
    }
}

/// Frames allocated for a ring being built: freed if it is not finished.
struct OwnedFrames(Vec<u64>);

impl Drop for OwnedFrames {
    fn drop(&mut self) {
        frames::release_many(&self.0);
    }
}
