//! The virtio-net driver: `virtio-drivers`' `VirtIONetRaw` over the modern PCI transport
//! (`pci::virtio`), with the buffers, locking and interrupts Exo-OS adds.
//!
//! - **Queues**: one receive and one transmit queue of [`QUEUE_SIZE`] (256) entries, the
//!   device's maximum on QEMU. Each has a DMA region of 256 buffers of [`BUF_SIZE`] (2 KiB:
//!   the 12-byte virtio-net header and a 1514-byte frame). Every receive buffer is posted at
//!   start and re-posted as soon as its frame has been handed over, so the device always has
//!   the whole ring to fill; transmit buffers come from a free list and return to it when the
//!   device has used them (reclaimed by the next transmit).
//! - **Interrupts**: MSI-X. Table entry 0 signals configuration changes (link status), entry 1
//!   both queues; each gets its own CPU vector (`arch::msi`). The handlers only count and call
//!   the registered notify function. A device without MSI-X (or that refuses the vectors) is
//!   not started: legacy INTx through the I/O APIC is not supported.
//!   Interrupt suppression is the device's: with VIRTIO_F_EVENT_IDX it raises the next used-
//!   buffer interrupt only after the driver took what was reported (`used_event`).
//! - **Locks**: `state` (spin, not irq: no interrupt handler takes it) guards the queues and
//!   the token→buffer maps; `notify` (irq spin, a leaf) guards the notify function, which the
//!   interrupt handler reads. Neither `fill` (transmit) nor `take` (receive) runs under a lock:
//!   a buffer is taken out of the free list or the used ring under `state`, filled or read
//!   with no lock held (it then belongs to the caller alone), and given back under `state`.
//!   So the stack may hold its own locks around calls into the device (its locks come
//!   before `state`), and concurrent callers work on different buffers.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use exo_abi::{Errno, KResult};
use virtio_drivers::device::net::VirtIONetRaw;

use super::{NetDevice, NetStats};
use crate::arch;
use crate::pci::dma::DmaRegion;
use crate::pci::virtio::{self, ExoHal, ExoTransport, MsixRouting, VirtioLayout};
use crate::pci::{self, Mmio};
use crate::spinlock::{IrqSpinLock, SpinLock as Mutex};

/// Entries of each queue.
pub const QUEUE_SIZE: usize = 256;
/// Bytes of each receive and transmit buffer.
pub const BUF_SIZE: usize = 2048;
/// Most NICs driven (their interrupt handlers find them in a fixed table).
const MAX_NICS: usize = 8;
/// Payload MTU and the Ethernet header.
const MTU: usize = 1500;
const ETH_HEADER: usize = 14;
/// Modern virtio-net device ids (transitional 0x1000, modern 0x1041).
const DEVICE_IDS: [u16; 2] = [0x1000, 0x1041];

type Raw = VirtIONetRaw<ExoHal, ExoTransport, QUEUE_SIZE>;

/// The queues and which buffer each in-flight token stands for.
struct State {
    /// The driver (about 8.5 KiB: the queues' descriptor shadows), on the heap.
    net: Box<Raw>,
    /// Receive token (descriptor index) → buffer slot.
    rx_slot: [u16; QUEUE_SIZE],
    /// Transmit token → buffer slot, and each slot's submitted length (header included).
    tx_slot: [u16; QUEUE_SIZE],
    tx_len: [u16; QUEUE_SIZE],
    /// Free transmit slots (a stack).
    tx_free: Vec<u16>,
}

#[derive(Default)]
struct Counters {
    rx_packets: AtomicU64,
    rx_bytes: AtomicU64,
    rx_dropped: AtomicU64,
    rx_errors: AtomicU64,
    tx_packets: AtomicU64,
    tx_bytes: AtomicU64,
    tx_dropped: AtomicU64,
    tx_errors: AtomicU64,
    interrupts: AtomicU64,
}

