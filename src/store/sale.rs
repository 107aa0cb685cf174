//! A sale, written the fast way and made whole after a crash.
//!
//! A sale changes up to five keys in five trees (the entry, the balance,
//! the day's spending, and connected the outbox and `pending`). sled's
//! multi-tree transactions, and its atomic batches, roll and write an
//! extra log buffer each time: that doubled the cost of a sale against one
//! plain insert + flush (see BENCHMARKS.md). Plain inserts cost about what
//! one does, and sled recovers its log as a prefix: after a crash, a write
//! is there only if every write before it is.
//!
//! So, with the store's lock held (no other writer in between):
//! 1. a journal goes into `meta`: the sale, and the values its keys had;
//! 2. the balance, spending, outbox and pending keys are written;
//! 3. the entry is written last: when it is there, the sale is whole;
//! 4. one flush makes all of it durable.
//!
//! If the flush fails, or the counter dies before it returns, the journal
//! takes the sale back (at once, or at the next open): a sale whose entry
//! is missing puts every key back to the value the journal kept, in one
//! transaction that also removes the journal. Each prefix of the writes
//! above is either nothing, or a journal that leads back to nothing.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sled::Transactional;

use super::codec::{decode, encode};
use super::{Recorded, Store, StoreError, id_day, journal, local_day, unconfirmed};
use klubkasse_core::domain::{
    AccountView, Connection, Entry, EntryKind, Money, Refusal, authorize,
};

/// The `meta` key of the sale being written.
pub(super) const JOURNAL: &str = "sale_journal";

/// What a sale's keys held before it: enough to take it back. The days
/// of its trees are kept, not worked out again: the clock's time zone may
/// differ at the next start.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    sale: Entry,
    entries_day: NaiveDate,
    spent_day: NaiveDate,
    balance: Option<Money>,
    spent: Option<Money>,
    pending: Option<Money>,
}

/// What [`Store::plan_sale`] found: an answer at once, or keys to write.
pub(super) enum Planned {
    Answer(Recorded),
    Write(Box<SalePlan>),
}

pub(super) struct SalePlan {
    journal: Journal,
    /// Tree, key, value: in this order, the journal first, the entry last.
    pub(super) writes: Vec<(sled::Tree, Vec<u8>, Vec<u8>)>,
    /// The child's balance once written.
    balance: Money,
}

fn get<T: serde::de::DeserializeOwned>(
    tree: &sled::Tree,
    key: &[u8],
    what: &str,
) -> Result<Option<T>, StoreError> {
    tree.get(key)?.map(|b| decode(&b, what)).transpose()
}

impl Store {
    /// Saves a sale if the rules allow it, checked against what is stored
    /// now, and flushes it: `Saved` means on disk. Saving the same sale
    /// twice charges once.
    pub fn record_sale(
        &self,
        sale: &Entry,
        connection: Connection,
    ) -> Result<Recorded, StoreError> {
        self.usable()?;
        self.room()?;
        let archived = self.lock();
        // Again under the lock: a write may have failed while we waited.
        self.usable()?;
        let plan = match self.plan_sale(&archived, sale, connection)? {
            Planned::Answer(recorded) => return Ok(recorded),
            Planned::Write(plan) => plan,
        };
        // Room in the journal first: a full disk refuses here, before
        // anything is written.
        let day = local_day(chrono::Utc::now());
        let line = journal::Line::Entry {
            entry: sale.clone(),
            outbox: connection != Connection::Standalone,
        };
        let ready = self.journal.make_room(day, &[line])?;
        let written = plan
            .writes
            .iter()
            .try_for_each(|(tree, key, value)| tree.insert(key, value.as_slice()).map(drop))
            .and_then(|()| self.db.flush());
        if let Err(e) = written {
            // Not durable, so not paid: take the sale back, so that no later
            // flush can make a sale durable that the child was told did not
            // happen. The store then refuses more until it is reopened.
            let e = self.write_failed(e);
            match self.take_back(&plan.journal) {
                Ok(()) => {
                    tracing::error!(sale = %sale.id, "a write failed; the sale was taken back")
                }
                Err(undo) => tracing::error!(
                    sale = %sale.id, error = %undo,
                    "a write failed and the sale could not be taken back; the journal will at the next start"
                ),
            }
            return Err(e);
        }
        // In sled; then in the day's journal, which a rebuild reads should
        // sled's files ever be lost. Not there, not paid.
        if let Err(e) = self.journal.write(day, ready) {
            let e = self.failed_with(e);
            if let Err(undo) = self
                .take_back(&plan.journal)
                .and_then(|()| self.flush_anyway())
            {
                tracing::error!(sale = %sale.id, error = %undo, "the journal failed and the sale could not be taken back");
            }
            return Err(e);
        }
        // Whole and durable: the journal has done its work. Removed without
        // a flush: if this is lost, the entry is on disk and says "whole".
        if let Err(e) = self.meta.remove(JOURNAL) {
            return Err(self.write_failed(e));
        }
        Ok(Recorded::Saved {
            balance: plan.balance,
        })
    }

