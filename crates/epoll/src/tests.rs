//! Unit tests of the epoll rules, and property tests: the interest list against a map-based
//! model over random epoll_ctl/readiness/scan sequences, the nesting check against a
//! brute-force path search.

use std::collections::BTreeMap;
use std::vec;
use std::vec::Vec;

use exo_abi::epoll::*;
use exo_abi::Errno;
use proptest::prelude::*;

use super::*;

/// Files in the tests are numbers; their state is (readiness bits, event counter, open).
type Files = Vec<(u32, u64, bool)>;

fn ctl(list: &mut InterestList<usize>, op: u32, fd: i32, file: usize, events: u32, data: u64, files: &Files) -> Result<(), Errno> {
    list.control(op, fd, EpollEvent::new(events, data), |&h| h == file, || (file, files[file].1))
}

fn scan(list: &mut InterestList<usize>, max: usize, files: &Files) -> Vec<(u32, u64)> {
    list.collect(max, |&h| files[h].2.then_some(Readiness { bits: with_aliases(files[h].0), events: files[h].1 }))
        .iter()
        .map(|e| (e.events(), e.data()))
        .collect()
}

#[test]
fn ctl_errors() {
    let files = vec![(0, 0, true); 2];
    let mut list = InterestList::new();
    assert_eq!(ctl(&mut list, EPOLL_CTL_ADD, 3, 0, EPOLLIN, 1, &files), Ok(()));
    assert_eq!(ctl(&mut list, EPOLL_CTL_ADD, 3, 0, EPOLLIN, 1, &files), Err(Errno::EEXIST));
    assert_eq!(ctl(&mut list, EPOLL_CTL_ADD, 4, 0, EPOLLIN, 2, &files), Ok(()), "another descriptor of the file");
    assert_eq!(ctl(&mut list, EPOLL_CTL_ADD, 3, 1, EPOLLIN, 3, &files), Ok(()), "the descriptor now names another file");
    assert_eq!(ctl(&mut list, EPOLL_CTL_MOD, 5, 0, EPOLLIN, 0, &files), Err(Errno::ENOENT));
    assert_eq!(ctl(&mut list, EPOLL_CTL_DEL, 4, 1, 0, 0, &files), Err(Errno::ENOENT));
    assert_eq!(ctl(&mut list, 0, 3, 0, EPOLLIN, 0, &files), Err(Errno::EINVAL));
    assert_eq!(ctl(&mut list, 4, 9, 0, EPOLLIN, 0, &files), Err(Errno::EINVAL));
    assert_eq!(ctl(&mut list, EPOLL_CTL_DEL, 3, 0, 0, 0, &files), Ok(()));
    assert_eq!(ctl(&mut list, EPOLL_CTL_DEL, 3, 0, 0, 0, &files), Err(Errno::ENOENT));
    assert_eq!(list.entries().map(|(fd, data, _)| (fd, data)).collect::<Vec<_>>(), [(4, 2), (3, 3)]);
}

#[test]
fn exclusive_rules() {
    assert_eq!(check_flags(EPOLL_CTL_ADD, EPOLLIN | EPOLLEXCLUSIVE, false), Ok(()));
    assert_eq!(check_flags(EPOLL_CTL_ADD, EPOLLIN | EPOLLET | EPOLLEXCLUSIVE | EPOLLWAKEUP, false), Ok(()));
    assert_eq!(check_flags(EPOLL_CTL_MOD, EPOLLIN | EPOLLEXCLUSIVE, false), Err(Errno::EINVAL));
    assert_eq!(check_flags(EPOLL_CTL_ADD, EPOLLIN | EPOLLONESHOT | EPOLLEXCLUSIVE, false), Err(Errno::EINVAL));
    assert_eq!(check_flags(EPOLL_CTL_ADD, EPOLLIN | EPOLLEXCLUSIVE, true), Err(Errno::EINVAL), "not on an epoll");
    assert_eq!(check_flags(EPOLL_CTL_DEL, u32::MAX, true), Ok(()), "DEL ignores the event");
    assert_eq!(check_flags(EPOLL_CTL_MOD, EPOLLIN | EPOLLONESHOT, true), Ok(()), "no EPOLLEXCLUSIVE, no rule");
    assert_eq!(check_flags(7, EPOLLIN | EPOLLEXCLUSIVE, false), Ok(()), "an unknown op fails later");
    // ADD keeps the other bits but not EPOLLEXCLUSIVE.
    let files = vec![(0, 0, true)];
    let mut list = InterestList::new();
    ctl(&mut list, EPOLL_CTL_ADD, 0, 0, EPOLLIN | EPOLLET | EPOLLEXCLUSIVE, 0, &files).unwrap();
    assert_eq!(list.entries().next().map(|e| e.2), Some(EPOLLIN | EPOLLET));
}

