//! The hash of a directory's child-name cache: SipHash-1-3 keyed with a secret, so that names a
//! user picks cannot be made to collide (a directory whose lookups all hash alike would turn
//! every lookup into a scan). The kernel sets the key at boot from its random source
//! ([`set_name_hash_key`]); until then (and in host tests) a fixed key is used.

use core::hash::{BuildHasher, Hasher};
use core::sync::atomic::{AtomicU64, Ordering};

static K0: AtomicU64 = AtomicU64::new(0x736f_6d65_7073_6575);
static K1: AtomicU64 = AtomicU64::new(0x646f_7261_6e64_6f6d);

/// Sets the secret key of the name hash (call once at boot, before the first lookup; caches
/// built earlier keep working, they only hash with their own key).
pub fn set_name_hash_key(k0: u64, k1: u64) {
    K0.store(k0, Ordering::Relaxed);
    K1.store(k1, Ordering::Relaxed);
}

/// Builds [`NameHasher`]s with the key current when the cache was made.
#[derive(Clone, Copy)]
pub(crate) struct NameHash {
    k0: u64,
    k1: u64,
}

impl NameHash {
    pub(crate) fn new() -> NameHash {
        NameHash { k0: K0.load(Ordering::Relaxed), k1: K1.load(Ordering::Relaxed) }
    }
}

impl BuildHasher for NameHash {
    type Hasher = NameHasher;
    fn build_hasher(&self) -> NameHasher {
        NameHasher::new(self.k0, self.k1)
    }
}

/// SipHash-1-3 (one compression round per word, three finalization rounds).
pub(crate) struct NameHasher {
    v: [u64; 4],
    tail: u64,
    ntail: usize,
    len: usize,
}

impl NameHasher {
    fn new(k0: u64, k1: u64) -> NameHasher {
        NameHasher {
            v: [k0 ^ 0x736f_6d65_7073_6575, k1 ^ 0x646f_7261_6e64_6f6d, k0 ^ 0x6c79_6765_6e65_7261, k1 ^ 0x7465_6462_7974_6573],
            tail: 0,
            ntail: 0,
            len: 0,
        }
    }

    fn round(&mut self) {
        let v = &mut self.v;
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }

    fn word(&mut self, m: u64) {
        self.v[3] ^= m;
        self.round();
        self.v[0] ^= m;
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.len = self.len.wrapping_add(bytes.len());
        let mut rest = bytes;
        while self.ntail != 0 && !rest.is_empty() {
            self.tail |= u64::from(rest[0]) << (8 * self.ntail);
            self.ntail = (self.ntail + 1) % 8;
            rest = &rest[1..];
            if self.ntail == 0 {
                let m = core::mem::take(&mut self.tail);
                self.word(m);
            }
        }
        if rest.is_empty() {
            return;
        }
        // Here the tail is empty (ntail == 0).
        let mut chunks = rest.chunks_exact(8);
        for chunk in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            self.word(u64::from_le_bytes(w));
        }
        for (i, &b) in chunks.remainder().iter().enumerate() {
            self.tail |= u64::from(b) << (8 * i);
        }
        self.ntail = chunks.remainder().len();
    }

    fn finish(&self) -> u64 {
        let mut h = NameHasher { v: self.v, tail: 0, ntail: 0, len: 0 };
        h.word(self.tail | ((self.len as u64 & 0xff) << 56));
        h.v[2] ^= 0xff;
        h.round();
        h.round();
        h.round();
        h.v[0] ^ h.v[1] ^ h.v[2] ^ h.v[3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::hash::Hash;

    fn hash(key: (u64, u64), data: &[u8]) -> u64 {
        let mut h = NameHash { k0: key.0, k1: key.1 }.build_hasher();
        h.write(data);
        h.finish()
    }

    #[test]
    fn split_writes_hash_like_one_and_keys_matter() {
        let data = b"a-name-longer-than-sixteen-bytes";
        let whole = hash((1, 2), data);
        let mut h = NameHash { k0: 1, k1: 2 }.build_hasher();
        for part in data.chunks(3) {
            h.write(part);
        }
        assert_eq!(h.finish(), whole);
        assert_ne!(hash((1, 3), data), whole);
        assert_ne!(hash((1, 2), b"a"), hash((1, 2), b"b"));
        assert_ne!(hash((1, 2), b""), hash((1, 2), b"\0"));
        // Slices hash with their length prefix through `Hash`: still consistent.
        let mut a = NameHash::new().build_hasher();
        b"x"[..].hash(&mut a);
        let mut b = NameHash::new().build_hasher();
        b"x"[..].hash(&mut b);
        assert_eq!(a.finish(), b.finish());
    }

    /// The reference vector of SipHash-1-3 is not in the standard; check the mixing instead:
    /// 10,000 names of a directory spread over 4,096 buckets without piling up.
    #[test]
    fn names_spread() {
        let mut buckets = [0u32; 4096];
        for i in 0..10_000u32 {
            let name = alloc::format!("f{i:06}");
            buckets[(hash((7, 9), name.as_bytes()) % 4096) as usize] += 1;
        }
        assert!(buckets.iter().all(|&n| n < 16));
    }
}
