//! Keeping a counter in step with the central ledger.

pub mod client;
pub mod task;

pub use client::{LedgerClient, SyncError};
pub use task::{SyncStatus, SyncTask};
