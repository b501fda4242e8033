//! Unit tests of the descriptor table, one or more per rule; property tests against a
//! `BTreeMap` model in `tests/prop.rs` (the model itself is in `tests/model.rs`). Files are
//! plain numbers here.

mod model;
mod prop;

use std::vec;
use std::vec::Vec;

use exo_abi::fcntl::{CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE, O_CLOEXEC};
use exo_abi::Errno;

use crate::*;

type Table = FdTable<u32>;

/// A common RLIMIT_NOFILE.
const LIMIT: usize = 1024;

/// A table with `files` open at descriptors 0, 1, 2... (none close-on-exec).
fn table_with(files: &[u32]) -> Table {
    let mut t = Table::new();
    for &f in files {
        t.insert(f, false, 0, LIMIT).unwrap();
    }
    t
}

fn fds(t: &Table) -> Vec<(i32, u32, bool)> {
    t.iter().map(|(fd, e)| (fd, e.file, e.cloexec)).collect()
}

#[test]
fn lowest_free_descriptor_first() {
    let mut t = table_with(&[10, 11, 12]);
    assert_eq!(t.close(1), Ok(11));
    assert_eq!(t.insert(13, false, 0, LIMIT).unwrap(), 1, "the hole is reused");
    assert_eq!(t.insert(14, false, 0, LIMIT).unwrap(), 3);
    assert_eq!(t.insert(15, true, 10, LIMIT).unwrap(), 10, "at or above the minimum");
    assert_eq!(t.insert(16, false, 4, LIMIT).unwrap(), 4);
    assert_eq!(t.insert(17, false, 10, LIMIT).unwrap(), 11);
    assert_eq!(t.slots(), 12);
    assert_eq!(t.open_count(), 7);
    assert_eq!(t.lowest_free(0, LIMIT), Ok(5));
}

#[test]
fn the_limit_gives_emfile_and_hands_the_file_back() {
    let mut t = table_with(&[1, 2]);
    let refused = t.insert(3, false, 0, 2).unwrap_err();
    assert_eq!((refused.errno, refused.file), (Errno::EMFILE, 3));
    assert_eq!(t.insert(3, false, 5, 5).unwrap_err().into_errno(), Errno::EMFILE, "min at the limit");
    assert_eq!(t.insert(3, false, 0, 0).unwrap_err().errno, Errno::EMFILE);
    assert_eq!(t.insert(3, false, usize::MAX, usize::MAX).unwrap_err().errno, Errno::EMFILE);
    assert_eq!(fds(&t), vec![(0, 1, false), (1, 2, false)], "refusals change nothing");
    assert_eq!(t.slots(), 2);
}

#[test]
fn the_hard_maximum_caps_any_limit() {
    let mut t = Table::new();
    assert_eq!(t.insert(1, false, FD_HARD_MAX - 1, usize::MAX).unwrap(), (FD_HARD_MAX - 1) as i32);
    assert_eq!(t.insert(2, false, FD_HARD_MAX - 1, usize::MAX).unwrap_err().errno, Errno::EMFILE);
    assert_eq!(t.insert_at(FD_HARD_MAX as i32, 3, false, usize::MAX).unwrap_err().errno, Errno::EBADF);
    assert_eq!(t.dup_min(FD_HARD_MAX as i32 - 1, FD_HARD_MAX as i32, false, usize::MAX), Err(Errno::EINVAL));
    assert_eq!(t.slots(), FD_HARD_MAX);
}

#[test]
fn lookups_reject_bad_descriptors() {
    let mut t = table_with(&[7]);
    for fd in [-1, i32::MIN, 1, 1000, i32::MAX] {
        assert_eq!(t.get(fd), Err(Errno::EBADF));
        assert_eq!(t.cloexec(fd), Err(Errno::EBADF));
        assert_eq!(t.set_cloexec(fd, true), Err(Errno::EBADF));
        assert_eq!(t.close(fd), Err(Errno::EBADF));
        assert!(!t.is_open(fd) && t.entry(fd).is_none());
    }
    assert_eq!(t.get(0), Ok(&7));
    assert_eq!(t.close(0), Ok(7));
    assert_eq!(t.close(0), Err(Errno::EBADF), "closed twice");
    assert_eq!(t.slots(), 1, "slots are kept");
}

