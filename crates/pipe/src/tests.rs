//! Unit tests of the pipe ring, and property tests against a `VecDeque` model: random writes,
//! reads and resizes; PIPE_BUF atomicity between interleaved writers; capacity bounds.

use std::collections::VecDeque;
use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| seed.wrapping_add(i as u8)).collect()
}

#[test]
fn reads_return_what_was_written_in_order() {
    let mut ring = Ring::default();
    assert_eq!(ring.capacity(), 64 * 1024);
    assert_eq!(ring.write(b"hello "), Ok(6));
    assert_eq!(ring.write(b"world"), Ok(5));
    assert_eq!(ring.len(), 11);
    let mut buf = [0; 8];
    assert_eq!(ring.read(&mut buf), 8);
    assert_eq!(&buf, b"hello wo");
    assert_eq!(ring.read(&mut buf), 3);
    assert_eq!(&buf[..3], b"rld");
    assert_eq!(ring.read(&mut buf), 0);
    assert!(ring.is_empty());
}

#[test]
fn empty_reads_and_writes_move_nothing() {
    let mut ring = Ring::default();
    assert_eq!(ring.read(&mut []), 0);
    assert_eq!(ring.write(&[]), Ok(0));
    ring.write(b"x").unwrap();
    assert_eq!(ring.read(&mut []), 0);
    assert_eq!(ring.len(), 1);
}

#[test]
fn a_small_write_goes_in_whole_or_not_at_all() {
    let mut ring = Ring::new(PIPE_BUF * 2);
    assert_eq!(ring.write(&bytes(PIPE_BUF * 2 - 10, 0)), Ok(PIPE_BUF * 2 - 10));
    assert_eq!(ring.write(&bytes(11, 0)), Err(WriteError::Full), "11 bytes do not fit in 10");
    assert_eq!(ring.len(), PIPE_BUF * 2 - 10);
    assert_eq!(ring.write(&bytes(10, 0)), Ok(10));
    assert_eq!(ring.space(), 0);
    assert_eq!(ring.write(&[1]), Err(WriteError::Full));
}

#[test]
fn a_large_write_puts_in_what_fits() {
    let mut ring = Ring::new(PIPE_BUF * 2);
    ring.write(&bytes(PIPE_BUF * 2 - 10, 0)).unwrap();
    assert_eq!(ring.chunk(PIPE_BUF + 1), Some(10));
    assert_eq!(ring.write(&bytes(PIPE_BUF + 1, 0)), Ok(10));
    assert_eq!(ring.chunk(PIPE_BUF + 1), None, "a full ring takes nothing");
    assert_eq!(ring.write(&bytes(PIPE_BUF + 1, 0)), Err(WriteError::Full));
}

#[test]
fn writers_wake_for_their_bytes_or_pipe_buf() {
    let mut ring = Ring::new(PIPE_BUF * 2);
    ring.write(&bytes(PIPE_BUF * 2 - 100, 0)).unwrap();
    assert!(ring.room_for(100));
    assert!(!ring.room_for(101));
    assert!(!ring.room_for(PIPE_BUF * 10), "a large writer waits for PIPE_BUF bytes of room");
    assert!(!ring.writable());
    let mut sink = vec![0; PIPE_BUF - 100];
    ring.read(&mut sink);
    assert!(ring.room_for(PIPE_BUF * 10));
    assert!(ring.writable());
}

#[test]
fn the_capacity_is_at_least_pipe_buf() {
    assert_eq!(Ring::new(0).capacity(), PIPE_BUF);
    assert_eq!(Ring::new(1).capacity(), PIPE_BUF);
    let mut ring = Ring::default();
    assert_eq!(ring.resize(17), Ok(()));
    assert_eq!(ring.capacity(), PIPE_BUF);
    assert_eq!(ring.write(&bytes(PIPE_BUF, 3)), Ok(PIPE_BUF), "an atomic write always fits an empty ring");
}

