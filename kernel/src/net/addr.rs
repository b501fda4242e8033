//! Socket addresses as the calls exchange them: up to `sockaddr_storage`'s 128 bytes, read from
//! and written to user memory with Linux's length rules (`move_addr_to_kernel` and
//! `move_addr_to_user`). Each family parses the bytes itself.

use exo_abi::socket::SOCKADDR_STORAGE_SIZE;
use exo_abi::{Errno, KResult};

use crate::uaccess::{UserPtr, UserSlice};

/// A socket address: its bytes, family first.
#[derive(Clone, Copy)]
pub struct SockAddr {
    bytes: [u8; SOCKADDR_STORAGE_SIZE],
    len: usize,
}

impl SockAddr {
    /// The address made of `bytes` (cut at 128 bytes).
    pub fn from_bytes(bytes: &[u8]) -> SockAddr {
        let len = bytes.len().min(SOCKADDR_STORAGE_SIZE);
        let mut addr = SockAddr { bytes: [0; SOCKADDR_STORAGE_SIZE], len };
        addr.bytes[..len].copy_from_slice(&bytes[..len]);
        addr
    }

    /// An address of family `family` with nothing after it (an unnamed socket's name).
    pub fn unnamed(family: u16) -> SockAddr {
        SockAddr::from_bytes(&family.to_ne_bytes())
    }

    /// Reads `len` bytes at `ptr` (EINVAL when `len` is negative or over 128, EFAULT).
    pub fn read_user(ptr: UserPtr<u8>, len: u32) -> KResult<SockAddr> {
        let len = len as i32;
        if len < 0 || len as usize > SOCKADDR_STORAGE_SIZE {
            return Err(Errno::EINVAL);
        }
        let mut addr = SockAddr { bytes: [0; SOCKADDR_STORAGE_SIZE], len: len as usize };
        if len > 0 {
            UserSlice::new(ptr, len as usize)?.read_into(&mut addr.bytes[..len as usize])?;
        }
        Ok(addr)
    }

    /// Stores the address for a caller who gave `ptr` and a length word at `len_ptr`: copies
    /// at most the length the caller said, then stores the full length (Linux: the caller
    /// learns it was truncated). Nothing when `ptr` is null.
    pub fn write_user(&self, ptr: UserPtr<u8>, len_ptr: UserPtr<u32>) -> KResult<()> {
        if ptr.is_null() || len_ptr.is_null() {
            return Ok(());
        }
        let room = len_ptr.read()? as i32;
        if room < 0 {
            return Err(Errno::EINVAL);
        }
        let n = self.len.min(room as usize);
        if n > 0 {
            UserSlice::new(ptr, n)?.write_from(&self.bytes[..n])?;
        }
        len_ptr.write(&(self.len as u32))
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Its length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The family (`sa_family`), or AF_UNSPEC when shorter than 2 bytes.
    pub fn family(&self) -> u16 {
        if self.len < 2 {
            exo_abi::socket::AF_UNSPEC
        } else {
            u16::from_ne_bytes([self.bytes[0], self.bytes[1]])
        }
    }
}

impl core::fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SockAddr(family {}, {} bytes)", self.family(), self.len)
    }
}
