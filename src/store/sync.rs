//! The store's side of the ledger sync: what waits in the outbox, what the
//! ledger confirmed, and what it says changed. Each is one transaction, so
//! a crash leaves the store before or after, never between.

use sled::Transactional;
use uuid::Uuid;

use super::codec::{decode, encode};
use super::{Store, StoreError, tx_add, tx_get};
use klubkasse_core::domain::{Entry, Money};
use klubkasse_core::protocol::{CardAction, Changes, Pushed};

/// The key under which the pull cursor is kept in `meta`.
const CURSOR: &str = "sync_cursor";

impl Store {
    /// Up to `max` entries waiting for the ledger, oldest first (ids are
    /// time-ordered, so the outbox's key order is the order they were made).
    pub fn outbox_batch(&self, max: usize) -> Result<Vec<Entry>, StoreError> {
        self.usable()?;
        let _lock = self.lock();
        let mut batch = Vec::new();
        for key in self.outbox.iter().keys().take(max) {
            let id = Uuid::from_slice(&key?).unwrap_or_default();
            match self.find_entry(id)? {
                Some(entry) => batch.push(entry),
                None => {
                    return Err(StoreError::Corrupt {
                        what: "outbox".into(),
                        detail: format!("entry {id} is waiting but not stored"),
                    });
                }
            }
        }
        Ok(batch)
    }

    /// The ledger has these entries: out of the outbox, and the child's
    /// balance becomes the ledger's plus what still waits. One transaction.
    pub fn acknowledge(&self, results: &[Pushed]) -> Result<(), StoreError> {
        self.usable()?;
        let _lock = self.lock();
        // Entries never change once written, so they are read up front.
        let mut entries = std::collections::HashMap::new();
        for pushed in results {
            if let Some(entry) = self.find_entry(pushed.id)? {
                entries.insert(pushed.id, entry);
            }
        }
        let trees = (&self.outbox, &self.pending, &self.balances);
        self.unwrap_tx(trees.transaction(|(outbox, pending, balances)| {
            for pushed in results {
                let key = pushed.id.as_bytes();
                if outbox.remove(key)?.is_none() {
                    continue; // acknowledged before: a retried push
                }
                let Some(entry) = entries.get(&pushed.id) else {
                    continue;
                };
                let child = entry.child.0.as_bytes();
                let still_waiting = tx_add(pending, child, -entry.amount, "pending")?;
                balances.insert(child, encode(&(pushed.balance + still_waiting)))?;
            }
            Ok(())
        }))?;
        self.flush()
    }

    /// Applies what the ledger says changed: children, cards, balances, and
    /// the cursor to pull from next, together. Applying it twice is harmless.
    pub fn apply_changes(&self, changes: &Changes) -> Result<(), StoreError> {
        self.usable()?;
        // Under the lock: a card blocked by staff a moment ago is waiting.
        let _lock = self.lock();
        // A card with a staff action still on its way keeps what staff did:
        // the ledger has not heard of it yet.
        let waiting: Vec<String> = self
            .card_actions()?
            .into_iter()
            .map(|(_, action)| match action {
                CardAction::HandOut { uid, .. }
                | CardAction::Block { uid }
                | CardAction::Unblock { uid } => uid.as_str().to_string(),
            })
            .collect();
        let trees = (
            &self.children,
            &self.cards,
            &self.balances,
            &self.pending,
            &self.meta,
        );
        self.unwrap_tx(
            trees.transaction(|(children, cards, balances, pending, meta)| {
                for account in &changes.accounts {
                    let key = account.child.id.0.as_bytes();
                    children.insert(key, encode(&account.child))?;
                    for card in account
                        .cards
                        .iter()
                        .filter(|c| !waiting.iter().any(|w| w == c.uid.as_str()))
                    {
                        cards.insert(card.uid.as_str().as_bytes(), encode(card))?;
                    }
                    let waiting: Money = tx_get(pending, key, "pending")?.unwrap_or(Money::ZERO);
                    balances.insert(key, encode(&(account.balance + waiting)))?;
                }
                meta.insert(CURSOR, encode(&changes.cursor))?;
                Ok(())
            }),
        )?;
        self.flush()
    }

    /// Staff card actions waiting for the ledger, oldest first, with the
    /// key to mark each done.
    pub fn card_actions(&self) -> Result<Vec<(Vec<u8>, CardAction)>, StoreError> {
        self.usable()?;
        self.card_outbox
            .iter()
            .map(|item| {
                let (key, value) = item?;
                Ok((key.to_vec(), decode(&value, "card action")?))
            })
            .collect()
    }

    pub fn card_action_done(&self, key: &[u8]) -> Result<(), StoreError> {
        self.usable()?;
        let _lock = self.lock();
        self.card_outbox.remove(key)?;
        self.flush()
    }

    /// Where the next pull starts; 0 before the first.
    pub fn sync_cursor(&self) -> Result<i64, StoreError> {
        Ok(self
            .meta
            .get(CURSOR)?
            .map(|b| decode(&b, "sync cursor"))
            .transpose()?
            .unwrap_or(0))
    }
}