#[test]
fn aliases() {
    assert_eq!(with_aliases(EPOLLIN), EPOLLIN | EPOLLRDNORM);
    assert_eq!(with_aliases(EPOLLOUT | EPOLLHUP), EPOLLOUT | EPOLLWRNORM | EPOLLHUP);
    assert_eq!(with_aliases(EPOLLERR), EPOLLERR);
}

#[test]
fn level_triggered_reports_while_ready() {
    let mut files = vec![(0, 0, true)];
    let mut list = InterestList::new();
    ctl(&mut list, EPOLL_CTL_ADD, 0, 0, EPOLLIN, 7, &files).unwrap();
    assert_eq!(scan(&mut list, 8, &files), []);
    files[0].0 = EPOLLIN | EPOLLOUT;
    assert_eq!(scan(&mut list, 8, &files), [(EPOLLIN, 7)], "only what was asked for");
    assert_eq!(scan(&mut list, 8, &files), [(EPOLLIN, 7)], "again and again");
    files[0].0 = EPOLLHUP;
    assert_eq!(scan(&mut list, 8, &files), [(EPOLLHUP, 7)], "hang-ups are always reported");
}

#[test]
fn edge_triggered_reports_rises_and_new_events() {
    let mut files = vec![(0, 0, true)];
    let mut list = InterestList::new();
    ctl(&mut list, EPOLL_CTL_ADD, 0, 0, EPOLLIN | EPOLLOUT | EPOLLET, 1, &files).unwrap();
    files[0] = (EPOLLOUT, 1, true);
    assert_eq!(scan(&mut list, 8, &files), [(EPOLLOUT, 1)]);
    assert_eq!(scan(&mut list, 8, &files), [], "nothing new");
    files[0].0 = EPOLLOUT | EPOLLIN;
    assert_eq!(scan(&mut list, 8, &files), [(EPOLLIN | EPOLLOUT, 1)], "a bit rose");
    assert_eq!(scan(&mut list, 8, &files), []);
    files[0].1 += 1;
    assert_eq!(scan(&mut list, 8, &files), [(EPOLLIN | EPOLLOUT, 1)], "the file's counter moved");
    files[0] = (0, 5, true);
    assert_eq!(scan(&mut list, 8, &files), [], "a counter move alone, with nothing ready");
    files[0].0 = EPOLLIN;
    assert_eq!(scan(&mut list, 8, &files), [(EPOLLIN, 1)], "rose again after falling");
    ctl(&mut list, EPOLL_CTL_MOD, 0, 0, EPOLLIN | EPOLLET, 2, &files).unwrap();
    assert_eq!(scan(&mut list, 8, &files), [(EPOLLIN, 2)], "MOD reports the current readiness again");
}

#[test]
fn one_shot_disarms_until_mod() {
    let mut files = vec![(EPOLLIN, 0, true)];
    let mut list = InterestList::new();
    ctl(&mut list, EPOLL_CTL_ADD, 0, 0, EPOLLIN | EPOLLONESHOT, 1, &files).unwrap();
    assert_eq!(list.armed().count(), 1);
    assert_eq!(scan(&mut list, 8, &files), [(EPOLLIN, 1)]);
    assert_eq!(scan(&mut list, 8, &files), []);
    files[0] = (EPOLLIN | EPOLLHUP, 9, true);
    assert_eq!(scan(&mut list, 8, &files), [], "not even a hang-up");
    assert_eq!(list.armed().count(), 0, "a fired one-shot does not make the instance ready");
    assert_eq!(ctl(&mut list, EPOLL_CTL_ADD, 0, 0, EPOLLIN, 1, &files), Err(Errno::EEXIST), "still listed");
    ctl(&mut list, EPOLL_CTL_MOD, 0, 0, EPOLLIN | EPOLLONESHOT, 2, &files).unwrap();
    assert_eq!(scan(&mut list, 8, &files), [(EPOLLIN | EPOLLHUP, 2)]);
}

#[test]
fn an_empty_mask_reports_nothing() {
    let files = vec![(EPOLLIN | EPOLLERR | EPOLLHUP, 0, true)];
    let mut list = InterestList::new();
    ctl(&mut list, EPOLL_CTL_ADD, 0, 0, EPOLLET, 1, &files).unwrap();
    assert_eq!(scan(&mut list, 8, &files), []);
    assert_eq!(list.armed().count(), 0);
}

