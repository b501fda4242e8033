//! Deliberately broken tests: they run only with `ktest=meta::` and exist so that xtask can prove
//! its harness reports a failing test and a hanging test as failures.

use crate::{kassert_eq, ktest};

ktest!(fn deliberate_failure() {
    kassert_eq!(1 + 1, 3);
    Ok(())
});

ktest!(fn deliberate_hang() {
    loop {
        core::hint::spin_loop();
    }
});
