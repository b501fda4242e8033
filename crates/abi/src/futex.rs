//! `futex` operations and flags, the `FUTEX_WAKE_OP` encoding ([`WakeOp`]), the PI/robust
//! futex word bits, and the `futex2` (`futex_waitv`, `futex_wake`, ...) flags.

/// `futex` operations (the low bits of `op`, under `FUTEX_CMD_MASK`).
pub const FUTEX_WAIT: u32 = 0;
pub const FUTEX_WAKE: u32 = 1;
/// Removed from Linux (2.6.26); answered with `ENOSYS`.
pub const FUTEX_FD: u32 = 2;
pub const FUTEX_REQUEUE: u32 = 3;
pub const FUTEX_CMP_REQUEUE: u32 = 4;
pub const FUTEX_WAKE_OP: u32 = 5;
pub const FUTEX_LOCK_PI: u32 = 6;
pub const FUTEX_UNLOCK_PI: u32 = 7;
pub const FUTEX_TRYLOCK_PI: u32 = 8;
pub const FUTEX_WAIT_BITSET: u32 = 9;
pub const FUTEX_WAKE_BITSET: u32 = 10;
pub const FUTEX_WAIT_REQUEUE_PI: u32 = 11;
pub const FUTEX_CMP_REQUEUE_PI: u32 = 12;
pub const FUTEX_LOCK_PI2: u32 = 13;

/// The futex is private to the process (no shared-mapping lookup needed).
pub const FUTEX_PRIVATE_FLAG: u32 = 128;
/// The timeout is measured on CLOCK_REALTIME (WAIT_BITSET, WAIT_REQUEUE_PI, LOCK_PI2).
pub const FUTEX_CLOCK_REALTIME: u32 = 256;
/// The operation part of `op`.
pub const FUTEX_CMD_MASK: u32 = !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);

/// The bitset matching every waiter (what plain WAIT/WAKE use).
pub const FUTEX_BITSET_MATCH_ANY: u32 = 0xffff_ffff;

/// PI / robust futex word: there are waiters in the kernel.
pub const FUTEX_WAITERS: u32 = 0x8000_0000;
/// PI / robust futex word: the owner died holding it.
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
/// PI / robust futex word: the owner's TID.
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// Most robust-list entries the kernel walks at thread exit.
pub const ROBUST_LIST_LIMIT: usize = 2048;

/// `FUTEX_WAKE_OP` operations (bits 28..31 of the encoded op).
pub const FUTEX_OP_SET: u32 = 0;
pub const FUTEX_OP_ADD: u32 = 1;
pub const FUTEX_OP_OR: u32 = 2;
pub const FUTEX_OP_ANDN: u32 = 3;
pub const FUTEX_OP_XOR: u32 = 4;
/// Flag on the operation: the operand is `1 << oparg`.
pub const FUTEX_OP_OPARG_SHIFT: u32 = 8;
/// `FUTEX_WAKE_OP` comparisons (bits 24..27).
pub const FUTEX_OP_CMP_EQ: u32 = 0;
pub const FUTEX_OP_CMP_NE: u32 = 1;
pub const FUTEX_OP_CMP_LT: u32 = 2;
pub const FUTEX_OP_CMP_LE: u32 = 3;
pub const FUTEX_OP_CMP_GT: u32 = 4;
pub const FUTEX_OP_CMP_GE: u32 = 5;

/// `futex2` flags (`futex_waitv` entries, `futex_wake`, `futex_wait`).
pub const FUTEX2_SIZE_U8: u32 = 0x00;
pub const FUTEX2_SIZE_U16: u32 = 0x01;
pub const FUTEX2_SIZE_U32: u32 = 0x02;
pub const FUTEX2_SIZE_U64: u32 = 0x03;
pub const FUTEX2_SIZE_MASK: u32 = 0x03;
pub const FUTEX2_NUMA: u32 = 0x04;
pub const FUTEX2_MPOL: u32 = 0x08;
pub const FUTEX2_PRIVATE: u32 = FUTEX_PRIVATE_FLAG;
/// Most entries `futex_waitv` accepts.
pub const FUTEX_WAITV_MAX: usize = 128;

/// A decoded `FUTEX_WAKE_OP` operation word (`val3`):
/// `op << 28 | cmp << 24 | oparg << 12 | cmparg`, with 12-bit signed arguments.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct WakeOp {
    /// `FUTEX_OP_SET` ... `FUTEX_OP_XOR` (without the shift flag).
    pub op: u32,
    /// `FUTEX_OP_CMP_*`.
    pub cmp: u32,
    /// The operand, after `FUTEX_OP_OPARG_SHIFT` was applied.
    pub oparg: i32,
    pub cmparg: i32,
}

/// Sign-extends the low 12 bits.
const fn sign_extend12(value: u32) -> i32 {
    ((value << 20) as i32) >> 20
}

