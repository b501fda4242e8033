//! When a sender rings the doorbell (docs/ipc.md, *Flow control*). Messages are published as
//! they are written; the doorbell (the [`crate::ring::Producer::needs_wake`] check and, if
//! somebody waits, `fusion_wake`) can wait for several of them. [`CoalesceController::on_send`]
//! says after each message whether to ring now; [`CoalesceController::poll`] whether the
//! oldest unannounced message has waited long enough; [`CoalesceController::flush`] before
//! the sender goes idle or waits (otherwise a sleeping receiver may never hear of the last
//! messages).
//!
//! Adaptive mode keeps an exponential moving average (weight 1/8) of the gap between sends:
//! while messages come faster than a wake-up costs (`gap < wake_cost`) it rings every `batch`
//! messages, otherwise at once.

/// The doorbell policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coalesce {
    /// Ring after every message.
    Immediate,
    /// Ring every `n` messages.
    Batched(u32),
    /// Ring when the oldest unannounced message is this many cycles old.
    Timed(u64),
    /// Batched (`batch`) while the average gap between sends is below `wake_cost` cycles,
    /// immediate otherwise; [`CoalesceController::poll`] rings after `wake_cost` cycles.
    Adaptive { wake_cost: u64, batch: u32 },
}

/// The doorbell state of one sender.
#[derive(Clone, Debug)]
pub struct CoalesceController {
    mode: Coalesce,
    unannounced: u32,
    oldest: u64,
    last_send: Option<u64>,
    /// Average gap between sends, in cycles, times 8 (fixed point).
    ema_gap_x8: u64,
}

impl CoalesceController {
    pub const fn new(mode: Coalesce) -> Self {
        CoalesceController { mode, unannounced: 0, oldest: 0, last_send: None, ema_gap_x8: 0 }
    }

    /// The average gap between sends, in cycles (adaptive mode's estimate).
    pub fn average_gap(&self) -> u64 {
        self.ema_gap_x8 / 8
    }

    /// Messages published since the last ring.
    pub fn unannounced(&self) -> u32 {
        self.unannounced
    }

    /// Adaptive mode is batching now.
    pub fn batching(&self) -> bool {
        match self.mode {
            Coalesce::Adaptive { wake_cost, .. } => self.last_send.is_some() && self.average_gap() < wake_cost,
            Coalesce::Batched(n) => n > 1,
            Coalesce::Timed(_) => true,
            Coalesce::Immediate => false,
        }
    }

    fn ring(&mut self) -> bool {
        self.unannounced = 0;
        true
    }

    /// A message was published at `now` (cycles): ring the doorbell now?
    pub fn on_send(&mut self, now: u64) -> bool {
        if let Some(last) = self.last_send {
            let gap = now.saturating_sub(last).min(u64::MAX / 16);
            // ema += (gap - ema) / 8, kept times 8.
            self.ema_gap_x8 = self.ema_gap_x8 - self.ema_gap_x8 / 8 + gap;
        } else if let Coalesce::Adaptive { wake_cost, .. } = self.mode {
            // No history yet: assume slow senders (ring at once) until gaps say otherwise.
            self.ema_gap_x8 = wake_cost.min(u64::MAX / 16) * 8;
        }
        self.last_send = Some(now);
        self.unannounced = self.unannounced.saturating_add(1);
        if self.unannounced == 1 {
            self.oldest = now;
        }
        let ring = match self.mode {
            Coalesce::Immediate => true,
            Coalesce::Batched(n) => self.unannounced >= n.max(1),
            Coalesce::Timed(t) => now.saturating_sub(self.oldest) >= t,
            Coalesce::Adaptive { batch, .. } => !self.batching() || self.unannounced >= batch.max(1),
        };
        if ring {
            self.ring()
        } else {
            false
        }
    }

    /// No message sent at `now`: has the oldest unannounced one waited long enough?
    pub fn poll(&mut self, now: u64) -> bool {
        let limit = match self.mode {
            Coalesce::Timed(t) => t,
            Coalesce::Adaptive { wake_cost, .. } => wake_cost,
            _ => return false,
        };
        if self.unannounced > 0 && now.saturating_sub(self.oldest) >= limit {
            self.ring()
        } else {
            false
        }
    }

    /// Before going idle or waiting: ring if anything is unannounced.
    pub fn flush(&mut self) -> bool {
        if self.unannounced > 0 {
            self.ring()
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn rings(c: &mut CoalesceController, times: &[u64]) -> Vec<bool> {
        times.iter().map(|&t| c.on_send(t)).collect()
    }

    #[test]
    fn immediate_and_batched() {
        let mut c = CoalesceController::new(Coalesce::Immediate);
        assert_eq!(rings(&mut c, &[1, 2, 3]), [true; 3]);
        assert!(!c.flush());
        let mut c = CoalesceController::new(Coalesce::Batched(3));
        assert_eq!(rings(&mut c, &[1, 2, 3, 4, 5]), [false, false, true, false, false]);
        assert_eq!(c.unannounced(), 2);
        assert!(!c.poll(1_000_000));
        assert!(c.flush());
        assert!(!c.flush());
        let mut c = CoalesceController::new(Coalesce::Batched(0));
        assert!(c.on_send(0));
    }

    #[test]
    fn timed_rings_on_the_oldest_age() {
        let mut c = CoalesceController::new(Coalesce::Timed(100));
        assert_eq!(rings(&mut c, &[1000, 1050, 1099, 1100, 1150]), [false, false, false, true, false]);
        assert!(!c.poll(1249));
        assert!(c.poll(1250));
        assert!(!c.poll(5000));
    }

    #[test]
    fn adaptive_batches_bursts_only() {
        let mut c = CoalesceController::new(Coalesce::Adaptive { wake_cost: 1000, batch: 4 });
        // Slow sends: every one rings.
        let slow: Vec<u64> = (0..5).map(|i| i * 10_000).collect();
        assert_eq!(rings(&mut c, &slow), [true; 5]);
        assert!(!c.batching());
        // A burst: the average falls under the wake cost, then rings every 4.
        let burst: Vec<u64> = (0..64).map(|i| 40_000 + i * 10).collect();
        let r = rings(&mut c, &burst);
        assert!(c.batching());
        let tail = &r[48..];
        assert_eq!(tail.iter().filter(|&&x| x).count(), 4);
        assert!(r.iter().filter(|&&x| !x).count() > 30);
        // The oldest unannounced message does not wait more than a wake-up's cost.
        c.on_send(50_000);
        assert!(!c.poll(50_999) || c.unannounced() == 0);
        assert!(c.poll(51_000 + 1000) || c.unannounced() == 0);
        // Slow again: back to immediate after the average rises.
        let slow: Vec<u64> = (0..40).map(|i| 100_000 + i * 50_000).collect();
        let r = rings(&mut c, &slow);
        assert!(r[20..].iter().all(|&x| x));
    }
}
