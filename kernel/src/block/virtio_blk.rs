//! The virtio-blk driver: `virtio-drivers`' `VirtIOBlk` over the modern PCI transport
//! (`pci::virtio`), interrupt-driven, with several requests in flight.
//!
//! - **Requests** go through the crate's non-blocking calls (`read_blocks_nb`,
//!   `write_blocks_nb`, then `complete_*` once the device returned the token). The queue has 16
//!   descriptors and each request takes 3 (header, data, status), so [`SLOTS`] (5) requests
//!   are in flight at once. Each slot owns a physically contiguous bounce buffer of
//!   [`MAX_TRANSFER`] (256 KiB, one buddy block) that the device reads or writes; the caller's
//!   segments (cache pages) are copied in before a write and out after a read, so any number of
//!   scattered pages becomes one request.
//! - **Waiting**: a caller takes a free slot (sleeping on `slot_wait` when all five are busy),
//!   submits under `state`, then sleeps on `done_wait`. The queue's MSI-X interrupt only counts
//!   and wakes `done_wait`; whichever woken caller gets `state` first takes every finished
//!   request out of the used ring (in the device's order) and marks its slot done, so requests
//!   finish in any order. A request the device does not answer within [`TIMEOUT_NS`] (30 s) is
//!   an `EIO`; its slot stays with the device until it answers.
//! - **Flush** (VIRTIO_BLK_F_FLUSH): the crate has only a blocking flush that expects an empty
//!   queue, so a flush first takes all five slots (no request in flight), then issues it under
//!   `state` (the crate polls the used ring; `state` is a sleeping mutex, so the caller may be
//!   preempted meanwhile). A device without a volatile cache needs none.
//! - **Errors**: a failed request (status IOERR/UNSUPP) is `EIO` with a log line; a write to a
//!   read-only device (VIRTIO_BLK_F_RO) is `EROFS`.
//!
//! Locks: `state` (sleeping, `sched::sync::Mutex`): the crate's queue and the token→slot map,
//! held only to submit or reap (and across a flush); nothing is taken under it but the heap.
//! `flush_lock` (sleeping) serializes flushes, before `state`. The slot bitmap is atomic.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

use exo_abi::{Errno, KResult};
use virtio_drivers::device::blk::{BlkReq, BlkResp, VirtIOBlk};

use super::Disk;
use crate::arch;
use crate::pci::dma::DmaRegion;
use crate::pci::virtio::{self, ExoHal, ExoTransport, MsixRouting, VirtioLayout};
use crate::pci;
use crate::sched::sync::Mutex;
use crate::sched::wait::{WaitOutcome, WaitQueue};

/// Requests in flight at once (16 descriptors, 3 per request).
pub const SLOTS: usize = 5;
/// Largest transfer of one request (bytes).
pub const MAX_TRANSFER: usize = 256 * 1024;
/// Longest wait for the device's answer.
const TIMEOUT_NS: u64 = 30_000_000_000;
/// Most disks driven (interrupt handlers find them in a fixed table).
const MAX_DISKS: usize = 16;
/// virtio-blk device ids (transitional 0x1001, modern 0x1042).
const DEVICE_IDS: [u16; 2] = [0x1001, 0x1042];

/// A slot's completion state.
const PENDING: u8 = 0;
const DONE_OK: u8 = 1;
const DONE_ERR: u8 = 2;
/// The waiter gave up (timeout): the slot is freed when the device answers.
const ABANDONED: u8 = 3;

type Blk = VirtIOBlk<ExoHal, ExoTransport>;

/// The request header and status byte of one slot (the device reads and writes them: they
/// live on the heap, in the direct map, at fixed addresses).
#[derive(Default)]
struct SlotBufs {
    req: BlkReq,
    resp: BlkResp,
}

#[derive(Clone, Copy)]
struct InFlight {
    token: u16,
    write: bool,
    len: usize,
}

struct State {
    blk: Box<Blk>,
    bufs: Box<[SlotBufs; SLOTS]>,
    inflight: [Option<InFlight>; SLOTS],
}

/// One virtio-blk disk.
pub struct VirtioBlk {
    name: String,
    sectors: u64,
    read_only: bool,
    pci: Arc<pci::Device>,
    state: Mutex<State>,
    /// Bounce buffers, one per slot.
    bounce: [DmaRegion; SLOTS],
    /// Bit i set: slot i is free.
    free: AtomicU32,
    done: [AtomicU8; SLOTS],
    slot_wait: WaitQueue,
    done_wait: WaitQueue,
    /// Interrupts taken (the wait condition's "something happened").
    irq_seq: AtomicU64,
    flush_lock: Mutex<()>,
    requests: AtomicU64,
    errors: AtomicU64,
}

