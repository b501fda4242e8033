//! Property test of the interest list against a model kept differently: a map from
//! (descriptor, file) to the item's state, with a sequence number giving the scan order (an
//! item that reports level-triggered takes a new, larger number).

use super::*;

#[derive(Clone, Debug)]
struct ModelItem {
    events: u32,
    data: u64,
    last_bits: u32,
    last_events: u64,
    seq: u64,
}

#[derive(Default)]
struct Model {
    items: BTreeMap<(i32, usize), ModelItem>,
    next: u64,
}

impl Model {
    fn order(&self) -> Vec<(i32, usize)> {
        let mut keys: Vec<_> = self.items.iter().map(|(k, v)| (v.seq, *k)).collect();
        keys.sort();
        keys.into_iter().map(|(_, k)| k).collect()
    }

    fn ctl(&mut self, op: u32, fd: i32, file: usize, events: u32, data: u64, counter: u64) -> Result<(), Errno> {
        let key = (fd, file);
        let present = self.items.contains_key(&key);
        match op {
            EPOLL_CTL_ADD if present => Err(Errno::EEXIST),
            EPOLL_CTL_ADD => {
                self.next += 1;
                let item = ModelItem { events: events & !EPOLLEXCLUSIVE, data, last_bits: 0, last_events: counter, seq: self.next };
                self.items.insert(key, item);
                Ok(())
            }
            EPOLL_CTL_MOD | EPOLL_CTL_DEL if !present => Err(Errno::ENOENT),
            EPOLL_CTL_MOD => {
                let item = self.items.get_mut(&key).unwrap();
                (item.events, item.data, item.last_bits) = (events, data, 0);
                Ok(())
            }
            EPOLL_CTL_DEL => {
                self.items.remove(&key);
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn scan(&mut self, max: usize, files: &Files) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        for key in self.order() {
            if out.len() >= max {
                break;
            }
            let item = self.items.get_mut(&key).unwrap();
            let asks = item.events & !(EPOLLET | EPOLLONESHOT | EPOLLWAKEUP);
            let (bits, counter, open) = files[key.1];
            if asks == 0 || !open {
                continue;
            }
            let seen = with_aliases(bits) & (asks | EPOLLERR | EPOLLHUP);
            let edge = item.events & EPOLLET != 0;
            let rose = seen & !item.last_bits != 0;
            let fire = seen != 0 && (!edge || rose || counter != item.last_events);
            (item.last_bits, item.last_events) = (seen, counter);
            if fire {
                out.push((seen, item.data));
                if item.events & EPOLLONESHOT != 0 {
                    item.events &= EPOLLET | EPOLLONESHOT | EPOLLWAKEUP;
                } else if !edge {
                    self.next += 1;
                    item.seq = self.next;
                }
            }
        }
        out
    }
}

#[derive(Clone, Debug)]
enum Op {
    Ctl { op: u32, fd: i32, file: usize, events: u32, data: u64 },
    Ready(usize, u32),
    Bump(usize),
    Close(usize),
    Scan(usize),
}

fn events() -> impl Strategy<Value = u32> {
    let modes = prop_oneof![Just(0), Just(EPOLLET), Just(EPOLLONESHOT), Just(EPOLLET | EPOLLONESHOT), Just(EPOLLEXCLUSIVE)];
    let asked = proptest::sample::subsequence(vec![EPOLLIN, EPOLLOUT, EPOLLRDNORM, EPOLLPRI, EPOLLWAKEUP], 0..=3);
    (modes, asked).prop_map(|(m, bits)| m | bits.into_iter().fold(0, |a, b| a | b))
}

fn op() -> impl Strategy<Value = Op> {
    let readiness = proptest::sample::subsequence(vec![EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLPRI], 0..=3)
        .prop_map(|bits| bits.into_iter().fold(0, |a, b| a | b));
    prop_oneof![
        5 => (prop_oneof![Just(EPOLL_CTL_ADD), Just(EPOLL_CTL_MOD), Just(EPOLL_CTL_DEL), 0..5u32], 0..3i32, 0..4usize, events(), 0..100u64)
            .prop_map(|(op, fd, file, events, data)| Op::Ctl { op, fd, file, events, data }),
        4 => (0..4usize, readiness).prop_map(|(f, bits)| Op::Ready(f, bits)),
        2 => (0..4usize).prop_map(Op::Bump),
        1 => (0..4usize).prop_map(Op::Close),
        5 => (0..6usize).prop_map(Op::Scan),
    ]
}

proptest! {
    #[test]
    fn the_interest_list_follows_the_model(ops in proptest::collection::vec(op(), 1..120)) {
        let mut files: Files = vec![(0, 0, true); 4];
        let mut list: InterestList<usize> = InterestList::new();
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Ctl { op, fd, file, events, data } => {
                    if !files[file].2 {
                        continue; // a closed file has no descriptor to name it
                    }
                    let checked = check_flags(op, events, false);
                    let got = checked.and_then(|()| {
                        list.retain(|&h| files[h].2);
                        ctl(&mut list, op, fd, file, events, data, &files)
                    });
                    let want = checked.and_then(|()| model.ctl(op, fd, file, events, data, files[file].1));
                    prop_assert_eq!(got, want);
                }
                Op::Ready(f, bits) => files[f].0 = bits,
                Op::Bump(f) => files[f].1 += 1,
                Op::Close(f) => {
                    files[f].2 = false;
                    model.items.retain(|k, _| k.1 != f);
                }
                Op::Scan(max) => {
                    list.retain(|&h| files[h].2);
                    let got = scan(&mut list, max, &files);
                    prop_assert!(got.len() <= max);
                    for &(bits, _) in &got {
                        prop_assert!(bits != 0);
                    }
                    prop_assert_eq!(&got, &model.scan(max, &files));
                }
            }
            // Same items, same order, same masks (dead items are dropped lazily by the list).
            let live: Vec<(i32, u64, u32)> = list.entries().zip(list.files()).filter(|(_, &f)| files[f].2).map(|(e, _)| e).collect();
            let want: Vec<(i32, u64, u32)> = model.order().iter().map(|k| (k.0, model.items[k].data, model.items[k].events)).collect();
            prop_assert_eq!(live, want);
            // The instance is ready exactly when some armed item's file has a wanted event.
            let ready = list.armed().any(|(&f, wanted)| files[f].2 && with_aliases(files[f].0) & wanted != 0);
            let model_ready = model.items.iter().any(|(k, v)| {
                let asks = v.events & !(EPOLLET | EPOLLONESHOT | EPOLLWAKEUP);
                asks != 0 && with_aliases(files[k.1].0) & (asks | EPOLLERR | EPOLLHUP) != 0
            });
            prop_assert_eq!(ready, model_ready);
        }
    }
}
