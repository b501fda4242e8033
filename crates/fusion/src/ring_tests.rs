//! Unit tests of the ring protocol (src/ring.rs) over a small hand-made direction.

use super::*;
use exo_abi::fusion::kpage;
use std::vec;
use std::vec::Vec;

pub(crate) struct Mem {
    pub kernel: Vec<AtomicU64>,
    pub prod: Vec<AtomicU64>,
    pub cons: Vec<AtomicU64>,
    pub slots: Vec<AtomicU64>,
    pub per_lane: u64,
    pub lanes: u8,
}

fn words(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

impl Mem {
    pub fn new(per_lane: u64, lanes: u8) -> Mem {
        Mem {
            kernel: words(16),
            prod: words(16),
            cons: words(48),
            slots: words(per_lane as usize * lanes as usize * 8),
            per_lane,
            lanes,
        }
    }
    pub fn dir(&self) -> Direction<'_> {
        Direction {
            kernel: &self.kernel,
            prod: &self.prod,
            cons: &self.cons,
            slots: &self.slots,
            slots_per_lane: self.per_lane,
            lanes: self.lanes,
            data_waiters: kpage::DATA_WAITERS_AB,
            space_waiters: kpage::SPACE_WAITERS_AB,
            receiver_pollers: kpage::POLLERS_B,
            sender_pollers: kpage::POLLERS_A,
        }
    }
    fn set(v: &[AtomicU64], i: usize, x: u64) {
        v[i].store(x, Relaxed)
    }
    fn get(v: &[AtomicU64], i: usize) -> u64 {
        v[i].load(Relaxed)
    }
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

#[test]
fn one_message_goes_through_with_its_header() {
    let m = Mem::new(8, 1);
    let (mut p, mut c) = (Producer::attach(m.dir()).unwrap(), Consumer::attach(m.dir()).unwrap());
    let mut buf = [0u8; 64];
    assert_eq!(c.try_recv(&mut buf), Err(RecvError::Empty));
    p.try_send(5, 0x81, b"hello", 1234).unwrap();
    assert_eq!(Mem::get(&m.prod, prod::POST), 1);
    assert_eq!(Mem::get(&m.prod, prod::BYTES), 5);
    let msg = c.try_recv(&mut buf).unwrap();
    assert_eq!(msg, Msg { len: 5, kind: 5, flags: 0x81, stamp: 1234, lane: 0 });
    assert_eq!(&buf[..5], b"hello");
    assert_eq!((Mem::get(&m.cons, cons::TAKEN), Mem::get(&m.cons, cons::BYTES)), (1, 5));
    assert_eq!(Mem::get(&m.cons, cons::TAIL), 1);
    assert_eq!(c.try_recv(&mut buf), Err(RecvError::Empty));
}

#[test]
fn long_messages_span_slots_and_wrap() {
    let m = Mem::new(8, 1);
    let (mut p, mut c) = (Producer::attach(m.dir()).unwrap(), Consumer::attach(m.dir()).unwrap());
    let mut buf = [0u8; 600];
    for round in 0..20u8 {
        let len = [0, 56, 57, 120, 121, 300, 504][round as usize % 7];
        let data = bytes(len, round);
        p.try_send(0, 0, &data, 0).unwrap();
        let msg = c.try_recv(&mut buf).unwrap();
        assert_eq!(&buf[..msg.len], &data[..]);
    }
    assert_eq!(p.try_send(0, 0, &bytes(505, 0), 0), Err(SendError::TooBig));
    assert_eq!(p.max_message(), 504);
}

#[test]
fn full_ring_refuses_and_frees_on_consume() {
    let m = Mem::new(8, 1);
    let (mut p, mut c) = (Producer::attach(m.dir()).unwrap(), Consumer::attach(m.dir()).unwrap());
    let big = bytes(56 + 64 * 2, 1); // 3 slots
    p.try_send(0, 0, &big, 0).unwrap();
    p.try_send(0, 0, &big, 0).unwrap();
    assert_eq!(p.free_slots(0), Ok(2));
    assert_eq!(p.try_send(0, 0, &big, 0), Err(SendError::Full));
    p.try_send(0, 0, b"x", 0).unwrap();
    p.try_send(0, 0, b"y", 0).unwrap();
    assert_eq!(p.try_send(0, 0, b"z", 0), Err(SendError::Full));
    let tok = p.space_token();
    let mut buf = [0u8; 256];
    c.try_recv(&mut buf).unwrap();
    assert_ne!(p.space_token(), tok);
    assert_eq!(p.free_slots(0), Ok(3));
    p.try_send(0, 0, &big, 0).unwrap();
}

#[test]
fn a_batch_is_published_once() {
    let m = Mem::new(16, 1);
    let (mut p, mut c) = (Producer::attach(m.dir()).unwrap(), Consumer::attach(m.dir()).unwrap());
    let a = bytes(10, 1);
    let msgs: Vec<Outgoing> = (0..20).map(|i| Outgoing { kind: i, flags: 0, payload: &a, stamp: 0 }).collect();
    assert_eq!(p.send_batch(0, &msgs), Ok(16));
    assert_eq!(Mem::get(&m.prod, prod::POST), 16);
    assert_eq!(p.send_batch(0, &msgs[16..]), Err(SendError::Full));
    p.write(0, 0, 0, b"", 0).unwrap_err();
    let mut buf = [0u8; 16];
    for i in 0..16 {
        assert_eq!(c.try_recv(&mut buf).unwrap().kind, i);
    }
    // Written but not published: invisible.
    p.write(0, 9, 0, b"", 0).unwrap();
    assert_eq!(c.try_recv(&mut buf), Err(RecvError::Empty));
    let post = c.wait_token();
    p.publish();
    assert_ne!(c.wait_token(), post);
    assert_eq!(c.try_recv(&mut buf).unwrap().kind, 9);
}

#[test]
fn small_buffers_leave_the_message_in_place() {
    let m = Mem::new(8, 1);
    let (mut p, mut c) = (Producer::attach(m.dir()).unwrap(), Consumer::attach(m.dir()).unwrap());
    p.try_send(0, 0, &bytes(100, 3), 0).unwrap();
    let mut small = [0u8; 99];
    assert_eq!(c.try_recv(&mut small), Err(RecvError::BufferTooSmall(100)));
    let pk = c.peek(0).unwrap();
    let mut part = [0u8; 10];
    assert_eq!(c.read(&pk, 95, &mut part), 5);
    assert_eq!(&part[..5], &bytes(100, 3)[95..]);
    assert!(c.consume(&pk));
    assert!(!c.consume(&pk));
    assert_eq!(c.try_recv(&mut small), Err(RecvError::Empty));
}

#[test]
fn lanes_are_independent_and_received_lowest_first() {
    let m = Mem::new(8, 3);
    let (mut p, mut c) = (Producer::attach(m.dir()).unwrap(), Consumer::attach(m.dir()).unwrap());
    p.try_send_to(2, 2, 0, b"low", 0).unwrap();
    p.try_send_to(1, 1, 0, b"mid", 0).unwrap();
    assert_eq!(p.try_send_to(3, 1, 0, b"", 0), Err(SendError::TooBig));
    assert_eq!(c.nonempty_mask(), Ok(0b110));
    assert_eq!(Mem::get(&m.prod, prod::POST), 2);
    let mut buf = [0u8; 8];
    assert_eq!(c.try_recv(&mut buf).unwrap().lane, 1);
    assert_eq!(c.try_recv(&mut buf).unwrap().lane, 2);
    assert_eq!((Mem::get(&m.cons, cons::TAIL + 1), Mem::get(&m.cons, cons::TAIL + 2)), (1, 1));
    assert_eq!(c.taken(), (2, 6));
}

#[test]
fn impossible_indices_and_headers_are_corrupt() {
    let m = Mem::new(8, 1);
    let (mut p, mut c) = (Producer::attach(m.dir()).unwrap(), Consumer::attach(m.dir()).unwrap());
    let mut buf = [0u8; 600];
    // A head more than the lane ahead of the tail.
    Mem::set(&m.prod, prod::HEAD, 9);
    assert_eq!(c.try_recv(&mut buf), Err(RecvError::Corrupt));
    // A header whose length needs more slots than were published.
    Mem::set(&m.prod, prod::HEAD, 1);
    Mem::set(&m.slots, 0, slot_header(57, 0, 0, 0));
    assert_eq!(c.try_recv(&mut buf), Err(RecvError::Corrupt));
    // Longer than the lane's largest message.
    Mem::set(&m.prod, prod::HEAD, 8);
    Mem::set(&m.slots, 0, slot_header(505, 0, 0, 0));
    assert_eq!(c.try_recv(&mut buf), Err(RecvError::Corrupt));
    // A tail ahead of what was published, or behind by more than the lane.
    Mem::set(&m.cons, cons::TAIL, 1);
    assert_eq!(p.try_send(0, 0, b"", 0), Err(SendError::Corrupt));
    Mem::set(&m.cons, cons::TAIL, u64::MAX - 8);
    assert_eq!(p.free_slots(0), Err(SendError::Corrupt));
    Mem::set(&m.cons, cons::TAIL, 0);
    p.try_send(0, 0, &bytes(200, 0), 0).unwrap();
    p.write(0, 0, 0, b"", 0).unwrap();
    // The tail moved back by four slots: published (4) + staged (1) would exceed the lane.
    Mem::set(&m.cons, cons::TAIL, u64::MAX - 3);
    assert_eq!(p.free_slots(0), Err(SendError::Corrupt));
    // A producer page whose head is out of reach of the tail cannot be attached.
    Mem::set(&m.prod, prod::HEAD, 100);
    assert!(Producer::attach(m.dir()).is_none());
}

#[test]
fn wake_checks_follow_waiters_and_pollers() {
    let m = Mem::new(8, 1);
    let (p, c) = (Producer::attach(m.dir()).unwrap(), Consumer::attach(m.dir()).unwrap());
    assert!(!p.needs_wake() && !c.needs_wake());
    Mem::set(&m.kernel, kpage::DATA_WAITERS_AB, 1);
    assert!(p.needs_wake() && !c.needs_wake());
    Mem::set(&m.kernel, kpage::DATA_WAITERS_AB, 0);
    Mem::set(&m.kernel, kpage::POLLERS_A, 2);
    assert!(!p.needs_wake() && c.needs_wake());
}

#[test]
fn the_histogram_counts_stamp_ages() {
    let m = Mem::new(8, 1);
    let (mut p, mut c) = (Producer::attach(m.dir()).unwrap(), Consumer::attach(m.dir()).unwrap());
    c.set_clock(|| 1000);
    let mut buf = [0u8; 8];
    for stamp in [1000, 999, 1000 - 600, 1001] {
        p.try_send(0, 0, b"", stamp).unwrap();
        c.try_recv(&mut buf).unwrap();
    }
    let hist: Vec<u64> = (0..32).map(|b| Mem::get(&m.cons, cons::HIST + b)).collect();
    let mut want = vec![0u64; 32];
    want[0] = 2; // ages 0 and 1
    want[9] = 1; // 600
    want[31] = 1; // a stamp from the future: 2^32 - 1
    assert_eq!(hist, want);
}

#[test]
fn attach_resumes_from_the_pages() {
    let m = Mem::new(8, 2);
    let mut p = Producer::attach(m.dir()).unwrap();
    p.try_send_to(1, 0, 0, &bytes(70, 0), 0).unwrap();
    let mut c = Consumer::attach(m.dir()).unwrap();
    let mut buf = [0u8; 128];
    c.try_recv(&mut buf).unwrap();
    let mut p2 = Producer::attach(m.dir()).unwrap();
    assert_eq!(p2.sent(), (1, 70));
    p2.try_send_to(1, 0, 0, b"again", 0).unwrap();
    let mut c2 = Consumer::attach(m.dir()).unwrap();
    assert_eq!(c2.taken(), (1, 70));
    assert_eq!(c2.try_recv(&mut buf).unwrap().len, 5);
    assert_eq!(p2.peer_taken(), (2, 75));
}

#[test]
fn bad_geometries_are_refused() {
    let m = Mem::new(8, 1);
    let mut d = m.dir();
    d.slots_per_lane = 6;
    assert!(Producer::attach(d).is_none());
    d.slots_per_lane = 16;
    assert!(Consumer::attach(d).is_none());
    let mut d = m.dir();
    d.lanes = 0;
    assert!(Producer::attach(d).is_none());
    let mut d = m.dir();
    d.data_waiters = 16;
    assert!(Producer::attach(d).is_none());
}
