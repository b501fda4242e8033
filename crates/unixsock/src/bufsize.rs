//! SO_SNDBUF and SO_RCVBUF as Linux computes them: the value set is doubled (room for the
//! kernel's bookkeeping), first capped at `wmem_max`/`rmem_max`, and never below the minimum.
//! getsockopt reports the doubled value.

/// `net.core.wmem_default` and `rmem_default`: a new socket's buffers.
pub const DEFAULT_BUF: u32 = 212_992;
/// `net.core.wmem_max` / `rmem_max`: the most setsockopt accepts before doubling.
pub const MAX_BUF: u32 = 212_992;
/// Linux's SOCK_MIN_SNDBUF (two minimal buffers).
pub const MIN_SNDBUF: u32 = 4608;
/// Linux's SOCK_MIN_RCVBUF.
pub const MIN_RCVBUF: u32 = 2304;

/// The SO_SNDBUF value stored for setsockopt's `value`.
pub fn sndbuf(value: i32) -> u32 {
    doubled(value, MIN_SNDBUF)
}

/// The SO_RCVBUF value stored for setsockopt's `value`.
pub fn rcvbuf(value: i32) -> u32 {
    doubled(value, MIN_RCVBUF)
}

fn doubled(value: i32, min: u32) -> u32 {
    // Linux compares as u32 (a negative value is huge, so capped), then doubles as int.
    let capped = (value as u32).min(MAX_BUF);
    (capped * 2).max(min)
}

/// Most bytes one datagram may carry on a socket whose SO_SNDBUF is `sndbuf` (Linux:
/// EMSGSIZE above `sk_sndbuf - 32`).
pub fn max_datagram(sndbuf: u32) -> usize {
    sndbuf.saturating_sub(32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_and_bounds() {
        assert_eq!(sndbuf(1000), 4608);
        assert_eq!(sndbuf(10_000), 20_000);
        assert_eq!(rcvbuf(1), MIN_RCVBUF);
        assert_eq!(rcvbuf(-1), 2 * MAX_BUF);
        assert_eq!(sndbuf(i32::MAX), 2 * MAX_BUF);
        assert_eq!(max_datagram(10), 0);
    }

    proptest::proptest! {
        #[test]
        fn always_within_bounds(v: i32) {
            let s = sndbuf(v);
            proptest::prop_assert!((MIN_SNDBUF..=2 * MAX_BUF).contains(&s));
            let r = rcvbuf(v);
            proptest::prop_assert!((MIN_RCVBUF..=2 * MAX_BUF).contains(&r));
        }
    }
}
