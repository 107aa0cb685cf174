pub mod domain;
pub mod store;
pub mod i18n;
pub mod commands;