/// One virtio-net device.
pub struct VirtioNet {
    name: String,
    mac: [u8; 6],
    pci: Arc<pci::Device>,
    state: Mutex<State>,
    rx: DmaRegion,
    tx: DmaRegion,
    /// Length of the virtio-net header in front of every frame.
    header: usize,
    /// The device-specific configuration (MAC, status).
    device_config: Option<Mmio>,
    notify: IrqSpinLock<Option<fn()>>,
    counters: Counters,
}

/// The started NICs, for the interrupt handlers (indexed by the NIC's number).
static NICS: [spin::Once<Arc<VirtioNet>>; MAX_NICS] = [const { spin::Once::new() }; MAX_NICS];

/// The virtio-net functions on the bus.
pub fn candidates() -> Vec<Arc<pci::Device>> {
    pci::find(virtio::VIRTIO_VENDOR, &DEVICE_IDS)
}

/// Interrupt handler of both queues of NIC `index`: count, notify.
fn on_queue_interrupt(index: usize) {
    if let Some(nic) = NICS.get(index).and_then(|slot| slot.get()) {
        nic.counters.interrupts.fetch_add(1, Ordering::Relaxed);
        let notify = *nic.notify.lock();
        if let Some(notify) = notify {
            notify();
        }
    }
}

/// Interrupt handler of configuration changes (the link went up or down): notify too, so the
/// stack looks at `link_up` again.
fn on_config_interrupt(index: usize) {
    on_queue_interrupt(index)
}

fn error<E: core::fmt::Debug>(what: &str, e: E) -> String {
    format!("{what}: {e:?}")
}

/// Starts the virtio-net function `dev` as NIC number `index` (`eth<index>`).
pub fn start(dev: Arc<pci::Device>, index: usize) -> Result<Arc<dyn NetDevice>, String> {
    if index >= MAX_NICS {
        return Err(format!("more than {MAX_NICS} NICs"));
    }
    if !dev.msix.is_some_and(|m| m.table_size >= 2) {
        return Err(String::from("no MSI-X capability with 2 entries (INTx is not supported)"));
    }
    if !dev.claim("virtio-net") {
        return Err(format!("already driven by {}", dev.driver()));
    }
    let config_vector = arch::msi::allocate(on_config_interrupt, index).ok_or("no free interrupt vector")?;
    let queue_vector = arch::msi::allocate(on_queue_interrupt, index).ok_or("no free interrupt vector")?;
    dev.enable_msix(&[(0, config_vector), (1, queue_vector)]).map_err(|e| error("MSI-X", e))?;
    let routing = MsixRouting { config: 0, queues: [1; 4] };
    let (transport, layout) = virtio::transport_for(&dev, Some(routing)).map_err(|e| error("transport", e))?;
    let pages = QUEUE_SIZE * BUF_SIZE / 4096;
    let (rx, tx) = match (DmaRegion::alloc(pages), DmaRegion::alloc(pages)) {
        (Some(rx), Some(tx)) => (rx, tx),
        _ => return Err(String::from("no memory for the buffers")),
    };
    let net = new_raw(transport).map_err(|e| error("initialization (are the queues 256 entries?)", e))?;
    check_vectors(&layout)?;
    let header = net.fill_buffer_header(&mut [0u8; 32]).map_err(|e| error("header", e))?;
    let mut state = State {
        net,
        rx_slot: [0; QUEUE_SIZE],
        tx_slot: [0; QUEUE_SIZE],
        tx_len: [0; QUEUE_SIZE],
        tx_free: (0..QUEUE_SIZE as u16).rev().collect(),
    };
    state.net.enable_interrupts();
    let mac = state.net.mac_address();
    for slot in 0..QUEUE_SIZE {
        post_receive(&mut state, &rx, slot as u16).map_err(|e| error("posting receive buffers", e))?;
    }
    let nic = Arc::new(VirtioNet {
        name: format!("eth{index}"),
        mac,
        pci: dev,
        state: Mutex::new(state),
        rx,
        tx,
        header,
        device_config: layout.device,
        notify: IrqSpinLock::new(None),
        counters: Counters::default(),
    });
    NICS[index].call_once(|| nic.clone());
    log::info!(
        "{}: virtio-net {} at {}, MSI-X (vectors {:#x} config, {:#x} queues), {} rx / {} tx entries, link {}",
        nic.name, format_mac(mac), nic.pci.bdf, config_vector, queue_vector, QUEUE_SIZE, QUEUE_SIZE,
        if nic.link_up() { "up" } else { "down" }
    );
    Ok(nic)
}

