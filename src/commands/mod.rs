//! What the `klubkasse` tools do, as library functions: the binary only
//! parses arguments and calls these.

pub mod check;
pub mod import;
pub mod readers;
