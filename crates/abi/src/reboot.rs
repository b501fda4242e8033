//! `reboot` magic numbers and commands.

pub const LINUX_REBOOT_MAGIC1: u32 = 0xfee1_dead;
pub const LINUX_REBOOT_MAGIC2: u32 = 0x2812_1969;
pub const LINUX_REBOOT_MAGIC2A: u32 = 0x0512_1996;
pub const LINUX_REBOOT_MAGIC2B: u32 = 0x1604_1998;
pub const LINUX_REBOOT_MAGIC2C: u32 = 0x2011_2000;

pub const LINUX_REBOOT_CMD_RESTART: u32 = 0x0123_4567;
pub const LINUX_REBOOT_CMD_HALT: u32 = 0xcdef_0123;
pub const LINUX_REBOOT_CMD_CAD_ON: u32 = 0x89ab_cdef;
pub const LINUX_REBOOT_CMD_CAD_OFF: u32 = 0x0000_0000;
pub const LINUX_REBOOT_CMD_POWER_OFF: u32 = 0x4321_fedc;
pub const LINUX_REBOOT_CMD_RESTART2: u32 = 0xa1b2_c3d4;
pub const LINUX_REBOOT_CMD_SW_SUSPEND: u32 = 0xd000_fce2;
pub const LINUX_REBOOT_CMD_KEXEC: u32 = 0x4558_4543;

/// Whether `reboot`'s two magic arguments are acceptable (`EINVAL` otherwise).
pub const fn magic_valid(magic1: u32, magic2: u32) -> bool {
    magic1 == LINUX_REBOOT_MAGIC1
        && matches!(
            magic2,
            LINUX_REBOOT_MAGIC2
                | LINUX_REBOOT_MAGIC2A
                | LINUX_REBOOT_MAGIC2B
                | LINUX_REBOOT_MAGIC2C
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_linux() {
        // The decimal forms in reboot(2).
        assert_eq!(LINUX_REBOOT_MAGIC2, 672274793);
        assert_eq!(LINUX_REBOOT_MAGIC2A, 85072278);
        assert_eq!(LINUX_REBOOT_MAGIC2B, 369367448);
        assert_eq!(LINUX_REBOOT_MAGIC2C, 537993216);
        assert!(magic_valid(0xfee1dead, 672274793));
        assert!(!magic_valid(0xfee1dead, 1) && !magic_valid(0, LINUX_REBOOT_MAGIC2));
    }
}