static DISKS: [spin::Once<Arc<VirtioBlk>>; MAX_DISKS] = [const { spin::Once::new() }; MAX_DISKS];

/// The most requests seen in flight at once on any disk (the in-kernel tests check that
/// requests overlap).
static MAX_IN_FLIGHT: AtomicU32 = AtomicU32::new(0);

#[cfg(feature = "ktest")]
pub fn max_in_flight() -> u32 {
    MAX_IN_FLIGHT.load(Ordering::Relaxed)
}

/// The virtio-blk functions on the bus.
pub fn candidates() -> Vec<Arc<pci::Device>> {
    pci::find(virtio::VIRTIO_VENDOR, &DEVICE_IDS)
}

/// Interrupt handler of disk `index`: count, wake the waiters (they reap).
fn on_interrupt(index: usize) {
    if let Some(disk) = DISKS.get(index).and_then(|slot| slot.get()) {
        disk.irq_seq.fetch_add(1, Ordering::SeqCst);
        disk.done_wait.wake_all();
    }
}

fn error<E: core::fmt::Debug>(what: &str, e: E) -> String {
    format!("{what}: {e:?}")
}

/// Initializes the device and moves the driver to the heap in a frame of its own (the driver
/// holds its queue by value).
#[inline(never)]
fn new_blk(transport: ExoTransport) -> virtio_drivers::Result<Box<Blk>> {
    Ok(Box::new(Blk::new(transport)?))
}

fn check_vectors(layout: &VirtioLayout) -> Result<(), String> {
    let (config, queue) = (virtio::config_vector(layout), virtio::queue_vector(layout, 0));
    if config != 0 || queue != 1 {
        return Err(format!("the device refused its MSI-X entries (config {config:#x}, queue {queue:#x})"));
    }
    Ok(())
}

/// Starts virtio-blk function `dev` as disk number `index` (`vd` + letter).
pub fn start(dev: Arc<pci::Device>, index: usize) -> Result<Arc<VirtioBlk>, String> {
    if index >= MAX_DISKS {
        return Err(format!("more than {MAX_DISKS} disks"));
    }
    if !dev.msix.is_some_and(|m| m.table_size >= 2) {
        return Err(String::from("no MSI-X capability with 2 entries (INTx is not supported)"));
    }
    if !dev.claim("virtio-blk") {
        return Err(format!("already driven by {}", dev.driver()));
    }
    let config_vector = arch::msi::allocate(on_interrupt, index).ok_or("no free interrupt vector")?;
    let queue_vector = arch::msi::allocate(on_interrupt, index).ok_or("no free interrupt vector")?;
    dev.enable_msix(&[(0, config_vector), (1, queue_vector)]).map_err(|e| error("MSI-X", e))?;
    let routing = MsixRouting { config: 0, queues: [1; 4] };
    let (transport, layout) = virtio::transport_for(&dev, Some(routing)).map_err(|e| error("transport", e))?;
    let mut bounce = Vec::with_capacity(SLOTS);
    for _ in 0..SLOTS {
        bounce.push(DmaRegion::alloc(MAX_TRANSFER / 4096).ok_or("no memory for the bounce buffers")?);
    }
    let bounce: [DmaRegion; SLOTS] = bounce.try_into().map_err(|_| String::from("bounce buffers"))?;
    let mut blk = new_blk(transport).map_err(|e| error("initialization", e))?;
    check_vectors(&layout)?;
    blk.enable_interrupts();
    let name = format!("vd{}", char::from(b'a' + index as u8));
    let disk = Arc::new(VirtioBlk {
        sectors: blk.capacity(),
        read_only: blk.readonly(),
        name,
        pci: dev,
        state: Mutex::new(State { blk, bufs: Box::default(), inflight: [None; SLOTS] }),
        bounce,
        free: AtomicU32::new((1 << SLOTS) - 1),
        done: [const { AtomicU8::new(PENDING) }; SLOTS],
        slot_wait: WaitQueue::new(),
        done_wait: WaitQueue::new(),
        irq_seq: AtomicU64::new(0),
        flush_lock: Mutex::new(()),
        requests: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    });
    DISKS[index].call_once(|| disk.clone());
    log::info!(
        "{}: virtio-blk at {}, {} sectors ({} MiB){}, MSI-X vector {:#x}, {} requests of up to {} KiB in flight",
        disk.name, disk.pci.bdf, disk.sectors, disk.sectors / 2048,
        if disk.read_only { ", read-only" } else { "" }, queue_vector, SLOTS, MAX_TRANSFER / 1024
    );
    Ok(disk)
}

