//! `mount`/`umount2` flags, `statfs` `f_flags` bits, and filesystem magic numbers (`f_type`).

/// `mount` flags (`unsigned long`).
pub const MS_RDONLY: u64 = 1;
pub const MS_NOSUID: u64 = 2;
pub const MS_NODEV: u64 = 4;
pub const MS_NOEXEC: u64 = 8;
pub const MS_SYNCHRONOUS: u64 = 16;
pub const MS_REMOUNT: u64 = 32;
pub const MS_MANDLOCK: u64 = 64;
pub const MS_DIRSYNC: u64 = 128;
pub const MS_NOSYMFOLLOW: u64 = 256;
pub const MS_NOATIME: u64 = 1024;
pub const MS_NODIRATIME: u64 = 2048;
pub const MS_BIND: u64 = 4096;
pub const MS_MOVE: u64 = 8192;
pub const MS_REC: u64 = 16384;
pub const MS_SILENT: u64 = 32768;
pub const MS_POSIXACL: u64 = 1 << 16;
pub const MS_UNBINDABLE: u64 = 1 << 17;
pub const MS_PRIVATE: u64 = 1 << 18;
pub const MS_SLAVE: u64 = 1 << 19;
pub const MS_SHARED: u64 = 1 << 20;
pub const MS_RELATIME: u64 = 1 << 21;
pub const MS_KERNMOUNT: u64 = 1 << 22;
pub const MS_I_VERSION: u64 = 1 << 23;
pub const MS_STRICTATIME: u64 = 1 << 24;
pub const MS_LAZYTIME: u64 = 1 << 25;
/// Old magic in the top 16 bits of the flags (ignored when present).
pub const MS_MGC_VAL: u64 = 0xC0ED_0000;
pub const MS_MGC_MSK: u64 = 0xffff_0000;

/// `umount2` flags.
pub const MNT_FORCE: u32 = 1;
pub const MNT_DETACH: u32 = 2;
pub const MNT_EXPIRE: u32 = 4;
pub const UMOUNT_NOFOLLOW: u32 = 8;

/// `statfs` `f_flags` bits (`ST_*`).
pub const ST_RDONLY: i64 = 0x0001;
pub const ST_NOSUID: i64 = 0x0002;
pub const ST_NODEV: i64 = 0x0004;
pub const ST_NOEXEC: i64 = 0x0008;
pub const ST_SYNCHRONOUS: i64 = 0x0010;
/// `f_flags` is valid (always set by Linux).
pub const ST_VALID: i64 = 0x0020;
pub const ST_MANDLOCK: i64 = 0x0040;
pub const ST_NOATIME: i64 = 0x0400;
pub const ST_NODIRATIME: i64 = 0x0800;
pub const ST_RELATIME: i64 = 0x1000;
pub const ST_NOSYMFOLLOW: i64 = 0x2000;

/// Filesystem magic numbers (`statfs` `f_type`).
pub const TMPFS_MAGIC: i64 = 0x0102_1994;
pub const RAMFS_MAGIC: i64 = 0x8584_58f6;
pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
pub const SYSFS_MAGIC: i64 = 0x6265_6572;
pub const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;
pub const EXT4_SUPER_MAGIC: i64 = 0xef53;
pub const MSDOS_SUPER_MAGIC: i64 = 0x4d44;
pub const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
pub const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
pub const DEBUGFS_MAGIC: i64 = 0x6462_6720;
pub const SECURITYFS_MAGIC: i64 = 0x7363_6673;
pub const PIPEFS_MAGIC: i64 = 0x5049_5045;
pub const SOCKFS_MAGIC: i64 = 0x534f_434b;
pub const ANON_INODE_FS_MAGIC: i64 = 0x0904_1934;
pub const NSFS_MAGIC: i64 = 0x6e73_6673;
pub const BINFMTFS_MAGIC: i64 = 0x4249_4e4d;
pub const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;
pub const FUSE_SUPER_MAGIC: i64 = 0x6573_5546;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_linux() {
        assert_eq!(
            (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT),
            (1, 2, 4, 8, 32)
        );
        assert_eq!(
            (MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE, MS_SHARED),
            (0x1000, 0x2000, 0x4000, 0x40000, 0x100000)
        );
        assert_eq!(
            (MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW),
            (1, 2, 4, 8)
        );
        assert_eq!(
            (TMPFS_MAGIC, PROC_SUPER_MAGIC, DEVPTS_SUPER_MAGIC),
            (0x01021994, 0x9fa0, 0x1cd1)
        );
        // SYSFS_MAGIC spells "beer", PIPEFS_MAGIC "PIPE", SOCKFS_MAGIC "SOCK".
        assert_eq!(SYSFS_MAGIC.to_be_bytes()[4..], *b"beer");
        assert_eq!(PIPEFS_MAGIC.to_be_bytes()[4..], *b"PIPE");
        assert_eq!(SOCKFS_MAGIC.to_be_bytes()[4..], *b"SOCK");
    }
}
