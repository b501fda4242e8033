//! Helpers shared by the integration tests: a direction's memory in plain vectors, and a
//! small seeded random generator.
#![allow(dead_code)]

use exo_abi::fusion::kpage;
use exo_fusion::ring::Direction;
use std::sync::atomic::{AtomicU64, Ordering};

/// One direction's memory: kernel page, producer and consumer pages, slots.
pub struct Mem {
    pub kernel: Vec<AtomicU64>,
    pub prod: Vec<AtomicU64>,
    pub cons: Vec<AtomicU64>,
    pub slots: Vec<AtomicU64>,
    pub per_lane: u64,
    pub lanes: u8,
}

pub fn words(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

impl Mem {
    pub fn new(per_lane: u64, lanes: u8) -> Mem {
        Mem {
            kernel: words(16),
            prod: words(512),
            cons: words(512),
            slots: words(per_lane as usize * lanes as usize * 8),
            per_lane,
            lanes,
        }
    }

    pub fn dir(&self) -> Direction<'_> {
        Direction {
            kernel: &self.kernel,
            prod: &self.prod,
            cons: &self.cons,
            slots: &self.slots,
            slots_per_lane: self.per_lane,
            lanes: self.lanes,
            data_waiters: kpage::DATA_WAITERS_AB,
            space_waiters: kpage::SPACE_WAITERS_AB,
            receiver_pollers: kpage::POLLERS_B,
            sender_pollers: kpage::POLLERS_A,
        }
    }

    /// Sets every lane's head and tail and the message counters to `start` (free-running
    /// indices near the 2^64 wrap).
    pub fn start_at(&self, start: u64) {
        for l in 0..self.lanes as usize {
            self.prod[exo_abi::fusion::prod::HEAD + l].store(start, Ordering::Relaxed);
            self.cons[exo_abi::fusion::cons::TAIL + l].store(start, Ordering::Relaxed);
        }
    }
}

/// xorshift64*: deterministic test randomness.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
}

/// The payload of message `i` of length `len`: recognisable bytes.
pub fn payload(i: u64, len: usize) -> Vec<u8> {
    (0..len).map(|k| (i.wrapping_mul(0x9e37_79b9) >> (k % 7) ^ k as u64) as u8).collect()
}
