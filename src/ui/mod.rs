//! The kiosk's screens, in the shape of the best ratatui programs: events
//! become [`Action`]s, [`update`] changes the [`App`] and returns
//! [`Effect`]s, [`view`] only draws, and the [`runtime`] runs the effects.

pub mod app;
pub mod effect;
pub mod headless;
pub mod runtime;
pub mod screens;
pub mod theme;
pub mod view;

pub use crate::action::{Action, SaleRow};
pub use app::{App, Screen, Settings, update};
pub use effect::{Effect, EffectContext};
pub use view::view;
