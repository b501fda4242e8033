//! The page-fault policy, as a pure function: given the protection of the area that covers
//! the faulting address (if any), what the page table has at the page, and the access, [`decide`] says what the
//! kernel does. Every page fault on process memory — from user mode, or from the kernel copying
//! to or from user memory — goes through it (`process::mm::Mm::handle_fault`, under the memory
//! map's lock), and so does the in-kernel tests' copy-on-write path for trees without areas.

use crate::Prot;

/// The faulting access, from the CPU's page-fault error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Access {
    /// A write (else a read or an instruction fetch).
    pub write: bool,
    /// An instruction fetch.
    pub fetch: bool,
    /// The page was present (a protection fault, else a not-present one).
    pub present: bool,
}

/// x86-64 page-fault error-code bits.
pub const FAULT_PRESENT: u64 = 1;
/// A write access.
pub const FAULT_WRITE: u64 = 2;
/// An instruction fetch.
pub const FAULT_FETCH: u64 = 16;

impl Access {
    /// The access an x86-64 page-fault error code describes.
    pub const fn from_error_code(error: u64) -> Access {
        Access { write: error & FAULT_WRITE != 0, fetch: error & FAULT_FETCH != 0, present: error & FAULT_PRESENT != 0 }
    }
}

/// What the page table holds at the faulting page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageState {
    /// No translation.
    Absent,
    /// A translation: whether it is writable, and whether it is a copy-on-write page.
    Present { writable: bool, cow: bool },
}

/// Why the access fails (the `si_code` of the SIGSEGV, or EFAULT for a kernel copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// No area covers the address (`SEGV_MAPERR`).
    NoArea,
    /// The area's protection forbids the access, or the page cannot be written
    /// (`SEGV_ACCERR`).
    Protection,
}

/// What the kernel does about the fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Map a zeroed page with the area's protection (demand paging).
    MapZeroed,
    /// Break copy-on-write: copy the shared frame (or take it over when it is the last user)
    /// and map it writable.
    BreakCow,
    /// The translation already allows the access: another CPU changed it, and this CPU's TLB
    /// held the old one. Flush the page here and retry.
    FlushStale,
    /// Refuse: a signal for a user access, EFAULT for a kernel copy.
    Deny(Denied),
}

/// Whether an area's current protection allows `access` (a write needs PROT_WRITE, a fetch
/// PROT_EXEC, a read any permission, as x86-64 cannot make a readable page unreadable).
pub fn allows(prot: Prot, access: Access) -> bool {
    if access.write {
        prot.write
    } else if access.fetch {
        prot.exec
    } else {
        prot.read || prot.write || prot.exec
    }
}

/// The policy. `area` is the protection of the area covering the faulting address (None: no
/// area does), `page` the page table's state at the page.
pub fn decide(area: Option<Prot>, page: PageState, access: Access) -> Action {
    let Some(prot) = area else { return Action::Deny(Denied::NoArea) };
    if !allows(prot, access) {
        return Action::Deny(Denied::Protection);
    }
    decide_page(page, access)
}

/// The part of the policy that looks at the page only, for a tree without areas (the in-kernel
/// tests' own trees) or once the area allowed the access.
pub fn decide_page(page: PageState, access: Access) -> Action {
    match page {
        Page::Absent => Action::MapZeroed,
        Page::Present { writable: false, cow: true } if access.write => Action::BreakCow,
        Page::Present { writable: false, .. } if access.write => Action::Deny(Denied::Protection),
        Page::Present { .. } => Action::FlushStale,
    }
}

use PageState as Page;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RW: Prot = Prot { read: true, write: true, exec: false };
    const R: Prot = Prot { read: true, write: false, exec: false };
    const X: Prot = Prot { read: false, write: false, exec: true };
    const READ: Access = Access { write: false, fetch: false, present: false };
    const WRITE: Access = Access { write: true, fetch: false, present: false };
    const FETCH: Access = Access { write: false, fetch: true, present: false };
    const COW: PageState = PageState::Present { writable: false, cow: true };
    const RO: PageState = PageState::Present { writable: false, cow: false };
    const WR: PageState = PageState::Present { writable: true, cow: false };

    #[test]
    fn the_table() {
        use Action::*;
        assert_eq!(decide(None, PageState::Absent, READ), Deny(Denied::NoArea));
        assert_eq!(decide(Some(RW), PageState::Absent, READ), MapZeroed);
        assert_eq!(decide(Some(RW), PageState::Absent, WRITE), MapZeroed);
        assert_eq!(decide(Some(R), PageState::Absent, WRITE), Deny(Denied::Protection));
        assert_eq!(decide(Some(RW), COW, WRITE), BreakCow);
        // A COW page whose area became read-only (mprotect) is never made writable.
        assert_eq!(decide(Some(R), COW, WRITE), Deny(Denied::Protection));
        assert_eq!(decide(Some(RW), RO, WRITE), Deny(Denied::Protection));
        assert_eq!(decide(Some(RW), WR, WRITE), FlushStale);
        assert_eq!(decide(Some(RW), COW, READ), FlushStale);
        assert_eq!(decide(Some(R), PageState::Absent, FETCH), Deny(Denied::Protection));
        assert_eq!(decide(Some(X), PageState::Absent, FETCH), MapZeroed);
        assert_eq!(decide(Some(X), PageState::Absent, READ), MapZeroed);
        assert_eq!(decide(Some(Prot::NONE), PageState::Absent, READ), Deny(Denied::Protection));
    }

    #[test]
    fn error_codes() {
        assert_eq!(Access::from_error_code(0), READ);
        assert_eq!(Access::from_error_code(FAULT_WRITE | FAULT_PRESENT), Access { write: true, fetch: false, present: true });
        assert_eq!(Access::from_error_code(FAULT_FETCH | 4), FETCH);
    }

    fn prot() -> impl Strategy<Value = Prot> {
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(read, write, exec)| Prot { read, write, exec })
    }

    fn page() -> impl Strategy<Value = PageState> {
        prop_oneof![Just(PageState::Absent), (any::<bool>(), any::<bool>()).prop_map(|(writable, cow)| PageState::Present { writable, cow })]
    }

    proptest! {
        /// The safety rules: nothing is granted that the area's protection forbids; a write
        /// never proceeds on a read-only translation except by breaking COW; no area, no page.
        #[test]
        fn never_grants_what_the_area_forbids(area in proptest::option::of(prot()), page in page(), error in 0u64..32) {
            let access = Access::from_error_code(error);
            let action = decide(area, page, access);
            match area {
                None => prop_assert_eq!(action, Action::Deny(Denied::NoArea)),
                Some(p) if !allows(p, access) => prop_assert_eq!(action, Action::Deny(Denied::Protection)),
                Some(_) => prop_assert!(!matches!(action, Action::Deny(Denied::NoArea))),
            }
            if action == Action::BreakCow {
                prop_assert!(access.write && area.is_some_and(|p| p.write));
                prop_assert_eq!(page, PageState::Present { writable: false, cow: true });
            }
            if access.write && action == Action::FlushStale {
                let writable = matches!(page, PageState::Present { writable: true, .. });
                prop_assert!(writable, "a write retried on a read-only translation");
            }
            if action == Action::MapZeroed {
                prop_assert_eq!(page, PageState::Absent);
            }
        }
    }
}
