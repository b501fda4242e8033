//! Control messages (`cmsghdr` lists) with Linux's rules.
//!
//! Sending ([`parse_send`], Linux's `__scm_send`): headers are walked with `CMSG_FIRSTHDR` /
//! `CMSG_NXTHDR` (each message padded to 8 bytes; the walk stops when less than a header is
//! left); a header whose `cmsg_len` is below 16 or runs past the buffer is EINVAL. Levels other
//! than SOL_SOCKET are skipped. SCM_RIGHTS carries `(cmsg_len - 16) / 4` descriptors (none:
//! ignored), at most [`SCM_MAX_FD`] in all the message's SCM_RIGHTS together (EINVAL);
//! SCM_CREDENTIALS must be exactly `CMSG_LEN(sizeof(struct ucred))` (EINVAL); any other type
//! is EINVAL.
//!
//! Receiving ([`Builder`], Linux's `put_cmsg` and `scm_detach_fds`): messages are appended
//! while they fit in the room the receiver gave; one that does not fit is cut (its `cmsg_len`
//! says what was written) and MSG_CTRUNC is reported; descriptors that do not fit are not
//! installed (the caller closes them) and MSG_CTRUNC is reported.

use alloc::vec::Vec;

use exo_abi::socket::{cmsg_align, cmsg_len, cmsg_space, Ucred, CMSG_HDR_SIZE, SCM_CREDENTIALS, SCM_MAX_FD, SCM_RIGHTS, SOL_SOCKET};

/// Why a sender's control messages were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmsgError {
    /// Malformed, too many descriptors, an unknown type (EINVAL).
    Invalid,
    /// No memory for the descriptor list (ENOMEM).
    NoMemory,
}

/// What a sender's control messages ask for.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct SendControl {
    /// SCM_RIGHTS descriptors, in order.
    pub fds: Vec<i32>,
    /// SCM_CREDENTIALS (the last one given).
    pub creds: Option<Ucred>,
}

fn header(control: &[u8], at: usize) -> (u64, i32, i32) {
    let b = &control[at..at + CMSG_HDR_SIZE];
    let len = u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    let level = i32::from_ne_bytes([b[8], b[9], b[10], b[11]]);
    let kind = i32::from_ne_bytes([b[12], b[13], b[14], b[15]]);
    (len, level, kind)
}

/// Walks `control` (the sender's `msg_control` bytes) as Linux does.
pub fn parse_send(control: &[u8]) -> Result<SendControl, CmsgError> {
    let mut out = SendControl::default();
    let mut at = 0usize;
    while control.len().saturating_sub(at) >= CMSG_HDR_SIZE {
        let (len, level, kind) = header(control, at);
        let left = (control.len() - at) as u64;
        if len < CMSG_HDR_SIZE as u64 || len > left {
            return Err(CmsgError::Invalid);
        }
        let len = len as usize;
        let data = &control[at + CMSG_HDR_SIZE..at + len];
        if level == SOL_SOCKET {
            match kind {
                SCM_RIGHTS => {
                    let n = data.len() / 4;
                    if n > 0 {
                        if n > SCM_MAX_FD || out.fds.len() + n > SCM_MAX_FD {
                            return Err(CmsgError::Invalid);
                        }
                        out.fds.try_reserve(n).map_err(|_| CmsgError::NoMemory)?;
                        out.fds.extend(data.chunks_exact(4).map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]])));
                    }
                }
                SCM_CREDENTIALS => {
                    if len != cmsg_len(core::mem::size_of::<Ucred>()) {
                        return Err(CmsgError::Invalid);
                    }
                    let w = |i: usize| [data[i], data[i + 1], data[i + 2], data[i + 3]];
                    out.creds = Some(Ucred { pid: i32::from_ne_bytes(w(0)), uid: u32::from_ne_bytes(w(4)), gid: u32::from_ne_bytes(w(8)) });
                }
                _ => return Err(CmsgError::Invalid),
            }
        }
        // CMSG_NXTHDR: the next header starts at the aligned end; past the buffer ends the walk.
        at = match at.checked_add(cmsg_align(len)) {
            Some(next) => next,
            None => break,
        };
    }
    Ok(out)
}