#[test]
fn a_small_max_takes_turns() {
    let files = vec![(EPOLLIN, 0, true); 3];
    let mut list = InterestList::new();
    for f in 0..3 {
        ctl(&mut list, EPOLL_CTL_ADD, f as i32, f, EPOLLIN, f as u64, &files).unwrap();
    }
    let order: Vec<u64> = (0..6).flat_map(|_| scan(&mut list, 1, &files)).map(|e| e.1).collect();
    assert_eq!(order, [0, 1, 2, 0, 1, 2]);
    assert_eq!(scan(&mut list, 2, &files), [(EPOLLIN, 0), (EPOLLIN, 1)]);
    assert_eq!(scan(&mut list, 2, &files), [(EPOLLIN, 2), (EPOLLIN, 0)]);
    assert_eq!(scan(&mut list, 0, &files), []);
}

#[test]
fn gone_files_are_skipped_and_retained_out() {
    let mut files = vec![(EPOLLIN, 0, true); 2];
    let mut list = InterestList::new();
    ctl(&mut list, EPOLL_CTL_ADD, 0, 0, EPOLLIN, 0, &files).unwrap();
    ctl(&mut list, EPOLL_CTL_ADD, 1, 1, EPOLLIN, 1, &files).unwrap();
    files[0].2 = false;
    assert_eq!(scan(&mut list, 8, &files), [(EPOLLIN, 1)]);
    list.retain(|&h| files[h].2);
    assert_eq!(list.len(), 1);
    assert_eq!(list.files().copied().collect::<Vec<_>>(), [1]);
}

/// A graph of instances for the nesting check: node -> the nodes it watches.
fn nesting(graph: &[Vec<usize>], outer: usize, inner: usize) -> Result<(), Errno> {
    check_nesting(inner, outer, |&n| n, |&n| Ok(graph[n].clone()))
}

#[test]
fn nesting_depth_and_cycles() {
    // 0 -> 1 -> 2 -> 3: adding "4 watches 0" makes 4 instances below 4: allowed.
    let mut chain = vec![vec![1], vec![2], vec![3], vec![], vec![]];
    assert_eq!(nesting(&chain, 4, 0), Ok(()));
    chain[3].push(5);
    chain.push(vec![]);
    assert_eq!(nesting(&chain, 4, 0), Err(Errno::ELOOP), "5 below is too deep");
    assert_eq!(nesting(&chain, 4, 1), Ok(()));
    assert_eq!(nesting(&chain, 2, 0), Err(Errno::ELOOP), "0 watches 2: a cycle");
    assert_eq!(nesting(&chain, 3, 3), Err(Errno::ELOOP), "itself");
    // Many paths to the same instances: still one answer (and the walk is memoized).
    let diamond = vec![vec![1, 2], vec![3], vec![3], vec![], vec![]];
    assert_eq!(nesting(&diamond, 4, 0), Ok(()));
    assert_eq!(nesting(&diamond, 3, 0), Err(Errno::ELOOP));
    // The caller's errors are passed on.
    assert_eq!(check_nesting(0usize, 9, |&n| n, |_| Err(Errno::ENOMEM)), Err(Errno::ENOMEM));
}

/// The longest chain (in edges) from `node`, up to `limit` (a cycle counts as the limit), and
/// whether `target` is reachable: the brute-force reference of the nesting check.
fn reference(graph: &[Vec<usize>], node: usize, target: usize, limit: usize) -> (usize, bool) {
    if node == target {
        return (0, true);
    }
    if limit == 0 {
        return (0, false);
    }
    let mut best = (0, false);
    for &child in &graph[node] {
        let (h, hit) = reference(graph, child, target, limit - 1);
        best = (best.0.max(h + 1), best.1 || hit);
    }
    best
}

mod model;

proptest! {
    #[test]
    fn nesting_matches_brute_force(
        graph in proptest::collection::vec(proptest::collection::vec(0..8usize, 0..3), 8),
        outer in 0..8usize,
        inner in 0..8usize,
    ) {
        let (height, cycle) = reference(&graph, inner, outer, MAX_NESTS + 1);
        let want = if cycle || 1 + height > MAX_NESTS { Err(Errno::ELOOP) } else { Ok(()) };
        prop_assert_eq!(nesting(&graph, outer, inner), want);
    }
}
