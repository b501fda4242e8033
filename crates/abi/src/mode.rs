//! File mode bits: the file-type field (`S_IFMT`) and permission bits of `st_mode`.

/// Mask of the file-type field.
pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;

pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;
pub const S_ISVTX: u32 = 0o1000;
/// Every permission bit (including setuid/setgid/sticky).
pub const S_IALLUGO: u32 = 0o7777;

/// Directory-entry types of `getdents64` (`d_type`).
pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_SOCK: u8 = 12;

/// The `d_type` for a mode's file type.
pub fn dirent_type(mode: u32) -> u8 {
    ((mode & S_IFMT) >> 12) as u8
}

/// A device number as `st_rdev` encodes it (Linux `new_encode_dev`-compatible `makedev`).
pub fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (u64::from(major), u64::from(minor));
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
}

/// The major and minor numbers of a device number made by [`makedev`].
pub fn major_minor(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_devices() {
        assert_eq!(dirent_type(S_IFDIR | 0o755), DT_DIR);
        assert_eq!(dirent_type(S_IFLNK), DT_LNK);
        assert_eq!(dirent_type(S_IFREG), DT_REG);
        assert_eq!(makedev(1, 3), 0x103);
        assert_eq!(major_minor(makedev(4, 64)), (4, 64));
        assert_eq!(major_minor(makedev(300, 70000)), (300, 70000));
    }
}
