//! The smoltcp devices under the interfaces: the loopback device of `lo` (a bounded queue of
//! IP packets that recycles its buffers, so a packet costs no allocation once warm) and, for
//! each network card, the adapter from `netdev::NetDevice` to smoltcp's `Device` (in `eth`).
//! [`Dev`] is either, so every interface has one type.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::cell::RefCell;

use exo_inet::procnet::Counters;
use smoltcp::phy::{self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Largest IP packet on `lo` (Linux's lo MTU is 65536; an IPv4 packet is at most 65535).
pub const LO_MTU: usize = 65535;
/// Packets `lo` holds before transmit reports "exhausted" (the caller's poll drains them).
const LO_QUEUE: usize = 64;
/// Buffers kept for reuse.
const LO_SPARE: usize = 16;

struct LoInner {
    queue: VecDeque<Vec<u8>>,
    spare: Vec<Vec<u8>>,
    counters: Counters,
}

/// The loopback device: what is sent is received next.
pub struct Loopback {
    inner: RefCell<LoInner>,
}

impl Loopback {
    pub fn new() -> Loopback {
        Loopback { inner: RefCell::new(LoInner { queue: VecDeque::new(), spare: Vec::new(), counters: Counters::default() }) }
    }

    /// Whether packets wait to be received.
    pub fn pending(&self) -> bool {
        !self.inner.borrow().queue.is_empty()
    }

    pub fn counters(&self) -> Counters {
        self.inner.borrow().counters
    }
}

pub struct LoRx<'a> {
    buf: Vec<u8>,
    inner: &'a RefCell<LoInner>,
}

pub struct LoTx<'a> {
    inner: &'a RefCell<LoInner>,
}

impl phy::RxToken for LoRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let result = f(&self.buf);
        let mut inner = self.inner.borrow_mut();
        if inner.spare.len() < LO_SPARE && inner.spare.try_reserve(1).is_ok() {
            inner.spare.push(self.buf);
        }
        result
    }
}

impl phy::TxToken for LoTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = self.inner.borrow_mut().spare.pop().unwrap_or_default();
        buf.clear();
        let fits = buf.try_reserve(len).is_ok();
        if fits {
            buf.resize(len, 0);
        }
        // smoltcp's closure must run (it moves the socket's state on); a packet that found no
        // memory is built in a scratch slice and dropped, as a device would drop it.
        let result = if fits { f(&mut buf) } else { f(&mut []) };
        let mut inner = self.inner.borrow_mut();
        if fits && inner.queue.try_reserve(1).is_ok() {
            inner.counters.tx_packets += 1;
            inner.counters.tx_bytes += len as u64;
            inner.counters.rx_packets += 1;
            inner.counters.rx_bytes += len as u64;
            inner.queue.push_back(buf);
        } else {
            inner.counters.tx_dropped += 1;
        }
        result
    }
}

/// The device of one interface.
pub enum Dev {
    Lo(Loopback),
    Eth(super::eth::EthDev),
}

pub enum Rx<'a> {
    Lo(LoRx<'a>),
    Eth(super::eth::EthRx<'a>),
}

pub enum Tx<'a> {
    Lo(LoTx<'a>),
    Eth(super::eth::EthTx<'a>),
}

impl phy::RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        match self {
            Rx::Lo(t) => t.consume(f),
            Rx::Eth(t) => t.consume(f),
        }
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        match self {
            Tx::Lo(t) => t.consume(len, f),
            Tx::Eth(t) => t.consume(len, f),
        }
    }
}

impl phy::Device for Dev {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, timestamp: Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        match self {
            Dev::Lo(lo) => {
                let buf = lo.inner.borrow_mut().queue.pop_front()?;
                Some((Rx::Lo(LoRx { buf, inner: &lo.inner }), Tx::Lo(LoTx { inner: &lo.inner })))
            }
            Dev::Eth(eth) => eth.receive(timestamp).map(|(rx, tx)| (Rx::Eth(rx), Tx::Eth(tx))),
        }
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Tx<'_>> {
        match self {
            Dev::Lo(lo) => (lo.inner.borrow().queue.len() < LO_QUEUE).then(|| Tx::Lo(LoTx { inner: &lo.inner })),
            Dev::Eth(eth) => eth.transmit(timestamp).map(Tx::Eth),
        }
    }

    fn capabilities(&self) -> DeviceCapabilities {
        match self {
            Dev::Lo(_) => {
                // Nothing corrupts a packet on its way through memory: no checksums on lo.
                let mut checksum = ChecksumCapabilities::ignored();
                checksum.ipv4 = Checksum::None;
                let mut caps = DeviceCapabilities::default();
                caps.medium = Medium::Ip;
                caps.max_transmission_unit = LO_MTU;
                caps.checksum = checksum;
                caps
            }
            Dev::Eth(eth) => eth.capabilities(),
        }
    }
}

impl Dev {
    /// Whether a poll would find packets to receive (lo only: a NIC tells by interrupt).
    pub fn pending(&self) -> bool {
        match self {
            Dev::Lo(lo) => lo.pending(),
            Dev::Eth(_) => false,
        }
    }

    pub fn counters(&self) -> Counters {
        match self {
            Dev::Lo(lo) => lo.counters(),
            Dev::Eth(eth) => eth.counters(),
        }
    }
}
