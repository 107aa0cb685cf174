//! klubkasse: the counter kiosk for children's clubs that pay with a
//! personal prepaid card. See README.md and ARCHITECTURE.md.

pub mod action;
pub mod cli;
pub mod commands;
pub mod config;
pub mod i18n;
pub mod keymap;
pub mod kiosk;
pub mod logging;
pub mod pin;
pub mod reader;
pub mod report;
pub mod source_error;
pub mod store;
pub mod sync;
pub mod ui;