impl VirtioBlk {
    fn try_take_slot(&self) -> Option<usize> {
        let mut free = self.free.load(Ordering::Acquire);
        while free != 0 {
            let slot = free.trailing_zeros() as usize;
            match self.free.compare_exchange(free, free & !(1 << slot), Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(slot),
                Err(now) => free = now,
            }
        }
        None
    }

    /// Takes a free slot, sleeping while all are busy (EIO after the timeout).
    fn take_slot(&self) -> KResult<usize> {
        let mut slot = None;
        let deadline = crate::time::since_boot_ns().saturating_add(TIMEOUT_NS);
        let outcome = self.slot_wait.wait_interruptible(
            || {
                slot = slot.or_else(|| self.try_take_slot());
                slot.is_some()
            },
            || false,
            Some(deadline),
        );
        match (slot, outcome) {
            (Some(slot), _) => Ok(slot),
            (None, _) => {
                log::error!("{}: no request slot came free in 30 s", self.name);
                Err(Errno::EIO)
            }
        }
    }

    fn release_slot(&self, slot: usize) {
        self.free.fetch_or(1 << slot, Ordering::AcqRel);
        self.slot_wait.wake_all();
    }

    /// Takes every finished request out of the used ring and marks its slot.
    fn reap(&self) {
        let mut finished = false;
        {
            let mut st = self.state.lock();
            let State { blk, bufs, inflight } = &mut *st;
            while let Some(token) = blk.peek_used() {
                let Some(slot) = inflight.iter().position(|f| f.is_some_and(|f| f.token == token)) else {
                    log::error!("{}: the device returned unknown token {token}", self.name);
                    break;
                };
                let Some(f) = inflight[slot].take() else { break };
                // SAFETY: the device has returned this slot's buffer (its token is in the used
                // ring); the waiter does not touch it until `done` says so below.
                let Some(buf) = (unsafe { self.bounce[slot].slice_mut(0, f.len) }) else { break };
                let b = &mut bufs[slot];
                // SAFETY: the same header, buffer and status that were submitted with `token`.
                let result = unsafe {
                    if f.write {
                        blk.complete_write_blocks(token, &b.req, buf, &mut b.resp)
                    } else {
                        blk.complete_read_blocks(token, &b.req, buf, &mut b.resp)
                    }
                };
                if let Err(e) = result {
                    self.errors.fetch_add(1, Ordering::Relaxed);
                    log::error!("{}: {} request failed: {e:?}", self.name, if f.write { "write" } else { "read" });
                }
                let state = if result.is_ok() { DONE_OK } else { DONE_ERR };
                if self.done[slot].swap(state, Ordering::AcqRel) == ABANDONED {
                    self.release_slot(slot);
                }
                finished = true;
            }
        }
        if finished {
            self.done_wait.wake_all();
        }
    }

    /// Waits until the request of `slot` is done; Err(EIO) after the timeout (the slot is then
    /// left to the device).
    fn wait_done(&self, slot: usize) -> KResult<bool> {
        let deadline = crate::time::since_boot_ns().saturating_add(TIMEOUT_NS);
        loop {
            let seq = self.irq_seq.load(Ordering::SeqCst);
            self.reap();
            let state = self.done[slot].load(Ordering::Acquire);
            if state != PENDING {
                return Ok(state == DONE_OK);
            }
            let outcome = self.done_wait.wait_interruptible(
                || self.done[slot].load(Ordering::Acquire) != PENDING || self.irq_seq.load(Ordering::SeqCst) != seq,
                || false,
                Some(deadline),
            );
            if outcome == WaitOutcome::TimedOut
                && self.done[slot].compare_exchange(PENDING, ABANDONED, Ordering::AcqRel, Ordering::Acquire).is_ok()
            {
                log::error!("{}: the device did not answer a request in 30 s", self.name);
                return Err(Errno::EIO);
            }
        }
    }

