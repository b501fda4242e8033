//! A sender thread and a receiver thread move 1,000,000 messages of random sizes (0 to 300
//! bytes, up to 6 slots) through a 16-slot ring, in batches of random sizes. The kernel's
//! `fusion_wait`/`fusion_wake` are simulated with a Mutex and a Condvar following the kernel's
//! steps (count the waiter, SeqCst fence, sleep only if the word still holds the expected
//! value). Every message must arrive once, in order, intact; a lost wake-up shows as a wait
//! that times out.

mod common;

use common::{payload, Mem, Rng};
use exo_abi::fusion::{cons, kpage, prod};
use exo_fusion::ring::{Consumer, Producer, RecvError, SendError};
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

const COUNT: u64 = 1_000_000;
const SEED: u64 = 0x5eed_1234_abcd_0001;

/// The simulated kernel: one wait queue (a generation bumped by every wake).
struct Kernel {
    queue: Mutex<u64>,
    cv: Condvar,
}

impl Kernel {
    fn wait(&self, waiters: &AtomicU64, watched: &AtomicU64, expected: u64) {
        let mut gen = self.queue.lock().unwrap();
        let start = *gen;
        waiters.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if watched.load(Ordering::Relaxed) == expected {
            while *gen == start {
                let (g, timeout) = self.cv.wait_timeout(gen, Duration::from_secs(20)).unwrap();
                assert!(!timeout.timed_out(), "lost wake-up");
                gen = g;
            }
        }
        waiters.fetch_sub(1, Ordering::Relaxed);
    }

    fn wake(&self) {
        *self.queue.lock().unwrap() += 1;
        self.cv.notify_all();
    }
}

fn len_of(rng: &mut Rng) -> usize {
    // Mostly single-slot messages, some up to 6 slots.
    if rng.below(4) == 0 {
        rng.below(301) as usize
    } else {
        rng.below(57) as usize
    }
}

#[test]
fn a_million_messages_in_order() {
    let mem = Mem::new(16, 1);
    let kernel = Kernel { queue: Mutex::new(0), cv: Condvar::new() };
    let (mut sleeps_s, mut sleeps_r) = (0u64, 0u64);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut p = Producer::attach(mem.dir()).unwrap();
            let mut rng = Rng(SEED);
            let mut batch = Rng(SEED ^ 1);
            let mut i = 0;
            while i < COUNT {
                let taken = p.space_token();
                let want = 1 + batch.below(4);
                let mut wrote = 0;
                while wrote < want && i < COUNT {
                    let mut peek = Rng(rng.0);
                    let len = len_of(&mut peek);
                    match p.write(0, 0, 0, &payload(i, len), i as u32) {
                        Ok(()) => {
                            rng = peek;
                            i += 1;
                            wrote += 1;
                        }
                        Err(SendError::Full) => break,
                        Err(e) => panic!("send {i}: {e:?}"),
                    }
                }
                p.publish();
                if p.needs_wake() {
                    kernel.wake();
                }
                if wrote == 0 {
                    sleeps_s += 1;
                    kernel.wait(&mem.kernel[kpage::SPACE_WAITERS_AB], &mem.cons[cons::TAKEN], taken);
                }
            }
        });
        s.spawn(|| {
            let mut c = Consumer::attach(mem.dir()).unwrap();
            let mut rng = Rng(SEED);
            let mut buf = [0u8; 512];
            let mut next = 0;
            while next < COUNT {
                let post = c.wait_token();
                let mut got = 0;
                loop {
                    match c.try_recv(&mut buf) {
                        Ok(m) => {
                            let len = len_of(&mut rng);
                            assert_eq!((m.stamp, m.len), (next as u32, len), "message {next}");
                            assert_eq!(&buf[..len], &payload(next, len)[..], "message {next}");
                            next += 1;
                            got += 1;
                        }
                        Err(RecvError::Empty) => break,
                        Err(e) => panic!("recv {next}: {e:?}"),
                    }
                }
                if got > 0 {
                    if c.needs_wake() {
                        kernel.wake();
                    }
                } else {
                    sleeps_r += 1;
                    kernel.wait(&mem.kernel[kpage::DATA_WAITERS_AB], &mem.prod[prod::POST], post);
                }
            }
            let mut buf = [0u8; 8];
            assert_eq!(c.try_recv(&mut buf), Err(RecvError::Empty));
            assert_eq!(c.taken().0, COUNT);
        });
    });
    assert_eq!(mem.prod[prod::POST].load(Ordering::Relaxed), COUNT);
    assert_eq!(mem.cons[cons::TAKEN].load(Ordering::Relaxed), COUNT);
    assert_eq!(mem.prod[prod::BYTES].load(Ordering::Relaxed), mem.cons[cons::BYTES].load(Ordering::Relaxed));
    // Both sides really went through the doorbell (on any machine: the ring is tiny).
    eprintln!("sender slept {sleeps_s} times, receiver {sleeps_r} times");
    assert!(sleeps_s + sleeps_r > 0);
}
