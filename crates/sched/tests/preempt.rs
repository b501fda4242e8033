//! Time slices and `should_preempt`: quantum per queue, expiry only matters when another thread
//! of the same class waits, realtime preempts at once and is never preempted, Idle-class
//! threads yield to anything ordinary but never displace it.

use exo_sched::{Priority, Queue, RunQueue, SchedConfig, ThreadSched, MS};

const CFG: SchedConfig = SchedConfig::DEFAULT;

fn ts(p: Priority) -> ThreadSched {
    ThreadSched::new(p, &CFG)
}

#[test]
fn quantum_per_queue() {
    let rq = RunQueue::new(CFG).unwrap();
    assert_eq!(rq.quantum_ns(Queue::Hot), Some(2 * MS));
    assert_eq!(rq.quantum_ns(Queue::Normal), Some(10 * MS));
    assert_eq!(rq.quantum_ns(Queue::Cold), Some(10 * MS));
    assert_eq!(rq.quantum_ns(Queue::Idle), Some(10 * MS));
    assert_eq!(rq.quantum_ns(Queue::Realtime), None);
    let rq = RunQueue::new(SchedConfig {
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
    let mut rq = RunQueue::new(CFG).unwrap();
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
    let mut rq = RunQueue::new(CFG).unwrap();
    rq.enqueue(2, &ts(Priority::Low), 0).unwrap();
    let hot = ts(Priority::High);
    assert!(!rq.should_preempt(&hot, 2 * MS - 1));
    assert!(rq.should_preempt(&hot, 2 * MS));
    let cold = ts(Priority::Low);
    assert!(!rq.should_preempt(&cold, 2 * MS));
}

#[test]
fn only_idle_class_waiting_never_preempts_an_ordinary_thread() {
    let mut rq = RunQueue::new(CFG).unwrap();
    rq.enqueue(2, &ts(Priority::Idle), 0).unwrap();
    assert!(!rq.should_preempt(&ts(Priority::Low), 100 * MS));
    // But it round-robins with another Idle-class thread.
    let idle = ts(Priority::Idle);
    assert!(!rq.should_preempt(&idle, 10 * MS - 1));
    assert!(rq.should_preempt(&idle, 10 * MS));
}

#[test]
fn idle_class_thread_yields_at_once_to_an_ordinary_thread() {
    let mut rq = RunQueue::new(CFG).unwrap();
    let idle = ts(Priority::Idle);
    assert!(!rq.should_preempt(&idle, 100 * MS));
    rq.enqueue(2, &ts(Priority::Low), 0).unwrap();
    assert!(rq.should_preempt(&idle, 0));
}

#[test]
fn realtime_preempts_at_once_and_is_never_preempted() {
    let mut rq = RunQueue::new(CFG).unwrap();
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
    let mut rq = RunQueue::new(CFG).unwrap();
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
