//! The input generator of [`crate::run`]: a small deterministic PRNG and a mutator that
//! derives inputs from a seed corpus the way a structure-unaware fuzzer would, plus a few
//! format-aware moves that matter for Exo-OS's parsers: boundary values written over aligned
//! little-endian fields (ELF headers), over 8-digit ASCII hex fields (cpio newc) and as
//! decimal numbers (command lines, ANSI parameters), and dictionary tokens.

/// SplitMix64: tiny, fast, and good enough to pick mutations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0 .. n` (0 when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Interesting byte values: limits, ASCII separators, escape-sequence bytes, digits.
const BYTES: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'0', b'9', b'a', b'f', b'A', b'/', b'.', b' ', b'\t', b'\n', b'\r',
    b'=', b'"', b';', b'[', b'?', 0x1b, 0x08, 0x03, 0x04, 0x15, 0x16, 0x17, 0x11, 0x13, 0x9b,
];

/// Interesting field values; the mutator also uses them ±1 and truncated to the field width.
const VALUES: &[u64] = &[
    0,
    1,
    2,
    7,
    8,
    16,
    56,
    64,
    110,
    255,
    256,
    4095,
    4096,
    4097,
    0x7fff,
    0x8000,
    0xffff,
    0x10_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_f000,
    0x8000_0000_0000,
    0xffff_8000_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
];

/// Derives new inputs from a corpus.
pub struct Mutator<'d> {
    pub rng: Rng,
    dict: &'d [&'d [u8]],
    /// Inputs never grow beyond this many bytes.
    pub max_len: usize,
}

impl<'d> Mutator<'d> {
    pub fn new(rng: Rng, dict: &'d [&'d [u8]]) -> Mutator<'d> {
        Mutator {
            rng,
            dict,
            max_len: 1 << 20,
        }
    }

    fn value(&mut self) -> u64 {
        let v = VALUES[self.rng.below(VALUES.len())];
        match self.rng.below(6) {
            0 => v.wrapping_add(1),
            1 => v.wrapping_sub(1),
            2 => self.rng.next_u64() >> self.rng.below(64),
            _ => v,
        }
    }

    /// A new input: one seed (or nothing, or random bytes) with 1 to 16 mutations.
    pub fn derive(&mut self, seeds: &[Vec<u8>]) -> Vec<u8> {
        let mut data = match self.rng.below(64) {
            0 => Vec::new(),
            1 => (0..self.rng.below(512))
                .map(|_| self.rng.next_u64() as u8)
                .collect(),
            _ => seeds
                .get(self.rng.below(seeds.len()))
                .cloned()
                .unwrap_or_default(),
        };
        let rounds = if self.rng.chance(8) {
            1 + self.rng.below(16)
        } else {
            1 + self.rng.below(4)
        };
        for _ in 0..rounds {
            self.mutate(&mut data, seeds);
        }
        data.truncate(self.max_len);
        data
    }

    /// Applies one random mutation to `data`.
    pub fn mutate(&mut self, data: &mut Vec<u8>, seeds: &[Vec<u8>]) {
        let len = data.len();
        let at = self.rng.below(len + 1);
        match self.rng.below(13) {
            0 if len > 0 => data[at.min(len - 1)] ^= 1 << self.rng.below(8),
            1 if len > 0 => data[at.min(len - 1)] = BYTES[self.rng.below(BYTES.len())],
            2 => {
                // A little-endian field, usually aligned to its width.
                let width = [1, 2, 4, 8][self.rng.below(4)];
                let at = if self.rng.chance(4) {
                    at
                } else {
                    at & !(width - 1)
                };
                let bytes = self.value().to_le_bytes();
                self.overwrite(data, at, &bytes[..width]);
            }
            3 => {
                let text = format!("{:08X}", self.value() as u32);
                self.overwrite(data, at, text.as_bytes());
            }
            4 => {
                let text = self.value().to_string();
                self.overwrite(data, at, text.as_bytes());
            }
            5 => data.truncate(at),
            6 => {
                let end = (at + 1 + self.rng.below(64)).min(len);
                if at < end {
                    data.drain(at..end);
                }
            }
            7 if len > 0 => {
                let from = self.rng.below(len);
                let end = (from + 1 + self.rng.below(256)).min(len);
                let chunk = data[from..end].to_vec();
                self.insert(data, at, &chunk);
            }
            8 => {
                let chunk: Vec<u8> = (0..1 + self.rng.below(16))
                    .map(|_| self.rng.next_u64() as u8)
                    .collect();
                self.insert(data, at, &chunk);
            }
            9 if !seeds.is_empty() => {
                let other = &seeds[self.rng.below(seeds.len())];
                let from = self.rng.below(other.len() + 1);
                if self.rng.chance(2) {
                    data.truncate(at);
                    data.extend_from_slice(&other[from..]);
                } else {
                    let end = (from + 1 + self.rng.below(512)).min(other.len());
                    let chunk = other[from.min(end)..end].to_vec();
                    self.insert(data, at, &chunk);
                }
            }
            10 | 11 if !self.dict.is_empty() => {
                let token = self.dict[self.rng.below(self.dict.len())];
                if self.rng.chance(2) {
                    self.insert(data, at, token);
                } else {
                    self.overwrite(data, at, token);
                }
            }
            _ => {
                // Repeat one byte (long runs: overlong names, huge parameter lists).
                let byte = if len > 0 {
                    data[self.rng.below(len)]
                } else {
                    BYTES[self.rng.below(BYTES.len())]
                };
                let limit = if self.rng.chance(8) { 5000 } else { 64 };
                let n = 1 + self.rng.below(limit);
                self.insert(data, at, &vec![byte; n]);
            }
        }
    }

    fn overwrite(&mut self, data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
        let at = at.min(data.len());
        let end = at + bytes.len();
        if end > data.len() {
            data.resize(end, 0);
        }
        data[at..end].copy_from_slice(bytes);
    }

    fn insert(&mut self, data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
        if data.len() + bytes.len() <= self.max_len {
            let at = at.min(data.len());
            data.splice(at..at, bytes.iter().copied());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_deterministic_and_bounded() {
        let seeds = vec![b"hello world".to_vec(), vec![0u8; 64]];
        let run = || {
            let mut m = Mutator::new(Rng::new(42), &[b"tok"]);
            m.max_len = 4096;
            (0..2000).map(|_| m.derive(&seeds)).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.iter().all(|x| x.len() <= 4096));
        // The inputs actually vary.
        let distinct: std::collections::HashSet<_> = a.iter().collect();
        assert!(distinct.len() > 1500, "{}", distinct.len());
    }
}
