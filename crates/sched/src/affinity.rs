//! CPU affinity masks (`sched_setaffinity`): which CPUs a thread may run on, as a 64-bit mask
//! (bit n = CPU n; the kernel handles at most 16 CPUs), and the choices the kernel makes with
//! them: whether a CPU is allowed, where an allowed thread should go, and turning the user's
//! `cpu_set_t` bytes into a mask (Linux: the mask is intersected with the online CPUs, and
//! EINVAL when nothing is left).

/// Every CPU: the mask a thread starts with.
pub const ALL: u64 = u64::MAX;

/// Whether `mask` allows CPU `cpu`.
pub const fn allows(mask: u64, cpu: usize) -> bool {
    cpu < 64 && mask & (1 << cpu) != 0
}

/// The CPU a thread with `mask` should use, given the `online` CPUs (bit mask) and the
/// `preferred` one (where it ran or is queued): `preferred` if allowed and online, else the
/// allowed online CPU for which `load` is least (lowest index on ties); None if the mask allows
/// no online CPU.
pub fn choose(mask: u64, online: u64, preferred: usize, load: impl Fn(usize) -> usize) -> Option<usize> {
    let usable = mask & online;
    if allows(usable, preferred) {
        return Some(preferred);
    }
    (0..64).filter(|&cpu| allows(usable, cpu)).min_by_key(|&cpu| (load(cpu), cpu))
}

/// The mask a `sched_setaffinity` call asks for, from the user's `cpu_set_t` bytes
/// (little-endian, bits past 64 ignored as no such CPU exists), restricted to the `online`
/// CPUs; None (EINVAL) if no online CPU is left.
pub fn from_user(bytes: &[u8], online: u64) -> Option<u64> {
    let mut mask = 0u64;
    for (i, byte) in bytes.iter().take(8).enumerate() {
        mask |= u64::from(*byte) << (8 * i);
    }
    let mask = mask & online;
    (mask != 0).then_some(mask)
}

/// The bytes `sched_getaffinity` returns for `mask` with the `online` CPUs: the allowed online
/// CPUs, little-endian, in `out` (zero beyond 8 bytes).
pub fn to_user(mask: u64, online: u64, out: &mut [u8]) {
    out.fill(0);
    for (i, byte) in (mask & online).to_le_bytes().iter().enumerate() {
        if let Some(slot) = out.get_mut(i) {
            *slot = *byte;
        }
    }
}

/// The mask of the first `count` CPUs.
pub const fn first(count: usize) -> u64 {
    if count >= 64 {
        ALL
    } else {
        (1u64 << count) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_bits() {
        assert!(allows(0b10, 1));
        assert!(!allows(0b10, 0));
        assert!(!allows(ALL, 64));
        assert!(allows(ALL, 63));
    }

    #[test]
    fn choose_prefers_allowed_current() {
        assert_eq!(choose(0b11, 0b11, 1, |_| 0), Some(1));
        // CPU 0 not allowed: move to 1.
        assert_eq!(choose(0b10, 0b11, 0, |_| 0), Some(1));
        // Least loaded among the allowed.
        assert_eq!(choose(0b1110, 0b1111, 0, |c| [0, 5, 2, 2][c]), Some(2));
        // Allowed CPU offline: nowhere.
        assert_eq!(choose(0b100, 0b011, 0, |_| 0), None);
    }

    #[test]
    fn user_masks() {
        assert_eq!(from_user(&[0b10], 0b11), Some(0b10));
        assert_eq!(from_user(&[0b100], 0b11), None);
        assert_eq!(from_user(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff], 0b11), None);
        assert_eq!(from_user(&[], 0b11), None);
        assert_eq!(from_user(&[0xff; 128], 0b1111), Some(0b1111));
        let mut out = [0xaau8; 16];
        to_user(ALL, 0b11, &mut out);
        assert_eq!(out[0], 3);
        assert!(out[1..].iter().all(|&b| b == 0));
        assert_eq!(first(2), 3);
        assert_eq!(first(64), ALL);
    }
}
