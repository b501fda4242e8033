//! Property tests: the ring ([`Producer`], [`Consumer`]) against a model made of one
//! `VecDeque` of messages per lane, over random geometries (2 to 16 slots, 1 to 3 lanes),
//! random message sizes, random batch boundaries (writes published later), and indices that
//! start just below the 2^64 wrap.

mod common;

use common::{payload, Mem};
use exo_abi::fusion::slots_for;
use exo_fusion::ring::{Consumer, Producer, RecvError, SendError};
use proptest::prelude::*;
use std::collections::VecDeque;

#[derive(Clone, Debug)]
enum Op {
    /// Write a message of `len` bytes into a lane without publishing.
    Write(u8, usize),
    /// Write and publish.
    Send(u8, usize),
    Publish,
    /// Receive from a lane, or from the first non-empty one.
    Recv(u8),
    RecvAny,
}

fn op() -> impl Strategy<Value = Op> {
    let len = prop_oneof![4 => 0usize..130, 1 => 0usize..1100];
    prop_oneof![
        3 => (0u8..3, len.clone()).prop_map(|(l, n)| Op::Write(l, n)),
        3 => (0u8..3, len).prop_map(|(l, n)| Op::Send(l, n)),
        2 => Just(Op::Publish),
        3 => (0u8..3).prop_map(Op::Recv),
        2 => Just(Op::RecvAny),
    ]
}

/// One lane of the model: messages (number, length) written but unpublished, published, and
/// the slots they all use.
#[derive(Default)]
struct LaneModel {
    staged: VecDeque<(u64, usize)>,
    published: VecDeque<(u64, usize)>,
    used: u64,
}

fn check(slot_exp: u32, lanes: u8, start: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let slots = 1u64 << slot_exp;
    let mem = Mem::new(slots, lanes);
    mem.start_at(start);
    let mut p = Producer::attach(mem.dir()).unwrap();
    let mut c = Consumer::attach(mem.dir()).unwrap();
    let max = p.max_message();
    let mut model: Vec<LaneModel> = (0..lanes).map(|_| LaneModel::default()).collect();
    let mut number = 0u64;
    let mut buf = vec![0u8; 2048];
    for op in ops {
        match op {
            Op::Write(lane, len) | Op::Send(lane, len) => {
                let lane = lane % lanes;
                let m = &mut model[lane as usize];
                let data = payload(number, len);
                let want = if len > max {
                    Err(SendError::TooBig)
                } else if slots_for(len as u64) > slots - m.used {
                    Err(SendError::Full)
                } else {
                    Ok(())
                };
                let got = if matches!(op, Op::Send(..)) {
                    p.try_send_to(lane, (number % 251) as u8, 0, &data, number as u32)
                } else {
                    p.write(lane, (number % 251) as u8, 0, &data, number as u32)
                };
                prop_assert_eq!(got, want);
                if want.is_ok() {
                    m.used += slots_for(len as u64);
                    m.staged.push_back((number, len));
                    number += 1;
                }
                if matches!(op, Op::Send(..)) && want.is_ok() {
                    for m in model.iter_mut() {
                        let staged: Vec<_> = m.staged.drain(..).collect();
                        m.published.extend(staged);
                    }
                }
            }
            Op::Publish => {
                p.publish();
                for m in model.iter_mut() {
                    let staged: Vec<_> = m.staged.drain(..).collect();
                    m.published.extend(staged);
                }
            }
            Op::Recv(_) | Op::RecvAny => {
                let (got, lane) = match op {
                    Op::Recv(l) => (c.try_recv_from(l % lanes, &mut buf), Some(l % lanes)),
                    _ => (c.try_recv(&mut buf), None),
                };
                let from = match lane {
                    Some(l) => Some(l as usize).filter(|&l| !model[l].published.is_empty()),
                    None => model.iter().position(|m| !m.published.is_empty()),
                };
                match from {
                    None => prop_assert_eq!(got, Err(RecvError::Empty)),
                    Some(l) => {
                        let (n, len) = model[l].published.pop_front().unwrap();
                        model[l].used -= slots_for(len as u64);
                        let msg = got.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                        prop_assert_eq!((msg.lane as usize, msg.len, msg.stamp), (l, len, n as u32));
                        prop_assert_eq!(&buf[..len], &payload(n, len)[..]);
                    }
                }
            }
        }
        let mask: u8 = model.iter().enumerate().filter(|(_, m)| !m.published.is_empty()).map(|(i, _)| 1 << i).sum();
        prop_assert_eq!(c.nonempty_mask(), Ok(mask));
        for (l, m) in model.iter().enumerate() {
            prop_assert_eq!(p.free_slots(l as u8), Ok(slots - m.used));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_ring_behaves_like_fifos(
        slot_exp in 1u32..5,
        lanes in 1u8..4,
        start in prop_oneof![Just(0u64), (1u64..40).prop_map(|d| u64::MAX - d)],
        ops in prop::collection::vec(op(), 1..300),
    ) {
        check(slot_exp, lanes, start, ops)?;
    }
}
