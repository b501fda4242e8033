//! Tests of the Fusion Ring kernel side (`ipc::fusion`) and of the scheduler's hand-off
//! (`sched::switch_to`, `WaitQueue::wait_handing_off`): a hand-off runs the woken thread before
//! any thread already queued and loses no wake-up; a ring's kernel page, end counts and state
//! bits; the descriptor-flight rule that keeps grants from forming cycles.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use exo_abi::fusion::{self as abi, FusionParams};
use exo_abi::Errno;

use crate::ipc::fusion::{self, end, grant::Flight, grant::InFlight};
use crate::ktest::TestFailure;
use crate::sched::wait::WaitQueue;
use crate::sched::{self, SpawnOptions};
use crate::{kassert, kassert_eq, ktest};

fn failed<E: core::fmt::Debug>(e: E) -> TestFailure {
    TestFailure::new(format_args!("{e:?}"))
}

ktest!(fn a_hand_off_runs_the_woken_thread_before_queued_ones() {
    struct Shared {
        request: WaitQueue,
        reply: WaitQueue,
        asked: AtomicU64,
        answered: AtomicU64,
        filler_ran: AtomicBool,
        ready: AtomicUsize,
        order_bad: AtomicBool,
    }
    let shared = Arc::new(Shared {
        request: WaitQueue::new(),
        reply: WaitQueue::new(),
        asked: AtomicU64::new(0),
        answered: AtomicU64::new(0),
        filler_ran: AtomicBool::new(false),
        ready: AtomicUsize::new(0),
        order_bad: AtomicBool::new(false),
    });
    let here = Some(crate::arch::cpu_index());
    let server = {
        let s = shared.clone();
        sched::spawn_with("handoff-server", SpawnOptions { cpu: here, ..Default::default() }, move || {
            s.ready.fetch_add(1, Ordering::SeqCst);
            s.request.wait_until(|| s.asked.load(Ordering::SeqCst) >= 1);
            let mut round = 1;
            loop {
                // The first answer: no other thread of this CPU may have run since the ask.
                // (One CPU only: with more, an idle CPU takes the filler and runs it meanwhile.)
                if round == 1 && s.filler_ran.load(Ordering::SeqCst) && sched::online().count() == 1 {
                    s.order_bad.store(true, Ordering::SeqCst);
                }
                s.answered.store(round, Ordering::SeqCst);
                let next = s.reply.take_one();
                if round == 500 {
                    if let Some(next) = next {
                        sched::wait::unpark(&next);
                    }
                    break;
                }
                round += 1;
                s.request.wait_handing_off(|| s.asked.load(Ordering::SeqCst) >= round, || false, None, next);
            }
            0
        }).map_err(failed)?
    };
    while shared.ready.load(Ordering::SeqCst) == 0 {
        sched::yield_now();
    }
    for _ in 0..20 {
        sched::yield_now();
    }
    // A thread queued on this CPU behind the server: a plain wake-up would let the scheduler
    // pick either; a hand-off runs the server first.
    let filler = {
        let s = shared.clone();
        sched::spawn_with("handoff-filler", SpawnOptions { cpu: here, ..Default::default() }, move || {
            // Runnable (queued) from before the first ask until after it.
            while s.asked.load(Ordering::SeqCst) == 0 {
                sched::yield_now();
            }
            s.filler_ran.store(true, Ordering::SeqCst);
            0
        }).map_err(failed)?
    };
    for round in 1..=500u64 {
        shared.asked.store(round, Ordering::SeqCst);
        let next = shared.request.take_one();
        shared.reply.wait_handing_off(|| shared.answered.load(Ordering::SeqCst) >= round, || false, None, next);
    }
    kassert_eq!(server.join(), 0);
    kassert_eq!(filler.join(), 0);
    kassert!(!shared.order_bad.load(Ordering::SeqCst), "a queued thread ran before the hand-off's target");
    kassert_eq!(shared.answered.load(Ordering::SeqCst), 500);
    Ok(())
});

fn params(slots: u32, lanes_ab: u8, lanes_ba: u8, kind: u8) -> FusionParams {
    FusionParams { slots, lanes_ab, lanes_ba, kind, rights_a: abi::RIGHTS_ALL, rights_b: abi::RIGHT_RECV, ..FusionParams::default() }
}