/// Initializes the device and moves the driver to the heap, in a frame of its own: the driver
/// is large and the boot stack small, so `start`'s frame must not hold copies of it.
#[inline(never)]
fn new_raw(transport: ExoTransport) -> virtio_drivers::Result<Box<Raw>> {
    Ok(Box::new(Raw::new(transport)?))
}

/// Checks that the device took the MSI-X entries it was given.
fn check_vectors(layout: &VirtioLayout) -> Result<(), String> {
    let config = virtio::config_vector(layout);
    let queues = [virtio::queue_vector(layout, 0), virtio::queue_vector(layout, 1)];
    if config == virtio::NO_VECTOR || queues.contains(&virtio::NO_VECTOR) || config != 0 || queues != [1, 1] {
        return Err(format!("the device refused its MSI-X entries (config {config:#x}, queues {queues:x?})"));
    }
    Ok(())
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: [u8; 6]) -> String {
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])
}

/// Gives receive buffer `slot` to the device.
fn post_receive(state: &mut State, rx: &DmaRegion, slot: u16) -> virtio_drivers::Result<()> {
    // SAFETY: slot `slot` belongs to the caller (never posted, or just taken back from the
    // used ring and handed over), so no one else reads or writes it while the slice lives.
    let buf = unsafe { rx.slice_mut(usize::from(slot) * BUF_SIZE, BUF_SIZE) }.ok_or(virtio_drivers::Error::InvalidParam)?;
    // SAFETY: the buffer is DMA memory that stays allocated as long as the queue (both live in
    // the `VirtioNet`), and it is not touched again until the device returns its token.
    let token = unsafe { state.net.receive_begin(buf) }?;
    state.rx_slot[usize::from(token) % QUEUE_SIZE] = slot;
    Ok(())
}