/// A receiver's control messages, built into `space` bytes.
pub struct Builder {
    bytes: Vec<u8>,
    space: usize,
    /// Something did not fit (MSG_CTRUNC).
    pub truncated: bool,
}

impl Builder {
    /// A builder for a receiver that gave `space` bytes of room.
    pub fn new(space: usize) -> Builder {
        Builder { bytes: Vec::new(), space, truncated: false }
    }

    fn room(&self) -> usize {
        self.space.saturating_sub(self.bytes.len())
    }

    /// Appends one message (Linux's `put_cmsg`): cut to the room, MSG_CTRUNC if cut or if
    /// not even a header fits. Err on allocation failure.
    pub fn put(&mut self, level: i32, kind: i32, data: &[u8]) -> Result<(), CmsgError> {
        let room = self.room();
        if room < CMSG_HDR_SIZE {
            self.truncated = true;
            return Ok(());
        }
        let mut len = cmsg_len(data.len());
        if room < len {
            self.truncated = true;
            len = room;
        }
        let advance = cmsg_space(data.len()).min(room);
        self.bytes.try_reserve(advance).map_err(|_| CmsgError::NoMemory)?;
        let start = self.bytes.len();
        self.bytes.extend_from_slice(&(len as u64).to_ne_bytes());
        self.bytes.extend_from_slice(&level.to_ne_bytes());
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        self.bytes.extend_from_slice(&data[..len - CMSG_HDR_SIZE]);
        self.bytes.resize(start + advance, 0);
        Ok(())
    }

    /// How many of `count` passed descriptors fit (Linux's `scm_detach_fds`: those beyond are
    /// closed, and MSG_CTRUNC is reported — also when none fits).
    pub fn fds_fitting(&mut self, count: usize) -> usize {
        let room = self.room();
        let max = if room > CMSG_HDR_SIZE { (room - CMSG_HDR_SIZE) / 4 } else { 0 };
        let n = count.min(max);
        if n < count {
            self.truncated = true;
        }
        n
    }

    /// Appends the SCM_RIGHTS message of the descriptors installed (at most what
    /// [`fds_fitting`](Self::fds_fitting) allowed); nothing for none.
    pub fn put_fds(&mut self, fds: &[i32]) -> Result<(), CmsgError> {
        if fds.is_empty() {
            return Ok(());
        }
        let mut data = [0u8; SCM_MAX_FD * 4];
        let n = fds.len().min(SCM_MAX_FD);
        for (chunk, fd) in data.chunks_exact_mut(4).zip(&fds[..n]) {
            chunk.copy_from_slice(&fd.to_ne_bytes());
        }
        self.put(SOL_SOCKET, SCM_RIGHTS, &data[..n * 4])
    }

