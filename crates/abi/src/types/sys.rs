//! Process and system information records: `uname`, `sysinfo`, resource limits and usage,
//! `times`, I/O vectors and the robust-futex list head.

use super::Timeval;
use bytemuck::{Pod, Zeroable};

/// Length of each `struct utsname` field, NUL included.
pub const UTSNAME_LEN: usize = 65;

/// `struct utsname` (390 bytes): six NUL-terminated, NUL-padded strings.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Utsname {
    pub sysname: [u8; UTSNAME_LEN],
    pub nodename: [u8; UTSNAME_LEN],
    pub release: [u8; UTSNAME_LEN],
    pub version: [u8; UTSNAME_LEN],
    pub machine: [u8; UTSNAME_LEN],
    pub domainname: [u8; UTSNAME_LEN],
}

impl Default for Utsname {
    fn default() -> Self {
        Self::zeroed()
    }
}

impl Utsname {
    /// Builds the record from its six strings; each is truncated (at a character boundary)
    /// to 64 bytes so that a NUL always follows.
    pub fn new(
        sysname: &str,
        nodename: &str,
        release: &str,
        version: &str,
        machine: &str,
        domainname: &str,
    ) -> Utsname {
        Utsname {
            sysname: uts_field(sysname),
            nodename: uts_field(nodename),
            release: uts_field(release),
            version: uts_field(version),
            machine: uts_field(machine),
            domainname: uts_field(domainname),
        }
    }
}

/// One NUL-padded `utsname` field holding `s`, truncated at a character boundary to at most
/// 64 bytes (also what `sethostname`/`setdomainname` store).
pub fn uts_field(s: &str) -> [u8; UTSNAME_LEN] {
    let mut len = s.len().min(UTSNAME_LEN - 1);
    while !s.is_char_boundary(len) {
        len -= 1;
    }
    let mut field = [0; UTSNAME_LEN];
    field[..len].copy_from_slice(&s.as_bytes()[..len]);
    field
}

/// Fixed-point shift of `Sysinfo::loads` (1.0 = 1 << 16).
pub const SI_LOAD_SHIFT: u32 = 16;

/// x86-64 `struct sysinfo` (112 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Sysinfo {
    /// Seconds since boot.
    pub uptime: i64,
    /// 1, 5 and 15 minute load averages, scaled by `1 << SI_LOAD_SHIFT`.
    pub loads: [u64; 3],
    pub totalram: u64,
    pub freeram: u64,
    pub sharedram: u64,
    pub bufferram: u64,
    pub totalswap: u64,
    pub freeswap: u64,
    pub procs: u16,
    pub pad: u16,
    pub _pad1: u32,
    pub totalhigh: u64,
    pub freehigh: u64,
    /// Unit of the memory fields, in bytes.
    pub mem_unit: u32,
    pub _pad2: u32,
}

/// `struct rlimit` (16 bytes); `RLIM_INFINITY` means no limit.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Rlimit {
    pub rlim_cur: u64,
    pub rlim_max: u64,
}

/// `struct rusage` (144 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Rusage {
    pub ru_utime: Timeval,
    pub ru_stime: Timeval,
    /// Maximum resident set size, in KiB.
    pub ru_maxrss: i64,
    pub ru_ixrss: i64,
    pub ru_idrss: i64,
    pub ru_isrss: i64,
    pub ru_minflt: i64,
    pub ru_majflt: i64,
    pub ru_nswap: i64,
    pub ru_inblock: i64,
    pub ru_oublock: i64,
    pub ru_msgsnd: i64,
    pub ru_msgrcv: i64,
    pub ru_nsignals: i64,
    pub ru_nvcsw: i64,
    pub ru_nivcsw: i64,
}

/// `struct tms` (32 bytes) for `times`, in clock ticks (`USER_HZ`).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Tms {
    pub tms_utime: i64,
    pub tms_stime: i64,
    pub tms_cutime: i64,
    pub tms_cstime: i64,
}

/// Most entries `readv`/`writev` accept.
pub const UIO_MAXIOV: usize = 1024;

/// `struct iovec` (16 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct Iovec {
    /// User address of the buffer (`iov_base`).
    pub base: u64,
    /// Its length (`iov_len`).
    pub len: u64,
}

/// `struct robust_list_head` (24 bytes), registered with `set_robust_list`.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct RobustListHead {
    /// `list.next`: first entry (points back to the head when empty).
    pub list: u64,
    /// Offset from an entry to its futex word (`long`: may be negative).
    pub futex_offset: i64,
    /// Entry being acquired or released, or 0.
    pub list_op_pending: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layouts() {
        assert_eq!(size_of::<Utsname>(), 390);
        assert_eq!(offset_of!(Utsname, nodename), 65);
        assert_eq!(offset_of!(Utsname, machine), 260);
        assert_eq!(offset_of!(Utsname, domainname), 325);
        assert_eq!(size_of::<Sysinfo>(), 112);
        assert_eq!(offset_of!(Sysinfo, loads), 8);
        assert_eq!(offset_of!(Sysinfo, totalram), 32);
        assert_eq!(offset_of!(Sysinfo, freeswap), 72);
        assert_eq!(offset_of!(Sysinfo, procs), 80);
        assert_eq!(offset_of!(Sysinfo, totalhigh), 88);
        assert_eq!(offset_of!(Sysinfo, freehigh), 96);
        assert_eq!(offset_of!(Sysinfo, mem_unit), 104);
        assert_eq!(size_of::<Rlimit>(), 16);
        assert_eq!(size_of::<Rusage>(), 144);
        assert_eq!(offset_of!(Rusage, ru_stime), 16);
        assert_eq!(offset_of!(Rusage, ru_maxrss), 32);
        assert_eq!(offset_of!(Rusage, ru_nivcsw), 136);
        assert_eq!(size_of::<Tms>(), 32);
        assert_eq!(size_of::<Iovec>(), 16);
        assert_eq!(offset_of!(Iovec, len), 8);
        assert_eq!(size_of::<RobustListHead>(), 24);
        assert_eq!(offset_of!(RobustListHead, futex_offset), 8);
        assert_eq!(offset_of!(RobustListHead, list_op_pending), 16);
    }

    #[test]
    fn utsname_pads_and_truncates() {
        let long_bytes = [b'x'; 100];
        let long = core::str::from_utf8(&long_bytes).unwrap();
        let u = Utsname::new("Linux", "exo", "6.1.0-exo", long, "x86_64", "");
        assert_eq!(&u.sysname[..6], b"Linux\0");
        assert!(u.sysname[5..].iter().all(|&b| b == 0));
        assert_eq!(&u.machine[..7], b"x86_64\0");
        assert_eq!(&u.version[..64], &long_bytes[..64]);
        assert_eq!(u.version[64], 0);
        assert_eq!(u.domainname, [0; UTSNAME_LEN]);
        // A multi-byte character straddling byte 64 is dropped whole.
        let mut bytes = [b'a'; 65];
        bytes[63..].copy_from_slice("é".as_bytes());
        let field = uts_field(core::str::from_utf8(&bytes).unwrap());
        assert_eq!(&field[..63], &[b'a'; 63]);
        assert_eq!((field[63], field[64]), (0, 0));
    }
}
