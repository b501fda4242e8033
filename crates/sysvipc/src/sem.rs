//! A System V semaphore set: values, last pids, waiter counts, per-process undo values, and
//! `semop`'s all-or-nothing evaluation (Linux's `perform_atomic_semop`): every operation of a
//! call applies, or none does and the call blocks on the first that cannot go on (or fails
//! with EAGAIN for IPC_NOWAIT, ERANGE past SEMVMX or the undo bound).

use alloc::vec::Vec;

use exo_abi::ipc::{SemBuf, IPC_NOWAIT, SEMAEM, SEMVMX, SEM_UNDO};
use exo_abi::{Errno, KResult};

/// One semaphore.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sem {
    pub val: u16,
    /// The pid of the last process to operate on it (GETPID).
    pub pid: i32,
    /// Tasks waiting for it to increase (GETNCNT) / to become zero (GETZCNT).
    pub ncnt: u32,
    pub zcnt: u32,
}

/// A process's undo values for one set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undo {
    pub pid: u32,
    pub adj: Vec<i16>,
}

/// A set.
#[derive(Debug, Default)]
pub struct SemSet {
    pub sems: Vec<Sem>,
    pub otime: i64,
    pub ctime: i64,
    pub undos: Vec<Undo>,
}

/// Where a semop must wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub num: usize,
    /// Waiting for zero (sem_op 0) rather than for an increase.
    pub zero: bool,
}

/// Checks a semop's operations against a set of `nsems`: EFBIG for a number out of range.
/// Returns whether any operation alters the set (write permission) and whether any asks for
/// undo.
pub fn check_ops(ops: &[SemBuf], nsems: usize) -> KResult<(bool, bool)> {
    let mut alter = false;
    let mut undo = false;
    for op in ops {
        if usize::from(op.num) >= nsems {
            return Err(Errno::EFBIG);
        }
        alter |= op.op != 0;
        undo |= op.flg & SEM_UNDO != 0;
    }
    Ok((alter, undo))
}

impl SemSet {
    /// A set of `nsems` zeroed semaphores (ENOMEM).
    pub fn new(nsems: usize, now: i64) -> KResult<SemSet> {
        let mut sems = Vec::new();
        sems.try_reserve_exact(nsems).map_err(|_| Errno::ENOMEM)?;
        sems.resize(nsems, Sem::default());
        Ok(SemSet { sems, otime: 0, ctime: now, undos: Vec::new() })
    }

    fn undo_index(&mut self, pid: u32) -> KResult<usize> {
        if let Some(i) = self.undos.iter().position(|u| u.pid == pid) {
            return Ok(i);
        }
        let mut adj = Vec::new();
        adj.try_reserve_exact(self.sems.len()).map_err(|_| Errno::ENOMEM)?;
        adj.resize(self.sems.len(), 0);
        self.undos.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.undos.push(Undo { pid, adj });
        Ok(self.undos.len() - 1)
    }

    /// Tries the operations (already checked by [`check_ops`]) for process `pid`: Ok(None)
    /// when all applied, Ok(Some(block)) when the caller must wait (nothing changed), EAGAIN
    /// when the blocking operation has IPC_NOWAIT, ERANGE, ENOMEM (undo list).
    pub fn try_ops(&mut self, ops: &[SemBuf], pid: u32, now: i64) -> KResult<Option<Block>> {
        let undo = if ops.iter().any(|op| op.flg & SEM_UNDO != 0) { Some(self.undo_index(pid)?) } else { None };
        for (done, op) in ops.iter().enumerate() {
            let num = usize::from(op.num);
            let cur = i32::from(self.sems[num].val);
            let result = cur + i32::from(op.op);
            let failure = if op.op == 0 && cur != 0 {
                Some(Ok(Block { num, zero: true }))
            } else if result < 0 {
                Some(Ok(Block { num, zero: false }))
            } else if result > SEMVMX {
                Some(Err(Errno::ERANGE))
            } else {
                None
            };
            let adj = match (undo, op.flg & SEM_UNDO != 0) {
                (Some(u), true) => {
                    let adj = i32::from(self.undos[u].adj[num]) - i32::from(op.op);
                    Some((u, adj))
                }
                _ => None,
            };
            let failure = failure.or_else(|| adj.filter(|&(_, a)| !(-SEMAEM - 1..=SEMAEM).contains(&a)).map(|_| Err(Errno::ERANGE)));
            if let Some(failure) = failure {
                self.revert(&ops[..done], undo);
                return match failure {
                    Ok(_) if op.flg as u32 & IPC_NOWAIT != 0 => Err(Errno::EAGAIN),
                    Ok(block) => Ok(Some(block)),
                    Err(e) => Err(e),
                };
            }
            self.sems[num].val = result as u16;
            if let Some((u, adj)) = adj {
                self.undos[u].adj[num] = adj as i16;
            }
        }
        for op in ops {
            self.sems[usize::from(op.num)].pid = pid as i32;
        }
        self.otime = now;
        Ok(None)
    }

    fn revert(&mut self, ops: &[SemBuf], undo: Option<usize>) {
        for op in ops.iter().rev() {
            let num = usize::from(op.num);
            self.sems[num].val = (i32::from(self.sems[num].val) - i32::from(op.op)) as u16;
            if let (Some(u), true) = (undo, op.flg & SEM_UNDO != 0) {
                self.undos[u].adj[num] = (i32::from(self.undos[u].adj[num]) + i32::from(op.op)) as i16;
            }
        }
    }

