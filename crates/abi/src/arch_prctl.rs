//! `arch_prctl` codes (x86-64): FS/GS base, CPUID faulting, AMX permissions, vDSO mapping,
//! linear address masking and shadow stacks.

pub const ARCH_SET_GS: u32 = 0x1001;
pub const ARCH_SET_FS: u32 = 0x1002;
pub const ARCH_GET_FS: u32 = 0x1003;
pub const ARCH_GET_GS: u32 = 0x1004;
pub const ARCH_GET_CPUID: u32 = 0x1011;
pub const ARCH_SET_CPUID: u32 = 0x1012;
pub const ARCH_GET_XCOMP_SUPP: u32 = 0x1021;
pub const ARCH_GET_XCOMP_PERM: u32 = 0x1022;
pub const ARCH_REQ_XCOMP_PERM: u32 = 0x1023;
pub const ARCH_GET_XCOMP_GUEST_PERM: u32 = 0x1024;
pub const ARCH_REQ_XCOMP_GUEST_PERM: u32 = 0x1025;
pub const ARCH_XCOMP_TILECFG: u32 = 17;
pub const ARCH_XCOMP_TILEDATA: u32 = 18;
pub const ARCH_MAP_VDSO_X32: u32 = 0x2001;
pub const ARCH_MAP_VDSO_32: u32 = 0x2002;
pub const ARCH_MAP_VDSO_64: u32 = 0x2003;
pub const ARCH_GET_UNTAG_MASK: u32 = 0x4001;
pub const ARCH_ENABLE_TAGGED_ADDR: u32 = 0x4002;
pub const ARCH_GET_MAX_TAG_BITS: u32 = 0x4003;
pub const ARCH_FORCE_TAGGED_SVA: u32 = 0x4004;
pub const ARCH_SHSTK_ENABLE: u32 = 0x5001;
pub const ARCH_SHSTK_DISABLE: u32 = 0x5002;
pub const ARCH_SHSTK_LOCK: u32 = 0x5003;
pub const ARCH_SHSTK_UNLOCK: u32 = 0x5004;
pub const ARCH_SHSTK_STATUS: u32 = 0x5005;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_linux() {
        assert_eq!(
            (ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS),
            (0x1001, 0x1002, 0x1003, 0x1004)
        );
        assert_eq!((ARCH_GET_CPUID, ARCH_SET_CPUID), (0x1011, 0x1012));
    }
}
