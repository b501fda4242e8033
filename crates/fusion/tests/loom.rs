//! The loom model of the ring's index and doorbell protocol (docs/ipc.md, *Why no wake-up is
//! lost*, *Why nothing is lost or duplicated*): the crate's own [`Producer`] and [`Consumer`]
//! run over loom atomics (through the `Word` trait), with a simulated kernel whose wait
//! increments the waiter count, runs a SeqCst fence and sleeps only if the watched word still
//! holds the expected value. Loom explores the interleavings and the weak-memory outcomes; a
//! lost wake-up shows as a deadlock, a lost, duplicated or torn message as a failed assert.
//!
//! Run it (well under a minute):
//! `RUSTFLAGS="--cfg loom" cargo test -p exo-fusion --test loom --release`
//! (`LOOM_MAX_PREEMPTIONS=n` changes the preemption bound, 4 by default).

#![cfg(loom)]

use exo_abi::fusion::{cons, kpage, prod};
use exo_fusion::ring::{Consumer, Direction, Producer, RecvError, SendError};
use exo_fusion::Word;
use loom::sync::atomic::{fence, AtomicU64, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

/// A word of the modelled shared memory.
struct LoomWord(AtomicU64);

impl Word for LoomWord {
    fn load(&self, order: Ordering) -> u64 {
        self.0.load(order)
    }
    fn store(&self, value: u64, order: Ordering) {
        self.0.store(value, order)
    }
    fn fence(order: Ordering) {
        fence(order)
    }
}

fn words(n: usize) -> Vec<LoomWord> {
    (0..n).map(|_| LoomWord(AtomicU64::new(0))).collect()
}

/// The ring's memory (one direction, one lane of 2 slots) and the simulated kernel's wait
/// queue (a generation counter bumped by every wake).
struct Ring {
    kernel: Vec<LoomWord>,
    prod: Vec<LoomWord>,
    cons: Vec<LoomWord>,
    slots: Vec<LoomWord>,
    queue: Mutex<u64>,
    cv: Condvar,
}

impl Ring {
    fn new() -> Ring {
        Ring {
            kernel: words(16),
            prod: words(prod::BYTES + 1),
            cons: words(cons::BYTES + 1),
            slots: words(2 * 8),
            queue: Mutex::new(0),
            cv: Condvar::new(),
        }
    }

    fn dir(&self) -> Direction<'_, LoomWord> {
        Direction {
            kernel: &self.kernel,
            prod: &self.prod,
            cons: &self.cons,
            slots: &self.slots,
            slots_per_lane: 2,
            lanes: 1,
            data_waiters: kpage::DATA_WAITERS_AB,
            space_waiters: kpage::SPACE_WAITERS_AB,
            receiver_pollers: kpage::POLLERS_B,
            sender_pollers: kpage::POLLERS_A,
        }
    }

    /// `fusion_wait`: queue, count the waiter, full fence, sleep only while `watched` still
    /// equals `expected` and no wake came.
    fn wait(&self, waiters: usize, watched: &LoomWord, expected: u64) {
        let mut gen = self.queue.lock().unwrap();
        let start = *gen;
        self.kernel[waiters].0.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if watched.0.load(Ordering::Relaxed) == expected {
            while *gen == start {
                gen = self.cv.wait(gen).unwrap();
            }
        }
        self.kernel[waiters].0.fetch_sub(1, Ordering::Relaxed);
    }

    /// `fusion_wake`.
    fn wake(&self) {
        let mut gen = self.queue.lock().unwrap();
        *gen += 1;
        self.cv.notify_all();
    }
}

fn payload(i: u64, len: usize) -> Vec<u8> {
    (0..len).map(|k| (i as u8).wrapping_mul(17).wrapping_add(k as u8 + 1)).collect()
}

/// `count` messages of `len` bytes from a sender thread to a receiver thread.
fn run(count: u64, len: usize) {
    let ring = Arc::new(Ring::new());
    let r = ring.clone();
    let sender = thread::spawn(move || {
        let mut p = Producer::attach(r.dir()).unwrap();
        for i in 0..count {
            loop {
                let taken = p.space_token();
                match p.try_send(i as u8, 0, &payload(i, len), 0) {
                    Ok(()) => {
                        if p.needs_wake() {
                            r.wake();
                        }
                        break;
                    }
                    Err(SendError::Full) => r.wait(kpage::SPACE_WAITERS_AB, &r.cons[cons::TAKEN], taken),
                    Err(e) => panic!("send: {e:?}"),
                }
            }
        }
    });
    let mut c = Consumer::attach(ring.dir()).unwrap();
    let mut buf = [0u8; 128];
    let mut next = 0;
    while next < count {
        let post = c.wait_token();
        match c.try_recv(&mut buf) {
            Ok(m) => {
                assert_eq!(m.kind, next as u8, "out of order, lost or duplicated");
                assert_eq!(&buf[..m.len], &payload(next, len)[..], "torn message");
                next += 1;
                if c.needs_wake() {
                    ring.wake();
                }
            }
            Err(RecvError::Empty) => ring.wait(kpage::DATA_WAITERS_AB, &ring.prod[prod::POST], post),
            Err(e) => panic!("recv: {e:?}"),
        }
    }
    assert_eq!(c.try_recv(&mut buf), Err(RecvError::Empty));
    sender.join().unwrap();
}

fn builder() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    if std::env::var("LOOM_MAX_PREEMPTIONS").is_err() {
        b.preemption_bound = Some(4);
    }
    b
}

/// Three one-slot messages through a 2-slot ring: the sender fills it and waits for space.
#[test]
fn three_small_messages_no_lost_wakeup() {
    builder().check(|| run(3, 8));
}

/// Two messages of 2 slots (a whole lane each, spanning the wrap).
#[test]
fn two_lane_sized_messages_no_lost_wakeup() {
    builder().check(|| run(2, 64));
}
