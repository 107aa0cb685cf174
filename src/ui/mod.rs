//! The kiosk's screens, in the shape of the best ratatui programs: events
//! become [`Action`]s, [`update`] hands each to the current screen, which
//! changes only itself and returns a [`Transition`] that [`update`]
//! applies to the [`App`], [`view`] only draws, and the [`runtime`] runs
//! the effects.

pub mod app;
pub mod big_text;
pub mod effect;
pub mod headless;
pub mod runtime;
pub mod screens;
pub mod theme;
pub mod transition;
pub mod view;

pub use crate::action::{Action, ActivityRow, ChildAccount, TopUpRow};
pub use app::{App, Screen, Settings, update};
pub use effect::{Effect, EffectContext};
pub use transition::{Context, Notice, Request, Transition};
pub use view::view;