impl VirtioNet {
    /// Takes back every transmit buffer the device has finished with.
    fn reclaim(&self, state: &mut State) {
        while let Some(token) = state.net.poll_transmit() {
            let slot = state.tx_slot[usize::from(token) % QUEUE_SIZE];
            let len = usize::from(state.tx_len[usize::from(slot)]);
            // SAFETY: the device is done with this buffer (it is in the used ring); it is the
            // one submitted with `token`, of that length.
            let buf = unsafe { self.tx.slice(usize::from(slot) * BUF_SIZE, len) }.unwrap_or(&[]);
            // SAFETY: the same buffer that `transmit_begin` was given for this token.
            match unsafe { state.net.transmit_complete(token, buf) } {
                Ok(_) => state.tx_free.push(slot),
                Err(e) => {
                    log::error!("{}: transmit completion {token}: {e:?}", self.name);
                    self.counters.tx_errors.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
    }
}

impl NetDevice for VirtioNet {
    fn name(&self) -> &str {
        &self.name
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn mtu(&self) -> usize {
        MTU
    }

    fn link_up(&self) -> bool {
        // The status field (offset 6; VIRTIO_NET_F_STATUS, which QEMU offers): bit 0 = up.
        self.device_config.filter(|c| c.len() >= 8).is_none_or(|c| c.read16(6) & 1 != 0)
    }

    fn transmit(&self, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> KResult<()> {
        if len > MTU + ETH_HEADER {
            return Err(Errno::EMSGSIZE);
        }
        if len < ETH_HEADER {
            return Err(Errno::EINVAL);
        }
        let slot = {
            let mut state = self.state.lock();
            self.reclaim(&mut state);
            state.tx_free.pop().ok_or(Errno::ENOBUFS)?
        };
        let total = self.header + len;
        {
            // SAFETY: the slot was just taken off the free list: neither the device nor
            // another caller uses it until it is submitted below.
            let Some(buf) = (unsafe { self.tx.slice_mut(usize::from(slot) * BUF_SIZE, total) }) else {
                self.state.lock().tx_free.push(slot);
                return Err(Errno::EMSGSIZE);
            };
            buf[..self.header].fill(0);
            fill(&mut buf[self.header..]);
        }
        let mut state = self.state.lock();
        // SAFETY: as above; the exclusive slice is gone, this one only lets the device read.
        let frame = unsafe { self.tx.slice(usize::from(slot) * BUF_SIZE, total) }.unwrap_or(&[]);
        // SAFETY: the buffer stays allocated and untouched until `reclaim` takes it back.
        match unsafe { state.net.transmit_begin(frame) } {
            Ok(token) => {
                state.tx_slot[usize::from(token) % QUEUE_SIZE] = slot;
                state.tx_len[usize::from(slot)] = total as u16;
                drop(state);
                self.counters.tx_packets.fetch_add(1, Ordering::Relaxed);
                self.counters.tx_bytes.fetch_add(len as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                state.tx_free.push(slot);
                drop(state);
                self.counters.tx_errors.fetch_add(1, Ordering::Relaxed);
                log::warn!("{}: transmit: {e:?}", self.name);
                Err(Errno::EIO)
            }
        }
    }

    fn receive(&self, take: &mut dyn FnMut(&[u8])) -> bool {
        let (slot, start, len) = {
            let mut state = self.state.lock();
            let Some(token) = state.net.poll_receive() else { return false };
            let slot = state.rx_slot[usize::from(token) % QUEUE_SIZE];
            // SAFETY: the device has returned this buffer (its token is in the used ring);
            // it is the one posted with `token`.
            let Some(buf) = (unsafe { self.rx.slice_mut(usize::from(slot) * BUF_SIZE, BUF_SIZE) }) else { return false };
            // SAFETY: the same buffer `receive_begin` was given for this token.
            match unsafe { state.net.receive_complete(token, buf) } {
                Ok((header, len)) => (slot, header, len),
                Err(e) => {
                    self.counters.rx_errors.fetch_add(1, Ordering::Relaxed);
                    log::warn!("{}: receive: {e:?}", self.name);
                    if post_receive(&mut state, &self.rx, slot).is_err() {
                        self.counters.rx_dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    return true;
                }
            }
        };
        // SAFETY: the buffer is out of the device's hands until it is posted again below, and
        // this caller alone holds its slot.
        match unsafe { self.rx.slice(usize::from(slot) * BUF_SIZE + start, len) } {
            Some(frame) if start + len <= BUF_SIZE => {
                take(frame);
                self.counters.rx_packets.fetch_add(1, Ordering::Relaxed);
                self.counters.rx_bytes.fetch_add(len as u64, Ordering::Relaxed);
            }
            _ => {
                self.counters.rx_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        let mut state = self.state.lock();
        if let Err(e) = post_receive(&mut state, &self.rx, slot) {
            drop(state);
            log::error!("{}: re-posting receive buffer {slot}: {e:?}", self.name);
        }
        true
    }

    fn set_notify(&self, notify: fn()) {
        *self.notify.lock() = Some(notify);
    }

    fn stats(&self) -> NetStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        NetStats {
            rx_packets: get(&c.rx_packets),
            rx_bytes: get(&c.rx_bytes),
            rx_dropped: get(&c.rx_dropped),
            rx_errors: get(&c.rx_errors),
            tx_packets: get(&c.tx_packets),
            tx_bytes: get(&c.tx_bytes),
            tx_dropped: get(&c.tx_dropped),
            tx_errors: get(&c.tx_errors),
        }
    }

    fn irq_mode(&self) -> &'static str {
        "MSI-X"
    }

    fn interrupts(&self) -> u64 {
        self.counters.interrupts.load(Ordering::Relaxed)
    }
}
