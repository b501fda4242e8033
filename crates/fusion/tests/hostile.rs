//! Hostile memory: a ring's whole mapping is filled with random words (fully random, small,
//! or just below 2^64, to reach the checks past the first) before every operation of every
//! side — producers, consumers, multicast publisher and subscribers, attach — and of the
//! channel policies fed with those words. Only errors may come out: no panic, no
//! out-of-bounds access, whatever the peer writes.

mod common;

use common::Rng;
use exo_abi::fusion::Layout;
use exo_fusion::channel::{CreditController, PriorityPicker};
use exo_fusion::multicast::{Publisher, Subscriber};
use exo_fusion::ring::Outgoing;
use exo_fusion::view::{layout_from_geometry, RingView, Side};
use std::sync::atomic::{AtomicU64, Ordering};

fn scramble(mem: &[AtomicU64], rng: &mut Rng) {
    let style = rng.below(4);
    for w in mem {
        let v = match style {
            0 => rng.next(),
            1 => rng.below(24),
            2 => u64::MAX - rng.below(24),
            // Mostly plausible: small counters with a few random headers.
            _ if rng.below(8) == 0 => rng.next() & 0xffff_ffff_00ff_ffff,
            _ => rng.below(12),
        };
        w.store(v, Ordering::Relaxed);
    }
}

#[test]
fn random_memory_gives_errors_never_panics() {
    let mut rng = Rng(0xbad_c0de_f00d);
    let data: Vec<u8> = (0..2000).map(|i| i as u8).collect();
    let mut buf = vec![0u8; 70_000];
    // Successes seen: proof that the random words also reach the paths past the checks.
    let (mut sent, mut received) = (0u32, 0u32);
    for (slots, ab, ba) in [(8, 2, 1), (16, 1, 1), (8, 5, 0), (64, 1, 3)] {
        let layout = Layout::new(slots, ab, ba).unwrap();
        let mem: Vec<AtomicU64> = (0..layout.size / 8).map(|_| AtomicU64::new(0)).collect();
        for side in [Side::A, Side::B] {
            let view = RingView::new(&mem, layout, side).unwrap();
            let mut producer = view.producer();
            let mut consumer = view.consumer();
            let mut publisher = view.outgoing().and_then(Publisher::attach);
            let mut subscriber = view.incoming().and_then(Subscriber::attach);
            let mut picker = PriorityPicker::new(3);
            for _ in 0..20_000 {
                scramble(&mem, &mut rng);
                let len = rng.below(1200) as usize;
                let lane = rng.below(6) as u8;
                let _ = view.is_valid();
                let _ = layout_from_geometry(rng.next());
                if rng.below(50) == 0 {
                    // Re-attach over garbage.
                    producer = view.producer().or(producer);
                    consumer = view.consumer().or(consumer);
                    publisher = view.outgoing().and_then(Publisher::attach).or(publisher);
                    subscriber = view.incoming().and_then(Subscriber::attach).or(subscriber);
                }
                if let Some(p) = producer.as_mut() {
                    let _ = p.free_slots(lane);
                    sent += u32::from(p.write(lane, 1, 2, &data[..len], 3).is_ok());
                    let _ = p.try_send_to(lane, 1, 2, &data[..len / 8], 3);
                    let _ = p.try_send(0, 0, &data[..len / 20], 0);
                    let batch = [Outgoing { kind: 0, flags: 0, payload: &data[..len / 4], stamp: 0 }; 3];
                    let _ = p.send_batch(lane, &batch);
                    p.publish();
                    let _ = (p.needs_wake(), p.space_token(), p.sent());
                    let credit = CreditController::new(rng.below(10), rng.below(1000));
                    let _ = credit.check(p.sent(), p.peer_taken(), len as u64);
                }
                if let Some(c) = consumer.as_mut() {
                    c.set_clock(|| 12345);
                    let _ = c.available(lane);
                    if let Ok(mask) = c.nonempty_mask() {
                        let _ = picker.pick(mask);
                    }
                    let small = rng.below(600) as usize;
                    let _ = c.try_recv(&mut buf[..small]);
                    received += u32::from(c.try_recv_from(lane, &mut buf).is_ok());
                    if let Ok(pk) = c.peek(lane) {
                        let off = rng.below(70_000) as usize;
                        let _ = c.read(&pk, off, &mut buf[..small]);
                        scramble(&mem, &mut rng);
                        let _ = c.consume(&pk);
                    }
                    let _ = (c.needs_wake(), c.wait_token(), c.taken());
                }
                if let Some(p) = publisher.as_mut() {
                    let _ = p.try_send(0, 0, &data[..len / 2], 0);
                    let _ = p.needs_wake();
                }
                if let Some(s) = subscriber.as_mut() {
                    let small = rng.below(600) as usize;
                    let _ = s.try_recv(&mut buf[..small]);
                    received += u32::from(s.try_recv(&mut buf).is_ok());
                    let _ = (s.wait_token(), s.position());
                }
            }
        }
    }
    eprintln!("{sent} messages written and {received} received over random memory");
    assert!(sent > 100 && received > 100);
}
