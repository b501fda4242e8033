//! Time slices and `should_preempt`: quantum per queue, expiry only matters when another thread
//! of the same class waits, realtime preempts at once and is never preempted, Idle-class
//! threads yield to anything ordinary but never displace it; a wake-up preempts only for those
//! reasons or when a Hot thread wakes on a Cold thread's CPU.

use exo_sched::{ThreadId, Priority, Queue, RunQueue, SchedConfig, ThreadSched, MS};

const CFG: SchedConfig = SchedConfig::DEFAULT;

fn ts(p: Priority) -> ThreadSched {
    ThreadSched::new(p, &CFG)
}

#[test]
fn quantum_per_queue() {
    let rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    assert_eq!(rq.quantum_ns(Queue::Hot), Some(2 * MS));
    assert_eq!(rq.quantum_ns(Queue::Normal), Some(10 * MS));
    assert_eq!(rq.quantum_ns(Queue::Cold), Some(10 * MS));
    assert_eq!(rq.quantum_ns(Queue::Idle), Some(10 * MS));
    assert_eq!(rq.quantum_ns(Queue::Realtime), None);
    let rq = RunQueue::<ThreadId>::new(SchedConfig {
        quantum_ns: 4 * MS,
        hot_quantum_ns: 500_000,
        ..CFG
    })
    .unwrap();
    assert_eq!(rq.quantum_ns(Queue::Cold), Some(4 * MS));
    assert_eq!(rq.quantum_ns(Queue::Hot), Some(500_000));
    assert_eq!(rq.config().quantum_ns, 4 * MS);
}

#[test]
fn ordinary_thread_is_preempted_only_when_its_quantum_expired_and_someone_waits() {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    let cur = ts(Priority::Normal);
    // Nothing waiting: never preempted, whatever the runtime.
    assert!(!rq.should_preempt(&cur, 10 * MS));
    assert!(!rq.should_preempt(&cur, u64::MAX));
    rq.enqueue(2, &ts(Priority::Low), 0).unwrap();
    assert!(!rq.should_preempt(&cur, 10 * MS - 1));
    assert!(rq.should_preempt(&cur, 10 * MS));
    // A waiting Hot thread does not cut a Normal thread's quantum short.
    rq.enqueue(3, &ts(Priority::High), 0).unwrap();
    assert!(!rq.should_preempt(&cur, 5 * MS));
}

#[test]
fn hot_threads_have_the_shorter_quantum() {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    rq.enqueue(2, &ts(Priority::Low), 0).unwrap();
    let hot = ts(Priority::High);
    assert!(!rq.should_preempt(&hot, 2 * MS - 1));
    assert!(rq.should_preempt(&hot, 2 * MS));
    let cold = ts(Priority::Low);
    assert!(!rq.should_preempt(&cold, 2 * MS));
}

#[test]
fn only_idle_class_waiting_never_preempts_an_ordinary_thread() {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    rq.enqueue(2, &ts(Priority::Idle), 0).unwrap();
    assert!(!rq.should_preempt(&ts(Priority::Low), 100 * MS));
    // But it round-robins with another Idle-class thread.
    let idle = ts(Priority::Idle);
    assert!(!rq.should_preempt(&idle, 10 * MS - 1));
    assert!(rq.should_preempt(&idle, 10 * MS));
}

#[test]
fn idle_class_thread_yields_at_once_to_an_ordinary_thread() {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    let idle = ts(Priority::Idle);
    assert!(!rq.should_preempt(&idle, 100 * MS));
    rq.enqueue(2, &ts(Priority::Low), 0).unwrap();
    assert!(rq.should_preempt(&idle, 0));
}

#[test]
fn realtime_preempts_at_once_and_is_never_preempted() {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    rq.enqueue(9, &ts(Priority::Realtime), 0).unwrap();
    for p in [
        Priority::High,
        Priority::Normal,
        Priority::Low,
        Priority::Idle,
    ] {
        assert!(rq.should_preempt(&ts(p), 0), "{p:?}");
    }
    let rt = ts(Priority::Realtime);
    assert!(!rq.should_preempt(&rt, u64::MAX));
    rq.enqueue(2, &ts(Priority::High), 0).unwrap();
    assert!(!rq.should_preempt(&rt, u64::MAX));
}

#[test]
fn should_preempt_follows_the_threads_current_queue() {
    // A High thread that turned CPU-bound gets the 10 ms quantum once it is Cold.
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    let mut cur = ts(Priority::High);
    rq.enqueue(2, &ts(Priority::Normal), 0).unwrap();
    assert!(rq.should_preempt(&cur, 2 * MS));
    for _ in 0..5 {
        rq.account(&mut cur, 30 * MS);
    }
    assert_eq!(cur.queue(), Queue::Cold);
    assert!(!rq.should_preempt(&cur, 2 * MS));
    assert!(rq.should_preempt(&cur, 10 * MS));
}

#[test]
fn a_wake_up_preempts_only_a_cold_thread_or_for_the_tick_reasons() {
    let mut rq = RunQueue::<ThreadId>::new(CFG).unwrap();
    let hot = ts(Priority::High);
    let normal = ts(Priority::Normal);
    let cold = ts(Priority::Low);
    assert_eq!((hot.queue(), normal.queue(), cold.queue()), (Queue::Hot, Queue::Normal, Queue::Cold));
    rq.enqueue(2, &hot, 0).unwrap();
    // A Hot thread woken next to a Cold one runs at once; next to a Hot or Normal one it waits.
    assert!(rq.should_preempt_on_wake(&cold, &hot, 0));
    assert!(!rq.should_preempt_on_wake(&hot, &hot, 0));
    assert!(!rq.should_preempt_on_wake(&normal, &hot, MS));
    // Lower queues never preempt on wake-up before the quantum ends ...
    assert!(!rq.should_preempt_on_wake(&hot, &cold, 0));
    assert!(!rq.should_preempt_on_wake(&cold, &normal, 0));
    // ... and the tick's reasons still hold: an expired quantum, an Idle-class current.
    assert!(rq.should_preempt_on_wake(&normal, &normal, 10 * MS));
    assert!(rq.should_preempt_on_wake(&ts(Priority::Idle), &normal, 0));
    // A realtime thread preempts everything but a realtime thread.
    let rt = ts(Priority::Realtime);
    rq.enqueue(3, &rt, 0).unwrap();
    assert!(rq.should_preempt_on_wake(&hot, &rt, 0));
    assert!(!rq.should_preempt_on_wake(&rt, &rt, 0));
}
