//! Request/reply correlation (docs/ipc.md, *RequestReplyChannel*): every request gets a
//! 64-bit id (never 0) that its reply carries back. The pending table (`N` entries, no
//! allocation) holds each outstanding call's deadline; a reply matches its call, a reply
//! after its deadline or for an id no longer pending is dropped, and [`Correlator::expire`]
//! reports the calls whose deadline passed.

/// What a reply's id means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMatch {
    /// The reply of a pending call (now removed from the table).
    Matched { id: u64, sent_at: u64 },
    /// A call issued by this correlator but timed out (or cancelled, or already answered):
    /// drop the reply.
    Late(u64),
    /// An id this correlator never issued: the peer is confused or hostile.
    Unknown(u64),
}

#[derive(Clone, Copy, Debug, Default)]
struct Pending {
    id: u64,
    sent_at: u64,
    deadline: u64,
}

/// Ids and the pending table of up to `N` outstanding calls.
#[derive(Clone, Debug)]
pub struct Correlator<const N: usize> {
    next_id: u64,
    table: [Pending; N],
}

impl<const N: usize> Default for Correlator<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Correlator<N> {
    pub const fn new() -> Self {
        Correlator { next_id: 1, table: [Pending { id: 0, sent_at: 0, deadline: 0 }; N] }
    }

    /// Outstanding calls.
    pub fn pending(&self) -> usize {
        self.table.iter().filter(|p| p.id != 0).count()
    }

    /// A new call at time `now` that times out at `now + timeout`: its id, or `None` if `N`
    /// calls are already outstanding.
    pub fn begin(&mut self, now: u64, timeout: u64) -> Option<u64> {
        let slot = self.table.iter_mut().find(|p| p.id == 0)?;
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        *slot = Pending { id, sent_at: now, deadline: now.saturating_add(timeout) };
        Some(id)
    }

    /// The reply carrying `id` arrived at `now`.
    pub fn on_reply(&mut self, id: u64, now: u64) -> ReplyMatch {
        if id == 0 || id >= self.next_id {
            return ReplyMatch::Unknown(id);
        }
        match self.table.iter_mut().find(|p| p.id == id) {
            Some(p) => {
                let done = *p;
                *p = Pending::default();
                if now > done.deadline {
                    ReplyMatch::Late(id)
                } else {
                    ReplyMatch::Matched { id, sent_at: done.sent_at }
                }
            }
            None => ReplyMatch::Late(id),
        }
    }

    /// Forgets a call (its reply will be [`ReplyMatch::Late`]). `false` if it was not pending.
    pub fn cancel(&mut self, id: u64) -> bool {
        match self.table.iter_mut().find(|p| p.id == id && id != 0) {
            Some(p) => {
                *p = Pending::default();
                true
            }
            None => false,
        }
    }

    /// Removes and returns one call whose deadline is before `now` (call it until `None`).
    pub fn expire(&mut self, now: u64) -> Option<u64> {
        let p = self.table.iter_mut().find(|p| p.id != 0 && p.deadline < now)?;
        let id = p.id;
        *p = Pending::default();
        Some(id)
    }

    /// The earliest deadline of the pending calls (how long a `fusion_wait` may sleep).
    pub fn next_deadline(&self) -> Option<u64> {
        self.table.iter().filter(|p| p.id != 0).map(|p| p.deadline).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_match_their_calls() {
        let mut c = Correlator::<4>::new();
        let a = c.begin(100, 50).unwrap();
        let b = c.begin(110, 50).unwrap();
        assert_ne!(a, b);
        assert_eq!(c.pending(), 2);
        assert_eq!(c.next_deadline(), Some(150));
        assert_eq!(c.on_reply(b, 120), ReplyMatch::Matched { id: b, sent_at: 110 });
        assert_eq!(c.on_reply(b, 121), ReplyMatch::Late(b));
        assert_eq!(c.on_reply(999, 121), ReplyMatch::Unknown(999));
        assert_eq!(c.on_reply(0, 121), ReplyMatch::Unknown(0));
        assert_eq!(c.on_reply(a, 150), ReplyMatch::Matched { id: a, sent_at: 100 });
        assert_eq!(c.pending(), 0);
    }

    #[test]
    fn timeouts_expire_and_late_replies_are_dropped() {
        let mut c = Correlator::<2>::new();
        let a = c.begin(0, 10).unwrap();
        let b = c.begin(0, 20).unwrap();
        assert_eq!(c.begin(0, 5), None);
        assert_eq!(c.expire(10), None);
        assert_eq!(c.expire(11), Some(a));
        assert_eq!(c.expire(11), None);
        assert_eq!(c.on_reply(a, 12), ReplyMatch::Late(a));
        // A reply past its deadline that expire() has not seen yet is late too.
        assert_eq!(c.on_reply(b, 25), ReplyMatch::Late(b));
        let d = c.begin(30, 1).unwrap();
        assert!(c.cancel(d));
        assert!(!c.cancel(d));
        assert_eq!(c.on_reply(d, 30), ReplyMatch::Late(d));
    }

    #[test]
    fn ids_are_never_zero_and_never_repeat_soon() {
        let mut c = Correlator::<1>::new();
        let mut last = 0;
        for t in 0..1000 {
            let id = c.begin(t, 1).unwrap();
            assert!(id > last);
            last = id;
            assert!(matches!(c.on_reply(id, t), ReplyMatch::Matched { .. }));
        }
    }
}
