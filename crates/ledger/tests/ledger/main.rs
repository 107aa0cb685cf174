//! The ledger against a real PostgreSQL (KLUBKASSE_TEST_DATABASE_URL; run
//! ./install.sh --test). Each test has a database of its own.

mod access;
mod activation;
mod auto_topup;
mod common;
mod concurrency;
mod flags_leaving;
mod hardening16;
mod hostile;
mod hostile15;
mod hostile16;
mod import;
mod mail;
mod money;
mod office;
mod office_children;
mod office_money;
mod payments;
mod people;
mod push;
mod random;
mod reports;
mod scope;
mod stripe;
mod tokens;
mod validation;