    /// Checks a sale against what is stored and, if it may be saved, says
    /// which keys to write, in order. The caller holds the lock.
    pub(super) fn plan_sale(
        &self,
        archived: &BTreeSet<NaiveDate>,
        sale: &Entry,
        connection: Connection,
    ) -> Result<Planned, StoreError> {
        let EntryKind::Sale { card: uid, lines } = &sale.kind else {
            return Err(StoreError::Corrupt {
                what: "sale".into(),
                detail: "record_sale was given an entry that is not a sale".into(),
            });
        };
        let child_key = sale.child.0.as_bytes();
        let balance = get::<Money>(&self.balances, child_key, "balance")?;
        let entries_day = id_day(sale.id.as_bytes());
        let entries = self.day_tree(entries_day)?;
        // A retried sale from a day since closed is in the archive.
        if entries.contains_key(sale.id.as_bytes())? || self.archived(archived, sale.id)? {
            return Ok(Planned::Answer(Recorded::AlreadySaved {
                balance: balance.unwrap_or(Money::ZERO),
            }));
        }
        let Some(child) = self.child(sale.child)? else {
            return Err(StoreError::NoSuchChild(sale.child));
        };
        // A sale by name has no card to check; the child's rules apply.
        let card = match uid {
            None => None,
            Some(uid) => match self.card(uid)? {
                Some(card) if card.child == child.id => Some(card),
                _ => {
                    let uid = uid.clone();
                    return Ok(Planned::Answer(Recorded::Refused(Refusal::UnknownCard {
                        uid,
                    })));
                }
            },
        };
        let spent_day = local_day(sale.at);
        let spent = self.spent_tree(spent_day)?;
        let journal = Journal {
            sale: sale.clone(),
            entries_day,
            spent_day,
            balance,
            spent: get(&spent, child_key, "day spending")?,
            pending: get(&self.pending, child_key, "pending")?,
        };
        let view = AccountView {
            child,
            card,
            balance: journal.balance.unwrap_or(Money::ZERO),
            spent_today: journal.spent.unwrap_or(Money::ZERO),
            unconfirmed: unconfirmed(connection, journal.pending.unwrap_or(Money::ZERO)),
        };
        if let Err(refusal) = authorize(&view, lines, connection) {
            return Ok(Planned::Answer(Recorded::Refused(refusal)));
        }
        let balance = view.balance + sale.amount;
        let key = child_key.to_vec();
        let mut writes = vec![
            (
                self.meta.clone(),
                JOURNAL.as_bytes().to_vec(),
                encode(&journal),
            ),
            (self.balances.clone(), key.clone(), encode(&balance)),
            (
                spent,
                key.clone(),
                encode(&(view.spent_today - sale.amount)),
            ),
        ];
        if connection != Connection::Standalone {
            let pending = journal.pending.unwrap_or(Money::ZERO) + sale.amount;
            writes.push((self.outbox.clone(), sale.id.as_bytes().to_vec(), Vec::new()));
            writes.push((self.pending.clone(), key, encode(&pending)));
        }
        // Last: the entry's presence says the sale is whole.
        writes.push((entries, sale.id.as_bytes().to_vec(), encode(sale)));
        Ok(Planned::Write(Box::new(SalePlan {
            journal,
            writes,
            balance,
        })))
    }

    /// At open: a sale cut short by a crash (its journal there, its entry
    /// not) is taken back. The caller holds nothing; the store is new.
    pub(super) fn finish_sale_journal(&self) -> Result<(), StoreError> {
        let Some(bytes) = self.meta.get(JOURNAL)? else {
            return Ok(());
        };
        let journal: Journal = decode(&bytes, "sale journal")?;
        let day = journal.entries_day;
        let whole = match self.existing_day_tree(day)? {
            Some(tree) if tree.contains_key(journal.sale.id.as_bytes())? => true,
            _ => self.archive.find(day, journal.sale.id)?.is_some(),
        };
        if whole {
            // Stopped after sled had the sale and maybe before the day's
            // journal did: it goes there now (twice is harmless), so that
            // a rebuild has what sled has.
            let day = local_day(chrono::Utc::now());
            let line = journal::Line::Entry {
                entry: journal.sale.clone(),
                outbox: self.outbox.contains_key(journal.sale.id.as_bytes())?,
            };
            let ready = self.journal.make_room(day, &[line])?;
            self.journal.write(day, ready)?;
            self.meta.remove(JOURNAL)?;
            return Ok(());
        }
        self.take_back(&journal)?;
        self.db.flush()?;
        tracing::warn!(sale = %journal.sale.id, "a sale cut short by a stop was taken back");
        Ok(())
    }

    /// A flush after a failure, when the store already refuses more.
    fn flush_anyway(&self) -> Result<(), StoreError> {
        Ok(self.db.flush().map(drop)?)
    }

    /// Puts every key the sale wrote back as the journal found it, and
    /// removes the entry and the journal: one transaction, so all or none.
    fn take_back(&self, journal: &Journal) -> Result<(), StoreError> {
        let entries = self.day_tree(journal.entries_day)?;
        let spent = self.spent_tree(journal.spent_day)?;
        let trees = (
            &entries,
            &self.balances,
            &spent,
            &self.outbox,
            &self.pending,
            &self.meta,
        );
        let id = journal.sale.id.as_bytes();
        let key = journal.sale.child.0.as_bytes();
        self.unwrap_tx(
            trees.transaction(|(entries, balances, spent, outbox, pending, meta)| {
                entries.remove(id)?;
                outbox.remove(id)?;
                for (tree, before) in [
                    (balances, journal.balance),
                    (spent, journal.spent),
                    (pending, journal.pending),
                ] {
                    match before {
                        Some(value) => tree.insert(key, encode(&value))?,
                        None => tree.remove(key)?,
                    };
                }
                meta.remove(JOURNAL)?;
                Ok(())
            }),
        )
    }
}
