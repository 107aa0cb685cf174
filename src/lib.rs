pub mod commands;
pub mod domain;
pub mod i18n;
pub mod store;
