//! Mount syscalls: mount, umount2 (for tmpfs, proc, devtmpfs).

use exo_abi::nr;

use super::Handler;

pub const fn register(_t: &mut [Option<Handler>; nr::COUNT]) {}
