//! Credit-based back-pressure (docs/ipc.md, *Flow control*): a sender may have at most
//! `window_msgs` messages and `window_bytes` payload bytes in flight, where in flight is its
//! own `POST`/`BYTES` ([`crate::ring::Producer::sent`]) minus the consumer page's
//! `TAKEN`/`BYTES` ([`crate::ring::Producer::peer_taken`]). The consumer's words are
//! untrusted: more taken than sent is [`Credit::Corrupt`].

/// The answer of [`CreditController::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credit {
    /// The message may be sent.
    Send,
    /// Not now: wait for space (`fusion_wait(WAIT_SPACE, taken)`).
    Wait,
    /// The consumer claims to have taken more than was sent: stop using the ring.
    Corrupt,
}

/// A window in messages and bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditController {
    pub window_msgs: u64,
    pub window_bytes: u64,
}

impl CreditController {
    pub const fn new(window_msgs: u64, window_bytes: u64) -> Self {
        CreditController { window_msgs, window_bytes }
    }

    /// Messages and bytes in flight, or `None` if the consumer's counters are ahead of ours.
    pub fn in_flight(sent: (u64, u64), taken: (u64, u64)) -> Option<(u64, u64)> {
        let msgs = sent.0.checked_sub(taken.0)?;
        let bytes = sent.1.checked_sub(taken.1)?;
        Some((msgs, bytes))
    }

    /// May a message of `len` bytes be sent now? `sent`: the producer's (messages, bytes);
    /// `taken`: the consumer page's. A message larger than the byte window goes when nothing
    /// is in flight (otherwise it could never go).
    pub fn check(&self, sent: (u64, u64), taken: (u64, u64), len: u64) -> Credit {
        let Some((msgs, bytes)) = Self::in_flight(sent, taken) else {
            return Credit::Corrupt;
        };
        if msgs == 0 {
            return Credit::Send;
        }
        if msgs >= self.window_msgs || bytes.saturating_add(len) > self.window_bytes {
            return Credit::Wait;
        }
        Credit::Send
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_bounds_messages_and_bytes() {
        let c = CreditController::new(4, 1000);
        assert_eq!(c.check((0, 0), (0, 0), 5000), Credit::Send);
        assert_eq!(c.check((3, 100), (0, 0), 10), Credit::Send);
        assert_eq!(c.check((4, 100), (0, 0), 10), Credit::Wait);
        assert_eq!(c.check((4, 100), (1, 10), 10), Credit::Send);
        assert_eq!(c.check((2, 900), (0, 0), 101), Credit::Wait);
        assert_eq!(c.check((2, 900), (0, 0), 100), Credit::Send);
        assert_eq!(c.check((2, 900), (3, 0), 1), Credit::Corrupt);
        assert_eq!(c.check((2, 900), (1, 901), 1), Credit::Corrupt);
        assert_eq!(CreditController::in_flight((10, 10), (4, 3)), Some((6, 7)));
    }
}