#[test]
fn resizing_below_the_bytes_held_is_refused() {
    let mut ring = Ring::default();
    ring.write(&bytes(PIPE_BUF * 3, 0)).unwrap();
    assert_eq!(ring.resize(PIPE_BUF * 2), Err(Busy));
    assert_eq!(ring.capacity(), DEFAULT_CAPACITY);
    assert_eq!(ring.resize(PIPE_BUF * 3), Ok(()));
    assert_eq!(ring.space(), 0);
    assert_eq!(ring.resize(1 << 20), Ok(()));
    assert_eq!(ring.space(), (1 << 20) - PIPE_BUF * 3);
    let mut out = vec![0; PIPE_BUF * 3];
    assert_eq!(ring.read(&mut out), PIPE_BUF * 3);
    assert_eq!(out, bytes(PIPE_BUF * 3, 0), "resizing keeps the contents");
}

#[test]
fn wrapped_contents_come_out_in_order() {
    // Fill, drain part, refill so that the bytes straddle the end of the storage.
    let mut ring = Ring::new(PIPE_BUF * 2);
    ring.write(&bytes(PIPE_BUF * 2, 0)).unwrap();
    let mut sink = vec![0; PIPE_BUF + 7];
    ring.read(&mut sink);
    ring.write(&bytes(PIPE_BUF + 7, 100)).unwrap();
    let mut out = vec![0; PIPE_BUF * 2];
    assert_eq!(ring.read(&mut out), PIPE_BUF * 2);
    let mut want = bytes(PIPE_BUF * 2, 0)[PIPE_BUF + 7..].to_vec();
    want.extend(bytes(PIPE_BUF + 7, 100));
    assert_eq!(out, want);
}

