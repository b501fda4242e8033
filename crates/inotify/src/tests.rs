//! Unit tests of the inotify instance.

use super::*;
use alloc::vec;

fn decode(buf: &[u8]) -> Vec<(i32, u32, u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let word = |i: usize| u32::from_ne_bytes(buf[at + i..at + i + 4].try_into().unwrap());
        let len = word(12) as usize;
        let name: Vec<u8> = buf[at + 16..at + 16 + len].iter().copied().take_while(|&b| b != 0).collect();
        out.push((word(0) as i32, word(4), word(8), name));
        at += 16 + len;
    }
    out
}

#[test]
fn masks() {
    assert_eq!(check_mask(0), Err(Errno::EINVAL));
    assert_eq!(check_mask(IN_MASK_ADD | IN_MASK_CREATE | IN_OPEN), Err(Errno::EINVAL));
    assert!(check_mask(IN_ONLYDIR).is_ok());
    let mut i = Instance::new(16);
    assert_eq!(i.add_watch(7, IN_OPEN), Ok(Added::New(1)));
    assert_eq!(i.add_watch(8, IN_OPEN), Ok(Added::New(2)));
    assert_eq!(i.add_watch(7, IN_MODIFY | IN_MASK_ADD), Ok(Added::Updated(1)));
    assert_eq!(i.watch_of(7).unwrap().mask, IN_OPEN | IN_MODIFY);
    assert_eq!(i.add_watch(7, IN_ACCESS), Ok(Added::Updated(1)));
    assert_eq!(i.watch_of(7).unwrap().mask, IN_ACCESS);
    assert_eq!(i.add_watch(7, IN_ACCESS | IN_MASK_CREATE), Err(Errno::EEXIST));
    assert_eq!(i.rm_watch(3), Err(Errno::EINVAL));
    assert_eq!(i.rm_watch(1), Ok(7));
    // Descriptors are not reused at once.
    assert_eq!(i.add_watch(7, IN_OPEN), Ok(Added::New(3)));
}

#[test]
fn delivery_and_read() {
    let mut i = Instance::new(16);
    i.add_watch(1, IN_CREATE | IN_DELETE).unwrap();
    assert_eq!(i.deliver(1, IN_OPEN, false, 0, b"", false), Delivery::default());
    assert_eq!(i.deliver(2, IN_CREATE, false, 0, b"x", false), Delivery::default());
    assert!(i.deliver(1, IN_CREATE, true, 0, b"sub", false).queued);
    i.deliver(1, IN_DELETE, false, 0, b"a-longer-name-here", false);
    assert_eq!(i.pending_bytes(), 16 + 16 + 16 + 32);
    let mut out = vec![];
    assert_eq!(i.read(31, &mut out), Err(Errno::EINVAL));
    assert_eq!(i.read(40, &mut out), Ok(32));
    assert_eq!(i.read(1000, &mut out), Ok(48));
    assert_eq!(
        decode(&out),
        vec![(1, IN_CREATE | IN_ISDIR, 0, b"sub".to_vec()), (1, IN_DELETE, 0, b"a-longer-name-here".to_vec())]
    );
    assert_eq!(i.read(1000, &mut out), Ok(80 - 80));
    assert_eq!(i.pending_bytes(), 0);
}

#[test]
fn merge_overflow_oneshot_excl() {
    let mut i = Instance::new(3);
    i.add_watch(1, IN_MODIFY | IN_EXCL_UNLINK).unwrap();
    i.deliver(1, IN_MODIFY, false, 0, b"", false);
    i.deliver(1, IN_MODIFY, false, 0, b"", false);
    assert_eq!(i.queued(), 1);
    assert!(!i.deliver(1, IN_MODIFY, false, 0, b"f", true).queued);
    for n in 0..10u8 {
        i.deliver(1, IN_MODIFY, false, 0, &[b'a' + n], false);
    }
    assert_eq!(i.queued(), 4);
    let mut out = vec![];
    i.read(1000, &mut out).unwrap();
    let ev = decode(&out);
    assert_eq!(ev[3], (-1, IN_Q_OVERFLOW, 0, vec![]));
    let mut j = Instance::new(16);
    let wd = j.add_watch(5, IN_OPEN | IN_ONESHOT).unwrap().wd();
    assert_eq!(j.deliver(5, IN_OPEN, false, 0, b"", false), Delivery { queued: true, removed: true });
    assert!(j.watches().is_empty());
    assert!(!j.deliver(5, IN_OPEN, false, 0, b"", false).queued);
    let mut out = vec![];
    j.read(1000, &mut out).unwrap();
    assert_eq!(decode(&out), vec![(wd, IN_OPEN, 0, vec![]), (wd, IN_IGNORED, 0, vec![])]);
    j.add_watch(6, IN_ALL_EVENTS).unwrap();
    assert!(j.forget(6));
    assert!(!j.forget(6));
}

proptest::proptest! {
    /// FIONREAD always equals what a read returns, and the queue stays bounded.
    #[test]
    fn bytes_match(ops in proptest::collection::vec((0u64..3, 0u32..12, 0usize..40), 0..300)) {
        let mut i = Instance::new(20);
        for k in 0..3 {
            i.add_watch(k, IN_ALL_EVENTS).unwrap();
        }
        for (key, bit, len) in ops {
            let name = vec![b'n'; len];
            i.deliver(key, 1 << bit, false, 0, &name, false);
            proptest::prop_assert!(i.queued() <= 21);
        }
        let pending = i.pending_bytes();
        let mut out = vec![];
        proptest::prop_assert_eq!(i.read(usize::MAX, &mut out).unwrap(), pending);
        proptest::prop_assert_eq!(i.pending_bytes(), 0);
    }
}