    /// SETVAL: ERANGE outside 0..=SEMVMX; every process's undo value for it is cleared.
    pub fn set_val(&mut self, num: usize, val: i32, pid: u32, now: i64) -> KResult<()> {
        if !(0..=SEMVMX).contains(&val) {
            return Err(Errno::ERANGE);
        }
        let sem = self.sems.get_mut(num).ok_or(Errno::EINVAL)?;
        sem.val = val as u16;
        sem.pid = pid as i32;
        for undo in &mut self.undos {
            undo.adj[num] = 0;
        }
        self.ctime = now;
        Ok(())
    }

    /// SETALL: ERANGE if any value exceeds SEMVMX (nothing changes then); undo values cleared.
    pub fn set_all(&mut self, vals: &[u16], pid: u32, now: i64) -> KResult<()> {
        if vals.len() != self.sems.len() {
            return Err(Errno::EINVAL);
        }
        if vals.iter().any(|&v| i32::from(v) > SEMVMX) {
            return Err(Errno::ERANGE);
        }
        for (sem, &val) in self.sems.iter_mut().zip(vals) {
            sem.val = val;
            sem.pid = pid as i32;
        }
        self.undos.clear();
        self.ctime = now;
        Ok(())
    }

    /// Process `pid` exits: its undo values are applied (each result clamped to
    /// 0..=SEMVMX, as Linux). Returns whether it had any.
    pub fn exit(&mut self, pid: u32) -> bool {
        let Some(i) = self.undos.iter().position(|u| u.pid == pid) else { return false };
        let undo = self.undos.swap_remove(i);
        for (sem, &adj) in self.sems.iter_mut().zip(&undo.adj) {
            if adj != 0 {
                sem.val = (i32::from(sem.val) + i32::from(adj)).clamp(0, SEMVMX) as u16;
                sem.pid = pid as i32;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn op(num: u16, op: i16, flg: i16) -> SemBuf {
        SemBuf { num, op, flg }
    }

    #[test]
    fn all_or_nothing() {
        let mut set = SemSet::new(2, 0).unwrap();
        assert_eq!(set.try_ops(&[op(0, 2, 0)], 1, 5), Ok(None));
        // The second op blocks: the first is undone.
        assert_eq!(set.try_ops(&[op(0, -1, 0), op(1, -1, 0)], 1, 6), Ok(Some(Block { num: 1, zero: false })));
        assert_eq!(set.sems[0].val, 2);
        assert_eq!(set.try_ops(&[op(0, 0, 0)], 1, 6), Ok(Some(Block { num: 0, zero: true })));
        assert_eq!(set.try_ops(&[op(0, 0, IPC_NOWAIT as i16)], 1, 6), Err(Errno::EAGAIN));
        assert_eq!(set.try_ops(&[op(1, 0, 0), op(0, -2, 0)], 7, 8), Ok(None));
        assert_eq!((set.sems[0].val, set.sems[0].pid, set.sems[1].pid, set.otime), (0, 7, 7, 8));
        assert_eq!(set.try_ops(&[op(0, 32767, 0), op(0, 1, 0)], 1, 9), Err(Errno::ERANGE));
        assert_eq!(set.sems[0].val, 0);
        assert_eq!(check_ops(&[op(2, 1, 0)], 2), Err(Errno::EFBIG));
        assert_eq!(check_ops(&[op(1, 0, SEM_UNDO)], 2), Ok((false, true)));
    }

    #[test]
    fn undo_applies_at_exit_and_clears_on_setval() {
        let mut set = SemSet::new(2, 0).unwrap();
        set.try_ops(&[op(0, 5, SEM_UNDO), op(1, 3, SEM_UNDO)], 10, 1).unwrap();
        set.try_ops(&[op(0, -1, SEM_UNDO)], 11, 1).unwrap();
        set.set_val(1, 1, 12, 2).unwrap();
        assert!(set.exit(10));
        // 4 - 5 clamps to 0; semaphore 1's undo was cleared by SETVAL.
        assert_eq!((set.sems[0].val, set.sems[1].val), (0, 1));
        assert!(set.exit(11));
        assert_eq!(set.sems[0].val, 1);
        assert!(!set.exit(10));
        assert_eq!(set.set_val(0, 32768, 1, 1), Err(Errno::ERANGE));
        assert_eq!(set.set_all(&[1, 40000], 1, 1), Err(Errno::ERANGE));
    }

    proptest! {
        /// A call that does not complete leaves values and undo values as they were.
        #[test]
        fn failed_calls_change_nothing(start in proptest::collection::vec(0u16..5, 3), ops in proptest::collection::vec((0u16..3, -4i16..4, proptest::bool::ANY), 1..6)) {
            let mut set = SemSet::new(3, 0).unwrap();
            set.set_all(&start, 1, 0).unwrap();
            let ops: Vec<SemBuf> = ops.into_iter().map(|(n, o, u)| op(n, o, if u { SEM_UNDO } else { 0 })).collect();
            let before: Vec<u16> = set.sems.iter().map(|s| s.val).collect();
            match set.try_ops(&ops, 3, 1) {
                Ok(None) => {
                    // Applying then exiting restores the values where every op was undoable.
                    if ops.iter().all(|o| o.flg & SEM_UNDO != 0) {
                        set.exit(3);
                        let after: Vec<u16> = set.sems.iter().map(|s| s.val).collect();
                        prop_assert_eq!(after, before);
                    }
                }
                _ => {
                    let after: Vec<u16> = set.sems.iter().map(|s| s.val).collect();
                    prop_assert_eq!(after, before);
                    prop_assert!(set.undos.iter().all(|u| u.adj.iter().all(|&a| a == 0)));
                }
            }
        }
    }
}