#[derive(Clone, Debug)]
enum Op {
    Write(usize, u8),
    Read(usize),
    Resize(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let len = prop_oneof![0..=16usize, (PIPE_BUF - 8)..=(PIPE_BUF + 8), 0..=3 * PIPE_BUF];
    prop_oneof![
        4 => (len.clone(), any::<u8>()).prop_map(|(n, seed)| Op::Write(n, seed)),
        3 => len.prop_map(Op::Read),
        1 => (0..=6 * PIPE_BUF).prop_map(Op::Resize),
    ]
}

/// What the model says a write of `n` bytes into `model` (capacity `cap`) puts in.
fn model_chunk(model: &VecDeque<u8>, cap: usize, n: usize) -> Option<usize> {
    let space = cap - model.len();
    if n <= PIPE_BUF {
        (space >= n).then_some(n)
    } else {
        (space > 0).then_some(n.min(space))
    }
}

proptest! {
    #[test]
    fn the_ring_behaves_like_a_bounded_fifo(cap in 0..=6 * PIPE_BUF, ops in proptest::collection::vec(op(), 1..80)) {
        let mut ring = Ring::new(cap);
        let mut model: VecDeque<u8> = VecDeque::new();
        let mut model_cap = cap.max(PIPE_BUF);
        for op in ops {
            match op {
                Op::Write(n, seed) => {
                    let data = bytes(n, seed);
                    let want = model_chunk(&model, model_cap, n);
                    prop_assert_eq!(ring.chunk(n), want);
                    match (ring.write(&data), want) {
                        (Ok(got), Some(want)) => {
                            prop_assert_eq!(got, want);
                            if n <= PIPE_BUF {
                                prop_assert_eq!(got, n, "an atomic write is never split");
                            }
                            model.extend(&data[..got]);
                        }
                        (Err(WriteError::Full), None) => {}
                        (got, want) => prop_assert!(false, "write {}: {:?}, model {:?}", n, got, want),
                    }
                }
                Op::Read(n) => {
                    let mut buf = vec![0u8; n];
                    let got = ring.read(&mut buf);
                    let want: Vec<u8> = model.drain(..n.min(model.len())).collect();
                    prop_assert_eq!(&buf[..got], &want[..]);
                }
                Op::Resize(c) => {
                    let c2 = c.max(PIPE_BUF);
                    let got = ring.resize(c);
                    if model.len() > c2 {
                        prop_assert_eq!(got, Err(Busy));
                    } else {
                        prop_assert_eq!(got, Ok(()));
                        model_cap = c2;
                    }
                }
            }
            prop_assert_eq!(ring.len(), model.len());
            prop_assert_eq!(ring.capacity(), model_cap);
            prop_assert!(ring.len() <= ring.capacity());
            prop_assert!(ring.capacity() >= PIPE_BUF);
            prop_assert_eq!(ring.space(), model_cap - model.len());
            prop_assert_eq!(ring.writable(), model_cap - model.len() >= PIPE_BUF);
        }
        let mut rest = vec![0u8; ring.len()];
        prop_assert_eq!(ring.read(&mut rest), model.len());
        prop_assert!(rest.iter().eq(model.iter()));
    }

    /// Writers that loop like the kernel's (write what `chunk` allows, else wait for
    /// `room_for`) with a reader draining in between: the reader sees every writer's bytes in
    /// order, and every write of up to PIPE_BUF bytes as one contiguous run.
    #[test]
    fn atomic_writes_are_never_interleaved(
        writes in proptest::collection::vec((0..3usize, 1..=2 * PIPE_BUF), 1..24),
        steps in proptest::collection::vec((0..4usize, 1..=3 * PIPE_BUF), 1..400),
    ) {
        // Writer w's k-th write is bytes tagged (w, k); each writer does its writes in turn.
        let mut pending: Vec<VecDeque<(usize, Vec<u8>)>> = vec![VecDeque::new(); 3];
        for (k, &(w, n)) in writes.iter().enumerate() {
            pending[w].push_back((n, vec![k as u8; n]));
        }
        let mut ring = Ring::new(PIPE_BUF * 3);
        let mut blocked = [false; 3];
        let mut stream = Vec::new();
        for (actor, n) in steps {
            if actor == 3 {
                let mut buf = vec![0u8; n];
                let got = ring.read(&mut buf);
                stream.extend_from_slice(&buf[..got]);
                continue;
            }
            let Some((size, left)) = pending[actor].front_mut() else { continue };
            // A blocked writer only retries when it would be woken, and then it can write.
            if blocked[actor] {
                if !ring.room_for(left.len()) {
                    continue;
                }
                prop_assert!(ring.chunk(left.len()).is_some(), "a woken writer finds room");
            }
            let wrote = match ring.write(left) {
                Ok(n) => n,
                Err(e) => {
                    prop_assert_eq!(e, WriteError::Full);
                    blocked[actor] = true;
                    continue;
                }
            };
            blocked[actor] = false;
            prop_assert!(wrote > 0);
            if *size <= PIPE_BUF {
                prop_assert_eq!(wrote, *size);
            }
            left.drain(..wrote);
            if left.is_empty() {
                pending[actor].pop_front();
            }
        }
        let mut rest = vec![0u8; ring.len()];
        ring.read(&mut rest);
        stream.extend(rest);
        // Each small write is one run of its tag; each writer's tags come in order.
        for (k, &(_, n)) in writes.iter().enumerate() {
            let positions: Vec<usize> = stream.iter().enumerate().filter(|(_, &b)| b == k as u8).map(|(i, _)| i).collect();
            prop_assert!(positions.len() <= n);
            if n <= PIPE_BUF && !positions.is_empty() {
                prop_assert_eq!(positions.len(), n, "a small write is all there or absent");
                prop_assert_eq!(positions[n - 1] - positions[0] + 1, n, "write {} was interleaved", k);
            }
        }
        for w in 0..3 {
            let tags: Vec<u8> = stream.iter().copied().filter(|&b| writes.get(b as usize).is_some_and(|&(o, _)| o == w)).collect();
            prop_assert!(tags.windows(2).all(|p| p[0] <= p[1]), "writer {}'s writes out of order", w);
        }
    }
}

#[test]
fn a_refused_read_piece_stays_in_the_ring() {
    let mut ring = Ring::new(PIPE_BUF);
    ring.write(&bytes(3000, 0)).unwrap();
    let mut sink = [0; 2000];
    assert_eq!(ring.read(&mut sink), 2000);
    // Held: 1000 + 1096 bytes up to the storage's end (4096), then 904 wrapped to its start.
    ring.write(&bytes(2000, 7)).unwrap();
    let mut seen = Vec::new();
    let r = ring.read_with(3000, |at, part| {
        if at > 0 {
            return Err("fault");
        }
        seen.extend_from_slice(part);
        Ok(())
    });
    assert_eq!(r, Err((2096, "fault")));
    assert_eq!(seen.len(), 2096);
    assert_eq!(ring.len(), 904);
    let mut rest = [0; 904];
    assert_eq!(ring.read(&mut rest), 904);
    assert_eq!(rest.to_vec(), bytes(2000, 7)[1096..].to_vec());
}

#[test]
fn a_refused_atomic_write_appends_nothing_and_a_large_one_keeps_its_pieces() {
    let mut ring = Ring::new(PIPE_BUF);
    ring.write(&bytes(3000, 0)).unwrap();
    let mut sink = [0; 2999];
    ring.read(&mut sink);
    // One byte held at 2999: the free room wraps (1096 bytes at the end, the rest at the start).
    let r = ring.write_with(2000, |at, _| if at > 0 { Err(()) } else { Ok(()) });
    assert_eq!(r, Err(WriteWithError::Copy(0, ())));
    assert_eq!(ring.len(), 1);
    let mut big = Ring::new(PIPE_BUF * 2);
    big.write(&bytes(PIPE_BUF * 2, 0)).unwrap();
    let mut sink = vec![0; PIPE_BUF * 2];
    big.read(&mut sink);
    big.write(&bytes(6000, 0)).unwrap();
    big.read(&mut sink[..5000]);
    let data = bytes(6000, 3);
    let r = big.write_with(6000, |at, part| {
        if at > 0 {
            return Err(());
        }
        part.copy_from_slice(&data[..part.len()]);
        Ok(())
    });
    let kept = PIPE_BUF * 2 - 6000;
    assert_eq!(r, Err(WriteWithError::Copy(kept, ())));
    assert_eq!(big.len(), 1000 + kept);
    let mut out = vec![0; 1000 + kept];
    assert_eq!(big.read(&mut out), 1000 + kept);
    assert_eq!(out[1000..].to_vec(), data[..kept].to_vec());
}

proptest! {
    /// Growing the storage while bytes wrap keeps their order.
    #[test]
    fn growth_keeps_the_order(first in 1usize..4000, taken in 0usize..4000, second in 1usize..60000) {
        let mut ring = Ring::default();
        let mut model = VecDeque::new();
        let a = bytes(first, 1);
        ring.write(&a).unwrap();
        model.extend(a.iter().copied());
        let mut sink = vec![0; taken];
        let n = ring.read(&mut sink);
        for _ in 0..n { model.pop_front(); }
        let b = bytes(second, 9);
        if let Ok(m) = ring.write(&b) {
            model.extend(b[..m].iter().copied());
        }
        let mut out = vec![0; ring.len()];
        prop_assert_eq!(ring.read(&mut out), model.len());
        prop_assert_eq!(out, model.into_iter().collect::<Vec<u8>>());
    }
}

#[test]
fn peek_and_discard() {
    let mut r = Ring::new(PIPE_BUF);
    assert_eq!(r.peek(10), (&[][..], &[][..]));
    r.write(&[1u8; 4000]).unwrap();
    r.discard(3990);
    r.write(&[2u8; 100]).unwrap();
    // 10 bytes of 1s up to the storage's end, then the 2s wrapped to its start.
    let (a, b) = r.peek(usize::MAX);
    assert_eq!(a.len() + b.len(), 110);
    assert!(a.iter().take(10).all(|&x| x == 1));
    let joined: Vec<u8> = a.iter().chain(b).copied().collect();
    assert_eq!(&joined[10..], &[2u8; 100][..]);
    let (a, b) = r.peek(5);
    assert_eq!((a.len(), b.len()), (5, 0));
    assert_eq!(r.len(), 110);
    r.discard(1000);
    assert!(r.is_empty());
}
