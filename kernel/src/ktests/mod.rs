//! The in-kernel test suites (compiled only with the `ktest` feature).

mod boot;
mod console;
mod cpu;
mod faults;
mod meta;
