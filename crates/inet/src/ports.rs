//! The local ports of one protocol (TCP or UDP): who holds each, and Linux's rule for a new
//! bind. Two bindings of one port conflict when their addresses overlap (equal, or either is
//! INADDR_ANY) unless both have SO_REUSEADDR and the old one is not listening (Linux's
//! `inet_csk_bind_conflict` without SO_REUSEPORT). A connection kept after its socket was
//! closed (TIME_WAIT, orphans finishing their close) keeps its binding until it is gone, so a
//! server restarting on its port needs SO_REUSEADDR, as on Linux. `listen` checks again: two
//! reusing sockets bound to one port cannot both listen.
//!
//! Ephemeral ports (port 0, or connect without bind) come from Linux's default range
//! 32768..=60999, searched from a rotating start for a port nobody holds.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use exo_abi::Errno;

use crate::{Ipv4, ANY};

/// Linux's `ip_local_port_range` default.
pub const EPHEMERAL_FIRST: u16 = 32768;
pub const EPHEMERAL_LAST: u16 = 60999;

/// One holder of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    pub addr: Ipv4,
    /// Who holds it (a socket id; an orphaned connection keeps its socket's id).
    pub owner: u64,
    pub reuse: bool,
    pub listening: bool,
}

/// The bound ports of one protocol.
#[derive(Default)]
pub struct PortTable {
    ports: BTreeMap<u16, Vec<Binding>>,
    next: u16,
}

fn overlap(a: Ipv4, b: Ipv4) -> bool {
    a == b || a == ANY || b == ANY
}

impl PortTable {
    pub const fn new() -> PortTable {
        PortTable { ports: BTreeMap::new(), next: 0 }
    }

    fn conflicts(&self, addr: Ipv4, port: u16, reuse: bool, owner: u64) -> bool {
        self.ports.get(&port).is_some_and(|holders| {
            holders.iter().any(|b| b.owner != owner && overlap(b.addr, addr) && !(reuse && b.reuse && !b.listening))
        })
    }

    /// Binds `owner` to `addr:port` (port 0: an ephemeral port) and returns the port.
    /// EADDRINUSE on a conflict or when no ephemeral port is free; ENOMEM when the table
    /// cannot grow.
    pub fn bind(&mut self, addr: Ipv4, port: u16, owner: u64, reuse: bool) -> Result<u16, Errno> {
        let port = if port == 0 {
            self.ephemeral().ok_or(Errno::EADDRINUSE)?
        } else if self.conflicts(addr, port, reuse, owner) {
            return Err(Errno::EADDRINUSE);
        } else {
            port
        };
        let holders = self.ports.entry(port).or_default();
        holders.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        holders.push(Binding { addr, owner, reuse, listening: false });
        Ok(port)
    }

    /// Adds a holder without checking (an accepted connection shares its listener's port).
    pub fn share(&mut self, addr: Ipv4, port: u16, owner: u64, reuse: bool) -> Result<(), Errno> {
        let holders = self.ports.entry(port).or_default();
        holders.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        holders.push(Binding { addr, owner, reuse, listening: false });
        Ok(())
    }

    /// A port nobody holds, from the ephemeral range.
    fn ephemeral(&mut self) -> Option<u16> {
        let span = u32::from(EPHEMERAL_LAST - EPHEMERAL_FIRST) + 1;
        for i in 0..span {
            let offset = (u32::from(self.next) + i) % span;
            let port = EPHEMERAL_FIRST + offset as u16;
            if !self.ports.contains_key(&port) {
                self.next = ((offset + 1) % span) as u16;
                return Some(port);
            }
        }
        None
    }

    /// Marks `owner`'s binding of `port` as listening: EADDRINUSE when another listener
    /// overlaps it.
    pub fn listen(&mut self, port: u16, owner: u64) -> Result<(), Errno> {
        let holders = self.ports.get_mut(&port).ok_or(Errno::EINVAL)?;
        let Some(mine) = holders.iter().find(|b| b.owner == owner).copied() else { return Err(Errno::EINVAL) };
        if holders.iter().any(|b| b.owner != owner && overlap(b.addr, mine.addr) && (b.listening || !(mine.reuse && b.reuse))) {
            return Err(Errno::EADDRINUSE);
        }
        for b in holders.iter_mut().filter(|b| b.owner == owner) {
            b.listening = true;
        }
        Ok(())
    }

