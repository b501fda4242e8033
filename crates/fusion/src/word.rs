//! The word of shared memory ([`Word`]) and the pure helpers every side uses to address slots
//! and move message bytes in and out of words. None of them can index out of bounds: slot
//! indices are masked, words are fetched with `get`.

use core::sync::atomic::{fence, AtomicU64, Ordering};
use exo_abi::fusion::{SLOT_PAYLOAD, SLOT_SIZE};

/// 64-bit words in a 4 KiB page.
pub const WORDS_PER_PAGE: usize = 512;
/// 64-bit words in a 64-byte slot.
pub const WORDS_PER_SLOT: usize = 8;

/// One 64-bit word of shared memory: the only operations the ring code uses on it.
///
/// Implemented for [`AtomicU64`]. The loom model (tests/loom.rs) implements it for loom's
/// atomic so that the very code of [`crate::ring`] is what loom checks.
pub trait Word: Sync {
    fn load(&self, order: Ordering) -> u64;
    fn store(&self, value: u64, order: Ordering);
    /// A memory fence of the same memory model as the word.
    fn fence(order: Ordering);
}

impl Word for AtomicU64 {
    #[inline]
    fn load(&self, order: Ordering) -> u64 {
        AtomicU64::load(self, order)
    }
    #[inline]
    fn store(&self, value: u64, order: Ordering) {
        AtomicU64::store(self, value, order)
    }
    #[inline]
    fn fence(order: Ordering) {
        fence(order)
    }
}

/// Loads word `i` of `words`, or 0 if it is out of range.
#[inline]
pub(crate) fn load<W: Word>(words: &[W], i: usize, order: Ordering) -> u64 {
    words.get(i).map_or(0, |w| w.load(order))
}

/// Stores word `i` of `words`; nothing if it is out of range.
#[inline]
pub(crate) fn store<W: Word>(words: &[W], i: usize, value: u64, order: Ordering) {
    if let Some(w) = words.get(i) {
        w.store(value, order)
    }
}

/// The geometry of one lane: `slots` (a power of two) slots of 8 words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lane {
    pub slots: u64,
    /// Largest message length the lane accepts.
    pub max_len: u64,
}

impl Lane {
    /// Word index, inside the lane, of word `w` (0..8) of the slot of free-running index `i`.
    #[inline]
    pub fn word(&self, i: u64, w: u64) -> usize {
        (((i & (self.slots - 1)) * WORDS_PER_SLOT as u64) + (w & 7)) as usize
    }

    /// Word index, inside the lane, of the `p`-th word of the message starting at slot index
    /// `first` (position 0 is the header; the payload follows in the first slot, then in whole
    /// slots, wrapping at the lane's end).
    #[inline]
    pub fn message_word(&self, first: u64, p: u64) -> usize {
        self.word(first.wrapping_add(p / WORDS_PER_SLOT as u64), p % WORDS_PER_SLOT as u64)
    }
}

/// Writes `payload` as the message's words 1.. (relaxed: the head's release store publishes
/// them). The last word is padded with zeros.
pub(crate) fn write_payload<W: Word>(lane: &Lane, words: &[W], first: u64, payload: &[u8]) {
    for (k, chunk) in payload.chunks(8).enumerate() {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        let i = lane.message_word(first, k as u64 + 1);
        store(words, i, u64::from_le_bytes(b), Ordering::Relaxed);
    }
}

/// Copies bytes `offset..offset + out.len()` of the payload of the message starting at
/// `first` into `out` (relaxed loads: the head's acquire load made them visible).
pub(crate) fn read_payload<W: Word>(lane: &Lane, words: &[W], first: u64, offset: usize, out: &mut [u8]) {
    let mut done = 0;
    while done < out.len() {
        let byte = offset + done;
        let k = (byte / 8) as u64;
        let skip = byte % 8;
        let w = load(words, lane.message_word(first, k + 1), Ordering::Relaxed).to_le_bytes();
        let n = (8 - skip).min(out.len() - done);
        out[done..done + n].copy_from_slice(&w[skip..skip + n]);
        done += n;
    }
}

/// Slots a message of `len` bytes occupies (exo_abi's `slots_for`, kept next to the lane).
#[inline]
pub(crate) const fn slots_for(len: u64) -> u64 {
    exo_abi::fusion::slots_for(len)
}

/// The largest message of a lane of `slots` slots: all its slots less the header, at most
/// 65535 (the header's `len`).
pub(crate) const fn lane_max_message(slots: u64) -> u64 {
    let lane = slots * SLOT_SIZE - (SLOT_SIZE - SLOT_PAYLOAD);
    if lane < 65535 {
        lane
    } else {
        65535
    }
}

/// The latency histogram's bucket of a stamp `age` in cycles: `b` with `age` in
/// `[2^b, 2^(b+1))`; an age of 0 counts in bucket 0.
#[inline]
pub const fn hist_bucket(age: u32) -> usize {
    if age == 0 {
        0
    } else {
        31 - age.leading_zeros() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn words(n: usize) -> Vec<AtomicU64> {
        (0..n).map(|_| AtomicU64::new(0)).collect()
    }

    #[test]
    fn message_words_wrap_at_the_lane_end() {
        let lane = Lane { slots: 8, max_len: lane_max_message(8) };
        assert_eq!(lane.message_word(3, 0), 24);
        assert_eq!(lane.message_word(3, 7), 31);
        assert_eq!(lane.message_word(7, 8), 0);
        assert_eq!(lane.message_word(u64::MAX, 9), 1);
    }

    #[test]
    fn payload_round_trips_across_the_wrap() {
        let lane = Lane { slots: 8, max_len: lane_max_message(8) };
        let mem = words(64);
        let payload: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
        write_payload(&lane, &mem, 6, &payload);
        let mut out = [0u8; 200];
        read_payload(&lane, &mem, 6, 0, &mut out);
        assert_eq!(&out[..], &payload[..]);
        let mut part = [0u8; 13];
        read_payload(&lane, &mem, 6, 61, &mut part);
        assert_eq!(&part[..], &payload[61..74]);
        // Out-of-range word indices are ignored and read as zero.
        let short = words(3);
        write_payload(&lane, &short, 0, &payload);
        read_payload(&lane, &short, 0, 0, &mut out);
        assert_eq!(out[16..24], [0; 8]);
    }

    #[test]
    fn histogram_buckets_are_log2() {
        assert_eq!((hist_bucket(0), hist_bucket(1), hist_bucket(2), hist_bucket(3)), (0, 0, 1, 1));
        assert_eq!((hist_bucket(1024), hist_bucket(u32::MAX)), (10, 31));
        assert_eq!((lane_max_message(8), lane_max_message(1 << 16)), (504, 65535));
    }
}
