//! Extended attributes (`setxattr(2)` family): flags and limits, Linux's values
//! (`uapi/linux/xattr.h`, `uapi/linux/limits.h`).

/// `setxattr` flag: fail with `EEXIST` if the attribute exists.
pub const XATTR_CREATE: u32 = 1;
/// `setxattr` flag: fail with `ENODATA` if the attribute does not exist.
pub const XATTR_REPLACE: u32 = 2;
/// Longest attribute name, prefix included (`ERANGE` beyond).
pub const XATTR_NAME_MAX: usize = 255;
/// Largest attribute value (`E2BIG` beyond).
pub const XATTR_SIZE_MAX: usize = 65536;
/// Largest list `listxattr` returns.
pub const XATTR_LIST_MAX: usize = 65536;

/// Namespace prefixes.
pub const XATTR_USER_PREFIX: &[u8] = b"user.";
pub const XATTR_TRUSTED_PREFIX: &[u8] = b"trusted.";
pub const XATTR_SECURITY_PREFIX: &[u8] = b"security.";
pub const XATTR_SYSTEM_PREFIX: &[u8] = b"system.";
