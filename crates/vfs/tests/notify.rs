//! The change hook (`set_change_hook`): each namespace operation that adds, removes or moves a
//! name reports it once, after it succeeded, and a failed one reports nothing. A test binary of
//! its own: the hook is process-wide and set once.

mod common;

use std::sync::Mutex;

use common::*;
use exo_vfs::*;

static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn name(n: &[u8]) -> String {
    String::from_utf8_lossy(n).into_owned()
}

fn record(change: &Change<'_>) {
    let line = match change {
        Change::Created { name: n, child, .. } => format!("create {} {}", name(n), child.metadata().nlink),
        Change::Linked { name: n, child, .. } => format!("link {} {}", name(n), child.metadata().nlink),
        Change::Removed { name: n, child, .. } => format!("remove {} {}", name(n), child.metadata().nlink),
        Change::Moved { from_name, to_name, replaced, .. } => {
            format!("move {} {} {}", name(from_name), name(to_name), replaced.is_some())
        }
    };
    SEEN.lock().unwrap().push(line);
}

#[test]
fn every_change_is_reported_once() {
    set_change_hook(record);
    let e = env();
    let ctx = e.root();
    e.mkdir("/d");
    e.write("/d/f", b"x");
    e.ns.link(&ctx, b"/d/f", &ctx, b"/d/g").unwrap();
    e.ns.symlink(&ctx, b"f", b"/d/l").unwrap();
    e.ns.rename(&ctx, b"/d/g", &ctx, b"/d/l", 0).unwrap();
    e.write("/d/h", b"y");
    e.ns.rename(&ctx, b"/d/l", &ctx, b"/d/h", RENAME_EXCHANGE).unwrap();
    e.ns.unlink(&ctx, b"/d/f").unwrap();
    e.ns.unlink(&ctx, b"/d/l").unwrap();
    e.ns.unlink(&ctx, b"/d/h").unwrap();
    assert!(e.ns.unlink(&ctx, b"/d/missing").is_err());
    assert!(e.ns.mkdir(&ctx, b"/d", 0o755).is_err());
    e.ns.rmdir(&ctx, b"/d").unwrap();
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            "create d 2",
            "create f 1",
            "link g 2",
            "create l 1",
            "move g l true",
            "create h 1",
            "move l h false",
            "move h l false",
            "remove f 1",
            "remove l 0",
            "remove h 0",
            "remove d 0",
        ]
    );
}
