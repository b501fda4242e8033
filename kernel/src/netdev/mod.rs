//! Network devices: the interface the network stack drives ([`NetDevice`]), the list of the
//! devices found at boot ([`devices`], eth0 first) and their drivers (today virtio-net,
//! [`virtio_net`]).
//!
//! The stack sends with [`NetDevice::transmit`] and takes received frames with
//! [`NetDevice::receive`], from thread context on any CPU; a device calls the function given
//! to [`NetDevice::set_notify`] from its interrupt handler when frames arrive or transmit
//! buffers free up. The contract of that notification is NAPI's: after it, call `receive`
//! until it returns false (the device raises its next receive interrupt only once the
//! frames it reported have been taken), and retry a transmit that failed with ENOBUFS.

pub mod virtio_net;

use alloc::sync::Arc;
use alloc::vec::Vec;

/// Counters of one device (what /proc/net/dev and ifconfig show).
#[derive(Clone, Copy, Default, Debug)]
pub struct NetStats { pub rx_packets: u64, pub rx_bytes: u64, pub rx_dropped: u64, pub rx_errors: u64,
                      pub tx_packets: u64, pub tx_bytes: u64, pub tx_dropped: u64, pub tx_errors: u64 }

pub trait NetDevice: Send + Sync {
    fn name(&self) -> &str;                  // "eth0", "eth1", ...
    fn mac(&self) -> [u8; 6];
    fn mtu(&self) -> usize;                  // payload MTU, 1500
    fn link_up(&self) -> bool;
    /// Sends one Ethernet frame of `len` bytes (no FCS) that `fill` writes; Err(ENOBUFS) when no
    /// transmit buffer is free right now (the caller retries after the next notify), EMSGSIZE if len > mtu+14.
    fn transmit(&self, len: usize, fill: &mut dyn FnMut(&mut [u8])) -> exo_abi::KResult<()>;
    /// Hands the oldest received frame to `take` and re-posts its buffer; false when none is pending.
    fn receive(&self, take: &mut dyn FnMut(&[u8])) -> bool;
    /// Registers the function called (from interrupt context: it may only wake/flag, never block or
    /// allocate) when frames arrive or transmit buffers free up.
    fn set_notify(&self, notify: fn());
    fn stats(&self) -> NetStats;

    /// How the device interrupts ("MSI-X", ...), for the in-kernel tests.
    #[cfg_attr(not(feature = "ktest"), allow(dead_code))]
    fn irq_mode(&self) -> &'static str {
        "none"
    }
    /// Interrupts the device raised since boot (the in-kernel tests count them per frame).
    #[cfg_attr(not(feature = "ktest"), allow(dead_code))]
    fn interrupts(&self) -> u64 {
        0
    }
}

static DEVICES: spin::Once<Vec<Arc<dyn NetDevice>>> = spin::Once::new();

/// Finds and starts every network device on the PCI bus (once; after `pci::init`). Logs one
/// line per device started, or why one was skipped.
pub fn probe() -> usize {
    DEVICES
        .call_once(|| {
            let mut found: Vec<Arc<dyn NetDevice>> = Vec::new();
            for dev in virtio_net::candidates() {
                match virtio_net::start(dev.clone(), found.len()) {
                    Ok(nic) => found.push(nic),
                    Err(why) => log::warn!("pci {}: virtio-net not started: {why}", dev.bdf),
                }
            }
            found
        })
        .len()
}

/// Every network device found at boot, in probe order (eth0 first).
pub fn devices() -> alloc::vec::Vec<alloc::sync::Arc<dyn NetDevice>> {
    DEVICES.get().cloned().unwrap_or_default()
}
