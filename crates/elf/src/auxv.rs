//! Auxiliary vector keys (`AT_*`) used when building the initial stack: the ABI crate's
//! definitions, re-exported so users of this crate need not name both.

pub use exo_abi::auxv::*;
