//! Tests of the delivery rules (`delivery.rs`): tables of Linux's behaviour plus properties.

use exo_abi::signal::*;
use exo_abi::Errno;
use proptest::prelude::*;

use crate::delivery::*;

fn handler(flags: u64) -> SigAction {
    SigAction { handler: 0x40_1000, flags, restorer: 0x40_2000, mask: 0 }
}

fn dfl() -> SigAction {
    SigAction { handler: SIG_DFL, ..SigAction::default() }
}

#[test]
fn dispositions_follow_the_action_and_the_default() {
    assert_eq!(disposition(&dfl(), SIGTERM, false, false), Disposition::Terminate { core: false });
    assert_eq!(disposition(&dfl(), SIGSEGV, false, false), Disposition::Terminate { core: true });
    assert_eq!(disposition(&dfl(), SIGTSTP, false, false), Disposition::Stop);
    assert_eq!(disposition(&dfl(), SIGCHLD, false, false), Disposition::Ignore);
    assert_eq!(disposition(&dfl(), SIGCONT, false, false), Disposition::Ignore);
    assert_eq!(disposition(&SigAction { handler: SIG_IGN, ..dfl() }, SIGTERM, false, false), Disposition::Ignore);
    assert_eq!(disposition(&handler(0), SIGTERM, false, false), Disposition::Handle);
}

#[test]
fn init_ignores_default_actions_except_forced_faults() {
    assert_eq!(disposition(&dfl(), SIGTERM, true, false), Disposition::Ignore);
    assert_eq!(disposition(&dfl(), SIGKILL, true, false), Disposition::Ignore);
    assert_eq!(disposition(&dfl(), SIGSEGV, true, true), Disposition::Terminate { core: true });
    assert_eq!(disposition(&handler(0), SIGTERM, true, false), Disposition::Handle);
}

#[test]
fn restart_table() {
    use Restart::*;
    let sa_restart = Some(SA_RESTART);
    let plain = Some(0);
    let rows = [
        (Errno::ERESTARTSYS, None, Again),
        (Errno::ERESTARTSYS, plain, Eintr),
        (Errno::ERESTARTSYS, sa_restart, Again),
        (Errno::ERESTARTNOINTR, plain, Again),
        (Errno::ERESTARTNOINTR, None, Again),
        (Errno::ERESTARTNOHAND, None, Again),
        (Errno::ERESTARTNOHAND, sa_restart, Eintr),
        (Errno::ERESTART_RESTARTBLOCK, None, Eintr),
        (Errno::ERESTART_RESTARTBLOCK, sa_restart, Eintr),
        (Errno::EINTR, None, Leave),
        (Errno::EAGAIN, sa_restart, Leave),
    ];
    for (code, flags, want) in rows {
        assert_eq!(restart(code, flags), want, "{code:?} {flags:?}");
    }
}

#[test]
fn sigaction_checks() {
    assert_eq!(checked_action(0, None), Err(Errno::EINVAL));
    assert_eq!(checked_action(65, None), Err(Errno::EINVAL));
    assert_eq!(checked_action(SIGKILL, None), Ok(None));
    assert_eq!(checked_action(SIGKILL, Some(handler(0))), Err(Errno::EINVAL));
    assert_eq!(checked_action(SIGSTOP, Some(dfl())), Err(Errno::EINVAL));
    let mut wide = handler(SA_UNSUPPORTED | SA_RESTART);
    wide.mask = u64::MAX;
    let stored = checked_action(SIGUSR1, Some(wide)).unwrap().unwrap();
    assert_eq!(stored.flags, SA_RESTART);
    assert_eq!(stored.mask, !SigSet::UNBLOCKABLE.0);
}

#[test]
fn mask_changes() {
    let a = SigSet::of(SIGUSR1);
    let b = SigSet::of(SIGUSR2).union(SigSet::of(SIGKILL));
    assert_eq!(changed_mask(a, SIG_BLOCK, Some(b)), Ok(a.union(SigSet::of(SIGUSR2))));
    assert_eq!(changed_mask(a.union(b), SIG_UNBLOCK, Some(a)), Ok(SigSet::of(SIGUSR2)));
    assert_eq!(changed_mask(a, SIG_SETMASK, Some(b)), Ok(SigSet::of(SIGUSR2)));
    assert_eq!(changed_mask(a, 7, Some(b)), Err(Errno::EINVAL));
    assert_eq!(changed_mask(a, 7, None), Ok(a), "without a set, how is not looked at");
}

proptest! {
    #[test]
    fn no_mask_blocks_kill_or_stop(old in any::<u64>(), set in any::<u64>(), how in 0i32..3) {
        let old = SigSet(old).difference(SigSet::UNBLOCKABLE);
        let new = changed_mask(old, how, Some(SigSet(set))).unwrap();
        prop_assert!(!new.contains(SIGKILL) && !new.contains(SIGSTOP));
        match how {
            SIG_BLOCK => prop_assert_eq!(new, old.union(SigSet(set)).difference(SigSet::UNBLOCKABLE)),
            SIG_UNBLOCK => prop_assert_eq!(new, old.difference(SigSet(set))),
            _ => prop_assert_eq!(new, SigSet(set).difference(SigSet::UNBLOCKABLE)),
        }
    }

    #[test]
    fn only_restart_codes_change_a_result(code in -600i32..600, flags in proptest::option::of(any::<u64>())) {
        let errno = Errno(code);
        let outcome = restart(errno, flags);
        prop_assert_eq!(outcome == Restart::Leave, !errno.is_restart());
        if errno == Errno::ERESTARTNOINTR {
            prop_assert_eq!(outcome, Restart::Again);
        }
    }

    #[test]
    fn a_stored_action_never_blocks_kill_or_stop(sig in 1u32..=64, handler in any::<u64>(), flags in any::<u64>(), mask in any::<u64>()) {
        let action = SigAction { handler, flags, restorer: 0, mask };
        match checked_action(sig, Some(action)) {
            Ok(Some(stored)) => {
                prop_assert!(sig != SIGKILL && sig != SIGSTOP);
                prop_assert_eq!(stored.mask & SigSet::UNBLOCKABLE.0, 0);
                prop_assert_eq!(stored.flags & SA_UNSUPPORTED, 0);
                prop_assert_eq!(stored.handler, handler);
            }
            Ok(None) => prop_assert!(false, "a new action is stored"),
            Err(e) => {
                prop_assert_eq!(e, Errno::EINVAL);
                prop_assert!(sig == SIGKILL || sig == SIGSTOP);
            }
        }
    }

    #[test]
    fn handled_signals_are_handled_everywhere(sig in 1u32..=64, init in any::<bool>(), forced in any::<bool>(), addr in 2u64..u64::MAX) {
        let action = SigAction { handler: addr, ..SigAction::default() };
        prop_assert_eq!(disposition(&action, sig, init, forced), Disposition::Handle);
    }
}
