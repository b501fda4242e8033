//! Splitting a thread's exact run time into user and system time by the timer ticks that
//! found it in each mode (Linux's `cputime_adjust`): the tick samples give the ratio, the
//! scheduler's clock the total.

/// (user, system) ns of a run time of `total` ns during which `user_ticks` ticks found the
/// thread in user mode and `system_ticks` in the kernel. No system tick: all user; no user
/// tick: all system (Linux's rule, so a thread that never met a tick reads as user time).
pub fn split_runtime(total: u64, user_ticks: u64, system_ticks: u64) -> (u64, u64) {
    if system_ticks == 0 {
        return (total, 0);
    }
    if user_ticks == 0 {
        return (0, total);
    }
    let ticks = u128::from(user_ticks) + u128::from(system_ticks);
    let user = (u128::from(total) * u128::from(user_ticks) / ticks) as u64;
    (user, total - user)
}

/// Ticks of `hz` per second in `ns` (times()'s clock_t at USER_HZ).
pub const fn to_clock_ticks(ns: u64, hz: u64) -> u64 {
    ns / (1_000_000_000 / hz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edge_cases() {
        assert_eq!(split_runtime(100, 0, 0), (100, 0));
        assert_eq!(split_runtime(100, 3, 0), (100, 0));
        assert_eq!(split_runtime(100, 0, 3), (0, 100));
        assert_eq!(split_runtime(100, 1, 3), (25, 75));
        assert_eq!(to_clock_ticks(1_000_000_000, 100), 100);
    }

    proptest! {
        #[test]
        fn parts_add_up(total: u64, u in 0u64..1_000_000, s in 0u64..1_000_000) {
            let (user, system) = split_runtime(total, u, s);
            prop_assert_eq!(user as u128 + system as u128, total as u128);
        }
    }
}
