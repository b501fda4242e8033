//! A System V message queue: messages with a type, the byte and count bound (`msg_qbytes`),
//! and msgrcv's selection (`msgtyp` 0 / > 0 / < 0, MSG_EXCEPT, MSG_COPY's index).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use exo_abi::{Errno, KResult};

/// One message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    pub mtype: i64,
    pub data: Vec<u8>,
}

/// A queue and its `msqid_ds` counters.
#[derive(Debug, Default)]
pub struct MsgQueue {
    pub msgs: VecDeque<Msg>,
    /// Bytes of message text queued.
    pub cbytes: usize,
    /// The bound on `cbytes` (and on the number of messages, as Linux).
    pub qbytes: usize,
    pub stime: i64,
    pub rtime: i64,
    pub ctime: i64,
    pub lspid: i32,
    pub lrpid: i32,
}

/// Which message msgrcv wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select {
    /// The first message (msgtyp 0).
    Any,
    /// The first of this type (msgtyp > 0).
    Type(i64),
    /// The first not of this type (msgtyp > 0 with MSG_EXCEPT).
    Except(i64),
    /// The first of the lowest type at most this (msgtyp < 0).
    AtMost(i64),
    /// The message at this position (MSG_COPY).
    Nth(usize),
}

impl Select {
    /// msgrcv's `msgtyp` and flags. MSG_COPY takes msgtyp as the index.
    pub fn new(msgtyp: i64, except: bool, copy: bool) -> Select {
        if copy {
            return Select::Nth(usize::try_from(msgtyp).unwrap_or(usize::MAX));
        }
        match msgtyp {
            0 => Select::Any,
            t if t > 0 && except => Select::Except(t),
            t if t > 0 => Select::Type(t),
            t => Select::AtMost(t.checked_neg().unwrap_or(i64::MAX)),
        }
    }
}

impl MsgQueue {
    /// An empty queue bounded at `qbytes`.
    pub fn new(qbytes: usize, now: i64) -> MsgQueue {
        MsgQueue { qbytes, ctime: now, ..MsgQueue::default() }
    }

    /// The position of the message `select` picks.
    pub fn select(&self, select: Select) -> Option<usize> {
        match select {
            Select::Any => (!self.msgs.is_empty()).then_some(0),
            Select::Type(t) => self.msgs.iter().position(|m| m.mtype == t),
            Select::Except(t) => self.msgs.iter().position(|m| m.mtype != t),
            Select::AtMost(limit) => {
                let mut best: Option<(usize, i64)> = None;
                for (i, m) in self.msgs.iter().enumerate() {
                    if m.mtype <= limit && best.is_none_or(|(_, t)| m.mtype < t) {
                        best = Some((i, m.mtype));
                    }
                }
                best.map(|(i, _)| i)
            }
            Select::Nth(n) => (n < self.msgs.len()).then_some(n),
        }
    }

    /// Whether a message of `len` bytes fits now (Linux: the bytes and the count, each
    /// bounded by `qbytes`).
    pub fn has_room(&self, len: usize) -> bool {
        self.cbytes.saturating_add(len) <= self.qbytes && self.msgs.len() < self.qbytes
    }

    /// Appends a message (ENOMEM).
    pub fn push(&mut self, msg: Msg, pid: i32, now: i64) -> KResult<()> {
        self.msgs.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.cbytes += msg.data.len();
        self.msgs.push_back(msg);
        self.lspid = pid;
        self.stime = now;
        Ok(())
    }

    /// Removes the message at `index`.
    pub fn take(&mut self, index: usize, pid: i32, now: i64) -> Option<Msg> {
        let msg = self.msgs.remove(index)?;
        self.cbytes -= msg.data.len();
        self.lrpid = pid;
        self.rtime = now;
        Some(msg)
    }
}

/// How many bytes of a `len`-byte message msgrcv returns into a `msgsz` buffer: all of it,
/// the first `msgsz` with MSG_NOERROR, or E2BIG.
pub fn received_len(len: usize, msgsz: usize, noerror: bool) -> KResult<usize> {
    if len <= msgsz {
        Ok(len)
    } else if noerror {
        Ok(msgsz)
    } else {
        Err(Errno::E2BIG)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    fn queue(types: &[i64]) -> MsgQueue {
        let mut q = MsgQueue::new(16384, 0);
        for &t in types {
            q.push(Msg { mtype: t, data: vec![t as u8] }, 1, 0).unwrap();
        }
        q
    }

    #[test]
    fn selection() {
        let q = queue(&[3, 1, 2, 1, 5]);
        assert_eq!(q.select(Select::new(0, false, false)), Some(0));
        assert_eq!(q.select(Select::new(1, false, false)), Some(1));
        assert_eq!(q.select(Select::new(4, false, false)), None);
        assert_eq!(q.select(Select::new(3, true, false)), Some(1));
        assert_eq!(q.select(Select::new(-2, false, false)), Some(1));
        assert_eq!(q.select(Select::new(-10, false, false)), Some(1));
        assert_eq!(queue(&[5, 3]).select(Select::new(-2, false, false)), None);
        assert_eq!(q.select(Select::new(i64::MIN, false, false)), Some(1));
        assert_eq!(q.select(Select::new(4, false, true)), Some(4));
        assert_eq!(q.select(Select::new(5, false, true)), None);
    }

    #[test]
    fn room_and_sizes() {
        let mut q = MsgQueue::new(10, 0);
        assert!(q.has_room(10) && !q.has_room(11));
        q.push(Msg { mtype: 1, data: vec![0; 6] }, 1, 0).unwrap();
        assert!(!q.has_room(5) && q.has_room(4));
        assert_eq!(q.take(0, 2, 9).map(|m| m.data.len()), Some(6));
        assert_eq!((q.cbytes, q.lrpid, q.rtime), (0, 2, 9));
        assert_eq!(received_len(10, 4, false), Err(Errno::E2BIG));
        assert_eq!(received_len(10, 4, true), Ok(4));
        assert_eq!(received_len(3, 4, false), Ok(3));
    }

    proptest! {
        /// Negative msgtyp takes the first message of the smallest eligible type.
        #[test]
        fn at_most_is_first_of_smallest(types in proptest::collection::vec(1i64..20, 0..30), limit in 1i64..25) {
            let q = queue(&types);
            let want = types.iter().copied().filter(|&t| t <= limit).min().and_then(|min| types.iter().position(|&t| t == min));
            prop_assert_eq!(q.select(Select::new(-limit, false, false)), want);
        }
    }
}