impl WakeOp {
    pub const fn decode(encoded: u32) -> WakeOp {
        let op = encoded >> 28;
        let mut oparg = sign_extend12(encoded >> 12);
        if op & FUTEX_OP_OPARG_SHIFT != 0 {
            // Linux masks an out-of-range shift to 0..=31.
            oparg = 1i32.wrapping_shl((oparg & 31) as u32);
        }
        WakeOp {
            op: op & !FUTEX_OP_OPARG_SHIFT,
            cmp: (encoded >> 24) & 0xf,
            oparg,
            cmparg: sign_extend12(encoded),
        }
    }

    /// The new value of the second futex word, or `None` for an unknown operation (ENOSYS).
    pub const fn apply(&self, old: u32) -> Option<u32> {
        let arg = self.oparg as u32;
        Some(match self.op {
            FUTEX_OP_SET => arg,
            FUTEX_OP_ADD => old.wrapping_add(arg),
            FUTEX_OP_OR => old | arg,
            FUTEX_OP_ANDN => old & !arg,
            FUTEX_OP_XOR => old ^ arg,
            _ => return None,
        })
    }

    /// Whether waiters on the second futex are woken, given its old value (compared as a
    /// signed int), or `None` for an unknown comparison (ENOSYS).
    pub const fn compare(&self, old: u32) -> Option<bool> {
        let old = old as i32;
        Some(match self.cmp {
            FUTEX_OP_CMP_EQ => old == self.cmparg,
            FUTEX_OP_CMP_NE => old != self.cmparg,
            FUTEX_OP_CMP_LT => old < self.cmparg,
            FUTEX_OP_CMP_LE => old <= self.cmparg,
            FUTEX_OP_CMP_GT => old > self.cmparg,
            FUTEX_OP_CMP_GE => old >= self.cmparg,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_linux() {
        assert_eq!(
            (FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE),
            (0, 1, 3, 4)
        );
        assert_eq!(
            (
                FUTEX_WAKE_OP,
                FUTEX_LOCK_PI,
                FUTEX_WAIT_BITSET,
                FUTEX_WAKE_BITSET
            ),
            (5, 6, 9, 10)
        );
        assert_eq!(
            (FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI, FUTEX_LOCK_PI2),
            (11, 12, 13)
        );
        // musl's FUTEX_WAIT|FUTEX_PRIVATE is 128; glibc's FUTEX_WAIT_BITSET_PRIVATE|CLOCK_REALTIME is 393.
        assert_eq!(FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 128);
        assert_eq!(
            (FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) & FUTEX_CMD_MASK,
            9
        );
        assert_eq!(
            FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME,
            393
        );
        assert_eq!(FUTEX_WAITERS | FUTEX_OWNER_DIED | FUTEX_TID_MASK, u32::MAX);
    }

    #[test]
    fn wake_op() {
        // glibc's FUTEX_OP_CLEAR_WAKE_IF_GT_ONE: set to 0, wake if old > 1.
        let op = WakeOp::decode((FUTEX_OP_SET << 28) | (FUTEX_OP_CMP_GT << 24) | 1);
        assert_eq!(
            op,
            WakeOp {
                op: FUTEX_OP_SET,
                cmp: FUTEX_OP_CMP_GT,
                oparg: 0,
                cmparg: 1
            }
        );
        assert_eq!(op.apply(5), Some(0));
        assert_eq!((op.compare(2), op.compare(1)), (Some(true), Some(false)));
        // Shifted operand and negative arguments.
        let op = WakeOp::decode(((FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT) << 28) | (4 << 12));
        assert_eq!((op.op, op.oparg), (FUTEX_OP_OR, 16));
        assert_eq!(op.apply(1), Some(17));
        let op =
            WakeOp::decode((FUTEX_OP_ADD << 28) | (FUTEX_OP_CMP_LT << 24) | (0xfff << 12) | 0xffe);
        assert_eq!((op.oparg, op.cmparg), (-1, -2));
        assert_eq!(op.apply(0), Some(u32::MAX));
        assert_eq!(op.compare(-3i32 as u32), Some(true));
        assert_eq!(op.compare(0), Some(false));
        // Unknown operation / comparison.
        assert_eq!(WakeOp::decode(7 << 28).apply(0), None);
        assert_eq!(WakeOp::decode(9 << 24).compare(0), None);
    }
}

/// `struct futex_waitv` (24 bytes): one futex of `futex_waitv` / `futex_requeue`.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct FutexWaitv {
    /// The expected value (compared with the futex word).
    pub val: u64,
    /// The futex word's user address.
    pub uaddr: u64,
    /// `FUTEX2_*` flags.
    pub flags: u32,
    /// Must be zero.
    pub reserved: u32,
}
