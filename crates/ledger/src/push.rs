//! A counter's push: a batch of sales and refunds recorded in one
//! transaction, all of it or (on a rejected entry) none of it.
//!
//! A batch costs a fixed handful of statements whatever its size: a counter
//! back from an outage pushes hundreds of sales at once and must get them
//! through within its timeout, or it retries the same batch for ever. So
//! everything the checks need is read up front, the rules run in memory,
//! and the new entries and balances are written with one statement each.
//!
//! The statements are in [`crate::db::push`]; this module holds the rules.
//!
//! Pushes that share children wait for each other's row locks, so the
//! locked part is kept short: the entries' JSON, the children's cards and
//! which entries are recorded already are read before the locks. Every
//! change to a child's entries or cards gives the child a new change
//! number in the same transaction (`bump_changes`), so what was read
//! before is read again under the lock only for the children whose number
//! moved in between.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::Settings;
use super::db::auto_topup::Fall;
use super::db::children::{Locked, bump_changes};
use super::db::entries::kind_columns;
use super::db::push::{
    Booked, Cards, Columns, Recorded, cards_of, insert_rows, local_days, lock_children, recorded,
    sales_and_refunds, spent,
};
use super::db::{DbError, Result};
use klubkasse_core::domain::{CardState, CardUid, ChildId, Entry, EntryKind, Money, SaleLine};
use klubkasse_core::protocol::{Flag, PushResult, Pushed};

/// Records a batch. Entries already recorded (an earlier push, or earlier
/// in this batch) answer with their first result. The children are locked
/// in id order, so two batches never wait for each other in a circle, and
/// a batch retried concurrently finds the first one's entries.
pub async fn push(pool: &PgPool, settings: &Settings, entries: &[Entry]) -> Result<PushResult> {
    let encoded = entries
        .iter()
        .map(|e| kind_columns(&e.kind))
        .collect::<Result<Vec<_>, _>>()?;
    let mut tx = pool.begin().await?;
    let seen = Seen::read(&mut tx, entries).await?;
    let mut children = lock_children(&mut tx, &child_ids(entries)).await?;
    let mut known = Known::load(&mut tx, settings, entries, &children, seen).await?;
    let mut results = Vec::with_capacity(entries.len());
    let mut columns = Columns::default();
    // Each child's balance before the batch, and its batch's last new
    // entry: a fall below a payer's threshold starts an automatic top-up.
    let before: HashMap<ChildId, Money> = children.values().map(|c| (c.id, c.balance)).collect();
    let mut last_entry: HashMap<ChildId, Uuid> = HashMap::new();
    for ((index, entry), kind) in entries.iter().enumerate().zip(encoded) {
        if let Some((flags, balance)) = known.recorded.get(&entry.id) {
            results.push(Pushed {
                id: entry.id,
                new: false,
                flags: flags.clone(),
                balance: *balance,
            });
            continue;
        }
        let Some(child) = children.get_mut(&entry.child) else {
            return Err(DbError::Refused {
                code: "unknown_child",
                message: format!("entries[{index}]: no child with id {}", entry.child),
            });
        };
        let mut flags = match &entry.kind {
            EntryKind::Sale { card, lines } => {
                known.sale_flags(child, index, entry, card.as_ref(), lines)
            }
            EntryKind::Refund { sale } => known.refund_flags(index, entry, *sale)?,
            // Checked before the transaction; kept here so nothing slips by.
            _ => {
                return Err(DbError::refused(format!(
                    "entries[{index}]: a counter may push only sales and refunds"
                )));
            }
        };
        if entry.amount.is_negative() && (child.balance + entry.amount).is_negative() {
            flags.insert(0, Flag::Overdraft);
        }
        child.balance += entry.amount;
        last_entry.insert(child.id, entry.id);
        known.recorded_now(index, entry, &flags, child.balance);
        columns.add(entry, kind, &child.club, &flags, child.balance);
        results.push(Pushed {
            id: entry.id,
            new: true,
            flags,
            balance: child.balance,
        });
    }
    insert_rows(&mut tx, &columns).await?;
    let balances: BTreeMap<ChildId, Option<Money>> = columns
        .child
        .iter()
        .filter_map(|id| children.get(&ChildId(*id)))
        .map(|c| (c.id, Some(c.balance)))
        .collect();
    // Parents' low-balance mails, queued with the sales that caused them.
    crate::db::mail::queue_low_balance(&mut tx, &balances).await?;
    // Automatic top-ups, recorded with the entries that caused them: a
    // retried batch records no new entry and so no second one.
    let falls: Vec<Fall> = last_entry
        .iter()
        .filter_map(|(id, entry)| {
            Some(Fall {
                child: *id,
                before: *before.get(id)?,
                after: children.get(id)?.balance,
                entry: *entry,
            })
        })
        .collect();
    Box::pin(crate::db::auto_topup::queue_falls(
        &mut tx, settings, &falls,
    ))
    .await?;
    // Last before the commit: it takes the one change counter row.
    bump_changes(&mut tx, &balances).await?;
    tx.commit().await?;
    Ok(PushResult { results })
}

