//! The adapter from a network card (`netdev::NetDevice`) to smoltcp's `Device`, and the
//! attachment of every card found at boot as an interface (`eth0`, ...). A received frame is
//! copied out of the card's buffer into one of ours (recycled, so no allocation once warm),
//! because smoltcp consumes its receive token after the card's callback returned. A transmit
//! is built in a scratch frame and copied into the card's buffer; when the card has none free
//! (ENOBUFS) the frame is dropped and the interface reports itself exhausted until the next
//! poll (TCP retransmits; the card's notify wakes the network thread when buffers free up).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

use exo_abi::Errno;
use exo_inet::procnet::Counters;
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use crate::netdev::NetDevice;

/// Receive buffers kept for reuse.
const SPARE: usize = 32;
/// Ethernet header bytes in a frame (smoltcp's MTU for Ethernet counts them).
const ETH_HEADER: usize = 14;

pub struct EthDev {
    dev: Arc<dyn NetDevice>,
    spare: RefCell<Vec<Vec<u8>>>,
    /// Where smoltcp builds a frame before the card takes it.
    scratch: RefCell<Vec<u8>>,
    /// The card refused a transmit since the last poll began.
    full: Cell<bool>,
}

pub struct EthRx<'a> {
    buf: Vec<u8>,
    spare: &'a RefCell<Vec<Vec<u8>>>,
}

pub struct EthTx<'a> {
    eth: &'a EthDev,
}

impl phy::RxToken for EthRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let result = f(&self.buf);
        let mut spare = self.spare.borrow_mut();
        if spare.len() < SPARE && spare.try_reserve(1).is_ok() {
            spare.push(self.buf);
        }
        result
    }
}

impl phy::TxToken for EthTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        // smoltcp builds the frame in our buffer (its closure must run whatever the card
        // says), then the card copies it into one of its own.
        let mut scratch = self.eth.scratch.borrow_mut();
        scratch.clear();
        if scratch.try_reserve(len).is_err() {
            return f(&mut []);
        }
        scratch.resize(len, 0);
        let result = f(&mut scratch);
        let sent = self.eth.dev.transmit(len, &mut |frame| {
            let n = frame.len().min(len);
            frame[..n].copy_from_slice(&scratch[..n]);
        });
        if sent == Err(Errno::ENOBUFS) {
            self.eth.full.set(true);
        }
        result
    }
}

impl EthDev {
    pub fn new(dev: Arc<dyn NetDevice>) -> EthDev {
        EthDev { dev, spare: RefCell::new(Vec::new()), scratch: RefCell::new(Vec::new()), full: Cell::new(false) }
    }

    /// A poll begins: try the card again.
    pub fn begin_poll(&self) {
        self.full.set(false);
    }

    pub fn receive(&mut self, _t: Instant) -> Option<(EthRx<'_>, EthTx<'_>)> {
        let mut buf = self.spare.borrow_mut().pop().unwrap_or_default();
        let mut copied = false;
        let pending = self.dev.receive(&mut |frame| {
            buf.clear();
            if buf.try_reserve(frame.len()).is_ok() {
                buf.extend_from_slice(frame);
                copied = true;
            }
        });
        if !pending {
            let mut spare = self.spare.borrow_mut();
            if spare.len() < SPARE && spare.try_reserve(1).is_ok() {
                spare.push(buf);
            }
            return None;
        }
        if !copied {
            // No memory for the frame: hand smoltcp an empty one (it skips it).
            buf.clear();
        }
        Some((EthRx { buf, spare: &self.spare }, EthTx { eth: self }))
    }

    pub fn transmit(&mut self, _t: Instant) -> Option<EthTx<'_>> {
        (!self.full.get()).then_some(EthTx { eth: self })
    }

    pub fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.dev.mtu() + ETH_HEADER;
        caps
    }

    pub fn counters(&self) -> Counters {
        let s = self.dev.stats();
        Counters {
            rx_bytes: s.rx_bytes,
            rx_packets: s.rx_packets,
            rx_errors: s.rx_errors,
            rx_dropped: s.rx_dropped,
            tx_bytes: s.tx_bytes,
            tx_packets: s.tx_packets,
            tx_errors: s.tx_errors,
            tx_dropped: s.tx_dropped,
        }
    }

    pub fn link_up(&self) -> bool {
        self.dev.link_up()
    }
}

/// Adds an interface per network card found at boot; its notify wakes the network thread.
pub fn attach_all(stack: &mut super::stack::Stack) {
    for dev in crate::netdev::devices() {
        let mut mac = dev.mac();
        // smoltcp refuses a multicast hardware address.
        mac[0] &= !1;
        let name = String::from(dev.name());
        let mtu = dev.mtu();
        dev.set_notify(super::thread::device_notify);
        let i = stack.add_iface(name, super::device::Dev::Eth(EthDev::new(dev)), mac, mtu);
        log::info!("net: {} attached, MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", stack.ifaces[i].name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    }
}
