//! The in-kernel test suites (compiled only with the `ktest` feature).

mod address_space;
mod block;
mod boot;
mod console;
mod cpu;
mod faults;
mod filemap;
mod fusion;
mod heap;
mod lockdep;
mod memory;
mod meta;
mod netdev;
mod pci;
mod pollwait;
mod sched;
mod sched_affinity;
mod sched_wait;
mod smp;
mod vdso;