ktest!(fn a_ring_has_its_kernel_page_end_counts_and_state() {
    let (a, b) = fusion::create(&params(64, 2, 1, abi::KIND_DUPLEX)).map_err(failed)?;
    let ea = end::of(&a).ok_or_else(|| failed("end A is not a ring end"))?;
    let eb = end::of(&b).ok_or_else(|| failed("end B is not a ring end"))?;
    let ring = ea.ring.clone();
    kassert_eq!(ring.kword(abi::kpage::MAGIC), abi::MAGIC);
    kassert_eq!(ring.kword(abi::kpage::GEOMETRY), 64 | 2 << 32 | 1 << 40);
    kassert_eq!((ring.kword(abi::kpage::ENDS_A), ring.kword(abi::kpage::ENDS_B)), (1, 1));
    kassert_eq!(fusion::info(eb).rights, abi::RIGHT_RECV);
    // Rights only shrink; B cannot shut the ring down or wake readers.
    let dup = fusion::dup(ea, abi::RIGHT_SEND as u64 | 0x100, 0);
    kassert_eq!(fusion::info(end::of(&dup).ok_or_else(|| failed("dup"))?).rights, abi::RIGHT_SEND);
    kassert_eq!(ring.kword(abi::kpage::ENDS_A), 2);
    kassert_eq!(fusion::shut_down(eb, 1).err(), Some(Errno::EPERM));
    kassert_eq!(fusion::wake(eb, abi::WAKE_DATA).err(), Some(Errno::EPERM));
    // Closing one of A's two descriptions keeps A open; closing the last closes it.
    drop(dup);
    kassert_eq!(ring.state() & abi::STATE_A_CLOSED, 0);
    drop(a);
    kassert_eq!(ring.state() & abi::STATE_A_CLOSED, abi::STATE_A_CLOSED);
    kassert!(ring.cut_off(end::of(&b).map(|e| e.side).ok_or_else(|| failed("side"))?), "B should see A gone");
    // A wait of B on a ring whose peer is gone ends with EPIPE at once.
    let eb = end::of(&b).ok_or_else(|| failed("end B"))?;
    kassert_eq!(fusion::wait(eb, abi::WAIT_DATA, ring.post(eb.side.rx()), abi::FOREVER, false, || false).err(), Some(Errno::EPIPE));
    Ok(())
});

ktest!(fn descriptor_grants_never_form_a_cycle() {
    let r = Arc::new(Flight::default());
    let s = Arc::new(Flight::default());
    let t = Arc::new(Flight::default());
    // A ring's end sent over itself: refused.
    kassert_eq!(InFlight::start(&r, Some(&r)).err(), Some(Errno::ETOOMANYREFS));
    // S in flight inside R: R now carries, S is in flight.
    let s_in_r = InFlight::start(&r, Some(&s)).map_err(failed)?;
    // Nothing may travel inside S (in flight), and R (a carrier) may not be sent.
    kassert_eq!(InFlight::start(&s, None).err(), Some(Errno::ETOOMANYREFS));
    kassert_eq!(InFlight::start(&t, Some(&r)).err(), Some(Errno::ETOOMANYREFS));
    // Plain descriptors and other rings still travel inside R.
    let plain = InFlight::start(&r, None).map_err(failed)?;
    let t_in_r = InFlight::start(&r, Some(&t)).map_err(failed)?;
    drop((s_in_r, plain, t_in_r));
    // Once taken, the rules are lifted.
    let again = InFlight::start(&s, Some(&r)).map_err(failed)?;
    drop(again);
    Ok(())
});

ktest!(fn ring_memory_is_bounded_and_given_back() {
    // The largest rings (two 4 MiB directions each) until the budget refuses one: it refuses
    // before the machine runs short, and a closed ring's pages can be used again.
    let big = FusionParams { slots: 1 << 16, lanes_ab: 1, lanes_ba: 1, rights_a: abi::RIGHTS_ALL, rights_b: abi::RIGHTS_ALL, ..FusionParams::default() };
    let free_before = crate::memory::frames::free_frames();
    let mut rings = alloc::vec::Vec::new();
    let refused = loop {
        match fusion::create(&big) {
            Ok(pair) => rings.push(pair),
            Err(e) => break e,
        }
        kassert!(rings.len() < 1000, "the ring budget never refused");
    };
    kassert_eq!(refused, Errno::ENOMEM);
    kassert!(!rings.is_empty(), "not even one ring fitted");
    let held = free_before.saturating_sub(crate::memory::frames::free_frames());
    let managed = crate::memory::frames::stats().managed_frames;
    kassert!(held <= managed / 4 + 64, "rings hold {held} frames of {managed}");
    rings.pop();
    let again = fusion::create(&big).map_err(failed)?;
    drop(again);
    drop(rings);
    Ok(())
});