#[test]
fn close_on_exec_flags() {
    let mut t = table_with(&[1, 2]);
    assert_eq!(t.cloexec(1), Ok(false));
    assert_eq!(t.set_cloexec(1, true), Ok(()));
    assert_eq!(t.cloexec(1), Ok(true));
    assert_eq!(t.cloexec(0), Ok(false));
    assert_eq!(t.set_cloexec(1, false), Ok(()));
    assert_eq!(t.cloexec(1), Ok(false));
    assert_eq!(t.insert(3, true, 0, LIMIT).map(|fd| t.cloexec(fd)), Ok(Ok(true)));
}

#[test]
fn exec_closes_the_cloexec_descriptors() {
    let mut t = table_with(&[0, 1, 2, 3, 4]);
    t.set_cloexec(1, true).unwrap();
    t.set_cloexec(4, true).unwrap();
    assert_eq!(t.close_on_exec(), Ok(vec![1, 4]), "in increasing order");
    assert_eq!(fds(&t), vec![(0, 0, false), (2, 2, false), (3, 3, false)]);
    assert_eq!(t.close_on_exec(), Ok(vec![]));
    assert_eq!(Table::new().close_on_exec(), Ok(vec![]));
}

#[test]
fn close_range_closes_or_marks() {
    let mut t = table_with(&[0, 1, 2, 3, 4, 5]);
    t.close(2).unwrap();
    assert_eq!(t.close_range(1, 3), Ok(vec![1, 3]));
    assert_eq!(t.close_range(4, 4), Ok(vec![4]));
    assert_eq!(t.close_range(6, usize::MAX), Ok(vec![]), "beyond the table");
    assert_eq!(t.close_range(5, 1), Ok(vec![]), "an empty range");
    assert_eq!(fds(&t), vec![(0, 0, false), (5, 5, false)]);
    t.set_cloexec_range(1, usize::MAX);
    assert_eq!(fds(&t), vec![(0, 0, false), (5, 5, true)], "only open descriptors are marked");
    t.set_cloexec_range(0, 0);
    t.set_cloexec_range(7, 3);
    assert_eq!(fds(&t), vec![(0, 0, true), (5, 5, true)]);
    assert_eq!(t.close_range(0, usize::MAX), Ok(vec![0, 5]));
    assert_eq!(t.open_count(), 0);
    assert_eq!(t.slots(), 6);
}

#[test]
fn close_next_closes_one_at_a_time() {
    let mut t = table_with(&[0, 1, 2, 3]);
    t.set_cloexec(2, true).unwrap();
    t.set_cloexec(3, true).unwrap();
    assert_eq!(t.close_next(0, usize::MAX, true), Some((2, 2)));
    assert_eq!(t.close_next(3, usize::MAX, true), Some((3, 3)));
    assert_eq!(t.close_next(4, usize::MAX, true), None);
    assert_eq!(t.close_next(1, 1, false), Some((1, 1)));
    assert_eq!(t.close_next(1, 1, false), None);
    assert_eq!(t.close_next(9, 2, false), None);
    assert_eq!(fds(&t), vec![(0, 0, false)]);
}

#[test]
fn close_range_arguments() {
    let r = close_range_args(3, 3, 0).unwrap();
    assert_eq!(r, CloseRange { first: 3, last: 3, cloexec: false, unshare: false });
    let r = close_range_args(0, u32::MAX, CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE).unwrap();
    assert_eq!(r, CloseRange { first: 0, last: u32::MAX as usize, cloexec: true, unshare: true });
    assert_eq!(close_range_args(4, 3, 0), Err(Errno::EINVAL));
    assert_eq!(close_range_args(0, 3, 1), Err(Errno::EINVAL), "bit 0 is no flag");
    assert_eq!(close_range_args(0, 3, 1 << 3), Err(Errno::EINVAL));
}

#[test]
fn dup_and_fcntl_dupfd() {
    let mut t = table_with(&[10, 11]);
    t.set_cloexec(0, true).unwrap();
    assert_eq!(t.dup(0, LIMIT), Ok(2));
    assert_eq!((t.get(2), t.cloexec(2)), (Ok(&10), Ok(false)), "dup clears close-on-exec");
    assert_eq!(t.dup(5, LIMIT), Err(Errno::EBADF));
    assert_eq!(t.dup(-1, LIMIT), Err(Errno::EBADF));
    assert_eq!(t.dup(1, 3), Err(Errno::EMFILE));
    assert_eq!(t.dup_min(1, 7, true, LIMIT), Ok(7));
    assert_eq!((t.get(7), t.cloexec(7)), (Ok(&11), Ok(true)));
    assert_eq!(t.dup_min(1, 7, false, LIMIT), Ok(8));
    assert_eq!(t.dup_min(1, -1, false, LIMIT), Err(Errno::EINVAL));
    assert_eq!(t.dup_min(1, 9, false, 9), Err(Errno::EINVAL), "min at the limit");
    assert_eq!(t.dup_min(1, 7, false, 9), Err(Errno::EMFILE));
    assert_eq!(t.dup_min(4, -1, false, LIMIT), Err(Errno::EBADF), "EBADF comes first");
    assert_eq!(t.open_count(), 5);
}

