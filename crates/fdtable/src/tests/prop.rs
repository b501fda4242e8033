//! Property tests: random sequences of system calls on two tables (a process and what it
//! forked or shares nothing with) run against the `BTreeMap` model of `model.rs`. After every
//! step each table must list exactly its model's descriptors, files and flags, have as many
//! slots, and every result — descriptor, error, returned files — must be the model's.

use std::vec;
use std::vec::Vec;

use exo_abi::fcntl::{CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE, O_CLOEXEC};
use proptest::prelude::*;

use super::model::Model;
use crate::*;

#[derive(Clone, Debug)]
enum Op {
    Open { cloexec: bool, min: usize, limit: usize },
    Close { fd: i32 },
    Dup { old: i32, limit: usize },
    DupMin { old: i32, min: i32, cloexec: bool, limit: usize },
    Dup2 { old: i32, new: i32, limit: usize },
    Dup3 { old: i32, new: i32, flags: u32, limit: usize },
    SetCloexec { fd: i32, on: bool },
    CloseRange { first: u32, last: u32, flags: u32 },
    CloseNext { first: usize, last: usize, only_cloexec: bool },
    Exec,
    /// The other table becomes a copy of this one.
    Fork,
}

/// Mostly small descriptors (so that calls meet open ones), sometimes anything.
fn fd() -> impl Strategy<Value = i32> {
    prop_oneof![12 => -2i32..14, 1 => any::<i32>()]
}

/// Mostly small limits (so that EMFILE happens), sometimes none.
fn limit() -> impl Strategy<Value = usize> {
    prop_oneof![6 => 0usize..14, 1 => Just(usize::MAX), 1 => Just(1024)]
}

fn bound() -> impl Strategy<Value = u32> {
    prop_oneof![6 => 0u32..14, 1 => Just(u32::MAX)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), prop_oneof![4 => Just(0usize), 1 => 0usize..14], limit())
            .prop_map(|(cloexec, min, limit)| Op::Open { cloexec, min, limit }),
        4 => fd().prop_map(|fd| Op::Close { fd }),
        2 => (fd(), limit()).prop_map(|(old, limit)| Op::Dup { old, limit }),
        2 => (fd(), fd(), any::<bool>(), limit()).prop_map(|(old, min, cloexec, limit)| Op::DupMin { old, min, cloexec, limit }),
        3 => (fd(), fd(), limit()).prop_map(|(old, new, limit)| Op::Dup2 { old, new, limit }),
        3 => (fd(), fd(), prop_oneof![Just(0), Just(O_CLOEXEC), Just(1), any::<u32>()], limit())
            .prop_map(|(old, new, flags, limit)| Op::Dup3 { old, new, flags, limit }),
        2 => (fd(), any::<bool>()).prop_map(|(fd, on)| Op::SetCloexec { fd, on }),
        2 => (bound(), bound(), prop_oneof![Just(0), Just(CLOSE_RANGE_CLOEXEC), Just(CLOSE_RANGE_UNSHARE),
                Just(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE), any::<u32>()])
            .prop_map(|(first, last, flags)| Op::CloseRange { first, last, flags }),
        1 => (0usize..14, prop_oneof![0usize..14, Just(usize::MAX)], any::<bool>())
            .prop_map(|(first, last, only_cloexec)| Op::CloseNext { first, last, only_cloexec }),
        1 => Just(Op::Exec),
        1 => Just(Op::Fork),
    ]
}

/// The table's view, in the model's terms.
fn listing(t: &FdTable<u32>) -> Vec<(i64, (u32, bool))> {
    t.iter().map(|(fd, e)| (i64::from(fd), (e.file, e.cloexec))).collect()
}

