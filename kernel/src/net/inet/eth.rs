//! The adapter from a network card (`netdev::NetDevice`) to smoltcp's `Device`. Placeholder
//! until the `netdev` layer exists: no card, so no `eth` interface.

use exo_inet::procnet::Counters;
use smoltcp::phy::{self, DeviceCapabilities};
use smoltcp::time::Instant;

pub enum EthDev {}
pub enum EthRx<'a> {
    _Never(core::convert::Infallible, core::marker::PhantomData<&'a ()>),
}
pub enum EthTx<'a> {
    _Never(core::convert::Infallible, core::marker::PhantomData<&'a ()>),
}

impl phy::RxToken for EthRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, _f: F) -> R {
        match self {
            EthRx::_Never(n, _) => match n {},
        }
    }
}

impl phy::TxToken for EthTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, _len: usize, _f: F) -> R {
        match self {
            EthTx::_Never(n, _) => match n {},
        }
    }
}

impl EthDev {
    pub fn receive(&mut self, _t: Instant) -> Option<(EthRx<'_>, EthTx<'_>)> {
        match *self {}
    }
    pub fn transmit(&mut self, _t: Instant) -> Option<EthTx<'_>> {
        match *self {}
    }
    pub fn capabilities(&self) -> DeviceCapabilities {
        match *self {}
    }
    pub fn counters(&self) -> Counters {
        match *self {}
    }
}

/// Adds an interface per network card (none until the `netdev` layer exists).
pub fn attach_all(_stack: &mut super::stack::Stack) {}