#[test]
fn dup2_replaces_and_returns_the_old_file() {
    let mut t = table_with(&[10, 11]);
    t.set_cloexec(1, true).unwrap();
    assert_eq!(t.dup2(0, 1, LIMIT), Ok(Some(11)));
    assert_eq!((t.get(1), t.cloexec(1)), (Ok(&10), Ok(false)));
    assert_eq!(t.dup2(0, 5, LIMIT), Ok(None), "a free target");
    assert_eq!(t.slots(), 6);
    assert_eq!(t.dup2(3, 4, LIMIT), Err(Errno::EBADF), "old not open");
    assert_eq!(t.dup2(0, -1, LIMIT), Err(Errno::EBADF));
    assert_eq!(t.dup2(0, 8, 8), Err(Errno::EBADF), "new at the limit");
    assert_eq!(t.dup2(0, i32::MAX, usize::MAX), Err(Errno::EBADF));
    assert_eq!(fds(&t), vec![(0, 10, false), (1, 10, false), (5, 10, false)]);
}

#[test]
fn dup2_onto_itself_only_checks() {
    let mut t = table_with(&[10]);
    t.set_cloexec(0, true).unwrap();
    assert_eq!(t.dup2(0, 0, LIMIT), Ok(None));
    assert_eq!(t.cloexec(0), Ok(true), "the flag is kept");
    assert_eq!(t.dup2(0, 0, 0), Ok(None), "even beyond the limit");
    assert_eq!(t.dup2(3, 3, LIMIT), Err(Errno::EBADF));
    assert_eq!(t.dup2(-2, -2, LIMIT), Err(Errno::EBADF));
}

#[test]
fn dup3_rules() {
    let mut t = table_with(&[10, 11]);
    assert_eq!(t.dup3(0, 0, 0, LIMIT), Err(Errno::EINVAL));
    assert_eq!(t.dup3(5, 5, 0, LIMIT), Err(Errno::EINVAL), "EINVAL before EBADF");
    assert_eq!(t.dup3(0, 1, 1, LIMIT), Err(Errno::EINVAL), "unknown flag");
    assert_eq!(t.dup3(0, 1, O_CLOEXEC, LIMIT), Ok(Some(11)));
    assert_eq!(t.cloexec(1), Ok(true));
    assert_eq!(t.dup3(0, 1, 0, LIMIT), Ok(Some(10)));
    assert_eq!(t.cloexec(1), Ok(false));
    assert_eq!(t.dup3(4, 1, 0, LIMIT), Err(Errno::EBADF));
    assert_eq!(t.dup3(0, 2, 0, 2), Err(Errno::EBADF));
}

#[test]
fn insert_at_hands_refused_files_back() {
    let mut t = Table::new();
    let refused = t.insert_at(-1, 9, false, LIMIT).unwrap_err();
    assert_eq!((refused.errno, refused.file), (Errno::EBADF, 9));
    assert_eq!(t.insert_at(3, 9, true, LIMIT).unwrap(), None);
    assert_eq!(t.insert_at(3, 8, false, LIMIT).unwrap(), Some(Entry { file: 9, cloexec: true }));
    assert_eq!(t.slots(), 4);
}

#[test]
fn fork_copies_independently() {
    let mut parent = table_with(&[1, 2, 3]);
    parent.set_cloexec(2, true).unwrap();
    parent.close(1).unwrap();
    let mut child = parent.try_clone().unwrap();
    assert_eq!(fds(&child), fds(&parent));
    assert_eq!(child.slots(), parent.slots());
    child.close(0).unwrap();
    child.set_cloexec(2, false).unwrap();
    assert_eq!(fds(&parent), vec![(0, 1, false), (2, 3, true)]);
    assert_eq!(fds(&child), vec![(2, 3, false)]);
}

#[test]
fn iteration_lists_open_descriptors_in_order() {
    let mut t = Table::new();
    t.insert_at(5, 50, true, LIMIT).unwrap();
    t.insert_at(2, 20, false, LIMIT).unwrap();
    assert_eq!(fds(&t), vec![(2, 20, false), (5, 50, true)]);
    assert_eq!(t.iter().last().map(|(fd, _)| fd + 1), Some(6));
    assert_eq!(Table::default().iter().count(), 0);
}