    /// One request of `len` bytes at `sector` through a slot; `fill` writes the bounce buffer
    /// before a write, `take` reads it after a read.
    fn request(&self, sector: u64, len: usize, write: bool, fill: impl FnOnce(&mut [u8]), take: impl FnOnce(&[u8])) -> KResult<()> {
        if write && self.read_only {
            return Err(Errno::EROFS);
        }
        let sectors = (len / 512) as u64;
        if len == 0 || len % 512 != 0 || len > MAX_TRANSFER || sector.checked_add(sectors).is_none_or(|end| end > self.sectors) {
            return Err(Errno::EIO);
        }
        let slot = self.take_slot()?;
        if write {
            // SAFETY: the slot was just taken: neither the device nor another caller uses its
            // buffer until it is submitted below.
            match unsafe { self.bounce[slot].slice_mut(0, len) } {
                Some(buf) => fill(buf),
                None => {
                    self.release_slot(slot);
                    return Err(Errno::EIO);
                }
            }
        }
        self.done[slot].store(PENDING, Ordering::Release);
        let submitted = {
            let mut st = self.state.lock();
            let State { blk, bufs, inflight } = &mut *st;
            let b = &mut bufs[slot];
            // SAFETY: the slot's buffer belongs to this caller; from here the device owns it
            // (and the slot's header and status, at fixed heap addresses) until `reap`
            // completes the token. It is not touched meanwhile.
            let result = unsafe {
                match self.bounce[slot].slice_mut(0, len) {
                    Some(buf) if write => blk.write_blocks_nb(sector as usize, &mut b.req, buf, &mut b.resp),
                    Some(buf) => blk.read_blocks_nb(sector as usize, &mut b.req, buf, &mut b.resp),
                    None => Err(virtio_drivers::Error::InvalidParam),
                }
            };
            let submitted = result.map(|token| inflight[slot] = Some(InFlight { token, write, len }));
            let busy = inflight.iter().filter(|f| f.is_some()).count() as u32;
            MAX_IN_FLIGHT.fetch_max(busy, Ordering::Relaxed);
            submitted
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = submitted {
            self.release_slot(slot);
            self.errors.fetch_add(1, Ordering::Relaxed);
            log::error!("{}: cannot submit a request: {e:?}", self.name);
            return Err(Errno::EIO);
        }
        let ok = self.wait_done(slot)?;
        if ok && !write {
            // SAFETY: the device is done with the buffer (reaped) and the slot is still ours.
            if let Some(buf) = unsafe { self.bounce[slot].slice(0, len) } {
                take(buf);
            }
        }
        self.release_slot(slot);
        if ok { Ok(()) } else { Err(Errno::EIO) }
    }
}

impl Disk for VirtioBlk {
    fn name(&self) -> &str {
        &self.name
    }

    fn sectors(&self) -> u64 {
        self.sectors
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn max_transfer(&self) -> usize {
        MAX_TRANSFER
    }

    fn read(&self, sector: u64, segments: &mut [&mut [u8]]) -> KResult<()> {
        let len = segments.iter().map(|s| s.len()).sum();
        self.request(sector, len, false, |_| {}, |buf| {
            let mut at = 0;
            for seg in segments.iter_mut() {
                seg.copy_from_slice(&buf[at..at + seg.len()]);
                at += seg.len();
            }
        })
    }

    fn write(&self, sector: u64, segments: &[&[u8]]) -> KResult<()> {
        let len = segments.iter().map(|s| s.len()).sum();
        self.request(sector, len, true, |buf| {
            let mut at = 0;
            for seg in segments {
                buf[at..at + seg.len()].copy_from_slice(seg);
                at += seg.len();
            }
        }, |_| {})
    }

    fn flush(&self) -> KResult<()> {
        if self.read_only {
            return Ok(());
        }
        let _serial = self.flush_lock.lock();
        let mut held = Vec::with_capacity(SLOTS);
        let mut result = Ok(());
        for _ in 0..SLOTS {
            match self.take_slot() {
                Ok(slot) => held.push(slot),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if result.is_ok() {
            // No request is in flight: the crate's blocking flush finds an empty queue.
            let flushed = self.state.lock().blk.flush();
            if let Err(e) = flushed {
                self.errors.fetch_add(1, Ordering::Relaxed);
                log::error!("{}: flush failed: {e:?}", self.name);
                result = Err(Errno::EIO);
            }
        }
        for slot in held {
            self.release_slot(slot);
        }
        result
    }
}
