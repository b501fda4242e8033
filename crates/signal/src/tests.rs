//! Unit and property tests of the signal rules.

use std::vec::Vec;

use exo_abi::signal::*;
use proptest::prelude::*;

use super::*;

fn info(sig: u32, value: i32) -> SigInfo {
    let mut i = SigInfo::new(sig, SI_USER);
    i.si_errno = value;
    i
}

#[test]
fn standard_signals_merge_realtime_ones_queue_in_order() {
    let mut p = Pending::new();
    assert!(p.add(SIGUSR1, info(SIGUSR1, 1)));
    assert!(!p.add(SIGUSR1, info(SIGUSR1, 2)), "a second pending SIGUSR1 is lost");
    assert!(p.add(SIGRTMIN, info(SIGRTMIN, 1)));
    assert!(p.add(SIGRTMIN, info(SIGRTMIN, 2)));
    assert_eq!(p.take(SIGUSR1).map(|i| i.si_errno), Some(1));
    assert_eq!(p.take(SIGUSR1), None);
    assert_eq!(p.take(SIGRTMIN).map(|i| i.si_errno), Some(1));
    assert!(p.set().contains(SIGRTMIN), "one instance left");
    assert_eq!(p.take(SIGRTMIN).map(|i| i.si_errno), Some(2));
    assert!(p.set().is_empty());
}

#[test]
fn the_queue_is_bounded() {
    let mut p = Pending::new();
    for n in 0..MAX_QUEUED {
        assert!(p.add(SIGRTMIN + (n % 30) as u32, info(SIGRTMIN, 0)));
    }
    assert!(!p.add(SIGRTMIN, info(SIGRTMIN, 0)));
    assert_eq!(p.queued(), MAX_QUEUED);
}

#[test]
fn discard_drops_every_instance() {
    let mut p = Pending::new();
    p.add(SIGSTOP, info(SIGSTOP, 0));
    p.add(SIGTSTP, info(SIGTSTP, 0));
    p.add(SIGRTMIN, info(SIGRTMIN, 0));
    p.discard(SigSet::of(SIGSTOP).union(SigSet::of(SIGTSTP)));
    assert_eq!(p.set(), SigSet::of(SIGRTMIN));
    assert_eq!(p.queued(), 1);
}

#[test]
fn arrival_rules() {
    let dfl = SigAction::default();
    let ign = SigAction { handler: SIG_IGN, ..SigAction::default() };
    assert!(discarded_on_arrival(&dfl, SIGCHLD, SigSet::empty()), "SIGCHLD's default is to ignore");
    assert!(!discarded_on_arrival(&dfl, SIGCHLD, SigSet::of(SIGCHLD)), "blocked signals stay pending");
    assert!(!discarded_on_arrival(&dfl, SIGTERM, SigSet::empty()));
    assert!(discarded_on_arrival(&ign, SIGTERM, SigSet::empty()));
    assert!(!discarded_on_arrival(&ign, SIGKILL, SigSet::empty()));
    assert!(!discarded_on_arrival(&ign, SIGSTOP, SigSet::empty()));
}

#[test]
fn kill_permission() {
    let root = Ids { uid: 0, euid: 0, suid: 0 };
    let alice = Ids { uid: 1000, euid: 1000, suid: 1000 };
    let bob = Ids { uid: 1001, euid: 1001, suid: 1001 };
    let setuid_alice = Ids { uid: 1001, euid: 0, suid: 1000 };
    assert!(may_kill(root, alice, SIGKILL, false));
    assert!(may_kill(alice, alice, SIGKILL, false));
    assert!(!may_kill(alice, bob, SIGKILL, false));
    assert!(!may_kill(alice, root, SIGKILL, false));
    assert!(may_kill(alice, bob, SIGCONT, true), "SIGCONT within the session");
    assert!(!may_kill(alice, bob, SIGCONT, false));
    assert!(may_kill(alice, setuid_alice, SIGTERM, false), "the target's saved uid counts");
}

proptest! {
    /// Against a model: a standard signal is pending iff added since its last take; real-time
    /// instances come out in the order they went in.
    #[test]
    fn matches_the_model(ops in proptest::collection::vec((any::<bool>(), 1u32..=64, any::<i32>()), 0..200)) {
        let mut p = Pending::new();
        let mut model: Vec<(u32, i32)> = Vec::new();
        for (add, sig, value) in ops {
            if add {
                let standard_pending = sig < SIGRTMIN && model.iter().any(|&(s, _)| s == sig);
                let added = p.add(sig, info(sig, value));
                prop_assert_eq!(added, !standard_pending);
                if added {
                    model.push((sig, value));
                }
            } else {
                let want = model.iter().position(|&(s, _)| s == sig).map(|i| model.remove(i).1);
                prop_assert_eq!(p.take(sig).map(|i| i.si_errno), want);
            }
            for sig in 1..=64 {
                prop_assert_eq!(p.set().contains(sig), model.iter().any(|&(s, _)| s == sig));
            }
            prop_assert_eq!(p.queued(), model.len());
        }
    }
}
