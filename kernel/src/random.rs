//! The kernel's random numbers (getrandom, AT_RANDOM, /dev/urandom): a ChaCha-style mixing of
//! a 256-bit state seeded from RDRAND when the CPU has it, plus the TSC, re-mixed with the TSC
//! on every request. Not a vetted CSPRNG; good enough for stack canaries and hash seeds.

use crate::spinlock::SpinLock as Mutex;

struct State {
    words: [u32; 16],
    counter: u64,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn quarter(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]); s[d] ^= s[a]; s[d] = s[d].rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]); s[b] ^= s[c]; s[b] = s[b].rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]); s[d] ^= s[a]; s[d] = s[d].rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]); s[b] ^= s[c]; s[b] = s[b].rotate_left(7);
}

fn block(state: &State) -> [u32; 16] {
    let mut x = state.words;
    x[12] ^= state.counter as u32;
    x[13] ^= (state.counter >> 32) as u32;
    for _ in 0..10 {
        quarter(&mut x, 0, 4, 8, 12); quarter(&mut x, 1, 5, 9, 13);
        quarter(&mut x, 2, 6, 10, 14); quarter(&mut x, 3, 7, 11, 15);
        quarter(&mut x, 0, 5, 10, 15); quarter(&mut x, 1, 6, 11, 12);
        quarter(&mut x, 2, 7, 8, 13); quarter(&mut x, 3, 4, 9, 14);
    }
    for (out, input) in x.iter_mut().zip(state.words.iter()) {
        *out = out.wrapping_add(*input);
    }
    x
}

fn seed() -> State {
    let mut words = [0u32; 16];
    // "expand 32-byte k"
    words[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    for pair in words[4..12].chunks_mut(2) {
        let value = crate::arch::hardware_random().unwrap_or_else(|| crate::arch::read_timestamp().rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15);
        pair[0] = value as u32;
        pair[1] = (value >> 32) as u32;
    }
    State { words, counter: crate::arch::read_timestamp() }
}

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) {
    let mut guard = STATE.lock();
    let state = guard.get_or_insert_with(seed);
    state.words[14] ^= crate::arch::read_timestamp() as u32;
    for chunk in buf.chunks_mut(64) {
        state.counter = state.counter.wrapping_add(1);
        let out = block(state);
        for (i, byte) in chunk.iter_mut().enumerate() {
            *byte = (out[i / 4] >> ((i % 4) * 8)) as u8;
        }
    }
    // Forward secrecy of a sort: the state moves on with output that was not handed out.
    state.counter = state.counter.wrapping_add(1);
    let next = block(state);
    state.words[4..12].copy_from_slice(&next[..8]);
}
