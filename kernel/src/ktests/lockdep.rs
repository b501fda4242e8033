//! Tests of lockdep (lock-order checking, docs/locking.md): inversions of two and of three
//! classes, a sleeping mutex and a wait with a spin lock held, locks of one class nested both
//! ways (no report), the held stack's balance, and — last of the whole ktest run — no
//! unexpected report anywhere during the run.
//!
//! The deliberate reports are made with the thread marked `expect_reports`, so they print as
//! `lockdep (expected): …` and count apart from real ones.

use crate::lockdep;
use crate::sched::sync::Mutex as SleepMutex;
use crate::sched::wait::WaitQueue;
use crate::spinlock::{IrqSpinLock, SpinLock};
use crate::{kassert, kassert_eq, ktest};


/// Runs `f` with reports expected; returns how many it made.
fn expected_reports_of(f: impl FnOnce()) -> usize {
    let before = lockdep::expected_reports();
    lockdep::expect_reports(true);
    f();
    lockdep::expect_reports(false);
    lockdep::expected_reports() - before
}

ktest!(fn inversion_of_two_locks_is_reported_once() {
    static A: SpinLock<u32> = SpinLock::new(0);
    static B: IrqSpinLock<u32> = IrqSpinLock::new(0);
    let real_before = lockdep::reports();
    let in_order = expected_reports_of(|| {
        let _a = A.lock();
        let _b = B.lock();
    });
    kassert_eq!(in_order, 0);
    let inverted = expected_reports_of(|| {
        let _b = B.lock();
        let _a = A.lock();
    });
    let again = expected_reports_of(|| {
        let _b = B.lock();
        let _a = A.lock();
    });
    if lockdep::ENABLED {
        kassert_eq!(inverted, 1);
        kassert_eq!(again, 0);
    }
    kassert_eq!(lockdep::reports(), real_before);
    Ok(())
});

ktest!(fn inversion_through_a_third_lock_is_reported() {
    static A: SpinLock<()> = SpinLock::new(());
    static B: SpinLock<()> = SpinLock::new(());
    static C: IrqSpinLock<()> = IrqSpinLock::new(());
    let real_before = lockdep::reports();
    let chain = expected_reports_of(|| {
        {
            let _c = C.lock();
            let _a = A.lock();
        }
        let _a = A.lock();
        let _b = B.lock();
    });
    kassert_eq!(chain, 0);
    // C under B closes the cycle C -> A -> B -> C.
    let closing = expected_reports_of(|| {
        let _b = B.lock();
        let _c = C.lock();
    });
    if lockdep::ENABLED {
        kassert_eq!(closing, 1);
    }
    kassert_eq!(lockdep::reports(), real_before);
    Ok(())
});

ktest!(fn sleeping_lock_under_a_spin_lock_is_reported() {
    static SPIN: SpinLock<()> = SpinLock::new(());
    static SLEEPING: SleepMutex<u32> = SleepMutex::new(0);
    let real_before = lockdep::reports();
    let reports = expected_reports_of(|| {
        let _spin = SPIN.lock();
        // Free, so it does not actually sleep; lockdep reports it all the same.
        *SLEEPING.lock() += 1;
    });
    if lockdep::ENABLED {
        kassert_eq!(reports, 1);
    }
    kassert_eq!(lockdep::reports(), real_before);
    Ok(())
});

ktest!(fn waiting_under_a_spin_lock_is_reported() {
    static SPIN: IrqSpinLock<()> = IrqSpinLock::new(());
    static QUEUE: WaitQueue = WaitQueue::new();
    let real_before = lockdep::reports();
    let reports = expected_reports_of(|| {
        let _spin = SPIN.lock();
        // The condition holds at once, so it does not actually block; lockdep reports it all
        // the same.
        QUEUE.wait_until(|| true);
    });
    if lockdep::ENABLED {
        kassert_eq!(reports, 1);
    }
    kassert_eq!(lockdep::reports(), real_before);
    Ok(())
});

ktest!(fn locks_of_one_class_nest_either_way_without_report() {
    let make = || SpinLock::new(0u8);
    let (first, second) = (make(), make());
    let reports = expected_reports_of(|| {
        {
            let _a = first.lock();
            let _b = second.lock();
        }
        let _b = second.lock();
        let _a = first.lock();
    });
    kassert_eq!(reports, 0);
    Ok(())
});

ktest!(fn held_locks_balance_after_guards_drop() {
    static A: IrqSpinLock<()> = IrqSpinLock::new(());
    static B: SpinLock<()> = SpinLock::new(());
    let depth = lockdep::held_depth();
    {
        let _a = A.lock();
        let _b = B.lock();
        if lockdep::ENABLED {
            kassert_eq!(lockdep::held_depth(), depth + 2);
        }
        drop(_a);
        if lockdep::ENABLED {
            kassert_eq!(lockdep::held_depth(), depth + 1);
        }
    }
    kassert_eq!(lockdep::held_depth(), depth);
    Ok(())
});

// Named `last_…`, so the runner runs it after every other test: it fails if any of them (or the
// kernel around them) made a real report.
ktest!(fn last_no_lockdep_report_during_the_run() {
    if lockdep::reports() > 0 {
        lockdep::print_order();
    }
    kassert!(lockdep::reports() == 0, "{} lockdep report(s): see the LOCKDEP lines above", lockdep::reports());
    Ok(())
});