/// The batch's children, each once, in id order.
fn child_ids(entries: &[Entry]) -> Vec<Uuid> {
    entries
        .iter()
        .map(|e| e.child.0)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// What was read before the children were locked, with the change number
/// each child had then.
struct Seen {
    change_seq: HashMap<ChildId, i64>,
    cards: Cards,
    recorded: Recorded,
}

impl Seen {
    async fn read(conn: &mut PgConnection, entries: &[Entry]) -> Result<Seen> {
        let (change_seq, cards) = cards_of(conn, &child_ids(entries)).await?;
        let ids: Vec<Uuid> = entries.iter().map(|e| e.id).collect();
        let recorded = recorded(conn, &ids).await?;
        Ok(Seen {
            change_seq,
            cards,
            recorded,
        })
    }

    /// Brought up to date for the children whose change number moved since
    /// (or that were not there): their cards, and their entries that were
    /// not recorded then (a concurrent push of the same batch).
    async fn recheck(
        mut self,
        conn: &mut PgConnection,
        entries: &[Entry],
        children: &BTreeMap<ChildId, Locked>,
    ) -> Result<(Cards, Recorded)> {
        let moved: BTreeSet<ChildId> = children
            .values()
            .filter(|c| self.change_seq.get(&c.id) != Some(&c.change_seq))
            .map(|c| c.id)
            .collect();
        if moved.is_empty() {
            return Ok((self.cards, self.recorded));
        }
        let ids: Vec<Uuid> = moved.iter().map(|c| c.0).collect();
        let (_, cards) = cards_of(conn, &ids).await?;
        self.cards
            .retain(|_, (owner, _)| !moved.contains(&ChildId(*owner)));
        self.cards.extend(cards);
        let unseen: Vec<Uuid> = entries
            .iter()
            .filter(|e| moved.contains(&e.child) && !self.recorded.contains_key(&e.id))
            .map(|e| e.id)
            .collect();
        if !unseen.is_empty() {
            self.recorded.extend(recorded(conn, &unseen).await?);
        }
        Ok((self.cards, self.recorded))
    }
}

/// What the rules need to know, read once for the whole batch and kept up
/// to date as the batch's own entries are recorded.
struct Known {
    recorded: Recorded,
    cards: Cards,
    /// Sales refunds name, from the database and from this batch.
    booked: HashMap<Uuid, Booked>,
    /// Sale id → what has been refunded of it so far.
    refunded: HashMap<Uuid, Money>,
    /// Entry index → its day in the clubs' time zone (limited children only).
    day_of: HashMap<usize, NaiveDate>,
    /// (child, day) → spent that day, sales minus refunds.
    spent: HashMap<(ChildId, NaiveDate), Money>,
}

impl Known {
    /// With the children locked: what was seen before, brought up to date,
    /// and what only the lock keeps still (refunds, the day's spending).
    async fn load(
        conn: &mut PgConnection,
        settings: &Settings,
        entries: &[Entry],
        children: &BTreeMap<ChildId, Locked>,
        seen: Seen,
    ) -> Result<Known> {
        let (cards, recorded) = seen.recheck(conn, entries, children).await?;

        let sales: Vec<Uuid> = entries
            .iter()
            .filter_map(|e| match e.kind {
                EntryKind::Refund { sale } => Some(sale),
                _ => None,
            })
            .collect();
        let (booked, refunded) = sales_and_refunds(conn, &sales).await?;

        let (day_of, spent) = spending(conn, settings, entries, children).await?;
        Ok(Known {
            recorded,
            cards,
            booked,
            refunded,
            day_of,
            spent,
        })
    }

    fn sale_flags(
        &self,
        child: &Locked,
        index: usize,
        entry: &Entry,
        card: Option<&CardUid>,
        lines: &[SaleLine],
    ) -> Vec<Flag> {
        let mut flags = Vec::new();
        // No card: staff sold by name to a child who forgot it. There is no
        // card to doubt; the child's own rules below still apply.
        if let Some(card) = card {
            match self.cards.get(card.as_str()) {
                Some((owner, _)) if *owner != child.id.0 => flags.push(Flag::UnknownCard),
                Some((_, CardState::Blocked)) => flags.push(Flag::CardBlocked),
                Some(_) => {}
                None => flags.push(Flag::UnknownCard),
            }
        }
        // A child that has left: the sale was made offline before the counter
        // pulled the blocked cards; the money was spent, so it is recorded,
        // flagged as a blocked card's sale (counters already know that flag;
        // a new one would break older counters reading the answer), also
        // when sold by name.
        if child.closed && !flags.contains(&Flag::CardBlocked) {
            flags.push(Flag::CardBlocked);
        }
        if let (Some(limit), Some(day)) = (child.daily_limit, self.day_of.get(&index)) {
            let spent = self
                .spent
                .get(&(child.id, *day))
                .copied()
                .unwrap_or(Money::ZERO);
            if spent - entry.amount > limit {
                flags.push(Flag::DailyLimitExceeded);
            }
        }
        if lines.iter().any(|line| {
            child
                .blocked_categories
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&line.category))
        }) {
            flags.push(Flag::CategoryBlocked);
        }
        flags
    }

    /// A refund gives back (part of) a recorded sale of the same child.
    /// All refunds of a sale together more than the sale is flagged, not
    /// refused: the counter gave it back already (offline, not knowing of
    /// the office's refund), and a refused batch would hold up every sale
    /// after it.
    fn refund_flags(&self, index: usize, entry: &Entry, sale: Uuid) -> Result<Vec<Flag>> {
        let Some(booked) = self.booked.get(&sale) else {
            return Err(DbError::Refused {
                code: "unknown_sale",
                message: format!("entries[{index}]: no sale with id {sale}; push the sale first"),
            });
        };
        if !booked.is_sale || booked.child != entry.child {
            return Err(DbError::refused(format!(
                "entries[{index}]: {sale} is not a sale to this child"
            )));
        }
        let sold = -booked.amount;
        let refunded = self.refunded.get(&sale).copied().unwrap_or(Money::ZERO);
        Ok(if refunded + entry.amount > sold {
            vec![Flag::RefundExceedsSale]
        } else {
            Vec::new()
        })
    }

    /// The batch's own entry is recorded: later entries see it, as they
    /// would had it come in an earlier push.
    fn recorded_now(&mut self, index: usize, entry: &Entry, flags: &[Flag], balance: Money) {
        self.recorded.insert(entry.id, (flags.to_vec(), balance));
        if let EntryKind::Refund { sale } = entry.kind {
            *self.refunded.entry(sale).or_insert(Money::ZERO) += entry.amount;
        }
        self.booked.insert(
            entry.id,
            Booked {
                child: entry.child,
                is_sale: matches!(entry.kind, EntryKind::Sale { .. }),
                amount: entry.amount,
            },
        );
        if let Some(day) = self.day_of.get(&index) {
            *self.spent.entry((entry.child, *day)).or_insert(Money::ZERO) -= entry.amount;
        }
    }
}

