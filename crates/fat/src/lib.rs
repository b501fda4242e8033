//! `exo-fat`: FAT12, FAT16 and FAT32 volumes with long names (Linux's `vfat`), read and write,
//! as an `exo_vfs` file system over an `exo_blockdev::BlockIo` device. The on-disk work (boot
//! sector, FAT chains, directory entries and long-name slots, FSInfo, crash ordering) is done by
//! the `hadris-fat` crate in `no_std` mode; this crate adds what Exo-OS needs around it:
//!
//! - [`FatFs`] (an `exo_vfs::FileSystem`, name `vfat`, magic [`MSDOS_SUPER_MAGIC`]) and
//!   [`FatNode`] (an `exo_vfs::Inode`): one live inode object per file while it is referenced,
//!   identified by the driver's node id (the position of its directory entry, kept across
//!   renames while the inode lives), which is also the inode number.
//! - Linux vfat's ownership and modes ([`FatMountOptions`]: `uid=`, `gid=`, `umask=`, `fmask=`,
//!   `dmask=`): every file belongs to the mount's uid/gid; files are `0777 & ~fmask`,
//!   directories `0777 & ~dmask`; the read-only attribute clears a file's write bits and
//!   `chmod` toggles it; other mode changes, and `chown` to another owner, are `EPERM`.
//! - Errors as Linux gives them: no symlinks, hard links or device nodes (`EPERM`); damaged
//!   metadata `EUCLEAN` (with a `log::warn!`), device errors `EIO`; never a panic.
//!
//! Locks: one `exo_sleeplock::Mutex` per volume around the driver (disk I/O may sleep), then
//! leaf spin locks (an inode's cached metadata, the queue of dropped inodes). Dropping an inode
//! takes only the queue's lock; the next operation releases its pin.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod dev;
mod fs;
mod node;
mod rename;

use alloc::sync::Arc;

use exo_abi::Errno;
use exo_blockdev::BlockIo;

pub use fs::FatFs;
pub use node::FatNode;

/// `statfs.f_type` of FAT file systems (Linux `MSDOS_SUPER_MAGIC`).
pub const MSDOS_SUPER_MAGIC: u64 = 0x4d44;

/// Mount options (Linux vfat's names and defaults).
#[derive(Clone)]
pub struct FatMountOptions {
    pub read_only: bool,
    /// Owner of every file (`uid=`, default 0).
    pub uid: u32,
    /// Group of every file (`gid=`, default 0).
    pub gid: u32,
    /// Permission bits cleared on files (`fmask=` or `umask=`, octal; default 022).
    pub fmask: u32,
    /// Permission bits cleared on directories (`dmask=` or `umask=`, octal; default 022).
    pub dmask: u32,
    /// Stamps created and modified entries. Pass the same `Arc` to every mount: the driver
    /// needs a `&'static` clock, so one adapter is kept forever per distinct clock object.
    pub clock: Arc<dyn exo_vfs::Clock>,
}

/// Options Linux's vfat accepts that change nothing here (character sets are UTF-8, times UTC).
const IGNORED: &[&str] = &[
    "quiet", "showexec", "debug", "sys_immutable", "flush", "usefree", "nocase", "utf8", "uni_xlate", "nonumtail",
    "rodir", "dots", "nodots", "dotsOK", "discard", "nfs", "codepage", "iocharset", "shortname", "tz", "time_offset",
    "errors", "check", "conv", "fat", "allow_utime", "cvf_format", "cvf_options", "posix", "async", "sync", "atime",
    "noatime", "relatime", "nodiratime", "diratime", "defaults", "exec", "noexec", "suid", "nosuid", "dev", "nodev",
];

impl FatMountOptions {
    /// Defaults: read-write, uid 0, gid 0, masks 022.
    pub fn new(clock: Arc<dyn exo_vfs::Clock>) -> FatMountOptions {
        FatMountOptions { read_only: false, uid: 0, gid: 0, fmask: 0o022, dmask: 0o022, clock }
    }

