//! The counter's background sync: push the outbox, pull what changed,
//! again and again; back off with jitter while the ledger is away, and
//! never give up. Nobody presses a key for any of it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::client::{LedgerClient, SyncError};
use crate::store::Store;
use klubkasse_core::protocol::MAX_BATCH;

/// How many accounts one pull asks for.
const PULL_LIMIT: u32 = 500;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
// A counter back on the network should know within seconds, not minutes.
const LONGEST_BACKOFF: Duration = Duration::from_secs(10);

/// What the status bar shows about the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncStatus {
    Online {
        waiting: usize,
        last_sync: DateTime<Utc>,
    },
    /// The ledger cannot be reached; selling goes on within the allowance.
    Offline {
        waiting: usize,
        since: DateTime<Utc>,
    },
    /// The ledger refuses what this counter sends: the office must look.
    /// The entries stay in the outbox; nothing is dropped.
    Refused { waiting: usize, message: String },
}

pub struct SyncTask {
    pub store: Arc<Store>,
    pub client: LedgerClient,
    /// How often to pull when nothing else happens.
    pub pull_every: Duration,
    /// Where status changes go (the kiosk's event loop).
    pub status: Box<dyn FnMut(SyncStatus) + Send>,
}

impl SyncTask {
    /// Runs until the task is dropped or aborted; `nudge` asks for a sync
    /// now (a sale was just made). Each step is safe to cut anywhere: the
    /// store changes in single transactions and the ledger is idempotent.
    pub async fn run(mut self, mut nudge: mpsc::UnboundedReceiver<()>) {
        let mut backoff = FIRST_BACKOFF;
        let mut offline_since = None;
        loop {
            let result = self.sync_once().await;
            let failed = result.is_err();
            let wait = match result {
                Ok(waiting) => {
                    offline_since = None;
                    backoff = FIRST_BACKOFF;
                    (self.status)(SyncStatus::Online {
                        waiting,
                        last_sync: Utc::now(),
                    });
                    self.pull_every
                }
                Err(e) => {
                    let waiting = self.store.outbox_len();
                    if e.is_refusal() {
                        tracing::error!(error = %e, "the ledger refuses this counter's entries");
                        (self.status)(SyncStatus::Refused {
                            waiting,
                            message: e.to_string(),
                        });
                    } else {
                        tracing::warn!(error = %e, "ledger unreachable");
                        let since = *offline_since.get_or_insert_with(Utc::now);
                        (self.status)(SyncStatus::Offline { waiting, since });
                    }
                    let wait = jitter(backoff);
                    backoff = (backoff * 2).min(LONGEST_BACKOFF);
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                // After a failure a sale does not cut the backoff short: a
                // busy counter would knock at every sale on a ledger that is
                // away or overloaded. Online, a sale is pushed at once.
                more = nudge.recv(), if !failed => {
                    if more.is_none() {
                        return; // the kiosk is closing
                    }
                    while nudge.try_recv().is_ok() {}
                }
            }
        }
    }

    /// Pushes the whole outbox, then pulls until nothing more; returns how
    /// many entries still wait (new sales made meanwhile).
    pub async fn sync_once(&mut self) -> Result<usize, SyncError> {
        loop {
            let store = self.store.clone();
            let batch = blocking(move || store.outbox_batch(MAX_BATCH)).await?;
            if batch.is_empty() {
                break;
            }
            let pushed = self.client.push(&batch).await?;
            let store = self.store.clone();
            blocking(move || store.acknowledge(&pushed.results)).await?;
        }
        // Staff card actions before the pull, so the pull already has them.
        let store = self.store.clone();
        for (key, action) in blocking(move || store.card_actions()).await? {
            match self.client.card_action(&action).await {
                Ok(()) => {}
                // The office's truth wins: the next pull brings the card
                // back as the ledger has it.
                Err(e) if e.is_refusal() => {
                    tracing::error!(error = %e, ?action, "the ledger refused a card action")
                }
                Err(e) => return Err(e),
            }
            let store = self.store.clone();
            blocking(move || store.card_action_done(&key)).await?;
        }
        loop {
            let store = self.store.clone();
            let cursor = blocking(move || store.sync_cursor()).await?;
            let changes = self.client.changes(cursor, PULL_LIMIT).await?;
            let more = changes.more;
            let store = self.store.clone();
            blocking(move || store.apply_changes(&changes)).await?;
            if !more {
                break;
            }
        }
        Ok(self.store.outbox_len())
    }
}

/// Store work off the async threads: a flush may take milliseconds.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| SyncError::BadAnswer(format!("store task failed: {e}")))?
        .map_err(SyncError::from)
}

/// Between half and all of `wait`, so that counters coming back after an
/// outage do not all knock at once.
fn jitter(wait: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    wait / 2 + wait / 2 * u32::from(byte[0]) / 255
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_between_half_and_all() {
        for _ in 0..200 {
            let j = jitter(Duration::from_secs(10));
            assert!(
                j >= Duration::from_secs(5) && j <= Duration::from_secs(10),
                "{j:?}"
            );
        }
    }
}
