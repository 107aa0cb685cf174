//! What the tests and benchmarks of every package share. A dev-dependency
//! only: nothing here is built into a counter or a ledger.
//!
//! - [`bench`]: percentiles, figures and peak memory for the benchmarks
//! - [`bin`]: the workspace's built binaries, for tests that run them
//! - [`kiosk`]: the demo kiosk driven by actions, no terminal
//! - [`run`], [`tmux`]: the real `klubkasse` binary, with and without a terminal
//! - [`pcscd`]: the real pcscd with the vpcd reader and the virtual card
//! - [`ledger`]: a ledger on a fresh PostgreSQL database, in process
//! - [`municipality`]: a municipality's books from a seed, for the office benchmark
//! - [`counter`]: a counter with its own store, syncing with a ledger
//! - [`proxy`]: a TCP proxy that cuts and breaks the line on purpose
//! - [`portal`]: chromium, chromedriver and the OpenID provider

pub mod bench;
pub mod bin;
pub mod counter;
pub mod kiosk;
pub mod ledger;
pub mod municipality;
pub mod pcscd;
pub mod portal;
pub mod proxy;
pub mod run;
pub mod tmux;