    /// Parses the `mount(2)` data string: comma-separated `uid=`, `gid=` (decimal), `umask=`,
    /// `fmask=`, `dmask=` (octal), `ro`, `rw`; other options Linux's vfat knows are accepted
    /// and ignored; an unknown option or a bad value is `EINVAL` (as Linux).
    pub fn parse(data: &[u8], clock: Arc<dyn exo_vfs::Clock>) -> Result<FatMountOptions, Errno> {
        let mut o = FatMountOptions::new(clock);
        let data = match data.iter().position(|&b| b == 0) {
            Some(end) => &data[..end],
            None => data,
        };
        let text = core::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
        for opt in text.split(',').filter(|s| !s.is_empty()) {
            let (key, value) = match opt.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (opt, None),
            };
            let num = |radix: u32| -> Result<u32, Errno> {
                let v = value.ok_or(Errno::EINVAL)?;
                u32::from_str_radix(v, radix).map_err(|_| Errno::EINVAL)
            };
            match key {
                "uid" => o.uid = num(10)?,
                "gid" => o.gid = num(10)?,
                "umask" => {
                    let m = num(8)? & 0o777;
                    o.fmask = m;
                    o.dmask = m;
                }
                "fmask" => o.fmask = num(8)? & 0o777,
                "dmask" => o.dmask = num(8)? & 0o777,
                "ro" if value.is_none() => o.read_only = true,
                "rw" if value.is_none() => o.read_only = false,
                k if IGNORED.contains(&k) => {}
                _ => return Err(Errno::EINVAL),
            }
        }
        Ok(o)
    }
}

/// Whether `dev` starts with a FAT boot sector (a plausible BIOS parameter block): for
/// `mount` without `-t` and `blkid`-style probing. Reads one sector; never fails.
pub fn probe(dev: &dyn BlockIo) -> bool {
    let mut s = [0u8; 512];
    if dev.read_at(0, &mut s).is_err() {
        return false;
    }
    let u16at = |i: usize| u16::from_le_bytes([s[i], s[i + 1]]);
    let bytes_per_sector = u16at(11);
    let per_cluster = s[13];
    let reserved = u16at(14);
    let fats = s[16];
    let media = s[21];
    (s[0] == 0xEB || s[0] == 0xE9)
        && matches!(bytes_per_sector, 512 | 1024 | 2048 | 4096)
        && per_cluster != 0
        && per_cluster.is_power_of_two()
        && reserved != 0
        && (1..=2).contains(&fats)
        && (media == 0xF0 || media >= 0xF8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use exo_vfs::Time;

    fn clock() -> Arc<dyn exo_vfs::Clock> {
        Arc::new(|| Time::new(1_700_000_000, 0))
    }

    #[test]
    fn parses_linux_options() {
        let o = FatMountOptions::parse(b"uid=1000,gid=100,umask=077,ro\0junk", clock()).unwrap();
        assert_eq!((o.uid, o.gid, o.fmask, o.dmask, o.read_only), (1000, 100, 0o077, 0o077, true));
        let o = FatMountOptions::parse(b"fmask=0133,dmask=022,iocharset=utf8,shortname=mixed", clock()).unwrap();
        assert_eq!((o.fmask, o.dmask, o.read_only), (0o133, 0o022, false));
        let o = FatMountOptions::parse(b"", clock()).unwrap();
        assert_eq!((o.uid, o.fmask, o.dmask), (0, 0o022, 0o022));
    }

    #[test]
    fn rejects_bad_options() {
        for bad in [&b"uid=x"[..], b"umask=9", b"bogus", b"uid", b"gid=-1", b"ro=1", b"\xff"] {
            assert_eq!(FatMountOptions::parse(bad, clock()).err(), Some(Errno::EINVAL), "{bad:?}");
        }
    }
}
