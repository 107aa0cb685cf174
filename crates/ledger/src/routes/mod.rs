//! The HTTP handlers, one module per kind of caller.

pub mod kiosk;
pub mod office;
pub mod ops;