    /// The control bytes (at most `space`).
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    fn cmsg(level: i32, kind: i32, data: &[u8]) -> Vec<u8> {
        let mut v = (cmsg_len(data.len()) as u64).to_ne_bytes().to_vec();
        v.extend_from_slice(&level.to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(data);
        v.resize(cmsg_space(data.len()), 0);
        v
    }

    fn fds(list: &[i32]) -> Vec<u8> {
        list.iter().flat_map(|f| f.to_ne_bytes()).collect()
    }

    #[test]
    fn rights_and_credentials() {
        let mut c = cmsg(SOL_SOCKET, SCM_RIGHTS, &fds(&[3, 4]));
        let cred = Ucred { pid: 7, uid: 8, gid: 9 };
        c.extend(cmsg(SOL_SOCKET, SCM_CREDENTIALS, &cred_bytes(&cred)));
        c.extend(cmsg(SOL_SOCKET, SCM_RIGHTS, &fds(&[5])));
        let out = parse_send(&c).unwrap();
        assert_eq!(out.fds, vec![3, 4, 5]);
        assert_eq!(out.creds, Some(cred));
    }

    fn cred_bytes(c: &Ucred) -> Vec<u8> {
        let mut v = c.pid.to_ne_bytes().to_vec();
        v.extend_from_slice(&c.uid.to_ne_bytes());
        v.extend_from_slice(&c.gid.to_ne_bytes());
        v
    }

    #[test]
    fn malformed_lists() {
        // Length below a header.
        let mut c = cmsg(SOL_SOCKET, SCM_RIGHTS, &fds(&[1]));
        c[..8].copy_from_slice(&8u64.to_ne_bytes());
        assert_eq!(parse_send(&c), Err(CmsgError::Invalid));
        // Length past the buffer.
        let mut c = cmsg(SOL_SOCKET, SCM_RIGHTS, &fds(&[1]));
        c[..8].copy_from_slice(&100u64.to_ne_bytes());
        assert_eq!(parse_send(&c), Err(CmsgError::Invalid));
        // Wrong credentials length, unknown type.
        assert_eq!(parse_send(&cmsg(SOL_SOCKET, SCM_CREDENTIALS, &[0; 8])), Err(CmsgError::Invalid));
        assert_eq!(parse_send(&cmsg(SOL_SOCKET, 99, &[0; 4])), Err(CmsgError::Invalid));
        // Too many descriptors, in one message or in two.
        assert_eq!(parse_send(&cmsg(SOL_SOCKET, SCM_RIGHTS, &fds(&[0; 254]))), Err(CmsgError::Invalid));
        let mut c = cmsg(SOL_SOCKET, SCM_RIGHTS, &fds(&[0; 200]));
        c.extend(cmsg(SOL_SOCKET, SCM_RIGHTS, &fds(&[0; 54])));
        assert_eq!(parse_send(&c), Err(CmsgError::Invalid));
        // Other levels are skipped; a short tail ends the walk; no descriptors is fine.
        let mut c = cmsg(0, 99, &[1, 2, 3]);
        c.extend([0u8; 15]);
        assert_eq!(parse_send(&c), Ok(SendControl::default()));
        assert_eq!(parse_send(&cmsg(SOL_SOCKET, SCM_RIGHTS, &[1, 2])), Ok(SendControl::default()));
        assert_eq!(parse_send(&[]), Ok(SendControl::default()));
    }

    #[test]
    fn building_truncates_like_linux() {
        let mut b = Builder::new(cmsg_space(12) + cmsg_space(8));
        b.put(SOL_SOCKET, SCM_CREDENTIALS, &[1; 12]).unwrap();
        assert_eq!(b.fds_fitting(3), 2);
        b.put_fds(&[10, 11]).unwrap();
        assert!(b.truncated);
        let out = b.finish();
        assert_eq!(out.len(), cmsg_space(12) + cmsg_space(8));
        assert_eq!(parse_send(&out).unwrap().fds, vec![10, 11]);
        // A header that does not fit: nothing written, truncated.
        let mut b = Builder::new(10);
        b.put(SOL_SOCKET, SCM_CREDENTIALS, &[1; 12]).unwrap();
        assert!(b.truncated);
        assert!(b.finish().is_empty());
        // Credentials cut to the room: cmsg_len says what was written.
        let mut b = Builder::new(20);
        b.put(SOL_SOCKET, SCM_CREDENTIALS, &[1; 12]).unwrap();
        assert!(b.truncated);
        let out = b.finish();
        assert_eq!(out.len(), 20);
        assert_eq!(u64::from_ne_bytes(out[..8].try_into().unwrap()), 20);
        // No room for any descriptor.
        let mut b = Builder::new(16);
        assert_eq!(b.fds_fitting(1), 0);
        assert!(b.truncated);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse_send(&bytes);
        }

        #[test]
        fn built_lists_fit_and_parse(space in 0usize..200, n in 0usize..60, creds: bool) {
            let mut b = Builder::new(space);
            if creds {
                b.put(SOL_SOCKET, SCM_CREDENTIALS, &[0; 12]).unwrap();
            }
            let k = b.fds_fitting(n);
            let list: Vec<i32> = (0..k as i32).collect();
            b.put_fds(&list).unwrap();
            let truncated = b.truncated;
            let out = b.finish();
            proptest::prop_assert!(out.len() <= space);
            if !truncated {
                let parsed = parse_send(&out).unwrap();
                proptest::prop_assert_eq!(parsed.fds.len(), n);
            }
        }
    }
}
