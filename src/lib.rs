//! klubkasse: the counter kiosk for children's clubs that pay with a
//! personal prepaid card. See README.md and ../shared/DESIGN.md.

pub mod commands;
pub mod config;
pub mod domain;
pub mod i18n;
pub mod keymap;
pub mod pin;
pub mod reader;
pub mod source_error;
pub mod store;
pub mod sync;
pub mod ui;
