//! Keeping a counter in step with the central ledger.

pub mod protocol;