/// For the children with a daily limit: each of their entries' day in the
/// clubs' time zone, and what they had spent on those days before.
async fn spending(
    conn: &mut PgConnection,
    settings: &Settings,
    entries: &[Entry],
    children: &BTreeMap<ChildId, Locked>,
) -> Result<(
    HashMap<usize, NaiveDate>,
    HashMap<(ChildId, NaiveDate), Money>,
)> {
    let limited: Vec<(usize, DateTime<Utc>)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            children
                .get(&e.child)
                .is_some_and(|c| c.daily_limit.is_some())
        })
        .map(|(i, e)| (i, e.at))
        .collect();
    if limited.is_empty() {
        return Ok((HashMap::new(), HashMap::new()));
    }
    let times: Vec<DateTime<Utc>> = limited.iter().map(|(_, at)| *at).collect();
    let days = local_days(conn, &times, &settings.time_zone).await?;
    let day_of: HashMap<usize, NaiveDate> = limited.iter().map(|(i, _)| *i).zip(days).collect();
    let child_ids: Vec<Uuid> = limited
        .iter()
        .map(|(i, _)| entries[*i].child.0)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let wanted: Vec<NaiveDate> = day_of
        .values()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let spent = spent(conn, &child_ids, &wanted, &settings.time_zone).await?;
    Ok((day_of, spent))
}
