//! Pure bitmap operations of the allocator (a block or inode bitmap is one disk block, bit `i`
//! of byte `i / 8` at position `i % 8`, set = in use). Every function works within `limit`
//! bits (a short last group) and never panics, whatever the buffer holds.

/// Whether bit `i` is set (out-of-range bits count as set: never allocated).
pub fn test(map: &[u8], i: u32) -> bool {
    map.get((i / 8) as usize).is_none_or(|b| b & (1 << (i % 8)) != 0)
}

/// Sets bit `i`; returns whether it was clear before.
pub fn set(map: &mut [u8], i: u32) -> bool {
    match map.get_mut((i / 8) as usize) {
        Some(b) => {
            let was_clear = *b & (1 << (i % 8)) == 0;
            *b |= 1 << (i % 8);
            was_clear
        }
        None => false,
    }
}

/// Clears bit `i`; returns whether it was set before.
pub fn clear(map: &mut [u8], i: u32) -> bool {
    match map.get_mut((i / 8) as usize) {
        Some(b) => {
            let was_set = *b & (1 << (i % 8)) != 0;
            *b &= !(1 << (i % 8));
            was_set
        }
        None => false,
    }
}

/// The first clear bit in `[start, limit)`, skipping full bytes quickly.
pub fn find_clear(map: &[u8], start: u32, limit: u32) -> Option<u32> {
    let limit = limit.min((map.len() as u64 * 8).min(u64::from(u32::MAX)) as u32);
    let mut i = start;
    while i < limit {
        if i % 8 == 0 {
            match map.get((i / 8) as usize) {
                Some(0xFF) => {
                    i += 8;
                    continue;
                }
                None => return None,
                _ => {}
            }
        }
        if !test(map, i) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The length of the run of clear bits starting at `start`, at most `max`, within `limit`.
pub fn clear_run(map: &[u8], start: u32, max: u32, limit: u32) -> u32 {
    let mut n = 0;
    while n < max && start.checked_add(n).is_some_and(|i| i < limit && !test(map, i)) {
        n += 1;
    }
    n
}

/// Number of clear bits in `[0, limit)`.
pub fn count_clear(map: &[u8], limit: u32) -> u32 {
    let full = (limit / 8) as usize;
    let mut n: u32 = map.iter().take(full).map(|b| b.count_zeros()).sum();
    for i in (full as u32 * 8)..limit {
        if !test(map, i) {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn naive_clear(map: &[u8], limit: u32) -> u32 {
        (0..limit).filter(|&i| !test(map, i)).count() as u32
    }

    proptest! {
        #[test]
        fn find_clear_finds_the_first_clear_bit(map in proptest::collection::vec(any::<u8>(), 0..64), start in 0u32..600, limit in 0u32..600) {
            let found = find_clear(&map, start, limit);
            let naive = (start..limit.min(map.len() as u32 * 8)).find(|&i| !test(&map, i));
            prop_assert_eq!(found, naive);
        }

        #[test]
        fn count_matches_naive(map in proptest::collection::vec(any::<u8>(), 0..64), limit in 0u32..600) {
            let limit = limit.min(map.len() as u32 * 8);
            prop_assert_eq!(count_clear(&map, limit), naive_clear(&map, limit));
        }

        #[test]
        fn allocate_then_free_restores(map in proptest::collection::vec(any::<u8>(), 1..64), picks in proptest::collection::vec(0u32..512, 0..40)) {
            let limit = map.len() as u32 * 8;
            let mut m = map.clone();
            let before = count_clear(&m, limit);
            let mut taken = Vec::new();
            for p in picks {
                if let Some(i) = find_clear(&m, p % limit, limit) {
                    prop_assert!(set(&mut m, i));
                    prop_assert!(!set(&mut m, i));
                    taken.push(i);
                }
            }
            prop_assert_eq!(count_clear(&m, limit) + taken.len() as u32, before);
            for i in taken {
                prop_assert!(clear(&mut m, i));
            }
            prop_assert_eq!(m, map);
        }

        #[test]
        fn runs_are_clear(map in proptest::collection::vec(any::<u8>(), 0..16), start in 0u32..200, max in 0u32..64) {
            let limit = map.len() as u32 * 8;
            let n = clear_run(&map, start, max, limit);
            prop_assert!(n <= max);
            for i in start..start + n {
                prop_assert!(!test(&map, i));
            }
            if n < max && start + n < limit {
                prop_assert!(test(&map, start + n));
            }
        }
    }
}