    /// Changes `owner`'s SO_REUSEADDR on `port`, or its listening mark (a listener closing
    /// stops blocking others at once even if its connections linger).
    pub fn update(&mut self, port: u16, owner: u64, reuse: bool, listening: bool) {
        if let Some(holders) = self.ports.get_mut(&port) {
            for b in holders.iter_mut().filter(|b| b.owner == owner) {
                b.reuse = reuse;
                b.listening = listening;
            }
        }
    }

    /// Drops one of `owner`'s holds on `port`.
    pub fn release(&mut self, port: u16, owner: u64) {
        if let Some(holders) = self.ports.get_mut(&port) {
            if let Some(i) = holders.iter().position(|b| b.owner == owner) {
                holders.swap_remove(i);
            }
            if holders.is_empty() {
                self.ports.remove(&port);
            }
        }
    }

    /// The holders of `port`.
    pub fn holders(&self, port: u16) -> &[Binding] {
        self.ports.get(&port).map_or(&[], |v| v.as_slice())
    }

    /// Number of bound ports.
    pub fn len(&self) -> usize {
        self.ports.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const LO: Ipv4 = [127, 0, 0, 1];

    #[test]
    fn conflicts_follow_linux() {
        let mut t = PortTable::new();
        assert_eq!(t.bind(LO, 80, 1, false), Ok(80));
        assert_eq!(t.bind(LO, 80, 2, false), Err(Errno::EADDRINUSE));
        assert_eq!(t.bind(ANY, 80, 2, false), Err(Errno::EADDRINUSE));
        assert_eq!(t.bind([10, 0, 2, 15], 80, 2, false), Ok(80));
        // Both reusing and not listening: allowed.
        assert_eq!(t.bind(ANY, 81, 3, true), Ok(81));
        assert_eq!(t.bind(ANY, 81, 4, true), Ok(81));
        // Only one of them may listen.
        assert_eq!(t.listen(81, 3), Ok(()));
        assert_eq!(t.listen(81, 4), Err(Errno::EADDRINUSE));
        // A reusing bind over a listener fails.
        assert_eq!(t.bind(ANY, 81, 5, true), Err(Errno::EADDRINUSE));
        t.release(81, 3);
        t.release(81, 4);
        assert!(t.holders(81).is_empty());
    }

    #[test]
    fn time_wait_needs_reuse() {
        let mut t = PortTable::new();
        // A listener (reuse) and its accepted connection (reuse inherited).
        t.bind(ANY, 8080, 1, true).unwrap();
        t.listen(8080, 1).unwrap();
        t.share(LO, 8080, 2, true).unwrap();
        t.release(8080, 1);
        // The connection lingers (TIME_WAIT): a new server without reuse fails, with it binds.
        assert_eq!(t.bind(ANY, 8080, 3, false), Err(Errno::EADDRINUSE));
        assert_eq!(t.bind(ANY, 8080, 3, true), Ok(8080));
        assert_eq!(t.listen(8080, 3), Ok(()));
    }

    #[test]
    fn ephemeral_ports_are_distinct_and_in_range() {
        let mut t = PortTable::new();
        let mut seen = std::collections::BTreeSet::new();
        for owner in 0..1000 {
            let p = t.bind(ANY, 0, owner, false).unwrap();
            assert!((EPHEMERAL_FIRST..=EPHEMERAL_LAST).contains(&p));
            assert!(seen.insert(p));
        }
    }

    #[test]
    fn ephemeral_exhaustion_is_an_error() {
        let mut t = PortTable::new();
        let span = u64::from(EPHEMERAL_LAST - EPHEMERAL_FIRST) + 1;
        for owner in 0..span {
            t.bind(ANY, 0, owner, false).unwrap();
        }
        assert_eq!(t.bind(ANY, 0, span, false), Err(Errno::EADDRINUSE));
        t.release(EPHEMERAL_FIRST + 5, 5);
        assert_eq!(t.bind(ANY, 0, span, false), Ok(EPHEMERAL_FIRST + 5));
    }

    proptest::proptest! {
        #[test]
        fn release_undoes_bind(ops in proptest::collection::vec((0u8..4, 1u16..6, proptest::bool::ANY), 1..40)) {
            let mut t = PortTable::new();
            let mut held = std::vec::Vec::new();
            for (i, (a, port, reuse)) in ops.iter().enumerate() {
                let addr = [127, 0, 0, *a];
                if let Ok(p) = t.bind(if *a == 0 { ANY } else { addr }, *port, i as u64, *reuse) {
                    held.push((p, i as u64));
                }
            }
            for (p, o) in held {
                t.release(p, o);
            }
            proptest::prop_assert!(t.is_empty());
        }
    }
}
