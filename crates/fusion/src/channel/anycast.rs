//! The sender's choice in an anycast channel (one duplex ring per worker): which worker a
//! message goes to. Round-robin, least-loaded (fewest slots in flight, ties broken in turn),
//! random (xorshift64*, seeded: reproducible) or sticky (a key's hash picks the worker, so one
//! key always reaches one worker while the number of workers stays the same).

/// How an [`AnycastSelector`] picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnycastPolicy {
    RoundRobin,
    /// The worker with the smallest load passed to [`AnycastSelector::pick`].
    LeastLoaded,
    /// Uniform, from this seed (0 is replaced by a fixed non-zero seed).
    Random(u64),
    /// By the hash of the key passed to [`AnycastSelector::pick`].
    Sticky,
}

/// Picks a worker per message.
#[derive(Clone, Debug)]
pub struct AnycastSelector {
    policy: AnycastPolicy,
    next: usize,
    rng: u64,
}

/// A 64-bit mixer (good avalanche; the same in the C library).
pub const fn mix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// `x` reduced to `0..n` by a multiply-high (no modulo bias worth noting, no division).
const fn reduce(x: u64, n: usize) -> usize {
    ((x as u128 * n as u128) >> 64) as usize
}

impl AnycastSelector {
    pub const fn new(policy: AnycastPolicy) -> Self {
        let rng = match policy {
            AnycastPolicy::Random(0) => 0x9e37_79b9_7f4a_7c15,
            AnycastPolicy::Random(s) => s,
            _ => 0,
        };
        AnycastSelector { policy, next: 0, rng }
    }

    pub fn policy(&self) -> AnycastPolicy {
        self.policy
    }

    fn xorshift(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// The worker for the next message, among `loads.len()` workers (`loads[i]`: worker `i`'s
    /// slots in flight, used by `LeastLoaded`; `key`: used by `Sticky`). `None` without
    /// workers.
    pub fn pick(&mut self, loads: &[u64], key: u64) -> Option<usize> {
        let n = loads.len();
        if n == 0 {
            return None;
        }
        let w = match self.policy {
            AnycastPolicy::RoundRobin => {
                let w = self.next % n;
                self.next = (w + 1) % n;
                w
            }
            AnycastPolicy::LeastLoaded => {
                // Scan from a rotating start so that equal loads share the work.
                let start = self.next % n;
                let best = (0..n).map(|k| (start + k) % n).min_by_key(|&i| loads[i]).unwrap_or(start);
                self.next = (best + 1) % n;
                best
            }
            AnycastPolicy::Random(_) => reduce(self.xorshift(), n),
            AnycastPolicy::Sticky => reduce(mix64(key), n),
        };
        Some(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn round_robin_cycles() {
        let mut s = AnycastSelector::new(AnycastPolicy::RoundRobin);
        let v: Vec<usize> = (0..7).filter_map(|_| s.pick(&[0; 3], 0)).collect();
        assert_eq!(v, [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(s.pick(&[], 0), None);
        assert_eq!(s.pick(&[0; 2], 0), Some(1));
    }

    #[test]
    fn least_loaded_picks_the_smallest_and_shares_ties() {
        let mut s = AnycastSelector::new(AnycastPolicy::LeastLoaded);
        assert_eq!(s.pick(&[5, 2, 9], 0), Some(1));
        assert_eq!(s.pick(&[5, 2, 2], 0), Some(2));
        let v: Vec<usize> = (0..4).filter_map(|_| s.pick(&[1, 1, 1], 0)).collect();
        assert_eq!(v, [0, 1, 2, 0]);
    }

    #[test]
    fn random_is_seeded_and_spread() {
        let mut a = AnycastSelector::new(AnycastPolicy::Random(42));
        let mut b = AnycastSelector::new(AnycastPolicy::Random(42));
        let mut counts = [0u32; 4];
        for _ in 0..4000 {
            let w = a.pick(&[0; 4], 0).unwrap();
            assert_eq!(Some(w), b.pick(&[0; 4], 0));
            counts[w] += 1;
        }
        assert!(counts.iter().all(|&c| (800..1200).contains(&c)), "{counts:?}");
        let mut z = AnycastSelector::new(AnycastPolicy::Random(0));
        assert!(z.pick(&[0; 4], 0).is_some());
    }

    #[test]
    fn sticky_sends_a_key_to_one_worker() {
        let mut s = AnycastSelector::new(AnycastPolicy::Sticky);
        let mut counts = [0u32; 5];
        for key in 0..5000u64 {
            let w = s.pick(&[0; 5], key).unwrap();
            assert_eq!(s.pick(&[9; 5], key), Some(w));
            counts[w] += 1;
        }
        assert!(counts.iter().all(|&c| (800..1200).contains(&c)), "{counts:?}");
    }
}