/// Applies `op` to table `i` of `tables` and of `models`, checking the results agree.
fn step(tables: &mut [FdTable<u32>; 2], models: &mut [Model; 2], i: usize, op: &Op, next_file: &mut u32) -> Result<(), TestCaseError> {
    let (t, m) = (&mut tables[i], &mut models[i]);
    match *op {
        Op::Open { cloexec, min, limit } => {
            *next_file += 1;
            let got = t.insert(*next_file, cloexec, min, limit).map_err(|r| (r.errno, r.file));
            let want = m.insert(*next_file, cloexec, min as i64, limit).map_err(|e| (e, *next_file));
            prop_assert_eq!(got, want);
        }
        Op::Close { fd } => prop_assert_eq!(t.close(fd), m.close(fd.into())),
        Op::Dup { old, limit } => prop_assert_eq!(t.dup(old, limit), m.dup(old.into(), limit)),
        Op::DupMin { old, min, cloexec, limit } => {
            prop_assert_eq!(t.dup_min(old, min, cloexec, limit), m.dup_min(old.into(), min.into(), cloexec, limit));
        }
        Op::Dup2 { old, new, limit } => prop_assert_eq!(t.dup2(old, new, limit), m.dup2(old.into(), new.into(), limit)),
        Op::Dup3 { old, new, flags, limit } => {
            prop_assert_eq!(t.dup3(old, new, flags, limit), m.dup3(old.into(), new.into(), flags, limit));
        }
        Op::SetCloexec { fd, on } => {
            prop_assert_eq!(t.set_cloexec(fd, on), m.set_cloexec(fd.into(), on));
            prop_assert_eq!(t.cloexec(fd), m.open.get(&i64::from(fd)).map(|e| e.1).ok_or(exo_abi::Errno::EBADF));
        }
        Op::CloseRange { first, last, flags } => match close_range_args(first, last, flags) {
            Ok(r) => {
                prop_assert!(first <= last && flags & !(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE) == 0);
                prop_assert_eq!((r.first, r.last), (first as usize, last as usize));
                if r.cloexec {
                    t.set_cloexec_range(r.first, r.last);
                    m.cloexec_range(first.into(), last.into());
                } else {
                    prop_assert_eq!(t.close_range(r.first, r.last), Ok(m.close_range(first.into(), last.into())));
                }
            }
            Err(e) => {
                prop_assert_eq!(e, exo_abi::Errno::EINVAL);
                prop_assert!(first > last || flags & !(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE) != 0);
            }
        },
        Op::CloseNext { first, last, only_cloexec } => {
            let model_last = i64::try_from(last).unwrap_or(i64::MAX);
            prop_assert_eq!(t.close_next(first, last, only_cloexec), m.close_next(first as i64, model_last, only_cloexec));
        }
        Op::Exec => prop_assert_eq!(t.close_on_exec(), Ok(m.exec())),
        Op::Fork => {
            let copy = t.try_clone();
            prop_assert!(copy.is_ok());
            let other = 1 - i;
            if let Ok(copy) = copy {
                tables[other] = copy;
            }
            models[other] = models[i].clone();
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Both tables match their models after every call.
    #[test]
    fn matches_the_model(ops in proptest::collection::vec((0usize..2, op()), 0..120)) {
        let mut tables = [FdTable::new(), FdTable::new()];
        let mut models = [Model::default(), Model::default()];
        let mut next_file = 0;
        for (i, op) in &ops {
            step(&mut tables, &mut models, *i, op, &mut next_file)?;
            for (t, m) in tables.iter().zip(models.iter()) {
                prop_assert_eq!(listing(t), m.open.iter().map(|(&fd, &e)| (fd, e)).collect::<Vec<_>>());
                prop_assert_eq!(t.slots() as i64, m.slots);
                prop_assert_eq!(t.open_count(), m.open.len());
                for fd in -1..16 {
                    prop_assert_eq!(t.get(fd).copied(), m.open.get(&i64::from(fd)).map(|e| e.0).ok_or(exo_abi::Errno::EBADF));
                }
            }
        }
    }
}
