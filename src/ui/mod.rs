//! The kiosk's screens: actions in, `update()` changes state, `view()` draws.

mod action;

pub use action::{Action, SaleRow};
