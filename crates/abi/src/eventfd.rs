//! `eventfd2` flags.

/// Reads return 1 and decrement the counter instead of returning and clearing it.
pub const EFD_SEMAPHORE: u32 = 1;
pub const EFD_CLOEXEC: u32 = crate::fcntl::O_CLOEXEC;
pub const EFD_NONBLOCK: u32 = crate::fcntl::O_NONBLOCK;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_linux() {
        assert_eq!(
            (EFD_SEMAPHORE, EFD_CLOEXEC, EFD_NONBLOCK),
            (1, 0x80000, 0x800)
        );
    }
}
