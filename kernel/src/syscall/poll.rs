//! Readiness syscalls: poll, ppoll, select, pselect6, epoll, eventfd.

use exo_abi::nr;

use super::Handler;

pub const fn register(_t: &mut [Option<Handler>; nr::COUNT]) {}
