//! A POSIX message queue: messages ordered by priority (highest first, FIFO within one),
//! the `mq_attr` bounds, the name rules of `mq_open`/`mq_unlink` (the name after libc strips
//! the leading '/'), and the bytes a queue counts against RLIMIT_MSGQUEUE.

use alloc::vec::Vec;

use exo_abi::ipc::{MQ_HARD_MSGMAX, MQ_HARD_MSGSIZEMAX, MQ_MSGSIZE_MAX, MQ_MSG_MAX, MQ_PRIO_MAX};
use exo_abi::{Errno, KResult};

/// NAME_MAX.
pub const NAME_MAX: usize = 255;

/// Checks a queue name as the kernel receives it: ENOENT when empty, ENAMETOOLONG past
/// NAME_MAX, EACCES for '/' inside or "." / ".." (Linux's mqueue file-system lookup).
pub fn check_name(name: &[u8]) -> KResult<()> {
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.contains(&b'/') || name == b"." || name == b".." {
        return Err(Errno::EACCES);
    }
    Ok(())
}

/// Checks mq_open's attributes: EINVAL for a non-positive value, above the per-user limits
/// (10 messages, 8192 bytes) for a non-root caller, or above the hard limits for root.
pub fn check_attr(maxmsg: i64, msgsize: i64, root: bool) -> KResult<()> {
    if maxmsg <= 0 || msgsize <= 0 {
        return Err(Errno::EINVAL);
    }
    let (max_msg, max_size) = if root { (MQ_HARD_MSGMAX, MQ_HARD_MSGSIZEMAX) } else { (MQ_MSG_MAX, MQ_MSGSIZE_MAX) };
    if maxmsg > max_msg || msgsize > max_size {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The bytes a queue counts against its creator's RLIMIT_MSGQUEUE (Linux: the message
/// texts plus a header per message and a tree node per priority).
pub fn cost(maxmsg: i64, msgsize: i64) -> u64 {
    let maxmsg = maxmsg.max(0) as u64;
    let nodes = maxmsg.min(u64::from(MQ_PRIO_MAX));
    maxmsg.saturating_mul(48).saturating_add(nodes.saturating_mul(40)).saturating_add(maxmsg.saturating_mul(msgsize.max(0) as u64))
}

/// A queue's messages and bounds.
#[derive(Debug)]
pub struct MqQueue {
    /// (priority, text), highest priority first, oldest first within a priority.
    msgs: Vec<(u32, Vec<u8>)>,
    pub maxmsg: usize,
    pub msgsize: usize,
    /// Bytes of text queued (for /dev/mqueue's QSIZE).
    pub bytes: usize,
}

impl MqQueue {
    /// An empty queue.
    pub fn new(maxmsg: usize, msgsize: usize) -> MqQueue {
        MqQueue { msgs: Vec::new(), maxmsg, msgsize, bytes: 0 }
    }

    /// The number of queued messages.
    pub fn len(&self) -> usize {
        self.msgs.len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    /// Whether the queue is full.
    pub fn is_full(&self) -> bool {
        self.msgs.len() >= self.maxmsg
    }

    /// Checks a message before sending: EMSGSIZE past msgsize, EINVAL for a priority of
    /// MQ_PRIO_MAX or more.
    pub fn check_send(&self, len: usize, prio: u32) -> KResult<()> {
        if prio >= MQ_PRIO_MAX {
            return Err(Errno::EINVAL);
        }
        if len > self.msgsize {
            return Err(Errno::EMSGSIZE);
        }
        Ok(())
    }

    /// Queues a message (the caller checked it and that the queue is not full; ENOMEM).
    pub fn push(&mut self, prio: u32, text: Vec<u8>) -> KResult<()> {
        self.msgs.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let at = self.msgs.iter().position(|&(p, _)| p < prio).unwrap_or(self.msgs.len());
        self.bytes += text.len();
        self.msgs.insert(at, (prio, text));
        Ok(())
    }

    /// Takes the oldest message of the highest priority.
    pub fn pop(&mut self) -> Option<(u32, Vec<u8>)> {
        if self.msgs.is_empty() {
            return None;
        }
        let msg = self.msgs.remove(0);
        self.bytes -= msg.1.len();
        Some(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    #[test]
    fn names() {
        assert_eq!(check_name(b"q"), Ok(()));
        assert_eq!(check_name(b""), Err(Errno::ENOENT));
        assert_eq!(check_name(b"a/b"), Err(Errno::EACCES));
        assert_eq!(check_name(b".."), Err(Errno::EACCES));
        assert_eq!(check_name(&[b'x'; 256]), Err(Errno::ENAMETOOLONG));
        assert_eq!(check_name(&[b'x'; 255]), Ok(()));
    }

    #[test]
    fn attributes() {
        assert_eq!(check_attr(10, 8192, false), Ok(()));
        assert_eq!(check_attr(11, 8192, false), Err(Errno::EINVAL));
        assert_eq!(check_attr(10, 8193, false), Err(Errno::EINVAL));
        assert_eq!(check_attr(11, 8193, true), Ok(()));
        assert_eq!(check_attr(0, 1, true), Err(Errno::EINVAL));
        assert_eq!(check_attr(1, -1, true), Err(Errno::EINVAL));
        // Nine default queues fit in RLIMIT_MSGQUEUE's default, the tenth does not.
        assert!(9 * cost(10, 8192) <= 819_200 && 10 * cost(10, 8192) > 819_200);
    }

    #[test]
    fn send_checks() {
        let q = MqQueue::new(2, 4);
        assert_eq!(q.check_send(5, 0), Err(Errno::EMSGSIZE));
        assert_eq!(q.check_send(4, MQ_PRIO_MAX), Err(Errno::EINVAL));
        assert_eq!(q.check_send(4, MQ_PRIO_MAX - 1), Ok(()));
    }

    proptest! {
        /// Messages come out by priority, highest first, in sending order within one.
        #[test]
        fn priority_then_fifo(prios in proptest::collection::vec(0u32..4, 0..40)) {
            let mut q = MqQueue::new(100, 8);
            for (i, &p) in prios.iter().enumerate() {
                q.push(p, vec![i as u8]).unwrap();
            }
            let mut want: Vec<(u32, usize)> = prios.iter().enumerate().map(|(i, &p)| (p, i)).collect();
            want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            for (p, i) in want {
                prop_assert_eq!(q.pop(), Some((p, vec![i as u8])));
            }
            prop_assert!(q.is_empty() && q.bytes == 0);
        }
    }
}
